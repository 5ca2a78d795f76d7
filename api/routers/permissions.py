"""The permission catalogue, a user's grants and roles, and the roles themselves."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import CurrentUser, PermissionManager, SessionDep, UserReader, in_thread
from api.params import IdPath
from api.responses import AUTHENTICATED, NAMES_MISSING, errors
from core import grants
from core.permissions import CATALOGUE
from models import (
    PermissionGrant,
    PermissionPublic,
    PermissionSet,
    PermissionsView,
    RoleCreate,
    RolePublic,
    RoleSet,
    RoleUpdate,
)
from models.common import NO_NUL
from models.user import PERMISSION_NAME_MAX, ROLE_NAME_MAX

router = APIRouter(tags=["permissions"], responses=AUTHENTICATED)

CHANGES_GRANTS = {**errors(400, 403, 404, 409, 413), **NAMES_MISSING}

PermissionPath = Annotated[str, Path(min_length=1, max_length=PERMISSION_NAME_MAX, pattern=NO_NUL)]
RolePath = Annotated[str, Path(min_length=1, max_length=ROLE_NAME_MAX, pattern=NO_NUL)]


@router.get("/permissions")
async def list_permissions(user: CurrentUser) -> list[PermissionPublic]:
    return [PermissionPublic(name=name, description=text) for name, text in CATALOGUE.items()]


@router.get("/users/{user_id}/permissions", responses=errors(403, 404))
async def read_user_permissions(
    session: SessionDep, reader: UserReader, user_id: IdPath
) -> PermissionsView:
    return await in_thread(session, grants.view, user_id)


@router.put("/users/{user_id}/permissions", responses=CHANGES_GRANTS)
async def replace_user_permissions(
    session: SessionDep, admin: PermissionManager, user_id: IdPath, body: PermissionSet
) -> PermissionsView:
    return await in_thread(
        session, grants.set_direct_and_view, user_id, body.permissions, actor_id=admin.id
    )


@router.post("/users/{user_id}/permissions", responses=CHANGES_GRANTS)
async def grant_permission(
    session: SessionDep, admin: PermissionManager, user_id: IdPath, body: PermissionGrant
) -> PermissionsView:
    return await in_thread(
        session, grants.grant_and_view, user_id, body.permission, actor_id=admin.id
    )


@router.delete(
    "/users/{user_id}/permissions/{permission}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**errors(403, 404, 409), **NAMES_MISSING},
)
async def revoke_permission(
    session: SessionDep, admin: PermissionManager, user_id: IdPath, permission: PermissionPath
) -> None:
    await in_thread(session, grants.revoke, user_id, permission, actor_id=admin.id)


@router.put("/users/{user_id}/roles", responses=CHANGES_GRANTS)
async def replace_user_roles(
    session: SessionDep, admin: PermissionManager, user_id: IdPath, body: RoleSet
) -> PermissionsView:
    return await in_thread(
        session, grants.set_roles_and_view, user_id, body.roles, actor_id=admin.id
    )


@router.get("/roles", responses=errors(403))
async def list_roles(session: SessionDep, reader: UserReader) -> list[RolePublic]:
    return await in_thread(session, grants.list_roles)


@router.post(
    "/roles",
    status_code=status.HTTP_201_CREATED,
    responses={**errors(400, 403, 409, 413), **NAMES_MISSING},
)
async def create_role(
    session: SessionDep, admin: PermissionManager, body: RoleCreate
) -> RolePublic:
    return await in_thread(session, grants.create_role, body, actor_id=admin.id)


@router.patch("/roles/{name}", responses=CHANGES_GRANTS)
async def update_role(
    session: SessionDep, admin: PermissionManager, name: RolePath, body: RoleUpdate
) -> RolePublic:
    return await in_thread(session, grants.update_role, name, body, actor_id=admin.id)


@router.delete(
    "/roles/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404, 409)
)
async def delete_role(session: SessionDep, admin: PermissionManager, name: RolePath) -> None:
    await in_thread(session, grants.delete_role, name, actor_id=admin.id)
