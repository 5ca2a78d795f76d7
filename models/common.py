"""Shared field types and the UTC datetime column."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel._compat import SQLModelConfig

INT32_MAX = 2**31 - 1

FORBID_EXTRA = SQLModelConfig(extra="forbid")
"""Request shapes refuse fields they do not know (`id`, `owner_id`, `is_active`, ...)."""

NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
"""Client text: PostgreSQL's text types cannot hold NUL, so it is a 422, never a 500."""

Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
Offset = Annotated[int, Field(ge=0, le=INT32_MAX)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value)


def as_utc(moment: datetime) -> datetime:
    """Naive means UTC; an aware datetime is converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _in_utc(value: datetime) -> datetime:
    try:
        return as_utc(value)
    except OverflowError:  # year 1 at +01:00, year 9999 at -01:00: no such UTC datetime
        raise ValueError("datetime out of range once converted to UTC") from None


UTCInstant = Annotated[datetime, AfterValidator(_in_utc)]
"""Client datetimes: naive means UTC; one that UTC cannot express is a 422, never a 500."""


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("this field cannot be null")
    return value


NotNull = AfterValidator(_not_null)
"""For update shapes: a required field may be left out, but not set to null."""
