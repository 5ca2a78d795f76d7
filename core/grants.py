"""Granting and revoking permissions and roles, and editing roles: checked, guarded, audited."""

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import access, audit
from core.errors import Conflict, Invalid, NotFound
from core.permissions import ADMIN_ROLE, ALL_PERMISSIONS, unknown_permissions
from models import (
    PermissionsView,
    Role,
    RoleCreate,
    RolePermission,
    RolePublic,
    RoleUpdate,
    User,
    UserPermission,
    UserRole,
)


def check_permissions(names: Iterable[str]) -> None:
    unknown = unknown_permissions(set(names))
    if unknown:
        raise Invalid(f"Unknown permission: {', '.join(unknown)}")


def check_roles(session: Session, names: Iterable[str]) -> None:
    wanted = set(names)
    found = (
        set(session.exec(select(Role.name).where(col(Role.name).in_(wanted)))) if wanted else set()
    )
    missing = sorted(wanted - found)
    if missing:
        raise Invalid(f"Unknown role: {', '.join(missing)}")


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def direct_permissions(session: Session, user_id: int) -> list[str]:
    query = select(UserPermission.permission).where(UserPermission.user_id == user_id)
    return sorted(session.exec(query))


def user_roles(session: Session, user_id: int) -> list[str]:
    return sorted(session.exec(select(UserRole.role_name).where(UserRole.user_id == user_id)))


def view(session: Session, user_id: int) -> PermissionsView:
    _user(session, user_id)
    return PermissionsView(
        direct=direct_permissions(session, user_id),
        roles=user_roles(session, user_id),
        effective=sorted(access.effective_permissions(session, user_id)),
    )


def add_direct(session: Session, user_id: int, names: Iterable[str]) -> None:
    session.add_all(UserPermission(user_id=user_id, permission=name) for name in names)


def add_roles(session: Session, user_id: int, names: Iterable[str]) -> None:
    session.add_all(UserRole(user_id=user_id, role_name=name) for name in names)


def grant(session: Session, user_id: int, permission: str, *, actor_id: int | None) -> None:
    check_permissions([permission])
    user = _user(session, user_id)
    before = direct_permissions(session, user_id)
    if permission in before:
        return
    add_direct(session, user_id, [permission])
    audit.record(
        session,
        "permission.grant",
        actor_id=actor_id,
        target_user_id=user_id,
        target=permission,
        before=before,
        after=sorted([*before, permission]),
    )
    _commit(session, f"{user.username} changed concurrently; try again")


def revoke(session: Session, user_id: int, permission: str, *, actor_id: int | None) -> None:
    check_permissions([permission])
    access.lock_permission_changes(session)
    _user(session, user_id)
    before = direct_permissions(session, user_id)
    if permission not in before:
        raise NotFound(f"{permission} is not granted directly to this user")
    session.execute(
        delete(UserPermission).where(
            col(UserPermission.user_id) == user_id, col(UserPermission.permission) == permission
        )
    )
    access.ensure_a_manager_remains(session)
    audit.record(
        session,
        "permission.revoke",
        actor_id=actor_id,
        target_user_id=user_id,
        target=permission,
        before=before,
        after=[name for name in before if name != permission],
    )
    session.commit()


def set_direct(session: Session, user_id: int, names: list[str], *, actor_id: int | None) -> None:
    wanted = sorted(set(names))
    check_permissions(wanted)
    access.lock_permission_changes(session)
    _user(session, user_id)
    before = direct_permissions(session, user_id)
    if before == wanted:
        return
    session.execute(delete(UserPermission).where(col(UserPermission.user_id) == user_id))
    add_direct(session, user_id, wanted)
    access.ensure_a_manager_remains(session)
    audit.record(
        session,
        "permission.set",
        actor_id=actor_id,
        target_user_id=user_id,
        target=",".join(wanted)[:256] or None,
        before=before,
        after=wanted,
    )
    session.commit()


def set_roles(session: Session, user_id: int, names: list[str], *, actor_id: int | None) -> None:
    wanted = sorted(set(names))
    check_roles(session, wanted)
    access.lock_permission_changes(session)
    _user(session, user_id)
    before = user_roles(session, user_id)
    if before == wanted:
        return
    session.execute(delete(UserRole).where(col(UserRole.user_id) == user_id))
    add_roles(session, user_id, wanted)
    access.ensure_a_manager_remains(session)
    audit.record(
        session,
        "role.assign",
        actor_id=actor_id,
        target_user_id=user_id,
        target=",".join(wanted)[:256] or None,
        before=before,
        after=wanted,
    )
    _commit(session, "A role changed concurrently; try again")


