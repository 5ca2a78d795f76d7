"""Accounts, tokens and the command line against a real server, for the session and worker tests:
users made through the admin API, logins through the password form, `hero-api` run as a
subprocess on the server's database, and requests each on a connection of its own."""

import base64
import json
import os
import subprocess
from collections import Counter
from typing import Any

import httpx2 as httpx

from tests.integration.server import HERO_API, Server, bearer
from tests.integration.test_concurrency import burst, statuses
from tests.integration.test_concurrency import unique as unique
from tests.settings import TEST_SECRET_KEY

PASSWORD = "session password 1"
WRONG_PASSWORD = "not the password"
BAD_CREDENTIALS = {"detail": "Incorrect username or password"}
BAD_TOKEN = {"detail": "Could not validate credentials"}
BAD_REFRESH = {"detail": "Invalid or expired refresh token"}
LOCKED_OUT = {"detail": "Too many failed logins; try again later"}
CLI_TIMEOUT_SECONDS = 60.0


def fresh(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request on a new connection: uvicorn hands each connection to one worker, so
    fresh connections are how a test reaches every worker."""
    headers = {**kwargs.pop("headers", {}), "Connection": "close"}
    with server.client() as client:
        return client.request(method, path, headers=headers, **kwargs)


def fresh_as(server: Server, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return fresh(server, method, path, headers=bearer(token), **kwargs)


def create_user(
    server: Server,
    admin_headers: dict[str, str],
    username: str,
    *,
    permissions: list[str] | None = None,
) -> int:
    """A user with DEFAULT_PERMISSIONS, or with exactly `permissions` as direct grants."""
    with server.client() as client:
        created = client.post(
            "/users", json={"username": username, "password": PASSWORD}, headers=admin_headers
        )
        assert created.status_code == 201, created.text
        user_id = int(created.json()["id"])
        if permissions is not None:
            replaced = client.put(
                f"/users/{user_id}/permissions",
                json={"permissions": permissions},
                headers=admin_headers,
            )
            assert replaced.status_code == 200, replaced.text
    return user_id


def grant(
    server: Server, admin_headers: dict[str, str], user_id: int, permission: str
) -> dict[str, Any]:
    """A direct grant through the API, on a fresh connection; the permissions view it answers."""
    response = fresh(
        server,
        "POST",
        f"/users/{user_id}/permissions",
        json={"permission": permission},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def revoke(server: Server, admin_headers: dict[str, str], user_id: int, permission: str) -> None:
    """A direct grant revoked through the API, on a fresh connection."""
    response = fresh(
        server, "DELETE", f"/users/{user_id}/permissions/{permission}", headers=admin_headers
    )
    assert response.status_code == 204, response.text


def login(
    server: Server, username: str, password: str = PASSWORD, scope: str | None = None
) -> httpx.Response:
    form = {"username": username, "password": password}
    if scope is not None:
        form["scope"] = scope
    return fresh(server, "POST", "/auth/token", data=form)


def pair(server: Server, username: str, scope: str | None = None) -> dict[str, Any]:
    """A successful login's body: access and refresh token, scope."""
    response = login(server, username, scope=scope)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refresh(server: Server, refresh_token: str) -> httpx.Response:
    return fresh(server, "POST", "/auth/refresh", json={"refresh_token": refresh_token})


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload, read without verifying it: what a client can see of its token."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def assert_token_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == BAD_TOKEN
    assert response.headers["www-authenticate"] == "Bearer"


def assert_refresh_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == BAD_REFRESH
    assert response.headers["www-authenticate"] == "Bearer"


def assert_forbidden(response: httpx.Response, permission: str, detail: str | None = None) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": detail or f"Missing permission: {permission}"}
    assert (
        response.headers["www-authenticate"]
        == f'Bearer error="insufficient_scope", scope="{permission}"'
    )


def lock_out(server: Server, username: str, max_failures: int) -> None:
    for _ in range(max_failures):
        response = login(server, username, WRONG_PASSWORD)
        assert response.status_code == 401, response.text
        assert response.json() == BAD_CREDENTIALS


def assert_locked_out(response: httpx.Response, window_seconds: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json() == LOCKED_OUT
    assert 1 <= int(response.headers["retry-after"]) <= window_seconds


def wrong_logins_at_once(server: Server, usernames: list[str]) -> list[httpx.Response]:
    """A WRONG_PASSWORD login for each of `usernames`, all at once, each on its own connection."""

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        form = {"username": usernames[index], "password": WRONG_PASSWORD}
        return await client.post("/auth/token", data=form)

    return burst(server, len(usernames), send)


def assert_limit_held(
    responses: list[httpx.Response], max_failures: int, window_seconds: int
) -> None:
    """Exactly `max_failures` guesses were checked; every other one was turned away unchecked."""
    assert statuses(responses) == Counter(
        {401: max_failures, 429: len(responses) - max_failures}
    ), [(r.status_code, r.text) for r in responses]
    for response in responses:
        if response.status_code == 401:
            assert response.json() == BAD_CREDENTIALS
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert_locked_out(response, window_seconds)


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """`hero-api ARGS` on the server's database with the server's key, from the server's
    directory (so no stray .env is read)."""
    env = {
        **os.environ,
        "DATABASE_URL": server.database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "ENVIRONMENT": "development",
        "BCRYPT_ROUNDS": "4",
    }
    return subprocess.run(
        [str(HERO_API), *args],
        cwd=server.log_path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
