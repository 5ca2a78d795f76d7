"""Teams with their heroes; names unique regardless of case."""

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from core.access import Principal
from core.errors import Conflict, NotFound
from core.heroes import present as present_hero
from models import Hero, Team, TeamCreate, TeamUpdate, TeamWithHeroes

NAME_TAKEN = "A team with this name already exists"


def present(viewer: Principal, team: Team) -> TeamWithHeroes:
    assert team.id is not None
    return TeamWithHeroes(
        id=team.id,
        name=team.name,
        headquarters=team.headquarters,
        heroes=[
            present_hero(viewer, hero) for hero in sorted(team.heroes, key=lambda h: h.id or 0)
        ],
    )


def list_teams(
    session: Session, viewer: Principal, *, offset: int, limit: int
) -> tuple[list[TeamWithHeroes], int]:
    total = session.exec(select(func.count()).select_from(Team)).one()
    query = (
        select(Team)
        .options(selectinload(Team.heroes))  # type: ignore[arg-type]  # relationship attribute
        .order_by(col(Team.id))
        .offset(offset)
        .limit(limit)
    )
    return [present(viewer, team) for team in session.exec(query)], total


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("Team not found")
    return team


def read_team(session: Session, viewer: Principal, team_id: int) -> TeamWithHeroes:
    return present(viewer, get_team(session, team_id))


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    query = select(Team.id).where(Team.name_key == name.lower())
    found = session.exec(query).first()
    return found is not None and found != except_id


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(NAME_TAKEN) from None


def create_team(session: Session, viewer: Principal, data: TeamCreate) -> TeamWithHeroes:
    if _name_taken(session, data.name):
        raise Conflict(NAME_TAKEN)
    team = Team.model_validate(data, update={"name_key": data.name.lower()})
    session.add(team)
    _commit(session)
    return present(viewer, team)


def update_team(
    session: Session, viewer: Principal, team_id: int, data: TeamUpdate
) -> TeamWithHeroes:
    team = get_team(session, team_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        if _name_taken(session, changes["name"], except_id=team_id):
            raise Conflict(NAME_TAKEN)
        changes["name_key"] = changes["name"].lower()
    team.sqlmodel_update(changes)
    session.add(team)
    _commit(session)
    return present(viewer, team)


def delete_team(session: Session, team_id: int) -> None:
    """Its heroes stay, without a team."""
    team = get_team(session, team_id)
    session.execute(update(Hero).where(col(Hero.team_id) == team_id).values(team_id=None))
    session.delete(team)
    session.commit()
