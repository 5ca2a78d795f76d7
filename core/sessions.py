"""Login sessions: each login is a family of tokens that ends as a whole."""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from core import tokens
from core.config import get_settings
from models import AuthSession
from models.common import utcnow


def start(session: Session, user_id: int, scope: str | None) -> AuthSession:
    settings = get_settings()
    row = AuthSession(
        id=tokens.new_id(),
        user_id=user_id,
        scope=scope,
        refresh_hash="",
        expires_at=utcnow() + timedelta(days=settings.refresh_token_expire_days),
    )
    session.add(row)
    return row


def end(session: Session, session_id: str) -> None:
    session.execute(
        update(AuthSession)
        .where(col(AuthSession.id) == session_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def end_all(session: Session, user_id: int) -> None:
    """Every token of the user issued so far stops working on its next use, in every worker."""
    session.execute(
        update(AuthSession)
        .where(col(AuthSession.user_id) == user_id, col(AuthSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def rotate(session: Session, session_id: str, presented_jti: str, next_jti: str) -> bool:
    """Swap the family's refresh token for the next one; False when the presented one is not
    the current one (already used: a replay) or the family has ended."""
    settings = get_settings()
    result = session.execute(
        update(AuthSession)
        .where(
            col(AuthSession.id) == session_id,
            col(AuthSession.refresh_hash) == tokens.fingerprint(presented_jti),
            col(AuthSession.revoked_at).is_(None),
            col(AuthSession.expires_at) > utcnow(),
        )
        .values(
            refresh_hash=tokens.fingerprint(next_jti),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_expire_days),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE
