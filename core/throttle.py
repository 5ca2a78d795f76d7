"""Login throttling: failed attempts per username in a window, counted in the database."""

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, delete, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from core.config import get_settings
from models import LoginThrottle
from models.common import UTCDateTime, utcnow

KEY_MAX = 256


@dataclass(frozen=True)
class Attempt:
    number: int
    retry_after: int

    @property
    def allowed(self) -> bool:
        return self.number <= get_settings().login_max_failures

    @property
    def is_last(self) -> bool:
        return self.number == get_settings().login_max_failures


def throttle_key(username: str) -> str:
    return username.lower()[:KEY_MAX]


def reserve(session: Session, username: str) -> Attempt:
    """Count this attempt before the password is checked, in one atomic statement, so that
    concurrent guesses cannot slip past the limit; a success clears the count."""
    settings = get_settings()
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    expired = col(LoginThrottle.window_started_at) <= now - window
    statement = (
        insert(LoginThrottle)
        .values(username_key=throttle_key(username), attempts=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=["username_key"],
            set_={
                "attempts": case((expired, 1), else_=col(LoginThrottle.attempts) + 1),
                "window_started_at": case(
                    (expired, literal(now, UTCDateTime)),
                    else_=col(LoginThrottle.window_started_at),
                ),
            },
        )
        .returning(col(LoginThrottle.attempts), col(LoginThrottle.window_started_at))
    )
    attempts, started = session.execute(statement).one()
    # a concurrent attempt may have opened the window a moment after this one's `now`
    remaining = min((started + window - now).total_seconds(), settings.login_window_seconds)
    return Attempt(number=attempts, retry_after=max(1, math.ceil(remaining)))


def clear(session: Session, username: str) -> bool:
    result = session.execute(
        delete(LoginThrottle).where(col(LoginThrottle.username_key) == throttle_key(username))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE
