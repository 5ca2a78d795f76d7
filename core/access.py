"""Who may do what: effective permissions (direct grants and roles), the request principal,
and the guard that keeps at least one active holder of permissions:manage."""

from dataclasses import dataclass

from sqlalchemy import (
    BindParameter,
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlmodel import Session, col

from core.errors import Conflict, Forbidden
from core.permissions import ADMIN_ROLE, EVERY_PERMISSION, Permission, expand, parse_scope
from core.reads import fetch_all
from models import AuthSession, Role, RolePermission, User, UserPermission, UserRole


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller of one request."""

    id: int
    username: str
    session_id: str | None
    permissions: frozenset[str]
    """Effective for the user now, narrowed to the token's scope."""

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise Forbidden(f"Missing permission: {permission}", missing=permission)


def grant_rows(user_id: int | BindParameter[int] | None = None) -> Select[tuple[int, str]]:
    """(user_id, permission) for every grant, direct or through a role; the admin role's
    rows say EVERY_PERMISSION, so permissions added to the catalogue later are included."""
    direct = select(col(UserPermission.user_id), col(UserPermission.permission))
    via_role = select(col(UserRole.user_id), col(RolePermission.permission)).join(
        RolePermission, col(RolePermission.role_name) == col(UserRole.role_name)
    )
    admin = select(col(UserRole.user_id), literal(EVERY_PERMISSION)).where(
        col(UserRole.role_name) == ADMIN_ROLE
    )
    if user_id is not None:
        direct = direct.where(col(UserPermission.user_id) == user_id)
        via_role = via_role.where(col(UserRole.user_id) == user_id)
        admin = admin.where(col(UserRole.user_id) == user_id)
    union = union_all(direct, via_role, admin).subquery("grants")
    return select(union.c.user_id, union.c.permission)


def effective_permissions(session: Session, user_id: int) -> frozenset[str]:
    rows = session.execute(grant_rows(user_id)).all()
    return expand({permission for _, permission in rows})


def _principal_query() -> Select[str, str | None, str | None]:
    user_id = bindparam("user_id", type_=Integer)
    grants = grant_rows(user_id).subquery("g")
    return (
        select(col(User.username), col(AuthSession.scope), grants.c.permission)
        .join(AuthSession, col(AuthSession.user_id) == col(User.id))
        .outerjoin(grants, true())
        .where(
            col(User.id) == user_id,
            col(User.is_active).is_(True),
            col(AuthSession.id) == bindparam("session_id", type_=String),
            col(AuthSession.revoked_at).is_(None),
        )
    )


PRINCIPAL_QUERY = _principal_query()
"""Built once: building this statement costs twenty times what SQLite takes to run it."""


def load_principal(session: Session, user_id: int, session_id: str) -> Principal | None:
    """The active user behind a live login session, in one indexed query; None when the user
    is gone or inactive or the session was ended (logout, password change, reuse).
    Runs on every request, so it takes the lean path of core.reads."""
    rows = fetch_all(session, PRINCIPAL_QUERY, {"user_id": user_id, "session_id": session_id})
    if not rows:
        return None
    username, scope = rows[0][0], rows[0][1]
    held = expand({row[2] for row in rows if row[2] is not None})
    allowed = held if scope is None else held & parse_scope(scope)
    return Principal(id=user_id, username=username, session_id=session_id, permissions=allowed)


def lock_permission_changes(session: Session) -> None:
    """Serialise every change that could take permissions:manage away from someone: a write
    to the built-in role's row takes SQLite's write lock, or a PostgreSQL row lock, first."""
    session.execute(update(Role).where(col(Role.name) == ADMIN_ROLE).values(builtin=True))


def ensure_a_manager_remains(session: Session) -> None:
    """Call after the change, under lock_permission_changes; raises to roll it back."""
    session.flush()
    grants = grant_rows().subquery("g")
    holders = session.execute(
        select(func.count(func.distinct(User.id)))
        .join(grants, grants.c.user_id == col(User.id))
        .where(
            col(User.is_active).is_(True),
            grants.c.permission.in_([Permission.PERMISSIONS_MANAGE, EVERY_PERMISSION]),
        )
    ).scalar_one()
    if holders == 0:
        raise Conflict("Refused: no active user would hold permissions:manage after this change")
