"""The current user's own account, and the admin's view of every account."""

from fastapi import APIRouter, Response, status

from api.deps import (
    CurrentUser,
    SessionDep,
    UserManager,
    UserReader,
    in_hashing_thread,
    in_thread,
)
from api.params import IdPath, PageDep
from api.responses import AUTHENTICATED, errors
from core import users
from models import PasswordChange, UserCreate, UserPublic, UserSelfUpdate, UserUpdate

router = APIRouter(prefix="/users", tags=["users"], responses=AUTHENTICATED)


@router.get("/me")
async def read_me(session: SessionDep, user: CurrentUser) -> UserPublic:
    return await in_thread(session, users.read_user, user.id)


@router.patch("/me", responses=errors(400, 413))
async def update_me(session: SessionDep, user: CurrentUser, changes: UserSelfUpdate) -> UserPublic:
    return await in_thread(session, users.update_self_and_present, user.id, changes)


@router.post("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=errors(400, 413))
async def change_password(session: SessionDep, user: CurrentUser, body: PasswordChange) -> None:
    await in_hashing_thread(
        session, users.change_password, user.id, body.current_password, body.new_password
    )


@router.get("", responses=errors(403))
async def list_users(
    session: SessionDep, reader: UserReader, response: Response, page: PageDep
) -> list[UserPublic]:
    found, total = await in_thread(session, users.list_public, offset=page.offset, limit=page.limit)
    response.headers["X-Total-Count"] = str(total)
    return found


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(400, 403, 409, 413))
async def create_user(session: SessionDep, admin: UserManager, body: UserCreate) -> UserPublic:
    return await in_hashing_thread(session, users.create_and_present, body, actor_id=admin.id)


@router.get("/{user_id}", responses=errors(403, 404))
async def read_user(session: SessionDep, reader: UserReader, user_id: IdPath) -> UserPublic:
    return await in_thread(session, users.read_user, user_id)


@router.patch("/{user_id}", responses=errors(400, 403, 404, 409, 413))
async def update_user(
    session: SessionDep, admin: UserManager, user_id: IdPath, changes: UserUpdate
) -> UserPublic:
    run = in_thread if changes.password is None else in_hashing_thread
    return await run(session, users.update_and_present, user_id, changes, actor_id=admin.id)


@router.delete(
    "/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404, 409)
)
async def delete_user(session: SessionDep, admin: UserManager, user_id: IdPath) -> None:
    await in_thread(session, users.delete_user, user_id, actor_id=admin.id)


@router.post(
    "/{user_id}/unlock", status_code=status.HTTP_204_NO_CONTENT, responses=errors(403, 404)
)
async def unlock_user(session: SessionDep, admin: UserManager, user_id: IdPath) -> None:
    await in_thread(session, users.unlock, user_id, actor_id=admin.id)
