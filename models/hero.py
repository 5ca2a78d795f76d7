"""Heroes and teams, as in the SQLModel tutorial, with an owner per hero."""

from typing import Annotated

from sqlmodel import Field, Relationship, SQLModel

from models.common import FORBID_EXTRA, INT32_MAX, NotNull, Text

NAME_LENGTH = 100


class TeamBase(SQLModel):
    name: Text = Field(min_length=1, max_length=NAME_LENGTH)
    headquarters: Text = Field(min_length=1, max_length=NAME_LENGTH)


class Team(TeamBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name_key: str = Field(max_length=NAME_LENGTH, unique=True)

    heroes: list["Hero"] = Relationship(back_populates="team")


class TeamCreate(TeamBase):
    model_config = FORBID_EXTRA


class TeamUpdate(SQLModel):
    model_config = FORBID_EXTRA

    name: Annotated[Text | None, NotNull] = Field(
        default=None, min_length=1, max_length=NAME_LENGTH
    )
    headquarters: Annotated[Text | None, NotNull] = Field(
        default=None, min_length=1, max_length=NAME_LENGTH
    )


class HeroBase(SQLModel):
    name: Text = Field(min_length=1, max_length=NAME_LENGTH, index=True)
    age: int | None = Field(default=None, ge=0, le=INT32_MAX, index=True)
    team_id: int | None = Field(
        default=None,
        ge=1,
        le=INT32_MAX,
        foreign_key="team.id",
        ondelete="SET NULL",
        index=True,
    )


class Hero(HeroBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    secret_name: Text = Field(max_length=NAME_LENGTH)
    owner_id: int | None = Field(
        default=None, foreign_key="app_user.id", ondelete="SET NULL", index=True
    )

    team: Team | None = Relationship(back_populates="heroes")


class HeroCreate(HeroBase):
    model_config = FORBID_EXTRA

    secret_name: Text = Field(min_length=1, max_length=NAME_LENGTH)


class HeroUpdate(SQLModel):
    model_config = FORBID_EXTRA

    name: Annotated[Text | None, NotNull] = Field(
        default=None, min_length=1, max_length=NAME_LENGTH
    )
    secret_name: Annotated[Text | None, NotNull] = Field(
        default=None, min_length=1, max_length=NAME_LENGTH
    )
    age: int | None = Field(default=None, ge=0, le=INT32_MAX)
    team_id: int | None = Field(default=None, ge=1, le=INT32_MAX)


class HeroPublic(HeroBase):
    """`secret_name` is present only for the owner and for holders of heroes:manage."""

    id: int
    owner_id: int | None
    secret_name: str | None = None


class TeamPublic(TeamBase):
    id: int


class TeamWithHeroes(TeamPublic):
    heroes: list[HeroPublic] = []
