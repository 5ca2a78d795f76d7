"""Login throttling against a real server: concurrent wrong guesses cannot slip past
LOGIN_MAX_FAILURES, and an unknown username takes as long to refuse as a wrong password."""

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.integration.accounts import (
    BAD_CREDENTIALS,
    WRONG_PASSWORD,
    assert_limit_held,
    assert_locked_out,
    create_user,
    login,
    unique,
    wrong_logins_at_once,
)
from tests.integration.server import Server, database, run_server
from tests.integration.test_concurrency import casings

MAX_FAILURES = 5
RACERS = 20
WINDOW_SECONDS = 900

TIMING_ROUNDS = "10"  # ~50 ms a verification: hashing dominates the request
TIMING_WARMUP = 3
TIMING_SAMPLES = 40
TIMING_BAND = (0.75, 1.33)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("login-race")
    env = {"LOGIN_MAX_FAILURES": str(MAX_FAILURES), "LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS)}
    with database(directory) as url, run_server(url, workdir=directory, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def admin_headers(server: Server) -> dict[str, str]:
    return server.admin_headers()


def audit(server: Server, admin_headers: dict[str, str], **filters: Any) -> list[dict[str, Any]]:
    with server.client() as client:
        response = client.get("/audit", params={"limit": 100, **filters}, headers=admin_headers)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_concurrent_wrong_logins_stop_exactly_at_the_limit(
    server: Server, admin_headers: dict[str, str]
) -> None:
    username = unique("target")
    user_id = create_user(server, admin_headers, username)

    assert_limit_held(
        wrong_logins_at_once(server, [username] * RACERS), MAX_FAILURES, WINDOW_SECONDS
    )

    failed = audit(server, admin_headers, action="auth.login_failed", target_user_id=user_id)
    assert len(failed) == MAX_FAILURES
    assert {(r["actor_id"], r["target"]) for r in failed} == {(None, username)}
    lockouts = audit(server, admin_headers, action="auth.lockout", target_user_id=user_id)
    assert [r["after"]["failed_logins"] for r in lockouts] == [MAX_FAILURES]
    assert_locked_out(login(server, username), WINDOW_SECONDS)


def test_concurrent_wrong_logins_in_any_case_for_an_unknown_name_stop_at_the_limit(
    server: Server, admin_headers: dict[str, str]
) -> None:
    spellings = casings("ghost", RACERS)

    assert_limit_held(wrong_logins_at_once(server, spellings), MAX_FAILURES, WINDOW_SECONDS)

    failed = [
        r
        for r in audit(server, admin_headers, action="auth.login_failed")
        if r["target"].lower() == spellings[0].lower()
    ]
    assert len(failed) == MAX_FAILURES
    assert {r["target_user_id"] for r in failed} == {None}
    assert_locked_out(login(server, spellings[0].upper(), WRONG_PASSWORD), WINDOW_SECONDS)


# Timing


@pytest.fixture
def timing_server(tmp_path: Path) -> Iterator[Server]:
    """Real bcrypt costs, and a limit no sample reaches."""
    env = {"BCRYPT_ROUNDS": TIMING_ROUNDS, "LOGIN_MAX_FAILURES": "100000"}
    with database(tmp_path) as url, run_server(url, workdir=tmp_path, env=env) as server:
        yield server


def elapsed(client: httpx.Client, username: str) -> float:
    started = time.perf_counter()
    response = client.post("/auth/token", data={"username": username, "password": WRONG_PASSWORD})
    took = time.perf_counter() - started
    assert response.status_code == 401, response.text
    assert response.json() == BAD_CREDENTIALS
    return took


@pytest.mark.slow
def test_unknown_username_takes_as_long_as_a_wrong_password(timing_server: Server) -> None:
    username = unique("timed")
    create_user(timing_server, timing_server.admin_headers(), username)
    unknown = unique("ghost")
    known_times: list[float] = []
    unknown_times: list[float] = []

    with timing_server.client() as client:  # one kept-alive connection: no connect in the samples
        for _ in range(TIMING_WARMUP):
            elapsed(client, username)
            elapsed(client, unknown)
        for sample in range(TIMING_SAMPLES):
            # interleaved, alternating who goes first: drift in the machine's load hits both
            pair = [(known_times, username), (unknown_times, unknown)]
            for times, name in pair if sample % 2 else reversed(pair):
                times.append(elapsed(client, name))

    known, unknown_median = statistics.median(known_times), statistics.median(unknown_times)
    ratio = unknown_median / known
    print(
        f"median wrong password {known * 1000:.1f} ms, unknown user "
        f"{unknown_median * 1000:.1f} ms, ratio {ratio:.3f}"
    )
    assert known > 0.01, "hashing must dominate the sample for the comparison to mean anything"
    low, high = TIMING_BAND
    assert low <= ratio <= high, (known_times, unknown_times)
