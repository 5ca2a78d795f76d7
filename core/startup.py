"""What every start does once, before serving: key, schema, first admin."""

import logging

from sqlalchemy import Engine, text
from sqlmodel import Session

from core import bootstrap, schema, tokens
from core.config import Settings
from core.errors import ConfigurationError

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


def check_connection_budget(engine: Engine, settings: Settings, workers: int) -> None:
    """On PostgreSQL, refuse a start whose workers could together open more connections
    than the server accepts: at peak, requests would fail instead of queueing."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as connection:
        limit = int(connection.execute(text("SHOW max_connections")).scalar_one())
        reserved = int(connection.execute(text("SHOW superuser_reserved_connections")).scalar_one())
    per_worker = settings.connections_per_worker + settings.db_max_overflow
    available = limit - reserved
    if workers * per_worker > available:
        raise ConfigurationError(
            f"{workers} workers x {per_worker} connections (DB_POOL_SIZE + HASH_CONCURRENCY"
            f" + DB_MAX_OVERFLOW) = {workers * per_worker} exceeds the {available} connections"
            " PostgreSQL accepts (max_connections - superuser_reserved_connections); lower"
            " --workers or the pool settings, or raise max_connections"
        )
