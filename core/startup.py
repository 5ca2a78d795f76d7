"""What every start does once, before serving: key, schema, first admin."""

import logging

from sqlalchemy import Engine
from sqlmodel import Session

from core import bootstrap, schema, tokens
from core.config import Settings

logger = logging.getLogger("hero_api")


def prepare(engine: Engine, settings: Settings) -> None:
    """Idempotent, and safe when several workers start at once."""
    tokens.signing_key()
    schema.migrate(engine)
    with Session(engine, expire_on_commit=False) as session:
        first = bootstrap.ensure_first_admin(session, settings)
    if first is None:
        return
    if first.generated_password:
        # Printed once, on purpose, to the terminal only: never to the log.
        print(
            f"\n  First admin created: username {first.username!r}, "
            f"password {first.generated_password!r}\n"
            "  (shown only now; set FIRST_ADMIN_PASSWORD to choose it)\n",
            flush=True,
        )
    else:
        logger.info("first admin %r created", first.username)
