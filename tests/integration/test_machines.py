"""Two `hero-api serve` processes sharing one database and one SECRET_KEY, as two machines
behind a load balancer: a token issued by one works on the other, and a logout, a revoke or a
lockout made on one holds on the other on the next request. Nothing lives in one process."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.integration.accounts import (
    BAD_TOKEN,
    assert_forbidden,
    assert_locked_out,
    create_user,
    fresh_as,
    lock_out,
    login,
    pair,
    unique,
)
from tests.integration.server import Server, database, run_server

MAX_FAILURES = 3
SETTINGS = {"LOGIN_MAX_FAILURES": str(MAX_FAILURES), "LOGIN_WINDOW_SECONDS": "900"}


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    directory = tmp_path_factory.mktemp("machines")
    with ExitStack() as stack:
        url = stack.enter_context(database(directory))
        first, second = (
            stack.enter_context(run_server(url, workdir=Path(directory), env=SETTINGS))
            for _ in range(2)
        )
        assert first.base_url != second.base_url
        yield first, second


def test_a_token_from_one_machine_works_on_the_other_and_a_logout_on_it_holds_on_both(
    machines: tuple[Server, Server],
) -> None:
    a, b = machines
    username = unique("roam")
    create_user(a, a.admin_headers(), username)
    token = pair(a, username)["access_token"]

    assert fresh_as(b, token, "GET", "/users/me").json()["username"] == username
    assert fresh_as(b, token, "POST", "/auth/logout").status_code == 204

    for server in (a, b):
        refused = fresh_as(server, token, "GET", "/users/me")
        assert refused.status_code == 401
        assert refused.json() == BAD_TOKEN


def test_a_revoke_on_one_machine_is_refused_on_the_other_on_the_next_request(
    machines: tuple[Server, Server],
) -> None:
    a, b = machines
    username = unique("revoked")
    user_id = create_user(a, a.admin_headers(), username)
    token = pair(b, username)["access_token"]
    assert fresh_as(b, token, "GET", "/heroes").status_code == 200

    with a.client() as client:
        revoked = client.delete(
            f"/users/{user_id}/permissions/heroes:read", headers=a.admin_headers()
        )
    assert revoked.status_code == 204, revoked.text

    assert_forbidden(fresh_as(b, token, "GET", "/heroes"), "heroes:read")


def test_a_lockout_counted_on_one_machine_holds_on_the_other(
    machines: tuple[Server, Server],
) -> None:
    a, b = machines
    username = unique("locked")
    create_user(a, a.admin_headers(), username)

    lock_out(a, username, MAX_FAILURES)

    assert_locked_out(login(b, username), window_seconds=900)
