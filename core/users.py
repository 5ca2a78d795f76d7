"""User accounts: create, read, update, deactivate, delete, unlock; same rules for API and CLI."""

import re
from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from core import access, audit, grants, sessions, throttle
from core.config import get_settings
from core.errors import Conflict, DomainError, NotFound
from core.hashing import hash_password, verify_password
from models import Hero, User, UserCreate, UserPublic, UserRole, UserSelfUpdate, UserUpdate
from models.user import USERNAME_PATTERN

USERNAME_TAKEN = "Username already taken"


def find_user(session: Session, username: str) -> User | None:
    if not re.fullmatch(USERNAME_PATTERN, username):
        return None  # no account has such a name
    return session.exec(select(User).where(User.username_key == username.lower())).first()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def resolve_user(session: Session, username_or_id: str) -> User:
    """For the command line: a username, or a numeric id."""
    user = find_user(session, username_or_id)
    if user is None and username_or_id.isdigit() and len(username_or_id) <= 10:
        user = session.get(User, int(username_or_id))
    if user is None:
        raise NotFound(f"No user {username_or_id!r}")
    return user


def role_names(session: Session, user_id: int) -> list[str]:
    query = select(UserRole.role_name).where(UserRole.user_id == user_id)
    return sorted(session.exec(query))


def present(session: Session, user: User) -> UserPublic:
    assert user.id is not None
    return UserPublic(
        id=user.id,
        username=user.username,
        email=user.email,
        full_name=user.full_name,
        is_active=user.is_active,
        roles=role_names(session, user.id),
        permissions=sorted(access.effective_permissions(session, user.id)),
    )


def snapshot(user: User) -> dict[str, object]:
    """What the audit trail keeps of a user: never the hash."""
    return {
        "username": user.username,
        "email": user.email,
        "full_name": user.full_name,
        "is_active": user.is_active,
    }


def list_users(session: Session, *, offset: int, limit: int) -> tuple[list[User], int]:
    total = session.exec(select(func.count()).select_from(User)).one()
    query = select(User).order_by(col(User.id)).offset(offset).limit(limit)
    return list(session.exec(query)), total


