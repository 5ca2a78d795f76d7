"""The audit trail, newest first."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AuditReader, SessionDep, in_thread
from api.params import PageDep
from api.responses import GUARDED
from core import audit
from models import AuditPublic
from models.common import INT32_MAX, NO_NUL, UTCInstant

router = APIRouter(tags=["audit"], responses=GUARDED)

UserId = Annotated[int | None, Query(ge=1, le=INT32_MAX)]


@router.get("/audit")
async def list_audit(
    session: SessionDep,
    reader: AuditReader,
    page: PageDep,
    actor_id: UserId = None,
    target_user_id: UserId = None,
    action: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    since: UTCInstant | None = None,
) -> list[AuditPublic]:
    where = audit.AuditFilter(
        actor_id=actor_id, target_user_id=target_user_id, action=action, since=since
    )
    records = await in_thread(
        session, audit.list_records, where, offset=page.offset, limit=page.limit
    )
    return [AuditPublic.model_validate(record) for record in records]
