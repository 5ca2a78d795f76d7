"""The two reads on the hot path of every request (the principal, a hero), run as lean as the
driver allows: SQL compiled once by SQLAlchemy, executed on the DBAPI cursor of a pooled
connection, in autocommit. Measured on SQLite, the principal query takes 13 µs this way
against 120-190 µs through a Session and 76-82 µs through Connection.exec_driver_sql; on
PostgreSQL autocommit also saves BEGIN and ROLLBACK, two of three round trips."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session


@dataclass(frozen=True)
class Prepared:
    sql: str
    positional: tuple[str, ...] | None
    defaults: Mapping[str, Any]

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        merged = {**self.defaults, **values}
        if self.positional is None:
            return merged
        return tuple(merged[name] for name in self.positional)


@lru_cache(maxsize=64)
def prepare(statement: ClauseElement, dialect: Dialect) -> Prepared:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    positional = tuple(compiled.positiontup or ()) if compiled.positional else None
    return Prepared(compiled.string, positional, dict(compiled.params))


@contextmanager
def _autocommit(raw: PoolProxiedConnection, dialect: Dialect) -> Iterator[None]:
    """psycopg would send BEGIN before the SELECT and the pool ROLLBACK after it; Python's
    sqlite3 opens no transaction for a SELECT."""
    if dialect.name != "postgresql":
        yield
        return
    driver = raw.driver_connection
    assert driver is not None
    driver.autocommit = True
    try:
        yield
    finally:
        try:
            driver.autocommit = False
        except dialect.loaded_dbapi.Error as exc:  # the connection broke meanwhile
            raw.invalidate(exc)


def fetch_all(session: Session, statement: ClauseElement, values: Mapping[str, Any]) -> list[Any]:
    """The rows of a prebuilt SELECT on the session's engine, as DBAPI tuples. Driver errors
    come out as SQLAlchemy's DBAPIError, and a connection the server dropped is invalidated,
    exactly as through a Session, so the 503 handling and the pool's recovery hold."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    dialect = engine.dialect
    prepared = prepare(statement, dialect)
    try:
        raw = engine.raw_connection()
    except dialect.loaded_dbapi.Error as exc:  # the database refuses connections
        raise _wrapped(exc, prepared, values, dialect, disconnected=True) from exc
    try:
        with _autocommit(raw, dialect):
            cursor = raw.cursor()
            try:
                cursor.execute(prepared.sql, prepared.parameters(values))
                return list(cursor.fetchall())
            finally:
                cursor.close()
    except dialect.loaded_dbapi.Error as exc:
        disconnected = dialect.is_disconnect(exc, raw.dbapi_connection, None)
        if disconnected:
            raw.invalidate(exc)
        raise _wrapped(exc, prepared, values, dialect, disconnected=disconnected) from exc
    finally:
        raw.close()


def _wrapped(
    exc: Exception,
    prepared: Prepared,
    values: Mapping[str, Any],
    dialect: Dialect,
    *,
    disconnected: bool,
) -> StatementError:
    return DBAPIError.instance(
        prepared.sql,
        dict(values),
        exc,
        dialect.loaded_dbapi.Error,
        connection_invalidated=disconnected,
        dialect=dialect,
    )
