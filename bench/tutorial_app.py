"""The SQLModel tutorial's open GET /heroes/{hero_id} on hero-api's hero table (configuration 2)."""

import os
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from sqlmodel import Field, Session, SQLModel, create_engine


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    headquarters: str


class HeroBase(SQLModel):
    name: str = Field(index=True)
    secret_name: str
    age: int | None = Field(default=None, index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id")


class Hero(HeroBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    owner_id: int | None = Field(default=None, index=True)


class HeroPublic(HeroBase):
    id: int


def connect_args_for(url: str) -> dict[str, Any]:
    return {"check_same_thread": False} if url.startswith("sqlite") else {}


def pool_args() -> dict[str, Any]:
    """The tutorial as written uses SQLAlchemy's default pool (5 + 10). BENCH_TUTORIAL_POOL
    lets it grow to that many connections (5 kept, the rest opened under load), the one
    change that keeps it from stalling."""
    size = os.environ.get("BENCH_TUTORIAL_POOL")
    return {"pool_size": 5, "max_overflow": int(size) - 5} if size else {}


database_url = os.environ.get("DATABASE_URL", "sqlite:///./hero.db")
engine = create_engine(database_url, connect_args=connect_args_for(database_url), **pool_args())


def get_session() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

app = FastAPI()


@app.get("/heroes/{hero_id}", response_model=HeroPublic)
def read_hero(hero_id: int, session: SessionDep) -> Hero:
    hero = session.get(Hero, hero_id)
    if not hero:
        raise HTTPException(status_code=404, detail="Hero not found")
    return hero