def _commit(session: Session, detail: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(detail) from None


def role_permissions(session: Session, role: Role) -> list[str]:
    if role.name == ADMIN_ROLE:
        return sorted(ALL_PERMISSIONS)
    query = select(RolePermission.permission).where(RolePermission.role_name == role.name)
    return sorted(session.exec(query))


def present_role(session: Session, role: Role) -> RolePublic:
    return RolePublic(
        name=role.name,
        description=role.description,
        permissions=role_permissions(session, role),
        builtin=role.builtin,
    )


def list_roles(session: Session) -> list[RolePublic]:
    roles = session.exec(select(Role).order_by(col(Role.name)))
    return [present_role(session, role) for role in roles]


def get_role(session: Session, name: str) -> Role:
    role = session.get(Role, name)
    if role is None:
        raise NotFound(f"Role {name!r} not found")
    return role


def create_role(session: Session, data: RoleCreate, *, actor_id: int | None) -> RolePublic:
    permissions = sorted(set(data.permissions))
    check_permissions(permissions)
    if session.get(Role, data.name) is not None:
        raise Conflict(f"Role {data.name!r} already exists")
    role = Role(name=data.name, description=data.description)
    session.add(role)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"Role {data.name!r} already exists") from None
    session.add_all(RolePermission(role_name=role.name, permission=name) for name in permissions)
    audit.record(
        session,
        "role.create",
        actor_id=actor_id,
        target=role.name,
        after={"description": role.description, "permissions": permissions},
    )
    _commit(session, f"Role {data.name!r} already exists")
    return present_role(session, role)


def update_role(
    session: Session, name: str, data: RoleUpdate, *, actor_id: int | None
) -> RolePublic:
    changes = data.model_dump(exclude_unset=True)
    if "permissions" in changes:
        check_permissions(changes["permissions"])
        access.lock_permission_changes(session)
    role = get_role(session, name)
    if role.builtin and "permissions" in changes:
        raise Conflict(f"The built-in role {name!r} always holds the whole catalogue")
    before = {"description": role.description, "permissions": role_permissions(session, role)}
    if "description" in changes:
        role.description = changes["description"]
        session.add(role)
    if "permissions" in changes:
        session.execute(delete(RolePermission).where(col(RolePermission.role_name) == name))
        session.add_all(
            RolePermission(role_name=name, permission=permission)
            for permission in sorted(set(changes["permissions"]))
        )
        access.ensure_a_manager_remains(session)
    after = {"description": role.description, "permissions": role_permissions(session, role)}
    if after != before:
        audit.record(
            session, "role.update", actor_id=actor_id, target=name, before=before, after=after
        )
    session.commit()
    return present_role(session, role)


def delete_role(session: Session, name: str, *, actor_id: int | None) -> None:
    access.lock_permission_changes(session)
    role = get_role(session, name)
    if role.builtin:
        raise Conflict(f"The built-in role {name!r} cannot be deleted")
    before = {"description": role.description, "permissions": role_permissions(session, role)}
    session.execute(delete(UserRole).where(col(UserRole.role_name) == name))
    session.execute(delete(RolePermission).where(col(RolePermission.role_name) == name))
    session.delete(role)
    access.ensure_a_manager_remains(session)
    audit.record(session, "role.delete", actor_id=actor_id, target=name, before=before)
    session.commit()


def grant_and_view(
    session: Session, user_id: int, permission: str, *, actor_id: int | None
) -> PermissionsView:
    grant(session, user_id, permission, actor_id=actor_id)
    return view(session, user_id)


def set_direct_and_view(
    session: Session, user_id: int, names: list[str], *, actor_id: int | None
) -> PermissionsView:
    set_direct(session, user_id, names, actor_id=actor_id)
    return view(session, user_id)


def set_roles_and_view(
    session: Session, user_id: int, names: list[str], *, actor_id: int | None
) -> PermissionsView:
    set_roles(session, user_id, names, actor_id=actor_id)
    return view(session, user_id)
