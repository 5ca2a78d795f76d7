"""Test settings come first: nothing of ours is imported before the environment is set."""

import os
import tempfile

from tests.settings import TEST_SECRET_KEY

_scratch = tempfile.mkdtemp(prefix="hero-api-tests-")
os.environ.update(
    {
        "ENVIRONMENT": "development",
        "SECRET_KEY": TEST_SECRET_KEY,
        "BCRYPT_ROUNDS": "4",
        "DATABASE_URL": f"sqlite:///{_scratch}/unused.db",
        "ALLOW_REGISTRATION": "false",
    }
)
