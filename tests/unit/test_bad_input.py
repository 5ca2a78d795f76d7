"""SPEC §7: nothing a client sends is a 500. Text with NUL in it, which PostgreSQL cannot store,
is a 422 wherever the client gives it (a login is the usual 401)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.conftest import Account

NUL_INPUTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/heroes", {"json": {"name": "a\x00b", "secret_name": "x"}}),
    ("POST", "/heroes", {"json": {"name": "ab", "secret_name": "x\x00"}}),
    ("GET", "/heroes?name=a%00b", {}),
    ("POST", "/teams", {"json": {"name": "a\x00b", "headquarters": "x"}}),
    (
        "POST",
        "/users",
        {"json": {"username": "nul", "password": "pass word", "full_name": "a\x00"}},
    ),
    ("PATCH", "/users/me", {"json": {"full_name": "a\x00"}}),
    ("DELETE", "/users/1/permissions/he%00roes", {}),
    ("POST", "/users/1/permissions", {"json": {"permission": "he\x00roes"}}),
    ("PUT", "/users/1/roles", {"json": {"roles": ["ad\x00min"]}}),
    ("POST", "/roles", {"json": {"name": "r\x00", "permissions": []}}),
    ("POST", "/roles", {"json": {"name": "r", "description": "\x00", "permissions": []}}),
    ("PATCH", "/roles/ad%00min", {"json": {"description": "x"}}),
    ("GET", "/audit?action=a%00", {}),
]


@pytest.mark.parametrize(("method", "url", "request_kwargs"), NUL_INPUTS)
def test_text_with_nul_is_422(
    client: TestClient, admin: Account, method: str, url: str, request_kwargs: dict[str, Any]
) -> None:
    response = client.request(method, url, headers=admin.headers, **request_kwargs)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def test_login_with_nul_in_the_username_is_the_usual_401(
    client: TestClient, admin: Account
) -> None:
    response = client.post("/auth/token", data={"username": "ad\x00min", "password": "whatever1"})
    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Incorrect username or password"}


def test_password_with_nul_is_hashed_like_any_other(client: TestClient, admin: Account) -> None:
    body = {"username": "nulpass", "password": "12345678\x00"}
    assert client.post("/users", json=body, headers=admin.headers).status_code == 201
    assert client.post("/auth/token", data=body).status_code == 200
