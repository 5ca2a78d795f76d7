"""SPEC §7, bad input: integers fit 32 bits, strings have bounds, bodies over 1 MiB are a JSON
413, malformed bodies are 422, and nothing a client sends is a 500."""

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

from core.config import get_settings
from tests.unit.conftest import (
    DEFAULT_PASSWORD,
    DEFAULT_PERMISSIONS,
    Account,
    MakeUser,
    create_hero,
)

INT32_MAX = 2**31 - 1
OUTSIDE_INT32 = [2**31, 10**20, -1]
LIMIT = get_settings().max_body_bytes
TOO_LARGE = {"detail": "Request body too large"}


@pytest.fixture
def probe(app: FastAPI) -> TestClient:
    """A client that answers a server error with a 500 instead of raising it."""
    return TestClient(app, raise_server_exceptions=False)


def locations(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


def oversized_hero(size: int) -> bytes:
    """A hero whose JSON is exactly `size` bytes long."""
    frame = b'{"name": "", "secret_name": "y"}'
    return frame.replace(b'""', b'"' + b"x" * (size - len(frame)) + b'"')


# integers in paths

ID_PATHS = [
    ("GET", "/heroes/{id}", None, "hero_id", "Hero not found"),
    ("PATCH", "/heroes/{id}", {"age": 1}, "hero_id", "Hero not found"),
    ("DELETE", "/heroes/{id}", None, "hero_id", "Hero not found"),
    ("GET", "/teams/{id}", None, "team_id", "Team not found"),
    ("PATCH", "/teams/{id}", {"name": "x"}, "team_id", "Team not found"),
    ("DELETE", "/teams/{id}", None, "team_id", "Team not found"),
    ("GET", "/users/{id}", None, "user_id", "User not found"),
    ("PATCH", "/users/{id}", {"full_name": "x"}, "user_id", "User not found"),
    ("DELETE", "/users/{id}", None, "user_id", "User not found"),
    ("POST", "/users/{id}/unlock", None, "user_id", "User not found"),
    ("GET", "/users/{id}/permissions", None, "user_id", "User not found"),
    ("PUT", "/users/{id}/permissions", {"permissions": []}, "user_id", "User not found"),
    ("POST", "/users/{id}/permissions", {"permission": "heroes:read"}, "user_id", "User not found"),
    ("DELETE", "/users/{id}/permissions/heroes:read", None, "user_id", "User not found"),
    ("PUT", "/users/{id}/roles", {"roles": []}, "user_id", "User not found"),
]


@pytest.mark.parametrize("value", OUTSIDE_INT32)
@pytest.mark.parametrize(("method", "path", "body", "name", "missing"), ID_PATHS)
def test_id_outside_32_bits_in_a_path_is_422(
    probe: TestClient,
    admin: Account,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    name: str,
    missing: str,
    value: int,
) -> None:
    response = probe.request(method, path.format(id=value), json=body, headers=admin.headers)

    assert response.status_code == 422
    assert locations(response) == [["path", name]]


@pytest.mark.parametrize(("method", "path", "body", "name", "missing"), ID_PATHS)
def test_largest_32_bit_id_in_a_path_is_404(
    probe: TestClient,
    admin: Account,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    name: str,
    missing: str,
) -> None:
    response = probe.request(method, path.format(id=INT32_MAX), json=body, headers=admin.headers)

    assert response.status_code == 404
    assert response.json() == {"detail": missing}


@pytest.mark.parametrize("value", ["abc", "1.5", "1e3", "", " 1"])
def test_id_that_is_not_an_integer_is_422(probe: TestClient, admin: Account, value: str) -> None:
    response = probe.get(f"/heroes/{value}x", headers=admin.headers)
    assert response.status_code == 422
    assert locations(response) == [["path", "hero_id"]]


# integers in queries


@pytest.mark.parametrize(
    ("path", "parameter", "value"),
    [
        ("/heroes", "offset", 2**31),
        ("/heroes", "offset", -1),
        ("/heroes", "limit", 0),
        ("/heroes", "limit", 101),
        ("/heroes", "limit", 2**31),
        ("/heroes", "team_id", 2**31),
        ("/heroes", "team_id", -1),
        ("/heroes", "min_age", -1),
        ("/heroes", "min_age", 2**31),
        ("/heroes", "max_age", 2**31),
        ("/heroes", "max_age", 10**30),
        ("/heroes", "after_id", 2**31),
        ("/heroes", "after_id", -1),
        ("/heroes", "limit", "1e2"),
        ("/teams", "offset", 2**31),
        ("/teams", "limit", 101),
        ("/users", "offset", 2**31),
        ("/users", "limit", 0),
        ("/audit", "offset", 2**31),
        ("/audit", "actor_id", 2**31),
        ("/audit", "target_user_id", -1),
    ],
)
def test_query_integer_out_of_bounds_is_422(
    probe: TestClient, admin: Account, path: str, parameter: str, value: Any
) -> None:
    response = probe.get(path, params={parameter: value}, headers=admin.headers)

    assert response.status_code == 422
    assert locations(response) == [["query", parameter]]


@pytest.mark.parametrize(
    ("parameter", "listed", "total"),
    [
        ("offset", 0, 1),  # past the one hero; the total counts it
        ("team_id", 0, 0),
        ("min_age", 0, 0),
        ("max_age", 1, 1),
        ("after_id", 0, 1),  # past the one hero; the total counts it
    ],
)
def test_query_integer_at_the_32_bit_bound_is_accepted(
    probe: TestClient, admin: Account, parameter: str, listed: int, total: int
) -> None:
    created = create_hero(probe, admin, name="a", secret_name="b", age=3)

    response = probe.get("/heroes", params={parameter: INT32_MAX}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == [created] * listed
    assert response.headers["X-Total-Count"] == str(total)


# integers in bodies, and the hero's texts


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age", 2**31),
        ("age", -1),
        ("age", 10**30),
        ("age", 1.5),
        ("age", "old"),
        ("team_id", 2**31),
        ("team_id", 0),
        ("team_id", -1),
        *[
            (text, value)
            for text in ("name", "secret_name")
            for value in ("", "x" * 101, "é" * 101)
        ],
    ],
)
def test_hero_field_out_of_bounds_is_422(
    probe: TestClient, make_user: MakeUser, field: str, value: Any
) -> None:
    """Integers past 32 bits or below their minimum, texts empty or over 100 characters:
    refused alike by a create and by an update, and nothing is stored."""
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)
    created = create_hero(probe, alice, name="a", secret_name="b")

    posted = probe.post(
        "/heroes", json={"name": "c", "secret_name": "d", field: value}, headers=alice.headers
    )
    patched = probe.patch(f"/heroes/{created['id']}", json={field: value}, headers=alice.headers)

    assert posted.status_code == patched.status_code == 422
    assert locations(posted) == locations(patched) == [["body", field]]
    assert probe.get("/heroes", headers=alice.headers).json() == [created]


