"""SPEC §4-§6, route by route: each is allowed with exactly the permission its table names, 403
without it, 401 without a token. The table below is checked against the app's own routes, so a
route added without a line here fails the suite."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlmodel import Session

from core import grants, heroes, teams
from core.access import Principal
from core.permissions import ALL_PERMISSIONS, CATALOGUE
from models import HeroCreate, RoleCreate, TeamCreate
from tests.unit.conftest import (
    BAD_TOKEN,
    DEFAULT_PASSWORD,
    Account,
    Configure,
    MakeUser,
    assert_forbidden,
    assert_refused,
    bearer,
)

PUBLIC: None = None
LOGIN: tuple[str, ...] = ()
"""Any logged-in user, whatever it holds."""

NOT_AUTHENTICATED = {"detail": "Not authenticated"}


@dataclass(frozen=True)
class World:
    """What the routes act on: the caller's hero in a team, another user, a custom role."""

    caller: Account
    target: int
    hero: int
    team: int
    role: str = "extras"


@dataclass(frozen=True)
class Call:
    url: str
    status: int
    body: Any = None
    """The answer must contain this (dict keys recursively; lists element by element)."""
    kwargs: dict[str, Any] = field(default_factory=dict)


Guard = tuple[str, ...] | None
"""PUBLIC, LOGIN, or the permissions any one of which allows the route."""

