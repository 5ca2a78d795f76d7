"""Logging in (OAuth2 password flow), refreshing, logging out, signing up."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, SessionDep, in_thread
from core import auth, users
from core.config import get_settings
from models import RefreshRequest, Token, UserCreate, UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token")
async def login(
    session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    return await in_thread(session, auth.login, form.username, form.password, " ".join(form.scopes))


@router.post("/refresh")
async def refresh(session: SessionDep, body: RefreshRequest) -> Token:
    return await in_thread(session, auth.refresh, body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    session: SessionDep,
    user: CurrentUser,
    everywhere: Annotated[bool, Query(alias="all")] = False,
) -> None:
    await in_thread(session, auth.logout, user, everywhere=everywhere)


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(session: SessionDep, body: UserCreate) -> UserPublic:
    if not get_settings().allow_registration:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Not Found")
    return await in_thread(session, users.register, body)
