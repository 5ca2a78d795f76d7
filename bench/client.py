"""hero-api over HTTP with the standard library: log in, create users, check a path answers 200."""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 60.0


class ClientError(RuntimeError):
    """hero-api answered something the benchmark cannot use."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json_body: object | None = None,
    form: dict[str, str] | None = None,
) -> Reply:
    headers: dict[str, str] = {"Accept": "application/json"}
    data: bytes | None = None
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(json_body).encode()
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return Reply(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read())


def expect(reply: Reply, statuses: set[int], what: str) -> Reply:
    if reply.status not in statuses:
        raise ClientError(f"{what}: HTTP {reply.status} {reply.body[:500]!r}")
    return reply


def login(base_url: str, username: str, password: str) -> str:
    reply = send(
        "POST",
        f"{base_url}/auth/token",
        form={"username": username, "password": password},
    )
    return str(expect(reply, {200}, f"login as {username}").json()["access_token"])


def create_user(base_url: str, admin_token: str, username: str, password: str) -> int:
    body = {
        "username": username,
        "password": password,
        "email": f"{username}@example.com",
        "full_name": f"Bench {username}",
    }
    reply = send("POST", f"{base_url}/users", token=admin_token, json_body=body)
    return int(expect(reply, {200, 201}, f"create user {username}").json()["id"])


def check_ok(url: str, token: str | None) -> None:
    expect(send("GET", url, token=token), {200}, f"GET {url}")
