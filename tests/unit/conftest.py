"""Unit tests in the seed's way: a database of their own, `get_session` overridden, users
built through core/, tokens fetched from the real login endpoint."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from api.main import create_app
from core import bootstrap, db, hashing, users
from core.config import get_settings
from models import UserCreate
from tests.settings import on_postgres, postgres_database

DEFAULT_PASSWORD = "correct horse battery"
DEFAULT_PERMISSIONS = ["heroes:read", "heroes:write", "teams:read"]
"""SPEC's default for a new user, written out so that tests check the code against it."""
BAD_CREDENTIALS = {"detail": "Incorrect username or password"}
BAD_REFRESH = {"detail": "Invalid or expired refresh token"}
BAD_TOKEN = {"detail": "Could not validate credentials"}
LOCKED_OUT = {"detail": "Too many failed logins; try again later"}
WRONG_PASSWORD = "not the password"

Configure = Callable[..., None]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    if not on_postgres():
        yield None
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def engine(postgres_url: str | None) -> Iterator[Engine]:
    # the seed's in-memory SQLite with StaticPool, configured as the service configures it
    engine = db.create_db_engine(get_settings(), postgres_url or "sqlite://")
    SQLModel.metadata.create_all(engine)
    yield engine
    if postgres_url is not None:
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(engine: Engine) -> Iterator[FastAPI]:
    app = create_app(prepare_on_start=False)

    def get_test_session() -> Iterator[Session]:
        with Session(engine, expire_on_commit=False) as session:
            yield session

    app.dependency_overrides[db.get_session] = get_test_session
    yield app
    app.dependency_overrides.clear()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@dataclass
class Account:
    id: int
    username: str
    password: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


MakeUser = Callable[..., Account]


@pytest.fixture
def make_user(session: Session, client: TestClient) -> MakeUser:
    """A user built through core/, logged in through the real endpoint."""

    def make(
        username: str,
        *,
        permissions: list[str] | None = None,
        roles: list[str] = (),  # type: ignore[assignment]
        password: str = DEFAULT_PASSWORD,
        scope: str | None = None,
    ) -> Account:
        bootstrap.ensure_admin_role(session)
        user = users.create_user(
            session,
            UserCreate(username=username, password=password),
            actor_id=None,
            permissions=permissions if permissions is not None else [],
            roles=list(roles),
        )
        assert user.id is not None
        response = login(client, username, password, scope)
        assert response.status_code == 200, response.text
        body = response.json()
        return Account(user.id, username, password, body["access_token"], body["refresh_token"])

    return make


@pytest.fixture
def admin(make_user: MakeUser) -> Account:
    return make_user("admin", roles=["admin"])


def clear_setting_caches() -> None:
    get_settings.cache_clear()
    hashing._context.cache_clear()
    hashing._dummy_hash.cache_clear()
    hashing._slots.cache_clear()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Set environment settings for one test; every cache built from them is rebuilt."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        clear_setting_caches()

    yield apply
    monkeypatch.undo()
    clear_setting_caches()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str, password: str, scope: str | None = None) -> Response:
    form = {"username": username, "password": password}
    if scope is not None:
        form["scope"] = scope
    return client.post("/auth/token", data=form)


def assert_refused(response: Response, body: dict[str, str] = BAD_TOKEN) -> None:
    """A 401 with its body and the Bearer challenge."""
    assert response.status_code == 401, response.text
    assert response.json() == body
    assert response.headers["www-authenticate"] == "Bearer"


def lock_out(client: TestClient, username: str) -> None:
    """LOGIN_MAX_FAILURES wrong passwords through the API: the next login is refused."""
    for _ in range(get_settings().login_max_failures):
        assert_refused(login(client, username, WRONG_PASSWORD), BAD_CREDENTIALS)


def assert_locked_out(client: TestClient, username: str, password: str) -> int:
    """The 429 of a lockout: the fixed body and a whole positive number of seconds, returned."""
    response = login(client, username, password)
    assert response.status_code == 429, response.text
    assert response.json() == LOCKED_OUT
    assert "access_token" not in response.text
    seconds = response.headers["retry-after"]
    assert seconds.isdigit(), seconds
    assert 1 <= int(seconds) <= get_settings().login_window_seconds
    return int(seconds)


def assert_forbidden(response: Response, *missing: str) -> None:
    """`missing`: the permission the route needs, or the ones any of which would do."""
    scope = " ".join(missing)
    named = missing[0] if len(missing) == 1 else f"one of {scope}"
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": f"Missing permission: {named}"}
    assert response.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="{scope}"'
    )


def create_hero(client: TestClient, owner: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": "Deadpond", "secret_name": "Dive Wilson", **fields}
    response = client.post("/heroes", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_team(
    client: TestClient, writer: Account, name: str = "Preventers", hq: str = "Sharp Tower"
) -> dict[str, Any]:
    response = client.post(
        "/teams", json={"name": name, "headquarters": hq}, headers=writer.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def public(hero: dict[str, Any]) -> dict[str, Any]:
    """A hero as someone who may not see its secret_name sees it."""
    return {key: value for key, value in hero.items() if key != "secret_name"}
