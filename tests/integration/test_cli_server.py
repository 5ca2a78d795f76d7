"""SPEC §8 against a running `hero-api serve`: what the command line changes (grants, revokes,
unlocks) holds for an API user on the next request, audited without an actor."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.accounts import (
    PASSWORD,
    assert_locked_out,
    cli,
    create_user,
    lock_out,
    login,
)
from tests.integration.server import bearer, database, run_server

MAX_FAILURES = 5
WINDOW_SECONDS = 900
DEFAULTS = ["heroes:read", "heroes:write", "teams:read"]
DEFAULTS_AND_WRITE = ["heroes:read", "heroes:write", "teams:read", "teams:write"]


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with database(tmp_path) as url:
        yield url


def assert_ran(done: "subprocess.CompletedProcess[str]", stdout: str) -> None:
    assert done.returncode == 0, done.stderr
    assert done.stdout == stdout
    assert done.stderr == ""


def test_cli_changes_take_effect_for_an_api_user_on_the_next_request(database_url: str) -> None:
    settings = {
        "LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS),
    }
    with run_server(database_url, env=settings) as server, server.client() as client:
        admin = server.admin_headers()
        rusty_id = create_user(server, admin, "rusty")
        rusty = bearer(server.login("rusty", PASSWORD))
        team = {"name": "Avengers", "headquarters": "Tower"}
        refused = client.post("/teams", json=team, headers=rusty)
        assert refused.status_code == 403
        assert refused.json() == {"detail": "Missing permission: teams:write"}

        assert_ran(cli(server, "grant", "rusty", "teams:write"), "granted teams:write to rusty\n")
        allowed = client.post("/teams", json=team, headers=rusty)

        assert_ran(
            cli(server, "revoke", str(rusty_id), "teams:write"),
            f"revoked teams:write from {rusty_id}\n",
        )
        again = client.post("/teams", json={**team, "name": "Defenders"}, headers=rusty)

        lock_out(server, "rusty", MAX_FAILURES)
        locked = login(server, "rusty")
        assert_ran(cli(server, "unlock", "rusty"), "unlocked rusty\n")
        unlocked = login(server, "rusty")
        trail = client.get("/audit", params={"target_user_id": rusty_id}, headers=admin)

    assert allowed.status_code == 201, allowed.text
    assert again.status_code == 403
    assert again.json() == {"detail": "Missing permission: teams:write"}
    assert_locked_out(locked, WINDOW_SECONDS)
    assert unlocked.status_code == 200, unlocked.text
    assert trail.status_code == 200
    by_the_cli = [
        (r["action"], r["target"], r["before"], r["after"])
        for r in trail.json()
        if r["actor_id"] is None and not r["action"].startswith("auth.")
    ]
    assert by_the_cli == [
        ("user.unlock", "rusty", {"failed_logins_counted": True}, {"failed_logins_counted": False}),
        ("permission.revoke", "teams:write", DEFAULTS_AND_WRITE, DEFAULTS),
        ("permission.grant", "teams:write", DEFAULTS, DEFAULTS_AND_WRITE),
    ]