def test_hero_age_at_the_32_bit_bound_is_stored(probe: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)

    response = probe.post(
        "/heroes", json={"name": "a", "secret_name": "b", "age": INT32_MAX}, headers=alice.headers
    )

    assert response.status_code == 201
    assert response.json()["age"] == INT32_MAX
    found = probe.get("/heroes", params={"min_age": INT32_MAX}, headers=alice.headers)
    assert found.json() == [response.json()]


def test_hero_team_at_the_32_bit_bound_is_unknown_team(
    probe: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)

    response = probe.post(
        "/heroes",
        json={"name": "a", "secret_name": "b", "team_id": INT32_MAX},
        headers=alice.headers,
    )

    assert response.status_code == 422
    assert response.json() == {"detail": f"Unknown team_id: {INT32_MAX}"}


# strings


@pytest.mark.parametrize(
    "username", ["", "ab", "a" * 33, "bob smith", "bob!", "böb", "bob/x", "bob@home", 123]
)
def test_username_outside_its_pattern_is_422(
    probe: TestClient, admin: Account, username: Any
) -> None:
    body = {"username": username, "password": "long enough"}

    response = probe.post("/users", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert locations(response) == [["body", "username"]]
    assert [u["username"] for u in probe.get("/users", headers=admin.headers).json()] == ["admin"]


@pytest.mark.parametrize("username", ["abc", "a" * 32, "A.b_c-9", "..."])
def test_username_inside_its_pattern_is_created(
    probe: TestClient, admin: Account, username: str
) -> None:
    response = probe.post(
        "/users", json={"username": username, "password": "long enough"}, headers=admin.headers
    )
    assert response.status_code == 201
    assert response.json()["username"] == username


@pytest.mark.parametrize("value", ["x" * 100, "é" * 100, "🦸" * 100])
def test_hero_text_at_its_bound_is_stored_whole(
    probe: TestClient, make_user: MakeUser, value: str
) -> None:
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)

    response = probe.post(
        "/heroes", json={"name": value, "secret_name": value}, headers=alice.headers
    )

    assert response.status_code == 201
    stored = probe.get(f"/heroes/{response.json()['id']}", headers=alice.headers).json()
    assert stored["name"] == stored["secret_name"] == value


