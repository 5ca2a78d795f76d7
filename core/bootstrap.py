"""First start: the schema (by migrations), the built-in admin role and a first admin."""

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from core import audit, users
from core.config import Settings
from core.errors import ConfigurationError, Conflict
from core.permissions import ADMIN_ROLE, ADMIN_ROLE_DESCRIPTION
from models import Role, User, UserCreate


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    generated_password: str | None


def ensure_admin_role(session: Session) -> None:
    if session.get(Role, ADMIN_ROLE) is not None:
        return
    session.add(Role(name=ADMIN_ROLE, description=ADMIN_ROLE_DESCRIPTION, builtin=True))
    try:
        session.commit()
    except IntegrityError:  # another worker made it first
        session.rollback()


def create_admin(session: Session, username: str, password: str, *, actor_id: int | None) -> User:
    """A user holding the built-in admin role (the whole catalogue)."""
    ensure_admin_role(session)
    return users.create_user(
        session,
        UserCreate(username=username, password=password),
        actor_id=actor_id,
        permissions=[],
        roles=[ADMIN_ROLE],
    )


def ensure_first_admin(session: Session, settings: Settings) -> FirstAdmin | None:
    """On an empty database only; returns what to tell the operator, once."""
    ensure_admin_role(session)
    if session.exec(select(func.count()).select_from(User)).one() > 0:
        return None
    given = settings.first_admin_password
    password = given.get_secret_value() if given else secrets.token_urlsafe(18)
    try:
        UserCreate(username=settings.first_admin_username, password=password)
    except ValueError as exc:
        raise ConfigurationError(f"FIRST_ADMIN_USERNAME or FIRST_ADMIN_PASSWORD: {exc}") from None
    try:
        create_admin(session, settings.first_admin_username, password, actor_id=None)
    except Conflict:  # another worker made it first
        return None
    audit.record(session, "system.bootstrap", actor_id=None, target=settings.first_admin_username)
    session.commit()
    return FirstAdmin(settings.first_admin_username, None if given else password)
