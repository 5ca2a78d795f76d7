"""Reads on the hot path of every request, without a transaction around a single SELECT."""

from sqlalchemy import Connection
from sqlmodel import Session


def single_statement(session: Session) -> Connection:
    """The session's connection in autocommit, for work that is one SELECT: a transaction
    around it adds nothing but BEGIN and ROLLBACK, two round trips on PostgreSQL."""
    return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