def test_hero_name_filter_over_its_bound_is_422(probe: TestClient, admin: Account) -> None:
    response = probe.get("/heroes", params={"name": "x" * 101}, headers=admin.headers)
    assert response.status_code == 422
    assert locations(response) == [["query", "name"]]


@pytest.mark.parametrize("field", ["name", "headquarters"])
@pytest.mark.parametrize("value", ["", "x" * 101])
def test_team_text_out_of_bounds_is_422(
    probe: TestClient, admin: Account, field: str, value: str
) -> None:
    created = probe.post("/teams", json={"name": "a", "headquarters": "b"}, headers=admin.headers)

    posted = probe.post(
        "/teams", json={"name": "c", "headquarters": "d", field: value}, headers=admin.headers
    )
    patched = probe.patch(
        f"/teams/{created.json()['id']}", json={field: value}, headers=admin.headers
    )

    assert posted.status_code == patched.status_code == 422
    assert locations(posted) == locations(patched) == [["body", field]]
    assert probe.get("/teams", headers=admin.headers).json() == [created.json()]


def test_team_text_at_its_bound_is_stored(probe: TestClient, admin: Account) -> None:
    response = probe.post(
        "/teams", json={"name": "n" * 100, "headquarters": "h" * 100}, headers=admin.headers
    )
    assert response.status_code == 201
    assert response.json()["name"] == "n" * 100
    assert response.json()["headquarters"] == "h" * 100


@pytest.mark.parametrize(("name", "status"), [("", 422), ("r" * 101, 422), ("r" * 100, 201)])
def test_role_name_bounds(probe: TestClient, admin: Account, name: str, status: int) -> None:
    response = probe.post("/roles", json={"name": name}, headers=admin.headers)
    assert response.status_code == status
    if status == 422:
        assert locations(response) == [["body", "name"]]
    else:
        assert response.json()["name"] == name


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/users"), ("PATCH", "/users/{bob}"), ("PATCH", "/users/me")]
)
def test_full_name_over_200_is_422_and_200_is_stored(
    probe: TestClient, admin: Account, make_user: MakeUser, method: str, path: str
) -> None:
    bob = make_user("bob")
    headers = bob.headers if path == "/users/me" else admin.headers
    base = {"username": "carol", "password": "long enough"} if method == "POST" else {}

    refused = probe.request(
        method, path.format(bob=bob.id), json={**base, "full_name": "f" * 201}, headers=headers
    )
    stored = probe.request(
        method, path.format(bob=bob.id), json={**base, "full_name": "f" * 200}, headers=headers
    )

    assert refused.status_code == 422
    assert locations(refused) == [["body", "full_name"]]
    assert stored.status_code in (200, 201)
    assert stored.json()["full_name"] == "f" * 200


