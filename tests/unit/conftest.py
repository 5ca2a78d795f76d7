"""Unit tests in the seed's way: a database of their own, `get_session` overridden, users
built through core/, tokens fetched from the real login endpoint."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from api.main import create_app
from core import bootstrap, db, users
from core.config import get_settings
from models import UserCreate
from tests.settings import on_postgres, postgres_database

DEFAULT_PASSWORD = "correct horse battery"


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
        return {"Authorization": f"Bearer {self.token}"}


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
        form = {"username": username, "password": password}
        if scope is not None:
            form["scope"] = scope
        response = client.post("/auth/token", data=form)
        assert response.status_code == 200, response.text
        body = response.json()
        return Account(user.id, username, password, body["access_token"], body["refresh_token"])

    return make


@pytest.fixture
def admin(make_user: MakeUser) -> Account:
    return make_user("admin", roles=["admin"])
