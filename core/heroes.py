"""Heroes: ownership, who sees `secret_name`, filters and pages."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlmodel import Session, col

from core.access import Principal
from core.errors import Forbidden, Invalid, NotFound
from core.permissions import Permission
from core.reads import fetch_all
from models import Hero, HeroCreate, HeroPublic, HeroUpdate, Team


@dataclass(frozen=True)
class HeroFilter:
    name: str | None = None
    team_id: int | None = None
    min_age: int | None = None
    max_age: int | None = None


Ts = TypeVarTuple("Ts")

HERO_COLUMNS = (
    col(Hero.id),
    col(Hero.name),
    col(Hero.secret_name),
    col(Hero.age),
    col(Hero.team_id),
    col(Hero.owner_id),
)
READ_HERO = select(*HERO_COLUMNS).where(col(Hero.id) == bindparam("hero_id", type_=Integer))
HERO_FIELDS = tuple(READ_HERO.selected_columns.keys())
"""Reads skip the ORM: one hero through core.reads, pages as Core; rows are presented without
a second validation."""


def sees_secret(viewer: Principal, owner_id: int | None) -> bool:
    return owner_id == viewer.id or viewer.can(Permission.HEROES_MANAGE)


def _present_fields(viewer: Principal, fields: dict[str, Any]) -> HeroPublic:
    """Every representation of a hero goes through here: `secret_name` is left unset (and so
    absent from the response) unless the viewer owns the hero or manages heroes. The fields
    come from the database, already valid: construct, do not validate them again."""
    if not sees_secret(viewer, fields["owner_id"]):
        del fields["secret_name"]
    return HeroPublic.model_construct(**fields)


def present(viewer: Principal, hero: Hero) -> HeroPublic:
    return _present_fields(viewer, hero.model_dump())


def present_row(viewer: Principal, row: Sequence[Any]) -> HeroPublic:
    """A row of HERO_COLUMNS, from a page or from core.reads."""
    return _present_fields(viewer, dict(zip(HERO_FIELDS, row, strict=True)))


def _filtered(query: Select[*Ts], where: HeroFilter) -> Select[*Ts]:
    if where.name is not None:
        query = query.where(col(Hero.name) == where.name)
    if where.team_id is not None:
        query = query.where(col(Hero.team_id) == where.team_id)
    if where.min_age is not None:
        query = query.where(col(Hero.age) >= where.min_age)
    if where.max_age is not None:
        query = query.where(col(Hero.age) <= where.max_age)
    return query


def list_heroes(
    session: Session,
    viewer: Principal,
    where: HeroFilter,
    *,
    offset: int,
    limit: int,
    after_id: int | None,
) -> tuple[list[HeroPublic], int]:
    """A page ordered by id, and the number of heroes matching the filters (paging ignored).
    `after_id` seeks on the primary key, so a deep page costs what the first one does."""
    page = _filtered(select(*HERO_COLUMNS), where)
    if after_id is not None:
        page = page.where(col(Hero.id) > after_id)
    page = page.order_by(col(Hero.id)).offset(offset).limit(limit)
    total_query = _filtered(select(func.count()).select_from(Hero), where)
    connection = session.connection()
    total = connection.execute(total_query).scalar_one()
    rows = connection.execute(page).all()
    return [present_row(viewer, row) for row in rows], int(total)


def get_hero(session: Session, hero_id: int) -> Hero:
    hero = session.get(Hero, hero_id)
    if hero is None:
        raise NotFound("Hero not found")
    return hero


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"Unknown team_id: {team_id}")


def create_hero(session: Session, viewer: Principal, data: HeroCreate) -> HeroPublic:
    _check_team(session, data.team_id)
    hero = Hero.model_validate(data, update={"owner_id": viewer.id})
    session.add(hero)
    session.commit()
    return present(viewer, hero)


def _check_may_change(viewer: Principal, hero: Hero) -> None:
    if viewer.can(Permission.HEROES_MANAGE):
        return
    if hero.owner_id != viewer.id:
        raise Forbidden(
            "Missing permission: heroes:manage (the hero belongs to another user)",
            missing=Permission.HEROES_MANAGE,
        )
    viewer.require(Permission.HEROES_WRITE)


def update_hero(session: Session, viewer: Principal, hero_id: int, data: HeroUpdate) -> HeroPublic:
    hero = get_hero(session, hero_id)
    _check_may_change(viewer, hero)
    changes = data.model_dump(exclude_unset=True)
    if "team_id" in changes:
        _check_team(session, changes["team_id"])
    hero.sqlmodel_update(changes)
    session.add(hero)
    session.commit()
    return present(viewer, hero)


def delete_hero(session: Session, viewer: Principal, hero_id: int) -> None:
    hero = get_hero(session, hero_id)
    _check_may_change(viewer, hero)
    session.delete(hero)
    session.commit()


def read_hero(session: Session, viewer: Principal, hero_id: int) -> HeroPublic:
    rows = fetch_all(session, READ_HERO, {"hero_id": hero_id})
    if not rows:
        raise NotFound("Hero not found")
    return present_row(viewer, rows[0])
