"""The audit trail: one record per change, written in the change's own transaction."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models import AuditRecord


def record(
    session: Session,
    action: str,
    *,
    actor_id: int | None,
    target_user_id: int | None = None,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Stage a record; it commits or rolls back with the change it describes."""
    session.add(
        AuditRecord(
            action=action,
            actor_id=actor_id,
            target_user_id=target_user_id,
            target=target,
            before=before,
            after=after,
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    target_user_id: int | None = None
    action: str | None = None
    since: datetime | None = None
    """Aware; the API's UTCInstant makes naive times UTC."""


def list_records(
    session: Session, where: AuditFilter, *, offset: int, limit: int
) -> list[AuditRecord]:
    query = select(AuditRecord)
    if where.actor_id is not None:
        query = query.where(AuditRecord.actor_id == where.actor_id)
    if where.target_user_id is not None:
        query = query.where(AuditRecord.target_user_id == where.target_user_id)
    if where.action is not None:
        query = query.where(AuditRecord.action == where.action)
    if where.since is not None:
        query = query.where(col(AuditRecord.at) >= where.since)
    query = query.order_by(col(AuditRecord.id).desc()).offset(offset).limit(limit)
    return list(session.exec(query))
