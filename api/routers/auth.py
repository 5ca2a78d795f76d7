"""Logging in (OAuth2 password flow), refreshing, logging out, signing up."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, SessionDep, in_hashing_thread, in_thread
from api.responses import AUTHENTICATED, ErrorMessage, InvalidScopeError, errors
from core import auth, users
from core.config import get_settings
from models import RefreshRequest, Token, UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])

BAD_LOGIN_REQUEST = "invalid_scope, or a form that cannot be parsed"


@router.post(
    "/token",
    responses={
        400: {"model": InvalidScopeError | ErrorMessage, "description": BAD_LOGIN_REQUEST},
        **errors(401, 403, 413, 429, 503),
    },
)
async def login(
    session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    return await in_hashing_thread(
        session, auth.login, form.username, form.password, " ".join(form.scopes)
    )


@router.post("/refresh", responses=errors(400, 401, 413, 503))
async def refresh(session: SessionDep, body: RefreshRequest) -> Token:
    return await in_thread(session, auth.refresh, body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=AUTHENTICATED)
async def logout(
    session: SessionDep,
    user: CurrentUser,
    everywhere: Annotated[bool, Query(alias="all")] = False,
) -> None:
    await in_thread(session, auth.logout, user, everywhere=everywhere)


@router.post(
    "/register", status_code=status.HTTP_201_CREATED, responses=errors(400, 404, 409, 413, 503)
)
async def register(session: SessionDep, body: UserCreate) -> UserPublic:
    if not get_settings().allow_registration:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Not Found")
    return await in_hashing_thread(session, users.register, body)
