"""The engine and the per-request session."""

import select
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

from core.config import Settings, get_settings

HELD_BY_THREAD = "held_by_thread"
"""Session.info key: a worker thread is using the session and will close it itself."""


def _is_memory_sqlite(url: str) -> bool:
    return url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url


def _sqlite_pragmas(busy_timeout_ms: int, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def _ended_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Checkout check without a round trip: an idle PostgreSQL connection has nothing to
    read, so a readable (or closed) socket is one the server has ended (a restart, a
    terminated backend). The pool then replaces it before any query fails on it."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server ended this connection")


def create_db_engine(settings: Settings, url: str | None = None) -> Engine:
    url = url or settings.database_url
    pooled: dict[str, Any] = {
        "pool_size": settings.connections_per_worker,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
    }
    if not url.startswith("sqlite"):
        engine = create_engine(url, **pooled)
        event.listen(engine, "checkout", _ended_by_server)
        return engine
    connect_args = {"check_same_thread": False, "timeout": settings.sqlite_busy_timeout_ms / 1000}
    memory = _is_memory_sqlite(url)
    pool = {"poolclass": StaticPool} if memory else pooled
    engine = create_engine(url, connect_args=connect_args, **pool)
    pragmas = _sqlite_pragmas(settings.sqlite_busy_timeout_ms, wal=not memory)
    event.listen(engine, "connect", pragmas)
    return engine


engine = create_db_engine(get_settings())


async def get_session() -> AsyncIterator[Session]:
    """One session per request. Opening is free (no connection until the first query), and
    its work runs in worker threads that close it before they return, so the request never
    holds a pooled connection while it waits: the pool cannot deadlock against the threads."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if not session.info.get(HELD_BY_THREAD):
            session.close()
