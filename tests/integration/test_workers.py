"""Two uvicorn workers behind one database behave as one service: a logout, a revoke, a lockout
or a grant made through one worker (or the command line) holds on every worker, on the very next
request. Each check is repeated on fresh connections, which the kernel spreads over the workers."""

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx2 as httpx
import pytest

from tests.integration.accounts import (
    assert_forbidden,
    assert_limit_held,
    assert_locked_out,
    assert_refresh_refused,
    assert_token_refused,
    cli,
    create_user,
    fresh_as,
    grant,
    lock_out,
    login,
    pair,
    refresh,
    revoke,
    unique,
    wrong_logins_at_once,
)
from tests.integration.server import Server, database, run_server
from tests.integration.test_concurrency import burst, statuses

WORKERS = 2
REPEATS = 20
MAX_FAILURES = 3
WINDOW_SECONDS = 900
NOT_YOURS = "Missing permission: heroes:manage (the hero belongs to another user)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("workers")
    env = {"LOGIN_MAX_FAILURES": str(MAX_FAILURES), "LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS)}
    with (
        database(directory) as url,
        run_server(url, workers=WORKERS, workdir=directory, env=env) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def admin(server: Server) -> dict[str, str]:
    return server.admin_headers()


def worker_pids(server: Server) -> list[int]:
    """uvicorn's worker processes: multiprocessing children in the server's process group."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            group = int(stat.read_text().rsplit(")", 1)[1].split()[2])
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if group == server.process.pid and b"multiprocessing.spawn" in command:
            found.append(int(stat.parent.name))
    return found


def open_sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def statuses_of(
    server: Server, token: str, method: str, path: str, **kwargs: object
) -> Counter[int]:
    return Counter(
        fresh_as(server, token, method, path, **kwargs).status_code for _ in range(REPEATS)
    )


def test_fresh_connections_reach_every_worker(server: Server) -> None:
    """What the other tests rest on: of REPEATS connections held open at once, every worker
    accepted some."""
    workers = worker_pids(server)
    assert len(workers) == WORKERS
    before = {pid: open_sockets(pid) for pid in workers}
    with contextlib.ExitStack() as stack:
        for _ in range(REPEATS):
            client = stack.enter_context(server.client())
            assert client.get("/health").status_code == 200
        accepted = {pid: open_sockets(pid) - before[pid] for pid in workers}
    assert all(count > 0 for count in accepted.values()), accepted


def test_a_logout_is_seen_by_every_worker(server: Server, admin: dict[str, str]) -> None:
    name = unique("leaver")
    create_user(server, admin, name)
    token = pair(server, name)["access_token"]
    assert statuses_of(server, token, "GET", "/users/me") == Counter({200: REPEATS})

    logout = fresh_as(server, token, "POST", "/auth/logout")

    assert logout.status_code == 204, logout.text
    for _ in range(REPEATS):
        assert_token_refused(fresh_as(server, token, "GET", "/users/me"))


def test_a_revoked_permission_is_refused_on_every_following_request(
    server: Server, admin: dict[str, str]
) -> None:
    name = unique("reader")
    uid = create_user(server, admin, name, permissions=["users:read"])
    token = pair(server, name)["access_token"]
    assert statuses_of(server, token, "GET", "/users") == Counter({200: REPEATS})

    revoke(server, admin, uid, "users:read")

    for _ in range(REPEATS):
        assert_forbidden(fresh_as(server, token, "GET", "/users"), "users:read")


def test_a_lockout_holds_on_every_worker(server: Server, admin: dict[str, str]) -> None:
    name = unique("guessed")
    create_user(server, admin, name)

    lock_out(server, name, MAX_FAILURES)

    for _ in range(REPEATS):
        assert_locked_out(login(server, name), WINDOW_SECONDS)


# Issue 2: a user refused another's hero until granted heroes:manage, and refused again after
# the revoke, each on the very next request, whichever worker answers it


def create_hero(server: Server, token: str) -> int:
    created = fresh_as(
        server, token, "POST", "/heroes", json={"name": unique("hero-"), "secret_name": "Owner"}
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def patch_age(server: Server, token: str, hero_id: int, age: int) -> Counter[int]:
    response = fresh_as(server, token, "PATCH", f"/heroes/{hero_id}", json={"age": age})
    if response.status_code == 200:
        assert response.json()["age"] == age
        assert response.json()["secret_name"] == "Owner"  # heroes:manage sees it
    else:
        assert response.status_code == 403, response.text
        assert response.json() == {"detail": NOT_YOURS}
    return Counter({response.status_code: 1})


def patches(server: Server, token: str, hero_id: int) -> Counter[int]:
    return sum((patch_age(server, token, hero_id, age) for age in range(REPEATS)), Counter())


class Story(NamedTuple):
    hero_id: int
    """A's hero."""
    token: str
    """B's token, requested without scope: it follows B's grants."""
    other_id: int
    other: str


@pytest.fixture
def story(server: Server, admin: dict[str, str]) -> Story:
    owner, other = unique("owner"), unique("other")
    create_user(server, admin, owner)
    other_id = create_user(server, admin, other)
    hero_id = create_hero(server, pair(server, owner)["access_token"])
    return Story(hero_id, pair(server, other)["access_token"], other_id, other)


def test_a_grant_and_revoke_through_the_api_hold_on_the_next_request(
    server: Server, admin: dict[str, str], story: Story
) -> None:
    hero_id, token, other_id, _ = story
    assert patches(server, token, hero_id) == Counter({403: REPEATS})

    granted = grant(server, admin, other_id, "heroes:manage")

    assert "heroes:manage" in granted["direct"]
    assert patches(server, token, hero_id) == Counter({200: REPEATS})

    revoke(server, admin, other_id, "heroes:manage")

    assert patches(server, token, hero_id) == Counter({403: REPEATS})


def test_a_grant_and_revoke_through_the_command_line_hold_on_the_next_request(
    server: Server, story: Story
) -> None:
    hero_id, token, _, other = story
    assert patches(server, token, hero_id) == Counter({403: REPEATS})

    granted = cli(server, "grant", other, "heroes:manage")

    assert granted.returncode == 0, (granted.stdout, granted.stderr)
    assert granted.stdout.strip() == f"granted heroes:manage to {other}"
    assert patches(server, token, hero_id) == Counter({200: REPEATS})

    revoked = cli(server, "revoke", other, "heroes:manage")

    assert revoked.returncode == 0, (revoked.stdout, revoked.stderr)
    assert revoked.stdout.strip() == f"revoked heroes:manage from {other}"
    assert patches(server, token, hero_id) == Counter({403: REPEATS})


# Races across workers


def test_concurrent_wrong_logins_across_workers_stop_exactly_at_the_limit(
    server: Server, admin: dict[str, str]
) -> None:
    name = unique("raced")
    create_user(server, admin, name)

    responses = wrong_logins_at_once(server, [name] * REPEATS)

    assert_limit_held(responses, MAX_FAILURES, WINDOW_SECONDS)
    assert_locked_out(login(server, name), WINDOW_SECONDS)


def test_one_refresh_token_presented_on_many_connections_at_once_works_once(
    server: Server, admin: dict[str, str]
) -> None:
    name = unique("twice")
    create_user(server, admin, name)
    tokens = pair(server, name)

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        return await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    responses = burst(server, REPEATS, send)

    assert statuses(responses) == Counter({200: 1, 401: REPEATS - 1}), [
        (r.status_code, r.text) for r in responses
    ]
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    # the replays ended the family: the winner's new pair is dead too
    for token in (tokens["access_token"], winner["access_token"]):
        assert_token_refused(fresh_as(server, token, "GET", "/users/me"))
    assert_refresh_refused(refresh(server, winner["refresh_token"]))
