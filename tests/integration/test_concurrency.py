"""Concurrent requests against a real server: a uniqueness race ends in one 201 and 409s, never
a 500; parallel creations lose nothing; many connections at once get answers, not 5xx."""

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest

from tests.integration.server import Server, bearer, database, run_server

RACERS = 20
PARALLEL_HEROES = 50
CONNECTIONS = 256
BURST_TIMEOUT_SECONDS = 60.0

Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("concurrency")
    with database(directory) as url, run_server(url, workdir=directory) as server:
        yield server


@pytest.fixture(scope="module")
def admin_headers(server: Server) -> dict[str, str]:
    return server.admin_headers()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


DIGITS_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")
"""Digits have no case; a word made of letters only has enough spellings."""


def casings(prefix: str, count: int) -> list[str]:
    """`count` spellings of one new word that differ only in case."""
    word = prefix + uuid.uuid4().hex[:8].translate(DIGITS_AS_LETTERS)
    spellings = (
        "".join(
            letter.upper() if upper else letter.lower()
            for letter, upper in zip(word, mask, strict=True)
        )
        for mask in itertools.product((False, True), repeat=len(word))
    )
    found = list(itertools.islice(spellings, count))
    assert len(set(found)) == count
    return found


def burst(server: Server, count: int, send: Send) -> list[httpx.Response]:
    """`count` requests at once, each on a connection of its own, bounded in time."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
        async with httpx.AsyncClient(
            base_url=server.base_url, limits=limits, timeout=BURST_TIMEOUT_SECONDS
        ) as client:
            return await asyncio.gather(*(send(client, index) for index in range(count)))

    return asyncio.run(asyncio.wait_for(run(), BURST_TIMEOUT_SECONDS))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(response.status_code for response in responses)


def assert_one_winner(responses: list[httpx.Response]) -> dict[str, Any]:
    counted = statuses(responses)
    assert counted == Counter({201: 1, 409: len(responses) - 1}), [
        (r.status_code, r.text) for r in responses if r.status_code not in (201, 409)
    ]
    for response in responses:
        if response.status_code == 409:
            assert set(response.json()) == {"detail"}
    (winner,) = [r for r in responses if r.status_code == 201]
    return dict(winner.json())


def test_usernames_differing_only_in_case_race_to_one_account(
    server: Server, admin_headers: dict[str, str]
) -> None:
    names = casings("racer", RACERS)

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        body = {"username": names[index], "password": "race password 1"}
        return await client.post("/users", json=body, headers=admin_headers)

    winner = assert_one_winner(burst(server, RACERS, send))

    assert winner["username"] in names
    with server.client() as client:
        listed = client.get("/users", params={"limit": 100}, headers=admin_headers).json()
    assert [u["username"].lower() for u in listed].count(names[0].lower()) == 1
    token = server.login(names[0].upper(), "race password 1")  # the one account logs in
    with server.client() as client:
        me = client.get("/users/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["id"] == winner["id"]


def test_team_names_race_to_one_team(server: Server, admin_headers: dict[str, str]) -> None:
    names = casings("team", RACERS)

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        body = {"name": names[index], "headquarters": "Sharp Tower"}
        return await client.post("/teams", json=body, headers=admin_headers)

    winner = assert_one_winner(burst(server, RACERS, send))

    with server.client() as client:
        listed = client.get("/teams", params={"limit": 100}, headers=admin_headers).json()
    same = [team for team in listed if team["name"].lower() == names[0].lower()]
    assert [team["id"] for team in same] == [winner["id"]]


def test_role_names_race_to_one_role(server: Server, admin_headers: dict[str, str]) -> None:
    name = unique("role-")

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        body = {"name": name, "description": f"racer {index}", "permissions": ["heroes:read"]}
        return await client.post("/roles", json=body, headers=admin_headers)

    winner = assert_one_winner(burst(server, RACERS, send))

    assert winner["name"] == name and winner["permissions"] == ["heroes:read"]
    with server.client() as client:
        roles = client.get("/roles", headers=admin_headers).json()
    assert [role for role in roles if role["name"] == name] == [winner]


def test_parallel_hero_creations_are_all_kept(
    server: Server, admin_headers: dict[str, str]
) -> None:
    prefix = unique("parallel-")

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        body = {"name": f"{prefix}-{index}", "secret_name": f"secret {index}", "age": index}
        return await client.post("/heroes", json=body, headers=admin_headers)

    responses = burst(server, PARALLEL_HEROES, send)

    assert statuses(responses) == Counter({201: PARALLEL_HEROES}), [
        (r.status_code, r.text) for r in responses if r.status_code != 201
    ]
    created = {r.json()["id"] for r in responses}
    assert len(created) == PARALLEL_HEROES
    found: dict[int, str] = {}
    with server.client() as client:
        for offset in (0, 100):
            page = client.get(
                "/heroes", params={"offset": offset, "limit": 100}, headers=admin_headers
            )
            assert page.status_code == 200, page.text
            found |= {h["id"]: h["name"] for h in page.json() if h["name"].startswith(prefix)}
    assert set(found) == created
    assert sorted(found.values()) == sorted(f"{prefix}-{i}" for i in range(PARALLEL_HEROES))


def test_many_connections_at_once_get_answers_not_errors(
    server: Server, admin_headers: dict[str, str]
) -> None:
    with server.client() as client:
        created = client.post(
            "/heroes", json={"name": "Crowd", "secret_name": "Many"}, headers=admin_headers
        )
    assert created.status_code == 201, created.text
    hero_id = created.json()["id"]

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        return await client.get(f"/heroes/{hero_id}", headers=admin_headers)

    responses = burst(server, CONNECTIONS, send)

    assert statuses(responses) == Counter({200: CONNECTIONS}), statuses(responses)
    assert all(r.json()["name"] == "Crowd" for r in responses)