def create_user(
    session: Session,
    data: UserCreate,
    *,
    actor_id: int | None,
    permissions: Iterable[str] | None = None,
    roles: Iterable[str] = (),
    action: str = "user.create",
) -> User:
    """New users get DEFAULT_PERMISSIONS unless told otherwise. The password is hashed before
    the transaction starts, so no connection is held through bcrypt."""
    hashed = hash_password(data.password)
    granted = sorted(
        set(get_settings().default_permissions if permissions is None else permissions)
    )
    grants.check_permissions(granted)
    user = User(
        username=data.username,
        username_key=data.username.lower(),
        email=data.email,
        full_name=data.full_name,
        hashed_password=hashed,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(USERNAME_TAKEN) from None
    assert user.id is not None
    grants.add_direct(session, user.id, granted)
    grants.add_roles(session, user.id, sorted(set(roles)))
    audit.record(
        session,
        action,
        actor_id=actor_id,
        target_user_id=user.id,
        target=user.username,
        after={**snapshot(user), "permissions": granted, "roles": sorted(set(roles))},
    )
    commit_or_conflict(session, USERNAME_TAKEN)
    return user


def commit_or_conflict(session: Session, detail: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(detail) from None


def update_self(session: Session, user_id: int, data: UserSelfUpdate) -> User:
    user = get_user(session, user_id)
    _apply_profile(session, user, data.model_dump(exclude_unset=True), actor_id=user_id)
    session.commit()
    return user


def _apply_profile(
    session: Session, user: User, changes: dict[str, object], *, actor_id: int | None
) -> None:
    before = snapshot(user)
    changed = {key: value for key, value in changes.items() if getattr(user, key) != value}
    if not changed:
        return
    user.sqlmodel_update(changed)
    session.add(user)
    audit.record(
        session,
        "user.update",
        actor_id=actor_id,
        target_user_id=user.id,
        target=user.username,
        before={key: before[key] for key in changed},
        after=changed,
    )


def update_user(session: Session, user_id: int, data: UserUpdate, *, actor_id: int | None) -> User:
    changes = data.model_dump(exclude_unset=True)
    password = changes.pop("password", None)
    is_active = changes.pop("is_active", None)
    hashed = hash_password(password) if password is not None else None
    user = get_user(session, user_id)
    _apply_profile(session, user, changes, actor_id=actor_id)
    if is_active is not None and is_active != user.is_active:
        _set_active(session, user, is_active, actor_id=actor_id)
    if hashed is not None:
        user.hashed_password = hashed
        session.add(user)
        sessions.end_all(session, user_id)
        audit.record(
            session,
            "user.password_reset",
            actor_id=actor_id,
            target_user_id=user_id,
            target=user.username,
        )
    session.commit()
    return user


def _set_active(session: Session, user: User, active: bool, *, actor_id: int | None) -> None:
    assert user.id is not None
    if not active:
        access.lock_permission_changes(session)
        session.refresh(user)
    user.is_active = active
    session.add(user)
    if not active:
        sessions.end_all(session, user.id)
        access.ensure_a_manager_remains(session)
    audit.record(
        session,
        "user.activate" if active else "user.deactivate",
        actor_id=actor_id,
        target_user_id=user.id,
        target=user.username,
        before={"is_active": not active},
        after={"is_active": active},
    )


def change_password(session: Session, user_id: int, current: str, new: str) -> None:
    """Every token issued before stops working, this session's included."""
    stored = get_user(session, user_id).hashed_password
    session.rollback()  # nothing held through bcrypt
    matches, _ = verify_password(current, stored)
    if not matches:
        raise DomainError("Current password is incorrect")
    hashed = hash_password(new)
    user = get_user(session, user_id)
    user.hashed_password = hashed
    session.add(user)
    sessions.end_all(session, user_id)
    audit.record(
        session,
        "user.password_change",
        actor_id=user_id,
        target_user_id=user_id,
        target=user.username,
    )
    session.commit()


def delete_user(session: Session, user_id: int, *, actor_id: int | None) -> None:
    """Their heroes stay, without an owner."""
    access.lock_permission_changes(session)
    user = get_user(session, user_id)
    before = snapshot(user)
    session.execute(update(Hero).where(col(Hero.owner_id) == user_id).values(owner_id=None))
    session.delete(user)
    access.ensure_a_manager_remains(session)
    audit.record(
        session,
        "user.delete",
        actor_id=actor_id,
        target_user_id=user_id,
        target=user.username,
        before=before,
    )
    session.commit()


def unlock(session: Session, user_id: int, *, actor_id: int | None) -> None:
    user = get_user(session, user_id)
    was_locked = throttle.clear(session, user.username)
    audit.record(
        session,
        "user.unlock",
        actor_id=actor_id,
        target_user_id=user_id,
        target=user.username,
        before={"failed_logins_counted": was_locked},
        after={"failed_logins_counted": False},
    )
    session.commit()


def register(session: Session, data: UserCreate) -> UserPublic:
    """Self sign-up (only when ALLOW_REGISTRATION): DEFAULT_PERMISSIONS, nothing more."""
    user = create_user(session, data, actor_id=None, action="user.register")
    return present(session, user)


def create_and_present(session: Session, data: UserCreate, *, actor_id: int | None) -> UserPublic:
    return present(session, create_user(session, data, actor_id=actor_id))


def read_user(session: Session, user_id: int) -> UserPublic:
    return present(session, get_user(session, user_id))


def list_public(session: Session, *, offset: int, limit: int) -> tuple[list[UserPublic], int]:
    found, total = list_users(session, offset=offset, limit=limit)
    return [present(session, user) for user in found], total


def update_self_and_present(session: Session, user_id: int, data: UserSelfUpdate) -> UserPublic:
    return present(session, update_self(session, user_id, data))


def update_and_present(
    session: Session, user_id: int, data: UserUpdate, *, actor_id: int | None
) -> UserPublic:
    return present(session, update_user(session, user_id, data, actor_id=actor_id))