ROUTES: dict[tuple[str, str], tuple[Guard, Callable[[World], Call]]] = {
    ("POST", "/auth/token"): (
        PUBLIC,
        lambda w: Call(
            "/auth/token",
            200,
            {"token_type": "bearer", "expires_in": 900, "scope": ""},
            {"data": {"username": w.caller.username, "password": w.caller.password}},
        ),
    ),
    ("POST", "/auth/refresh"): (
        PUBLIC,
        lambda w: Call(
            "/auth/refresh",
            200,
            {"token_type": "bearer", "expires_in": 900, "scope": ""},
            {"json": {"refresh_token": w.caller.refresh_token}},
        ),
    ),
    ("POST", "/auth/register"): (
        PUBLIC,
        lambda w: Call(
            "/auth/register",
            201,
            {"username": "newcomer", "roles": [], "is_active": True},
            {"json": {"username": "newcomer", "password": "long enough"}},
        ),
    ),
    ("POST", "/auth/logout"): (LOGIN, lambda w: Call("/auth/logout", 204)),
    ("GET", "/users/me"): (
        LOGIN,
        lambda w: Call("/users/me", 200, {"id": w.caller.id, "username": "caller"}),
    ),
    ("PATCH", "/users/me"): (
        LOGIN,
        lambda w: Call(
            "/users/me",
            200,
            {"id": w.caller.id, "full_name": "Cal Ler"},
            {"json": {"full_name": "Cal Ler"}},
        ),
    ),
    ("POST", "/users/me/password"): (
        LOGIN,
        lambda w: Call(
            "/users/me/password",
            204,
            kwargs={"json": {"current_password": DEFAULT_PASSWORD, "new_password": "a new secret"}},
        ),
    ),
    ("GET", "/permissions"): (
        LOGIN,
        lambda w: Call(
            "/permissions",
            200,
            [{"name": name, "description": text} for name, text in CATALOGUE.items()],
        ),
    ),
    ("GET", "/users"): (
        ("users:read",),
        lambda w: Call(
            "/users",
            200,
            [{"username": "admin"}, {"username": "caller"}, {"username": "target"}],
        ),
    ),
    ("POST", "/users"): (
        ("users:manage",),
        lambda w: Call(
            "/users",
            201,
            {"username": "newcomer", "is_active": True},
            {"json": {"username": "newcomer", "password": "long enough"}},
        ),
    ),
    ("GET", "/users/{user_id}"): (
        ("users:read",),
        lambda w: Call(f"/users/{w.target}", 200, {"id": w.target, "username": "target"}),
    ),
    ("PATCH", "/users/{user_id}"): (
        ("users:manage",),
        lambda w: Call(
            f"/users/{w.target}",
            200,
            {"id": w.target, "full_name": "Tar Get"},
            {"json": {"full_name": "Tar Get"}},
        ),
    ),
    ("DELETE", "/users/{user_id}"): (
        ("users:manage",),
        lambda w: Call(f"/users/{w.target}", 204),
    ),
    ("POST", "/users/{user_id}/unlock"): (
        ("users:manage",),
        lambda w: Call(f"/users/{w.target}/unlock", 204),
    ),
    ("GET", "/users/{user_id}/permissions"): (
        ("users:read",),
        lambda w: Call(
            f"/users/{w.target}/permissions",
            200,
            {"direct": ["teams:read"], "roles": [], "effective": ["teams:read"]},
        ),
    ),
    ("PUT", "/users/{user_id}/permissions"): (
        ("permissions:manage",),
        lambda w: Call(
            f"/users/{w.target}/permissions",
            200,
            {"direct": ["heroes:read"], "roles": [], "effective": ["heroes:read"]},
            {"json": {"permissions": ["heroes:read"]}},
        ),
    ),
    ("POST", "/users/{user_id}/permissions"): (
        ("permissions:manage",),
        lambda w: Call(
            f"/users/{w.target}/permissions",
            200,
            {
                "direct": ["heroes:read", "teams:read"],
                "roles": [],
                "effective": ["heroes:read", "teams:read"],
            },
            {"json": {"permission": "heroes:read"}},
        ),
    ),
    ("DELETE", "/users/{user_id}/permissions/{permission}"): (
        ("permissions:manage",),
        lambda w: Call(f"/users/{w.target}/permissions/teams:read", 204),
    ),
    ("PUT", "/users/{user_id}/roles"): (
        ("permissions:manage",),
        lambda w: Call(
            f"/users/{w.target}/roles",
            200,
            {
                "direct": ["teams:read"],
                "roles": ["extras"],
                "effective": ["audit:read", "teams:read"],
            },
            {"json": {"roles": ["extras"]}},
        ),
    ),
    ("GET", "/roles"): (
        ("users:read",),
        lambda w: Call(
            "/roles",
            200,
            [
                {"name": "admin", "permissions": sorted(ALL_PERMISSIONS), "builtin": True},
                {"name": "extras", "permissions": ["audit:read"], "builtin": False},
            ],
        ),
    ),
    ("POST", "/roles"): (
        ("permissions:manage",),
        lambda w: Call(
            "/roles",
            201,
            {"name": "scribes", "description": "", "permissions": ["heroes:write"]},
            {"json": {"name": "scribes", "permissions": ["heroes:write"]}},
        ),
    ),
    ("PATCH", "/roles/{name}"): (
        ("permissions:manage",),
        lambda w: Call(
            f"/roles/{w.role}",
            200,
            {"name": "extras", "description": "renamed", "permissions": ["audit:read"]},
            {"json": {"description": "renamed"}},
        ),
    ),
    ("DELETE", "/roles/{name}"): (
        ("permissions:manage",),
        lambda w: Call(f"/roles/{w.role}", 204),
    ),
    ("GET", "/heroes"): (
        ("heroes:read",),
        lambda w: Call("/heroes", 200, [{"id": w.hero, "name": "Deadpond", "team_id": w.team}]),
    ),
    ("POST", "/heroes"): (
        ("heroes:write",),
        lambda w: Call(
            "/heroes",
            201,
            {"name": "Rusty-Man", "secret_name": "Tommy Sharp", "owner_id": w.caller.id},
            {"json": {"name": "Rusty-Man", "secret_name": "Tommy Sharp"}},
        ),
    ),
    ("GET", "/heroes/{hero_id}"): (
        ("heroes:read",),
        lambda w: Call(
            f"/heroes/{w.hero}",
            200,
            {"id": w.hero, "name": "Deadpond", "secret_name": "Dive Wilson"},
        ),
    ),
    ("PATCH", "/heroes/{hero_id}"): (
        ("heroes:write", "heroes:manage"),
        lambda w: Call(f"/heroes/{w.hero}", 200, {"id": w.hero, "age": 30}, {"json": {"age": 30}}),
    ),
    ("DELETE", "/heroes/{hero_id}"): (
        ("heroes:write", "heroes:manage"),
        lambda w: Call(f"/heroes/{w.hero}", 204),
    ),
    ("GET", "/teams"): (
        ("teams:read",),
        lambda w: Call(
            "/teams", 200, [{"id": w.team, "name": "Preventers", "heroes": [{"id": w.hero}]}]
        ),
    ),
    ("POST", "/teams"): (
        ("teams:write",),
        lambda w: Call(
            "/teams",
            201,
            {"name": "Z-Force", "headquarters": "Sister Margaret's Bar", "heroes": []},
            {"json": {"name": "Z-Force", "headquarters": "Sister Margaret's Bar"}},
        ),
    ),
    ("GET", "/teams/{team_id}"): (
        ("teams:read",),
        lambda w: Call(f"/teams/{w.team}", 200, {"id": w.team, "name": "Preventers"}),
    ),
    ("PATCH", "/teams/{team_id}"): (
        ("teams:write",),
        lambda w: Call(
            f"/teams/{w.team}",
            200,
            {"id": w.team, "headquarters": "Sharp Tower"},
            {"json": {"headquarters": "Sharp Tower"}},
        ),
    ),
    ("DELETE", "/teams/{team_id}"): (
        ("teams:write",),
        lambda w: Call(f"/teams/{w.team}", 204),
    ),
    ("GET", "/audit"): (
        ("audit:read",),
        lambda w: Call(
            "/audit",
            200,
            [{"action": "role.create", "target": "extras", "actor_id": None}],
            {"params": {"action": "role.create"}},
        ),
    ),
    ("GET", "/health"): (
        PUBLIC,
        lambda w: Call("/health", 200, {"status": "ok", "database": "ok"}),
    ),
}

