"""SPEC §4 from the outside, over HTTP against one real server: the login answer and its claims,
refresh rotation and reuse detection, logout, password changes, deactivation and deletion,
lockout and unlock (API and command line), scopes, and registration switched off."""

import base64
import concurrent.futures
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx2 as httpx
import pytest
from jose import jwt

from tests.integration.accounts import (
    BAD_CREDENTIALS,
    PASSWORD,
    WRONG_PASSWORD,
    assert_forbidden,
    assert_locked_out,
    assert_refresh_refused,
    assert_token_refused,
    claims,
    cli,
    create_user,
    fresh,
    fresh_as,
    grant,
    lock_out,
    login,
    pair,
    refresh,
    revoke,
    unique,
)
from tests.integration.server import Server, database, run_server
from tests.settings import TEST_SECRET_KEY

MAX_FAILURES = 3
WINDOW_SECONDS = 900
ACCESS_MINUTES = 15
DEFAULT_SCOPE = "heroes:read heroes:write teams:read"
DEFAULT_PERMISSIONS = ",".join(DEFAULT_SCOPE.split())
NEW_PASSWORD = "a brand new password"
TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
CLAIMS = {"sub", "exp", "iat", "jti", "scope", "type", "iss", "aud"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("sessions")
    env = {
        "LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "LOGIN_WINDOW_SECONDS": str(WINDOW_SECONDS),
        "ACCESS_TOKEN_EXPIRE_MINUTES": str(ACCESS_MINUTES),
        "ALLOW_REGISTRATION": "false",
        "DEFAULT_PERMISSIONS": DEFAULT_PERMISSIONS,
    }
    with database(directory) as url, run_server(url, workdir=directory, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def admin(server: Server) -> dict[str, str]:
    return server.admin_headers()


class Account(NamedTuple):
    name: str
    id: int


@pytest.fixture
def account(server: Server, admin: dict[str, str]) -> Account:
    """A new user holding DEFAULT_PERMISSIONS."""
    name = unique("user")
    return Account(name, create_user(server, admin, name))


@pytest.fixture
def username(account: Account) -> str:
    return account.name


@pytest.fixture
def uid(account: Account) -> int:
    return account.id


def assert_works(server: Server, token: str) -> None:
    response = fresh_as(server, token, "GET", "/users/me")
    assert response.status_code == 200, response.text


# Logging in


def test_login_answers_a_bearer_pair_whose_claims_name_the_user(
    server: Server, username: str, uid: int
) -> None:
    response = login(server, username)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == ACCESS_MINUTES * 60
    assert body["scope"] == DEFAULT_SCOPE
    access, refreshing = claims(body["access_token"]), claims(body["refresh_token"])
    assert set(access) >= CLAIMS and set(refreshing) >= CLAIMS
    assert access["sub"] == str(uid)
    assert isinstance(access["sub"], str) and refreshing["sub"] == access["sub"]
    assert (access["type"], refreshing["type"]) == ("access", "refresh")
    assert access["iss"] == access["aud"] == "hero-api"
    assert access["exp"] - access["iat"] == ACCESS_MINUTES * 60
    assert access["scope"] == refreshing["scope"] == DEFAULT_SCOPE
    assert access["jti"] != refreshing["jti"]
    me = fresh_as(server, body["access_token"], "GET", "/users/me")
    assert me.status_code == 200, me.text
    assert me.json()["username"] == username
    assert me.json()["permissions"] == DEFAULT_SCOPE.split()


def test_usernames_log_in_in_any_case(server: Server, username: str) -> None:
    response = login(server, username.upper())

    assert response.status_code == 200, response.text
    assert set(response.json()) == TOKEN_FIELDS


def test_a_refresh_token_is_not_an_access_token_nor_the_reverse(
    server: Server, username: str
) -> None:
    tokens = pair(server, username)

    assert_token_refused(fresh_as(server, tokens["refresh_token"], "GET", "/users/me"))
    assert_refresh_refused(refresh(server, tokens["access_token"]))


def forged(claims_of: dict[str, Any], **changes: Any) -> str:
    """A token signed with the server's own key (the suite's), its claims changed."""
    algorithm = changes.pop("algorithm", "HS256")
    drop = changes.pop("drop", None)
    payload = {**claims_of, **changes}
    if drop:
        del payload[drop]
    return jwt.encode(payload, TEST_SECRET_KEY, algorithm=algorithm)


def unsigned(claims_of: dict[str, Any]) -> str:
    segments = [{"alg": "none", "typ": "JWT"}, claims_of]
    encoded = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
        for part in segments
    ]
    return ".".join(encoded) + "."


def test_tokens_not_made_by_the_server_as_it_makes_them_are_refused(
    server: Server, username: str
) -> None:
    token = pair(server, username)["access_token"]
    genuine = claims(token)
    assert_works(server, forged(genuine))  # the forging itself is faithful
    now = int(time.time())
    refused = [
        unsigned(genuine),
        forged(genuine, algorithm="HS512"),
        token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        forged(genuine, iat=now - 3600, exp=now - 60),
        forged(genuine, iss="someone-else"),
        forged(genuine, aud="someone-else"),
        forged(genuine, type="refresh"),
        forged(genuine, sub=genuine["sub"] + "0"),
        forged(genuine, sub=int(genuine["sub"])),
        *(forged(genuine, drop=claim) for claim in sorted(CLAIMS)),
    ]

    for token in refused:
        assert_token_refused(fresh_as(server, token, "GET", "/users/me"))


# Refreshing


def test_refresh_answers_a_new_pair_with_the_same_scope(server: Server, username: str) -> None:
    first = pair(server, username, scope="heroes:read")

    response = refresh(server, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert set(second) == TOKEN_FIELDS and second["token_type"] == "bearer"
    assert second["scope"] == "heroes:read"
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert claims(second["access_token"])["scope"] == "heroes:read"
    assert claims(second["access_token"])["sub"] == claims(first["access_token"])["sub"]
    assert fresh_as(server, second["access_token"], "GET", "/heroes").status_code == 200
    assert_forbidden(fresh_as(server, second["access_token"], "GET", "/teams"), "teams:read")


def test_refresh_never_widens_the_scope(
    server: Server, admin: dict[str, str], username: str, uid: int
) -> None:
    narrowed = pair(server, username, scope="heroes:read teams:write")
    assert narrowed["scope"] == "heroes:read"  # teams:write is not held at login
    grant(server, admin, uid, "teams:write")

    response = refresh(server, narrowed["refresh_token"])

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "heroes:read"
    assert claims(response.json()["access_token"])["scope"] == "heroes:read"
    created = fresh_as(
        server,
        response.json()["access_token"],
        "POST",
        "/teams",
        json={"name": unique("team"), "headquarters": "Nowhere"},
    )
    assert_forbidden(created, "teams:write")


def test_a_used_refresh_token_presented_again_ends_the_whole_family(
    server: Server, username: str
) -> None:
    first = pair(server, username)
    other = pair(server, username)  # another login session of the same user
    rotated = refresh(server, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert_works(server, second["access_token"])

    replay = refresh(server, first["refresh_token"])

    assert_refresh_refused(replay)
    assert_token_refused(fresh_as(server, second["access_token"], "GET", "/users/me"))
    assert_token_refused(fresh_as(server, first["access_token"], "GET", "/users/me"))
    assert_refresh_refused(refresh(server, second["refresh_token"]))
    assert_works(server, other["access_token"])
    assert refresh(server, other["refresh_token"]).status_code == 200


# Logging out


def test_logout_ends_the_access_token_and_its_refresh_token_at_once(
    server: Server, username: str
) -> None:
    ended, kept = pair(server, username), pair(server, username)

    response = fresh_as(server, ended["access_token"], "POST", "/auth/logout")

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_token_refused(fresh_as(server, ended["access_token"], "GET", "/users/me"))
    assert_refresh_refused(refresh(server, ended["refresh_token"]))
    assert_works(server, kept["access_token"])


def test_logout_all_ends_every_session_of_the_user(server: Server, username: str) -> None:
    one, two = pair(server, username), pair(server, username)

    response = fresh_as(server, one["access_token"], "POST", "/auth/logout", params={"all": "true"})

    assert response.status_code == 204, response.text
    for tokens in (one, two):
        assert_token_refused(fresh_as(server, tokens["access_token"], "GET", "/users/me"))
        assert_refresh_refused(refresh(server, tokens["refresh_token"]))
    assert_works(server, pair(server, username)["access_token"])  # a new login is a new session


def test_logout_needs_a_token(server: Server) -> None:
    response = fresh(server, "POST", "/auth/logout")

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"


# Passwords


def test_a_wrong_current_password_is_400_and_changes_nothing(server: Server, username: str) -> None:
    tokens = pair(server, username)

    response = fresh_as(
        server,
        tokens["access_token"],
        "POST",
        "/users/me/password",
        json={"current_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "Current password is incorrect"}
    assert_works(server, tokens["access_token"])
    assert login(server, username).status_code == 200
    assert login(server, username, NEW_PASSWORD).json() == BAD_CREDENTIALS


def test_a_password_change_ends_every_older_token(server: Server, username: str) -> None:
    current, other = pair(server, username), pair(server, username)

    response = fresh_as(
        server,
        current["access_token"],
        "POST",
        "/users/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 204, response.text
    assert response.content == b""
    for tokens in (current, other):
        assert_token_refused(fresh_as(server, tokens["access_token"], "GET", "/users/me"))
        assert_refresh_refused(refresh(server, tokens["refresh_token"]))
    old = login(server, username)
    assert old.status_code == 401 and old.json() == BAD_CREDENTIALS
    assert_works(server, server.login(username, NEW_PASSWORD))


def test_a_password_set_by_an_admin_ends_the_users_sessions(
    server: Server, admin: dict[str, str], username: str, uid: int
) -> None:
    tokens = pair(server, username)

    response = fresh(
        server, "PATCH", f"/users/{uid}", json={"password": NEW_PASSWORD}, headers=admin
    )

    assert response.status_code == 200, response.text
    assert response.json()["username"] == username and "password" not in response.json()
    assert_token_refused(fresh_as(server, tokens["access_token"], "GET", "/users/me"))
    assert_refresh_refused(refresh(server, tokens["refresh_token"]))
    assert login(server, username).json() == BAD_CREDENTIALS
    assert_works(server, server.login(username, NEW_PASSWORD))


# Deactivated and deleted accounts


def test_deactivation_ends_sessions_and_refuses_the_right_password_with_403(
    server: Server, admin: dict[str, str], username: str, uid: int
) -> None:
    tokens = pair(server, username)

    response = fresh(server, "PATCH", f"/users/{uid}", json={"is_active": False}, headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert_token_refused(fresh_as(server, tokens["access_token"], "GET", "/users/me"))
    assert_refresh_refused(refresh(server, tokens["refresh_token"]))
    right = login(server, username)
    assert right.status_code == 403, right.text
    assert right.json() == {"detail": "Account disabled"}
    wrong = login(server, username, WRONG_PASSWORD)
    assert wrong.status_code == 401, wrong.text
    assert wrong.json() == BAD_CREDENTIALS
    assert wrong.headers["www-authenticate"] == "Bearer"

    reactivated = fresh(server, "PATCH", f"/users/{uid}", json={"is_active": True}, headers=admin)

    assert reactivated.status_code == 200 and reactivated.json()["is_active"] is True
    assert_token_refused(fresh_as(server, tokens["access_token"], "GET", "/users/me"))
    assert_works(server, pair(server, username)["access_token"])


def test_a_deleted_users_tokens_are_refused(
    server: Server, admin: dict[str, str], username: str, uid: int
) -> None:
    tokens = pair(server, username)

    response = fresh(server, "DELETE", f"/users/{uid}", headers=admin)

    assert response.status_code == 204, response.text
    assert_token_refused(fresh_as(server, tokens["access_token"], "GET", "/users/me"))
    assert_refresh_refused(refresh(server, tokens["refresh_token"]))
    gone = login(server, username)
    assert gone.status_code == 401 and gone.json() == BAD_CREDENTIALS


# Lockout


def test_lockout_after_max_failures_refuses_even_the_right_password(
    server: Server, username: str
) -> None:
    lock_out(server, username, MAX_FAILURES)

    assert_locked_out(login(server, username), WINDOW_SECONDS)
    assert_locked_out(login(server, username, WRONG_PASSWORD), WINDOW_SECONDS)
    assert_locked_out(login(server, username.upper()), WINDOW_SECONDS)


def test_a_success_before_the_limit_clears_the_count(server: Server, username: str) -> None:
    lock_out(server, username, MAX_FAILURES - 1)
    assert login(server, username).status_code == 200

    lock_out(server, username, MAX_FAILURES - 1)

    assert login(server, username).status_code == 200


def test_unknown_usernames_are_locked_out_too(server: Server) -> None:
    ghost = unique("ghost")

    lock_out(server, ghost, MAX_FAILURES)

    assert_locked_out(login(server, ghost), WINDOW_SECONDS)


def test_an_admin_unlock_ends_a_lockout(
    server: Server, admin: dict[str, str], username: str, uid: int
) -> None:
    lock_out(server, username, MAX_FAILURES)
    assert_locked_out(login(server, username), WINDOW_SECONDS)

    response = fresh(server, "POST", f"/users/{uid}/unlock", headers=admin)

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_works(server, pair(server, username)["access_token"])


def test_the_command_line_unlock_ends_a_lockout(server: Server, username: str) -> None:
    lock_out(server, username, MAX_FAILURES)
    assert_locked_out(login(server, username), WINDOW_SECONDS)

    done = cli(server, "unlock", username.upper())  # usernames in any case, here too

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"unlocked {username.upper()}"
    assert_works(server, pair(server, username)["access_token"])


def test_unlocking_an_unknown_user_is_404_and_exit_1(server: Server, admin: dict[str, str]) -> None:
    response = fresh(server, "POST", "/users/2147483647/unlock", headers=admin)
    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "User not found"}

    done = cli(server, "unlock", unique("nobody"))

    assert done.returncode == 1, (done.stdout, done.stderr)


# Scopes


def test_a_requested_scope_is_narrowed_to_what_the_user_holds(
    server: Server, username: str
) -> None:
    response = login(server, username, scope="heroes:read users:read")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "heroes:read"
    assert claims(body["access_token"])["scope"] == "heroes:read"
    assert fresh_as(server, body["access_token"], "GET", "/heroes").status_code == 200
    assert_forbidden(fresh_as(server, body["access_token"], "GET", "/teams"), "teams:read")
    created = fresh_as(
        server,
        body["access_token"],
        "POST",
        "/heroes",
        json={"name": "Narrow", "secret_name": "Scope"},
    )
    assert_forbidden(created, "heroes:write")
    assert_forbidden(fresh_as(server, body["access_token"], "GET", "/users"), "users:read")
    me = fresh_as(server, body["access_token"], "GET", "/users/me")
    assert me.status_code == 200 and me.json()["permissions"] == DEFAULT_SCOPE.split()


def test_an_unknown_scope_is_invalid_scope(server: Server, username: str) -> None:
    response = login(server, username, scope="heroes:read heroes:fly")

    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": "invalid_scope",
        "error": "invalid_scope",
        "error_description": "Unknown scope: heroes:fly",
    }


def test_a_token_without_scope_follows_a_later_grant_and_revoke(
    server: Server, admin: dict[str, str], username: str, uid: int
) -> None:
    token = pair(server, username)["access_token"]
    narrowed = pair(server, username, scope="heroes:read")["access_token"]
    assert_forbidden(fresh_as(server, token, "GET", "/users"), "users:read")

    granted = grant(server, admin, uid, "users:read")

    assert "users:read" in granted["effective"]
    listed = fresh_as(server, token, "GET", "/users")
    assert listed.status_code == 200, listed.text
    assert username in [u["username"] for u in listed.json()]
    assert_forbidden(fresh_as(server, narrowed, "GET", "/users"), "users:read")

    revoke(server, admin, uid, "users:read")

    assert_forbidden(fresh_as(server, token, "GET", "/users"), "users:read")


def test_a_revoke_narrows_a_scoped_token_on_the_next_request(
    server: Server, admin: dict[str, str], username: str, uid: int
) -> None:
    token = pair(server, username, scope="teams:read")["access_token"]
    assert fresh_as(server, token, "GET", "/teams").status_code == 200

    revoke(server, admin, uid, "teams:read")

    assert_forbidden(fresh_as(server, token, "GET", "/teams"), "teams:read")


# Registration


def test_registration_is_404_when_switched_off(server: Server) -> None:
    name = unique("signup")

    response = fresh(
        server, "POST", "/auth/register", json={"username": name, "password": PASSWORD}
    )

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Not Found"}
    assert login(server, name).json() == BAD_CREDENTIALS


def test_a_scope_of_nothing_held_gives_a_token_allowing_nothing(
    server: Server, username: str
) -> None:
    body = pair(server, username, scope="users:read audit:read")

    assert body["scope"] == ""
    assert claims(body["access_token"])["scope"] == ""
    assert_forbidden(fresh_as(server, body["access_token"], "GET", "/heroes"), "heroes:read")
    again = refresh(server, body["refresh_token"])
    assert again.status_code == 200 and again.json()["scope"] == ""
    assert_forbidden(
        fresh_as(server, again.json()["access_token"], "GET", "/heroes"), "heroes:read"
    )


# An account changed while its password is being checked


SLOW_ROUNDS = "13"  # ~0.5 s a verification: time enough to change the account meanwhile
CHANGE_DELAY_SECONDS = 0.15


@pytest.fixture(scope="module")
def slow_hash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("slow-hash")
    env = {"BCRYPT_ROUNDS": SLOW_ROUNDS, "HASH_CONCURRENCY": "2"}
    with database(directory) as url, run_server(url, workdir=directory, env=env) as server:
        yield server


def during_login(server: Server, username: str, change: Callable[[], None]) -> httpx.Response:
    """A login with PASSWORD, and `change` made while the server is verifying it."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(login, server, username)
        time.sleep(CHANGE_DELAY_SECONDS)
        change()
        return pending.result()


@pytest.mark.slow
def test_an_account_deactivated_during_its_login_gets_no_session(
    slow_hash_server: Server,
) -> None:
    server, admin = slow_hash_server, slow_hash_server.admin_headers()
    name = unique("slowpoke")
    uid = create_user(server, admin, name)

    def deactivate() -> None:
        response = fresh(server, "PATCH", f"/users/{uid}", json={"is_active": False}, headers=admin)
        assert response.status_code == 200, response.text

    response = during_login(server, name, deactivate)

    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "Account disabled"}


@pytest.mark.slow
def test_a_password_reset_during_a_login_with_the_old_one_leaves_no_session(
    slow_hash_server: Server,
) -> None:
    server, admin = slow_hash_server, slow_hash_server.admin_headers()
    name = unique("slowpoke")
    uid = create_user(server, admin, name)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        reset = pool.submit(
            fresh, server, "PATCH", f"/users/{uid}", json={"password": NEW_PASSWORD}, headers=admin
        )
        time.sleep(CHANGE_DELAY_SECONDS)  # the reset is hashing; the login reads the old hash
        response = login(server, name)
        assert reset.result().status_code == 200, reset.result().text

    if response.status_code == 200:  # a session made after the reset, with the old password
        assert_token_refused(fresh_as(server, response.json()["access_token"], "GET", "/users/me"))
    else:
        assert response.status_code == 401, response.text
        assert response.json() == BAD_CREDENTIALS
    assert_works(server, server.login(name, NEW_PASSWORD))


# A short window, and registration switched on

SHORT_WINDOW_SECONDS = 2


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("open")
    env = {
        "LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "LOGIN_WINDOW_SECONDS": str(SHORT_WINDOW_SECONDS),
        "ALLOW_REGISTRATION": "true",
        "DEFAULT_PERMISSIONS": DEFAULT_PERMISSIONS,
    }
    with database(directory) as url, run_server(url, workdir=directory, env=env) as server:
        yield server


def test_a_lockout_ends_when_the_window_passes(open_server: Server) -> None:
    name = unique("patient")
    create_user(open_server, open_server.admin_headers(), name)
    lock_out(open_server, name, MAX_FAILURES)
    assert_locked_out(login(open_server, name), SHORT_WINDOW_SECONDS)

    time.sleep(SHORT_WINDOW_SECONDS + 0.2)

    assert_works(open_server, pair(open_server, name)["access_token"])


def test_registration_when_switched_on_gives_the_default_permissions(open_server: Server) -> None:
    name = unique("signup")

    response = fresh(
        open_server, "POST", "/auth/register", json={"username": name, "password": PASSWORD}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == name and body["roles"] == []
    assert body["permissions"] == DEFAULT_SCOPE.split()
    assert pair(open_server, name.upper())["scope"] == DEFAULT_SCOPE
    again = fresh(
        open_server, "POST", "/auth/register", json={"username": name.upper(), "password": PASSWORD}
    )
    assert again.status_code == 409 and again.json() == {"detail": "Username already taken"}
