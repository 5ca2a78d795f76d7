"""Teams with their heroes: read with teams:read, change with teams:write."""

from fastapi import APIRouter, Response, status

from api.deps import SessionDep, TeamReader, TeamWriter, in_thread
from api.params import IdPath, PageDep
from api.responses import GUARDED, errors
from core import teams
from models import TeamCreate, TeamUpdate, TeamWithHeroes

router = APIRouter(prefix="/teams", tags=["teams"], responses=GUARDED)


@router.get("", response_model=list[TeamWithHeroes], response_model_exclude_unset=True)
async def list_teams(
    session: SessionDep, viewer: TeamReader, response: Response, page: PageDep
) -> list[TeamWithHeroes]:
    found, total = await in_thread(
        session, teams.list_teams, viewer, offset=page.offset, limit=page.limit
    )
    response.headers["X-Total-Count"] = str(total)
    return found


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamWithHeroes,
    response_model_exclude_unset=True,
    responses=errors(400, 409, 413),
)
async def create_team(session: SessionDep, viewer: TeamWriter, team: TeamCreate) -> TeamWithHeroes:
    return await in_thread(session, teams.create_team, viewer, team)


@router.get(
    "/{team_id}",
    response_model=TeamWithHeroes,
    response_model_exclude_unset=True,
    responses=errors(404),
)
async def read_team(session: SessionDep, viewer: TeamReader, team_id: IdPath) -> TeamWithHeroes:
    return await in_thread(session, teams.read_team, viewer, team_id)


@router.patch(
    "/{team_id}",
    response_model=TeamWithHeroes,
    response_model_exclude_unset=True,
    responses=errors(400, 404, 409, 413),
)
async def update_team(
    session: SessionDep, viewer: TeamWriter, team_id: IdPath, team: TeamUpdate
) -> TeamWithHeroes:
    return await in_thread(session, teams.update_team, viewer, team_id, team)


@router.delete("/{team_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
async def delete_team(session: SessionDep, viewer: TeamWriter, team_id: IdPath) -> None:
    await in_thread(session, teams.delete_team, team_id)
