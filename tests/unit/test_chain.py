"""SPEC §1, the seed's way: each link of get_session -> decode_token -> get_current_user ->
authorize is replaced through `app.dependency_overrides` in turn, and the rest runs for real."""

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jose import jwt
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from api.deps import decode_token, get_current_user
from core import heroes, tokens
from core.access import Principal
from core.permissions import ALL_PERMISSIONS
from models import Hero, HeroCreate, User
from models.common import utcnow
from tests.unit.conftest import Account, MakeUser, assert_forbidden, assert_refused

DEADPOND = {"name": "Deadpond", "secret_name": "Dive Wilson"}
NO_HERO_FIELDS = {"age": None, "team_id": None}

UseClaims = Callable[[tokens.Claims], None]
UsePrincipal = Callable[[Principal], None]


def claims_for(user_id: int, session_id: str, scope: str = "") -> tokens.Claims:
    return tokens.Claims(
        user_id=user_id,
        session_id=session_id,
        jti=tokens.new_id(),
        scope=scope,
        token_type="access",
        issued_at=utcnow(),
        expires_at=utcnow() + timedelta(minutes=15),
    )


def session_of(account: Account) -> str:
    session_id: str = jwt.get_unverified_claims(account.token)["sid"]
    return session_id


def principal(user_id: int, *permissions: str, username: str = "someone") -> Principal:
    return Principal(user_id, username, None, frozenset(permissions))


@pytest.fixture
def use_claims(app: FastAPI) -> Iterator[UseClaims]:
    """Every request arrives with these verified claims, whatever its header says."""

    def install(claims: tokens.Claims) -> None:
        app.dependency_overrides[decode_token] = lambda: claims

    yield install
    app.dependency_overrides.pop(decode_token, None)


@pytest.fixture
def use_principal(app: FastAPI) -> Iterator[UsePrincipal]:
    """Every request is made by this principal: the routes and `authorize` alone."""

    def install(user: Principal) -> None:
        app.dependency_overrides[get_current_user] = lambda: user

    yield install
    app.dependency_overrides.pop(get_current_user, None)


# decode_token replaced: get_current_user and authorize on their own