GUARDED = [key for key, (guard, _) in ROUTES.items() if guard is not None]
ALLOWED_WITH = [
    (key, permission)
    for key, (guard, _) in ROUTES.items()
    for permission in (guard or [None])  # PUBLIC and LOGIN: allowed holding nothing
]
FORBIDDABLE = [key for key in GUARDED if ROUTES[key][0]]


def route_id(key: tuple[str, str]) -> str:
    return f"{key[0]} {key[1]}"


def like(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and like(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(like(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def send(client: TestClient, method: str, call: Call, headers: dict[str, str]) -> Response:
    return client.request(method, call.url, headers=headers, **call.kwargs)


def assert_answered(response: Response, call: Call) -> None:
    assert response.status_code == call.status, response.text
    if call.status == 204:
        assert response.content == b""
    else:
        assert like(response.json(), call.body), response.json()


def as_principal(account: Account) -> Principal:
    return Principal(account.id, account.username, None, frozenset())


@pytest.fixture
def build_world(session: Session, admin: Account, make_user: MakeUser) -> Callable[..., World]:
    """Built through core/: the caller owns a hero in a team; the target holds teams:read."""

    def build(permissions: list[str]) -> World:
        caller = make_user("caller", permissions=permissions)
        target = make_user("target", permissions=["teams:read"])
        team = teams.create_team(
            session, as_principal(caller), TeamCreate(name="Preventers", headquarters="Tower")
        )
        hero = heroes.create_hero(
            session,
            as_principal(caller),
            HeroCreate(name="Deadpond", secret_name="Dive Wilson", team_id=team.id),
        )
        grants.create_role(
            session, RoleCreate(name="extras", permissions=["audit:read"]), actor_id=None
        )
        return World(caller=caller, target=target.id, hero=hero.id, team=team.id)

    return build


# The table is the app


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, str(context.path))
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.original_route.include_in_schema  # not the /docs pages
        for method in context.methods or ()
    }


def test_every_route_of_the_app_is_in_the_table(app: FastAPI) -> None:
    assert app_routes(app) == set(ROUTES)


def test_every_route_declares_its_permission_for_the_docs(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    declared = {
        (method.upper(), path): operation.get("security")
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    expected = {
        key: None if guard is None else [{"OAuth2PasswordBearer": list(guard)}]
        for key, (guard, _) in ROUTES.items()
    }
    assert declared == expected


# Each route, from the outside


@pytest.mark.parametrize(
    ("key", "permission"),
    ALLOWED_WITH,
    ids=[f"{route_id(key)} with {permission}" for key, permission in ALLOWED_WITH],
)
def test_route_is_allowed_with_exactly_its_permission(
    client: TestClient,
    configure: Configure,
    build_world: Callable[..., World],
    key: tuple[str, str],
    permission: str | None,
) -> None:
    configure(ALLOW_REGISTRATION="true")
    guard, make_call = ROUTES[key]
    world = build_world([permission] if permission else [])
    call = make_call(world)
    headers = {} if guard is PUBLIC else world.caller.headers
    assert_answered(send(client, key[0], call, headers), call)


@pytest.mark.parametrize("key", FORBIDDABLE, ids=route_id)
def test_route_is_403_holding_everything_but_its_permission(
    client: TestClient, admin: Account, build_world: Callable[..., World], key: tuple[str, str]
) -> None:
    guard, make_call = ROUTES[key]
    assert guard
    world = build_world(sorted(ALL_PERMISSIONS - set(guard)))
    call = make_call(world)

    assert_forbidden(send(client, key[0], call, world.caller.headers), *guard)

    # the refusal changed nothing: the same request still does its work for someone allowed
    assert send(client, key[0], call, admin.headers).status_code == call.status


@pytest.mark.parametrize("key", GUARDED, ids=route_id)
def test_route_is_401_without_a_token(
    client: TestClient, build_world: Callable[..., World], key: tuple[str, str]
) -> None:
    world = build_world([])
    assert_refused(send(client, key[0], ROUTES[key][1](world), {}), NOT_AUTHENTICATED)


@pytest.mark.parametrize("key", GUARDED, ids=route_id)
def test_route_is_401_with_a_token_that_is_not_one(
    client: TestClient, build_world: Callable[..., World], key: tuple[str, str]
) -> None:
    world = build_world([])
    garbage = bearer("not-a-token")
    assert_refused(send(client, key[0], ROUTES[key][1](world), garbage), BAD_TOKEN)


# What the table implies, spelled out


def test_heroes_manage_does_not_imply_heroes_read(
    client: TestClient, build_world: Callable[..., World], make_user: MakeUser
) -> None:
    world = build_world(["heroes:write"])
    manager = make_user("manager", permissions=["heroes:manage"])
    assert_forbidden(client.get("/heroes", headers=manager.headers), "heroes:read")
    assert_forbidden(client.get(f"/heroes/{world.hero}", headers=manager.headers), "heroes:read")
    changed = client.patch(f"/heroes/{world.hero}", json={"age": 31}, headers=manager.headers)
    assert changed.status_code == 200
    assert like(changed.json(), {"id": world.hero, "age": 31, "secret_name": "Dive Wilson"})


def test_heroes_write_cannot_change_another_users_hero(
    client: TestClient, build_world: Callable[..., World], make_user: MakeUser
) -> None:
    world = build_world(["heroes:write"])
    writer = make_user("writer", permissions=["heroes:read", "heroes:write"])
    refused = {"detail": "Missing permission: heroes:manage (the hero belongs to another user)"}
    challenge = 'Bearer error="insufficient_scope", scope="heroes:manage"'
    for response in (
        client.patch(f"/heroes/{world.hero}", json={"age": 31}, headers=writer.headers),
        client.delete(f"/heroes/{world.hero}", headers=writer.headers),
    ):
        assert response.status_code == 403
        assert response.json() == refused
        assert response.headers["www-authenticate"] == challenge
    hero = client.get(f"/heroes/{world.hero}", headers=writer.headers)
    assert hero.status_code == 200
    assert hero.json() == {
        "id": world.hero,
        "name": "Deadpond",
        "age": None,
        "team_id": world.team,
        "owner_id": world.caller.id,
    }


def test_users_manage_does_not_imply_users_read(
    client: TestClient, build_world: Callable[..., World], make_user: MakeUser
) -> None:
    world = build_world([])
    manager = make_user("manager", permissions=["users:manage"])
    for url in ("/users", f"/users/{world.target}", f"/users/{world.target}/permissions", "/roles"):
        assert_forbidden(client.get(url, headers=manager.headers), "users:read")
    body = {"username": "newcomer", "password": "long enough"}
    created = client.post("/users", json=body, headers=manager.headers)
    assert created.status_code == 201
    assert like(created.json(), {"username": "newcomer", "is_active": True})


def test_permission_revoked_is_refused_on_the_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["teams:read", "teams:write"])
    team = {"name": "Preventers", "headquarters": "Tower"}
    assert client.post("/teams", json=team, headers=alice.headers).status_code == 201
    revoked = client.delete(f"/users/{alice.id}/permissions/teams:write", headers=admin.headers)
    assert revoked.status_code == 204

    refused = client.post("/teams", json={**team, "name": "Z-Force"}, headers=alice.headers)

    assert_forbidden(refused, "teams:write")
    listed = client.get("/teams", headers=alice.headers)
    assert listed.status_code == 200
    assert like(listed.json(), [{"name": "Preventers", "heroes": []}])


def test_permissions_catalogue_needs_only_a_login(client: TestClient, make_user: MakeUser) -> None:
    nobody = make_user("nobody", permissions=[])
    response = client.get("/permissions", headers=nobody.headers)
    assert response.status_code == 200
    assert response.json() == [
        {"name": name, "description": text} for name, text in CATALOGUE.items()
    ]
    assert all(item["description"] for item in response.json())
    assert_refused(client.get("/permissions"), NOT_AUTHENTICATED)


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "www-authenticate" not in response.headers
