"""Logging in and out, refresh-token rotation with reuse detection."""

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from core import access, audit, sessions, throttle, tokens
from core.config import get_settings
from core.errors import AccountDisabled, AuthenticationFailed, InvalidScope, TooManyAttempts
from core.hashing import verify_password
from core.permissions import format_scope, parse_scope, unknown_permissions
from core.users import find_user
from models import AuthSession, Token, User

BAD_CREDENTIALS = "Incorrect username or password"
BAD_REFRESH = "Invalid or expired refresh token"
AUDITED_USERNAME_MAX = 64


def requested_scope(scope: str | None) -> set[str] | None:
    """None: not narrowed, the token follows the user's permissions as they change."""
    names = parse_scope(scope or "")
    if not names:
        return None
    unknown = unknown_permissions(names)
    if unknown:
        raise InvalidScope(f"Unknown scope: {' '.join(unknown)}")
    return names


def login(session: Session, username: str, password: str, scope: str | None) -> Token:
    """Same answer and same cost for an unknown user and a wrong password; the attempt is
    counted before the password is checked, and no connection is held through bcrypt."""
    wanted = requested_scope(scope)
    # the form takes any text; PostgreSQL stores none with NUL in it (counted and audited alike)
    username = username.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    attempt = throttle.reserve(session, username)
    if not attempt.allowed:
        session.commit()
        raise TooManyAttempts("Too many failed logins; try again later", attempt.retry_after)
    user = find_user(session, username)
    stored_hash = user.hashed_password if user else None
    session.commit()
    matches, upgraded_hash = verify_password(password, stored_hash)
    # a password changed while it was being checked fails like a wrong one
    if (
        not matches
        or user is None
        or stored_hash is None
        or not _hold_if_unchanged(session, user, stored_hash, upgraded_hash)
    ):
        _failed(session, username, user, attempt)
        raise AuthenticationFailed(BAD_CREDENTIALS)
    throttle.clear(session, username)
    if not user.is_active:
        audit.record(
            session,
            "auth.login_failed",
            actor_id=None,
            target_user_id=user.id,
            target=username[:AUDITED_USERNAME_MAX],
            after={"reason": "account disabled"},
        )
        session.commit()
        raise AccountDisabled("Account disabled")
    assert user.id is not None
    narrowed = None
    if wanted is not None:
        narrowed = format_scope(wanted & access.effective_permissions(session, user.id))
    family = sessions.start(session, user.id, narrowed)
    token = _issue(session, family)
    audit.record(
        session, "auth.login", actor_id=user.id, target_user_id=user.id, target=user.username
    )
    session.commit()
    return token


def _hold_if_unchanged(
    session: Session, user: User, verified_hash: str, upgraded_hash: str | None
) -> bool:
    """Write-lock the user's row, unless its password changed while the connection was given
    back for bcrypt, and reload it: a deactivation or password change made meanwhile is seen
    here, and one made from now on waits for this login's session and then ends it."""
    held = session.execute(
        update(User)
        .where(col(User.id) == user.id, col(User.hashed_password) == verified_hash)
        .values(hashed_password=upgraded_hash or verified_hash)
    )
    if not held.rowcount:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
        return False
    session.refresh(user)
    return True


def _failed(session: Session, username: str, user: User | None, attempt: throttle.Attempt) -> None:
    target_user_id = user.id if user else None
    target = username[:AUDITED_USERNAME_MAX]
    audit.record(
        session, "auth.login_failed", actor_id=None, target_user_id=target_user_id, target=target
    )
    if attempt.is_last:
        audit.record(
            session,
            "auth.lockout",
            actor_id=None,
            target_user_id=target_user_id,
            target=target,
            after={"failed_logins": attempt.number, "retry_after": attempt.retry_after},
        )
    session.commit()


def _issue(
    session: Session, family: AuthSession, presented_refresh_jti: str | None = None
) -> Token:
    """A fresh access and refresh pair for the family; rotates its refresh token."""
    settings = get_settings()
    assert family.id is not None
    held = access.effective_permissions(session, family.user_id)
    scope = format_scope(held) if family.scope is None else family.scope
    access_lifetime = timedelta(minutes=settings.access_token_expire_minutes)
    access_token, _ = tokens.encode(
        user_id=family.user_id,
        session_id=family.id,
        scope=scope,
        token_type="access",
        lifetime=access_lifetime,
    )
    refresh_token, refresh_jti = tokens.encode(
        user_id=family.user_id,
        session_id=family.id,
        scope=scope,
        token_type="refresh",
        lifetime=timedelta(days=settings.refresh_token_expire_days),
    )
    if presented_refresh_jti is None:
        family.refresh_hash = tokens.fingerprint(refresh_jti)
        session.add(family)
    elif not sessions.rotate(session, family.id, presented_refresh_jti, refresh_jti):
        raise _ReplayedRefresh
    return Token(
        access_token=access_token,
        expires_in=int(access_lifetime.total_seconds()),
        refresh_token=refresh_token,
        scope=scope,
    )


class _ReplayedRefresh(Exception):
    pass


def refresh(session: Session, refresh_token: str) -> Token:
    """A refresh token works once. Presenting a used one ends its whole family."""
    try:
        claims = tokens.decode(refresh_token, "refresh")
    except tokens.InvalidToken:
        raise AuthenticationFailed(BAD_REFRESH) from None
    family = session.get(AuthSession, claims.session_id)
    user = session.get(User, claims.user_id)
    if family is None or user is None or family.user_id != user.id or not user.is_active:
        raise AuthenticationFailed(BAD_REFRESH)
    if family.revoked_at is not None:
        raise AuthenticationFailed(BAD_REFRESH)
    try:
        token = _issue(session, family, presented_refresh_jti=claims.jti)
    except _ReplayedRefresh:
        session.rollback()
        sessions.end(session, claims.session_id)
        audit.record(
            session,
            "auth.refresh_reuse",
            actor_id=None,
            target_user_id=claims.user_id,
            target=claims.session_id,
        )
        session.commit()
        raise AuthenticationFailed(BAD_REFRESH) from None
    session.commit()
    return token


def logout(session: Session, principal: access.Principal, *, everywhere: bool) -> None:
    if everywhere or principal.session_id is None:
        sessions.end_all(session, principal.id)
    else:
        sessions.end(session, principal.session_id)
    audit.record(
        session,
        "auth.logout_all" if everywhere else "auth.logout",
        actor_id=principal.id,
        target_user_id=principal.id,
        target=principal.username,
    )
    session.commit()
