"""Users, their permission grants and roles, login sessions, throttles and the audit trail."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, EmailStr, StringConstraints
from pydantic import Field as Limit
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.common import FORBID_EXTRA, NotNull, Text, UTCDateTime, utcnow

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"
PASSWORD_MIN, PASSWORD_MAX = 8, 256
EMAIL_MAX = 254
EMAIL_LOCAL_PART_MAX = 64
FULL_NAME_MAX = 200
ROLE_NAME_MAX = 100
PERMISSION_NAME_MAX = 64

Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]


def _local_part_fits(email: str) -> str:
    # RFC 5321 4.5.3.1.1; email-validator checks the whole address, not the local part
    if len(email.rpartition("@")[0].encode()) > EMAIL_LOCAL_PART_MAX:
        raise ValueError(f"the part before the @ is longer than {EMAIL_LOCAL_PART_MAX} octets")
    return email


Email = Annotated[
    EmailStr, StringConstraints(max_length=EMAIL_MAX), AfterValidator(_local_part_fits)
]
FullName = Annotated[Text, StringConstraints(max_length=FULL_NAME_MAX)]
RoleName = Annotated[Text, StringConstraints(min_length=1, max_length=ROLE_NAME_MAX)]
PermissionName = Annotated[Text, StringConstraints(min_length=1, max_length=PERMISSION_NAME_MAX)]


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    # AUTOINCREMENT: SQLite never hands a deleted user's id to a new one (tokens, audit)
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=32)
    username_key: str = Field(max_length=32, unique=True)
    email: str | None = Field(default=None, max_length=EMAIL_MAX)
    full_name: str | None = Field(default=None, max_length=FULL_NAME_MAX)
    hashed_password: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserCreate(SQLModel):
    model_config = FORBID_EXTRA

    username: Username
    password: Password = Field(repr=False)
    email: Email | None = None
    full_name: FullName | None = None


class UserUpdate(SQLModel):
    """What an admin may change on `/users/{id}`."""

    model_config = FORBID_EXTRA

    email: Email | None = None
    full_name: FullName | None = None
    is_active: Annotated[bool | None, NotNull] = None
    password: Annotated[Password | None, NotNull] = Field(default=None, repr=False)


class UserSelfUpdate(SQLModel):
    """What a user may change on `/users/me`."""

    model_config = FORBID_EXTRA

    email: Email | None = None
    full_name: FullName | None = None


class PasswordChange(SQLModel):
    model_config = FORBID_EXTRA

    current_password: Annotated[str, StringConstraints(max_length=PASSWORD_MAX)] = Field(repr=False)
    new_password: Password = Field(repr=False)


class UserPublic(SQLModel):
    id: int
    username: str
    email: str | None
    full_name: str | None
    is_active: bool
    roles: list[str]
    permissions: list[str]


class UserPermission(SQLModel, table=True):
    __tablename__ = "user_permission"

    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", primary_key=True)
    permission: str = Field(max_length=PERMISSION_NAME_MAX, primary_key=True)


class Role(SQLModel, table=True):
    name: str = Field(max_length=ROLE_NAME_MAX, primary_key=True)
    description: str = Field(default="", max_length=500)
    builtin: bool = False


class RolePermission(SQLModel, table=True):
    __tablename__ = "role_permission"

    role_name: str = Field(foreign_key="role.name", ondelete="CASCADE", primary_key=True)
    permission: str = Field(max_length=PERMISSION_NAME_MAX, primary_key=True)


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"

    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", primary_key=True)
    role_name: str = Field(
        foreign_key="role.name", ondelete="CASCADE", primary_key=True, index=True
    )


class RoleCreate(SQLModel):
    model_config = FORBID_EXTRA

    name: RoleName
    description: Annotated[Text, StringConstraints(max_length=500)] = ""
    permissions: list[PermissionName] = []


class RoleUpdate(SQLModel):
    model_config = FORBID_EXTRA

    description: Annotated[Text | None, NotNull, Limit(max_length=500)] = None
    permissions: Annotated[list[PermissionName] | None, NotNull] = None


class RolePublic(SQLModel):
    name: str
    description: str
    permissions: list[str]
    builtin: bool


class PermissionPublic(SQLModel):
    name: str
    description: str


class PermissionsView(SQLModel):
    direct: list[str]
    roles: list[str]
    effective: list[str]


class PermissionSet(SQLModel):
    model_config = FORBID_EXTRA

    permissions: Annotated[list[PermissionName], Limit(max_length=64)]


class PermissionGrant(SQLModel):
    model_config = FORBID_EXTRA

    permission: PermissionName


class RoleSet(SQLModel):
    model_config = FORBID_EXTRA

    roles: Annotated[list[RoleName], Limit(max_length=64)]


class AuthSession(SQLModel, table=True):
    """One login: the family of every access and refresh token it issues."""

    __tablename__ = "auth_session"

    id: str = Field(max_length=32, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    scope: str | None = Field(default=None, max_length=1000)
    refresh_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed logins per username in the current window, shared by every worker."""

    __tablename__ = "login_throttle"

    username_key: str = Field(max_length=256, primary_key=True)
    attempts: int = 0
    window_started_at: datetime = Field(sa_type=UTCDateTime)


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=64, index=True)
    target_user_id: int | None = Field(default=None, index=True)
    target: str | None = Field(default=None, max_length=256)
    before: Any | None = Field(default=None, sa_column=Column(JSON))
    after: Any | None = Field(default=None, sa_column=Column(JSON))


class AuditPublic(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    action: str
    target_user_id: int | None
    target: str | None
    before: Any | None
    after: Any | None


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str
    scope: str


class RefreshRequest(SQLModel):
    model_config = FORBID_EXTRA

    refresh_token: Annotated[str, StringConstraints(max_length=4096)] = Field(repr=False)
