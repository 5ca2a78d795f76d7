"""Heroes: read with heroes:read; create with heroes:write; change your own or, with
heroes:manage, anyone's."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import HeroEditor, HeroReader, HeroWriter, SessionDep, in_thread
from api.params import IdPath, PageDep
from api.responses import GUARDED, NAMES_MISSING, errors
from core import heroes
from models import HeroCreate, HeroPublic, HeroUpdate
from models.common import INT32_MAX, NO_NUL
from models.hero import NAME_LENGTH

router = APIRouter(prefix="/heroes", tags=["heroes"], responses=GUARDED)

Age = Annotated[int | None, Query(ge=0, le=INT32_MAX)]


@router.get("", response_model=list[HeroPublic], response_model_exclude_unset=True)
async def list_heroes(
    session: SessionDep,
    viewer: HeroReader,
    response: Response,
    page: PageDep,
    name: Annotated[str | None, Query(max_length=NAME_LENGTH, pattern=NO_NUL)] = None,
    team_id: Annotated[int | None, Query(ge=1, le=INT32_MAX)] = None,
    min_age: Age = None,
    max_age: Age = None,
    after_id: Annotated[int | None, Query(ge=0, le=INT32_MAX)] = None,
) -> list[HeroPublic]:
    where = heroes.HeroFilter(name=name, team_id=team_id, min_age=min_age, max_age=max_age)
    found, total = await in_thread(
        session,
        heroes.list_heroes,
        viewer,
        where,
        offset=page.offset,
        limit=page.limit,
        after_id=after_id,
    )
    response.headers["X-Total-Count"] = str(total)
    return found


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HeroPublic,
    response_model_exclude_unset=True,
    responses={**errors(400, 413), **NAMES_MISSING},
)
async def create_hero(session: SessionDep, viewer: HeroWriter, hero: HeroCreate) -> HeroPublic:
    return await in_thread(session, heroes.create_hero, viewer, hero)


@router.get(
    "/{hero_id}",
    response_model=HeroPublic,
    response_model_exclude_unset=True,
    responses=errors(404),
)
async def read_hero(session: SessionDep, viewer: HeroReader, hero_id: IdPath) -> HeroPublic:
    return await in_thread(session, heroes.read_hero, viewer, hero_id)


@router.patch(
    "/{hero_id}",
    response_model=HeroPublic,
    response_model_exclude_unset=True,
    responses={**errors(400, 404, 413), **NAMES_MISSING},
)
async def update_hero(
    session: SessionDep, editor: HeroEditor, hero_id: IdPath, hero: HeroUpdate
) -> HeroPublic:
    return await in_thread(session, heroes.update_hero, editor, hero_id, hero)


@router.delete("/{hero_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def delete_hero(session: SessionDep, editor: HeroEditor, hero_id: IdPath) -> None:
    await in_thread(session, heroes.delete_hero, editor, hero_id)