@pytest.mark.parametrize(
    "email", ["not an email", "a@", "@example.com", "x@" + "a" * 250 + ".com", "a" * 65 + "@x.org"]
)
def test_email_outside_rfc_5321_is_422(probe: TestClient, admin: Account, email: str) -> None:
    body = {"username": "carol", "password": "long enough", "email": email}

    response = probe.post("/users", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert locations(response) == [["body", "email"]]


# body size


def test_body_over_1_mib_with_content_length_is_413_json(
    probe: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)
    body = oversized_hero(LIMIT + 1)

    response = probe.post(
        "/heroes",
        content=body,
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    assert response.request.headers["content-length"] == str(LIMIT + 1)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == TOO_LARGE
    assert probe.get("/heroes", headers=alice.headers).json() == []


def test_body_over_1_mib_chunked_without_content_length_is_413_json(
    probe: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)
    body = oversized_hero(LIMIT + 1)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = probe.post(
        "/heroes",
        content=chunks(),
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == TOO_LARGE
    assert probe.get("/heroes", headers=alice.headers).json() == []


def send_in_messages(
    app: FastAPI, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Speak ASGI as a server does: the body in many `http.request` messages, no length."""
    pending = list(chunks)
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            body = pending.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


def test_body_over_1_mib_in_many_messages_is_413_json(
    app: FastAPI, probe: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)
    body = oversized_hero(4 * LIMIT)
    chunks = [body[start : start + 16 * 1024] for start in range(0, len(body), 16 * 1024)]
    headers = {**alice.headers, "Content-Type": "application/json"}

    status, response_headers, content = send_in_messages(app, "/heroes", headers, chunks)

    assert status == 413
    assert response_headers[b"content-type"].startswith(b"application/json")
    assert json.loads(content) == TOO_LARGE
    assert probe.get("/heroes", headers=alice.headers).json() == []


def test_body_of_exactly_1_mib_is_read(probe: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)

    response = probe.post(
        "/heroes",
        content=oversized_hero(LIMIT),
        headers={**alice.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert locations(response) == [["body", "name"]]


@pytest.mark.parametrize("chunked", [False, True])
def test_login_form_over_1_mib_is_413_json(
    probe: TestClient, admin: Account, chunked: bool
) -> None:
    form = b"username=admin&password=" + b"x" * LIMIT

    def chunks() -> Iterator[bytes]:
        yield form[: LIMIT // 2]
        yield form[LIMIT // 2 :]

    response = probe.post(
        "/auth/token",
        content=chunks() if chunked else form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 413
    assert response.json() == TOO_LARGE


# malformed bodies


@pytest.mark.parametrize(
    "content",
    [b'{"name": ', b'{"name": "a", "secret_name": "b",}', b"{'name': 'a'}", b"\xff\xfe", b"nul"],
)
def test_malformed_json_is_422(probe: TestClient, admin: Account, content: bytes) -> None:
    response = probe.post(
        "/heroes", content=content, headers={**admin.headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert [error["type"] for error in response.json()["detail"]] == ["json_invalid"]


@pytest.mark.parametrize("content", [b"[]", b'"hero"', b"42", b"null"])
def test_json_that_is_not_an_object_is_422(
    probe: TestClient, admin: Account, content: bytes
) -> None:
    response = probe.post(
        "/heroes", content=content, headers={**admin.headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert locations(response)[0][0] == "body"


def test_empty_json_body_is_422(probe: TestClient, admin: Account) -> None:
    response = probe.post(
        "/heroes", content=b"", headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert locations(response) == [["body"]]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_wrong_content_type_is_422(
    probe: TestClient, admin: Account, content_type: str | None
) -> None:
    headers = dict(admin.headers)
    if content_type is not None:
        headers["Content-Type"] = content_type

    response = probe.post("/heroes", content=b'{"name": "a", "secret_name": "b"}', headers=headers)

    assert response.status_code == 422
    assert locations(response) == [["body"]]
    assert probe.get("/heroes", headers=admin.headers).json() == []


def test_json_sent_to_the_login_form_is_422(probe: TestClient, admin: Account) -> None:
    response = probe.post("/auth/token", json={"username": "admin", "password": DEFAULT_PASSWORD})

    assert response.status_code == 422
    assert locations(response) == [["body", "username"], ["body", "password"]]


def test_deeply_nested_json_is_a_client_error(probe: TestClient, admin: Account) -> None:
    content = b"[" * 100_000 + b"]" * 100_000

    response = probe.post(
        "/heroes", content=content, headers={**admin.headers, "Content-Type": "application/json"}
    )

    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


# what JSON cannot carry back: lone surrogates, NaN, infinities


@pytest.mark.parametrize(
    ("path", "content", "location"),
    [
        ("/heroes", b'{"name": "a\\ud800", "secret_name": "b"}', ["body", "name"]),
        ("/heroes", b'{"name": "a", "secret_name": "\\udfff"}', ["body", "secret_name"]),
        ("/heroes", b'{"name": "a", "secret_name": "b", "age": NaN}', ["body", "age"]),
        ("/heroes", b'{"name": "a", "secret_name": "b", "age": Infinity}', ["body", "age"]),
        ("/heroes", b'{"name": "a", "secret_name": "b", "age": -1e400}', ["body", "age"]),
        ("/heroes", b'{"\\ud800": 1, "name": "a", "secret_name": "b"}', ["body"]),
        ("/teams", b'{"name": "\\ud800", "headquarters": "b"}', ["body", "name"]),
        ("/users", b'{"username": "a\\ud800c", "password": "long enough"}', ["body", "username"]),
        ("/users", b'{"username": "abc", "password": "\\ud800long enough"}', ["body", "password"]),
        ("/roles", b'{"name": "\\ud800"}', ["body", "name"]),
        ("/auth/refresh", b'{"refresh_token": "\\ud800"}', ["body", "refresh_token"]),
    ],
)
def test_text_json_cannot_carry_is_422_with_a_json_body(
    probe: TestClient, admin: Account, path: str, content: bytes, location: list[str]
) -> None:
    response = probe.post(
        path, content=content, headers={**admin.headers, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert location in locations(response)
    json.loads(response.content, parse_constant=pytest.fail)  # strict JSON: no NaN
    response.content.decode("utf-8")  # and no lone surrogate


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-14:00"])
def test_audit_since_outside_utc_range_is_422(
    probe: TestClient, admin: Account, since: str
) -> None:
    response = probe.get("/audit", params={"since": since}, headers=admin.headers)
    assert response.status_code == 422
    assert locations(response) == [["query", "since"]]


@pytest.mark.parametrize(
    ("since", "found"), [("2000-01-01T00:00:00", True), ("9999-12-31T23:59:59Z", False)]
)
def test_audit_since_inside_utc_range_is_a_filter(
    probe: TestClient, admin: Account, since: str, found: bool
) -> None:
    response = probe.get("/audit", params={"since": since}, headers=admin.headers)
    assert response.status_code == 200
    assert bool(response.json()) is found


# every route, fed garbage


def every_operation(app: FastAPI) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    )


@pytest.mark.parametrize(
    ("content", "path_value"),
    [
        (b'{"name": ', "2147483648"),
        (b'{"\\ud800": NaN}', "-1"),
        (b"[" * 5000, "%00"),
        (b'{"id": 1e400, "owner_id": -1}', "1" * 40),
    ],
)
def test_no_route_answers_garbage_with_a_500(
    app: FastAPI, probe: TestClient, admin: Account, content: bytes, path_value: str
) -> None:
    operations = every_operation(app)
    assert len(operations) > 20

    for method, path in operations:
        url = path
        for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
            url = url.replace(f"{{{name}}}", path_value)
        response = probe.request(
            method,
            url,
            content=content,
            headers={**admin.headers, "Content-Type": "application/json"},
        )
        assert response.status_code < 500, (method, url, response.text)
