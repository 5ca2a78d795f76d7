"""Liveness with a database check; the one route that needs no token."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from api.deps import SessionDep, in_thread
from api.responses import HealthStatus

router = APIRouter(tags=["health"])


def _ping(session: Session) -> None:
    session.execute(text("SELECT 1"))


@router.get(
    "/health",
    response_model=HealthStatus,
    responses={503: {"model": HealthStatus, "description": "Database unreachable"}},
)
async def health(session: SessionDep) -> JSONResponse:
    try:
        await in_thread(session, _ping)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
