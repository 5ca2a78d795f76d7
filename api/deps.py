"""The dependency chain run before every protected path operation:

    get_session -> decode_token -> get_current_user -> authorize(permission...)

Each link is small and replaceable through `app.dependency_overrides`."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlmodel import Session

from api import threads
from core import access, tokens
from core.access import Principal
from core.db import HELD_BY_THREAD, get_session
from core.permissions import CATALOGUE, Permission

P = ParamSpec("P")
T = TypeVar("T")

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", scopes=CATALOGUE, auto_error=False)

SessionDep = Annotated[Session, Depends(get_session)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def forbidden(detail: str, missing: str) -> HTTPException:
    challenge = f'Bearer error="insufficient_scope", scope="{missing}"'
    return HTTPException(
        status.HTTP_403_FORBIDDEN, detail=detail, headers={"WWW-Authenticate": challenge}
    )


async def _on(
    pool: ThreadPoolExecutor,
    session: Session,
    work: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run the work, then close the session, in one thread of the pool: the connection goes
    back before the thread is free, so a request never holds one while it waits for a thread.
    get_session leaves a session that a thread still holds to that thread (a cancelled request
    does not wait for its thread)."""

    def run() -> T:
        try:
            return work(session, *args, **kwargs)
        finally:
            session.close()
            session.info.pop(HELD_BY_THREAD, None)

    session.info[HELD_BY_THREAD] = True
    return await threads.run_on(pool, run)


async def in_thread(
    session: Session,
    work: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run blocking database work on one of the database threads."""
    return await _on(threads.database_threads(), session, work, *args, **kwargs)


async def in_hashing_thread(
    session: Session,
    work: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run work that hashes or verifies a password (and the database work around it) on one
    of the hashing threads, so that logins never take the threads that reads need."""
    return await _on(threads.hashing_threads(), session, work, *args, **kwargs)


async def decode_token(token: Annotated[str | None, Depends(oauth2_scheme)]) -> tokens.Claims:
    """Verifies: bearer header -> signed, unexpired access-token claims."""
    if not token:
        raise unauthorized("Not authenticated")
    try:
        return tokens.decode(token, "access")
    except tokens.InvalidToken:
        raise unauthorized("Could not validate credentials") from None


async def get_current_user(
    claims: Annotated[tokens.Claims, Depends(decode_token)], session: SessionDep
) -> Principal:
    """Loads: the active user behind a live session, with permissions read now."""
    principal = await in_thread(session, access.load_principal, claims.user_id, claims.session_id)
    if principal is None:
        raise unauthorized("Could not validate credentials")
    return principal


async def authorize(
    security_scopes: SecurityScopes, user: Annotated[Principal, Depends(get_current_user)]
) -> Principal:
    """Decides: every permission the route declares must be held and inside the token's scope."""
    for permission in security_scopes.scopes:
        if not user.can(permission):
            raise forbidden(f"Missing permission: {permission}", permission)
    return user


async def authorize_any(
    security_scopes: SecurityScopes, user: Annotated[Principal, Depends(get_current_user)]
) -> Principal:
    """Decides: one of the declared permissions suffices (the object check comes later)."""
    if security_scopes.scopes and not any(user.can(p) for p in security_scopes.scopes):
        wanted = " ".join(security_scopes.scopes)
        raise forbidden(f"Missing permission: one of {wanted}", wanted)
    return user


CurrentUser = Annotated[Principal, Depends(get_current_user)]
HeroReader = Annotated[Principal, Security(authorize, scopes=[Permission.HEROES_READ])]
HeroWriter = Annotated[Principal, Security(authorize, scopes=[Permission.HEROES_WRITE])]
HeroEditor = Annotated[
    Principal,
    Security(authorize_any, scopes=[Permission.HEROES_WRITE, Permission.HEROES_MANAGE]),
]
TeamReader = Annotated[Principal, Security(authorize, scopes=[Permission.TEAMS_READ])]
TeamWriter = Annotated[Principal, Security(authorize, scopes=[Permission.TEAMS_WRITE])]
UserReader = Annotated[Principal, Security(authorize, scopes=[Permission.USERS_READ])]
UserManager = Annotated[Principal, Security(authorize, scopes=[Permission.USERS_MANAGE])]
PermissionManager = Annotated[
    Principal, Security(authorize, scopes=[Permission.PERMISSIONS_MANAGE])
]
AuditReader = Annotated[Principal, Security(authorize, scopes=[Permission.AUDIT_READ])]
