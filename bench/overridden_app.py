"""hero-api with its auth chain replaced by one fixed principal (configuration 3)."""

import os

from api.deps import get_current_user
from api.main import app
from core.access import Principal

SPEC_DEFAULT_PERMISSIONS = "heroes:read,heroes:write,teams:read"


def fixed_principal() -> Principal:
    """Build the principal every request runs as: the one place that knows Principal's fields."""
    permissions = os.environ.get("DEFAULT_PERMISSIONS", SPEC_DEFAULT_PERMISSIONS)
    return Principal(
        id=int(os.environ["BENCH_PRINCIPAL_ID"]),
        username=os.environ["BENCH_PRINCIPAL_USERNAME"],
        session_id=None,
        permissions=frozenset(permissions.split(",")),
    )


PRINCIPAL = fixed_principal()


async def bench_principal() -> Principal:
    return PRINCIPAL


app.dependency_overrides[get_current_user] = bench_principal
