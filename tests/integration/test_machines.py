"""Two `hero-api serve` processes sharing one database and one SECRET_KEY, as two machines
behind a load balancer: a token issued by one works on the other, and a logout, a revoke or a
lockout made on one holds on the other on the next request. Nothing lives in one process."""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.integration.accounts import (
    assert_forbidden,
    assert_locked_out,
    assert_token_refused,
    create_user,
    fresh_as,
    lock_out,
    login,
    pair,
    revoke,
    unique,
)
from tests.integration.server import Server, database, run_server

MAX_FAILURES = 3
WINDOW_SECONDS = 900
SETTINGS = {"LOGIN_MAX_FAILURES": str(MAX_FAILURES), "LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS)}


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    directory = tmp_path_factory.mktemp("machines")
    with ExitStack() as stack:
        url = stack.enter_context(database(directory))
        first, second = (
            stack.enter_context(run_server(url, workdir=directory, env=SETTINGS)) for _ in range(2)
        )
        assert first.base_url != second.base_url
        yield first, second


@pytest.fixture(scope="module")
def admin(machines: tuple[Server, Server]) -> dict[str, str]:
    """The admin's headers, from a login on the first machine."""
    return machines[0].admin_headers()


def test_a_token_from_one_machine_works_on_the_other_and_a_logout_on_it_holds_on_both(
    machines: tuple[Server, Server], admin: dict[str, str]
) -> None:
    a, b = machines
    username = unique("roam")
    create_user(a, admin, username)
    token = pair(a, username)["access_token"]

    assert fresh_as(b, token, "GET", "/users/me").json()["username"] == username
    assert fresh_as(b, token, "POST", "/auth/logout").status_code == 204

    for server in (a, b):
        assert_token_refused(fresh_as(server, token, "GET", "/users/me"))


def test_a_revoke_on_one_machine_is_refused_on_the_other_on_the_next_request(
    machines: tuple[Server, Server], admin: dict[str, str]
) -> None:
    a, b = machines
    username = unique("revoked")
    user_id = create_user(a, admin, username)
    token = pair(b, username)["access_token"]
    assert fresh_as(b, token, "GET", "/heroes").status_code == 200

    revoke(a, admin, user_id, "heroes:read")

    assert_forbidden(fresh_as(b, token, "GET", "/heroes"), "heroes:read")


def test_a_lockout_counted_on_one_machine_holds_on_the_other(
    machines: tuple[Server, Server], admin: dict[str, str]
) -> None:
    a, b = machines
    username = unique("locked")
    create_user(a, admin, username)

    lock_out(a, username, MAX_FAILURES)

    assert_locked_out(login(b, username), WINDOW_SECONDS)