def test_current_user_is_loaded_from_the_claims_without_any_token(
    client: TestClient, make_user: MakeUser, use_claims: UseClaims
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    use_claims(claims_for(alice.id, session_of(alice)))
    response = client.get("/users/me")
    assert response.status_code == 200
    assert response.json() == {
        "id": alice.id,
        "username": "alice",
        "email": None,
        "full_name": None,
        "is_active": True,
        "roles": [],
        "permissions": ["heroes:read"],
    }


def test_permissions_come_from_the_database_not_the_claims(
    client: TestClient, make_user: MakeUser, use_claims: UseClaims
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    use_claims(claims_for(alice.id, session_of(alice), scope="heroes:write"))
    assert client.get("/heroes").status_code == 200
    response = client.post("/heroes", json=DEADPOND)
    assert_forbidden(response, "heroes:write")


def test_claims_of_an_ended_session_are_refused(
    client: TestClient, make_user: MakeUser, use_claims: UseClaims
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    assert client.post("/auth/logout", headers=alice.headers).status_code == 204
    use_claims(claims_for(alice.id, session_of(alice)))
    assert_refused(client.get("/heroes"))


def test_claims_of_a_user_that_does_not_exist_are_refused(
    client: TestClient, make_user: MakeUser, use_claims: UseClaims
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    use_claims(claims_for(alice.id + 1000, session_of(alice)))
    assert_refused(client.get("/users/me"))


def test_claims_of_an_inactive_user_are_refused_even_with_a_live_session(
    client: TestClient, engine: Engine, make_user: MakeUser, use_claims: UseClaims
) -> None:
    """Deactivating ends every session too; this is the check behind that one."""
    alice = make_user("alice", permissions=["heroes:read"])
    with Session(engine) as session:
        session.execute(update(User).where(col(User.id) == alice.id).values(is_active=False))
        session.commit()
    use_claims(claims_for(alice.id, session_of(alice)))
    assert_refused(client.get("/heroes"))


# get_current_user replaced: the routes and authorize in isolation


def test_principal_with_only_heroes_read_lists_but_cannot_create(
    client: TestClient, make_user: MakeUser, use_principal: UsePrincipal
) -> None:
    alice = make_user("alice", permissions=[])
    use_principal(principal(alice.id, "heroes:read"))
    listed = client.get("/heroes")
    assert listed.status_code == 200
    assert listed.json() == []
    assert listed.headers["x-total-count"] == "0"
    created = client.post("/heroes", json=DEADPOND)
    assert_forbidden(created, "heroes:write")


def test_route_gets_the_principal_the_chain_verified(
    client: TestClient, session: Session, make_user: MakeUser, use_principal: UsePrincipal
) -> None:
    alice = make_user("alice", permissions=[])  # the database grants nothing: the principal does
    use_principal(principal(alice.id, "heroes:write"))
    response = client.post("/heroes", json=DEADPOND)
    assert response.status_code == 201
    body = response.json()
    assert body == {**DEADPOND, "id": body["id"], **NO_HERO_FIELDS, "owner_id": alice.id}
    stored = session.get(Hero, body["id"])
    assert stored is not None
    assert stored.owner_id == alice.id


def test_routes_for_any_logged_in_user_get_the_principal(
    client: TestClient, make_user: MakeUser, use_principal: UsePrincipal
) -> None:
    alice = make_user("alice", permissions=[])
    use_principal(principal(alice.id, username="alice"))
    response = client.get("/users/me")
    assert response.status_code == 200
    assert response.json()["id"] == alice.id
    catalogue = client.get("/permissions")
    assert catalogue.status_code == 200
    assert sorted(item["name"] for item in catalogue.json()) == sorted(ALL_PERMISSIONS)


@pytest.mark.parametrize("permission", sorted(ALL_PERMISSIONS - {"heroes:read"}))
def test_authorize_wants_the_declared_permission_and_no_other(
    client: TestClient, use_principal: UsePrincipal, permission: str
) -> None:
    use_principal(principal(1, permission))
    response = client.get("/heroes")
    assert_forbidden(response, "heroes:read")


def test_authorize_any_lets_heroes_manage_change_another_users_hero(
    client: TestClient, session: Session, make_user: MakeUser, use_principal: UsePrincipal
) -> None:
    alice = make_user("alice", permissions=[])
    bob = make_user("bob", permissions=[])
    hero = heroes.create_hero(session, principal(alice.id), HeroCreate.model_validate(DEADPOND))
    use_principal(principal(bob.id, "heroes:write"))
    refused = client.patch(f"/heroes/{hero.id}", json={"age": 30})
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Missing permission: heroes:manage (the hero belongs to another user)"
    }
    use_principal(principal(bob.id, "heroes:manage"))
    changed = client.patch(f"/heroes/{hero.id}", json={"age": 30})
    assert changed.status_code == 200
    assert changed.json() == {
        **DEADPOND,
        "id": hero.id,
        "age": 30,
        "team_id": None,
        "owner_id": alice.id,
    }


def test_a_principal_without_a_permission_listed_gets_the_route_refused(
    client: TestClient, use_principal: UsePrincipal
) -> None:
    use_principal(principal(1))
    response = client.patch("/heroes/1", json={"age": 30})
    assert_forbidden(response, "heroes:write", "heroes:manage")


# get_session replaced (by the fixtures): the routes work against the test engine


def test_route_reads_and_writes_the_test_engine(
    client: TestClient, session: Session, admin: Account
) -> None:
    made = heroes.create_hero(session, principal(admin.id), HeroCreate.model_validate(DEADPOND))
    read = client.get(f"/heroes/{made.id}", headers=admin.headers)
    assert read.status_code == 200
    assert read.json() == {**DEADPOND, "id": made.id, **NO_HERO_FIELDS, "owner_id": admin.id}

    written = client.post(
        "/heroes", json={"name": "Rusty-Man", "secret_name": "Tommy Sharp"}, headers=admin.headers
    )
    assert written.status_code == 201
    stored = session.get(Hero, written.json()["id"])
    assert stored is not None
    assert (stored.name, stored.secret_name, stored.owner_id) == (
        "Rusty-Man",
        "Tommy Sharp",
        admin.id,
    )
