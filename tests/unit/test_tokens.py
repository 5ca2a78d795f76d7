"""SPEC §4, token attacks: each forged token starts from a real login's claims, differs in the one
thing under test, and is refused with 401 and `WWW-Authenticate: Bearer`."""

import base64
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from jose import jwt

from tests.settings import TEST_SECRET_KEY
from tests.unit.conftest import (
    Account,
    MakeUser,
    assert_forbidden,
    assert_refused,
    bearer,
    login,
)

REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti", "scope", "type", "iss", "aud", "sid")
"""SPEC §4's claims, and the session id that ties a token to its login."""


@pytest.fixture
def alice(client: TestClient, make_user: MakeUser) -> Account:
    """Holds heroes:read, and owns the one hero, so a working token lists it."""
    alice = make_user("alice", permissions=["heroes:read", "heroes:write"])
    hero = {"name": "Deadpond", "secret_name": "Dive Wilson"}
    assert client.post("/heroes", json=hero, headers=alice.headers).status_code == 201
    return alice


def claims_of(account: Account) -> dict[str, Any]:
    return jwt.get_unverified_claims(account.token)


def sign(claims: dict[str, Any], key: str = TEST_SECRET_KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def list_heroes(client: TestClient, token: str) -> Response:
    return client.get("/heroes", headers=bearer(token))


def test_a_token_re_signed_with_its_own_claims_is_accepted(
    client: TestClient, alice: Account
) -> None:
    """The control: the forging below changes only what each test says it changes."""
    response = list_heroes(client, sign(claims_of(alice)))
    assert response.status_code == 200, response.text
    assert response.json() == list_heroes(client, alice.token).json()
    assert [hero["secret_name"] for hero in response.json()] == ["Dive Wilson"]


def test_alg_none_is_refused(client: TestClient, alice: Account) -> None:
    assert_refused(list_heroes(client, unsigned(claims_of(alice))))


def test_a_token_signed_with_another_key_is_refused(client: TestClient, alice: Account) -> None:
    forged = sign(claims_of(alice), key="another-secret-key-0123456789-abcdefghijklmnop")
    assert_refused(list_heroes(client, forged))


def test_hs512_with_the_right_key_is_refused(client: TestClient, alice: Account) -> None:
    assert_refused(list_heroes(client, sign(claims_of(alice), algorithm="HS512")))


def test_a_tampered_payload_is_refused(client: TestClient, alice: Account) -> None:
    header, _, signature = alice.token.split(".")
    _, payload, _ = sign({**claims_of(alice), "scope": "heroes:read"}).split(".")
    assert_refused(list_heroes(client, f"{header}.{payload}.{signature}"))


def test_an_expired_token_is_refused(client: TestClient, alice: Account) -> None:
    now = int(time.time())
    expired = sign({**claims_of(alice), "iat": now - 120, "exp": now - 1})
    assert_refused(list_heroes(client, expired))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_a_token_missing_a_required_claim_is_refused(
    client: TestClient, alice: Account, claim: str
) -> None:
    claims = claims_of(alice)
    del claims[claim]
    assert_refused(list_heroes(client, sign(claims)))


def test_a_token_for_another_audience_is_refused(client: TestClient, alice: Account) -> None:
    assert_refused(list_heroes(client, sign({**claims_of(alice), "aud": "other-api"})))


def test_a_token_from_another_issuer_is_refused(client: TestClient, alice: Account) -> None:
    assert_refused(list_heroes(client, sign({**claims_of(alice), "iss": "other-api"})))


def test_a_refresh_token_is_not_an_access_token(client: TestClient, alice: Account) -> None:
    assert_refused(list_heroes(client, alice.refresh_token))
    assert_refused(list_heroes(client, sign({**claims_of(alice), "type": "refresh"})))


@pytest.mark.parametrize(
    "garbage",
    ["not-a-token", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9", "x" * 5000],
)
def test_a_garbage_token_is_refused(client: TestClient, alice: Account, garbage: str) -> None:
    assert_refused(list_heroes(client, garbage))


@pytest.mark.parametrize("sub", ["alice", "-1", "0x1", "99999999999", ""])
def test_a_token_with_a_malformed_subject_is_refused(
    client: TestClient, alice: Account, sub: str
) -> None:
    assert_refused(list_heroes(client, sign({**claims_of(alice), "sub": sub})))


def test_a_session_of_one_user_does_not_carry_another(
    client: TestClient, alice: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    assert_refused(list_heroes(client, sign({**claims_of(alice), "sub": str(bob.id)})))


def test_a_token_of_an_unknown_session_is_refused(client: TestClient, alice: Account) -> None:
    assert_refused(list_heroes(client, sign({**claims_of(alice), "sid": "0" * 32})))


def test_the_scope_claim_cannot_widen_a_narrowed_login(client: TestClient, alice: Account) -> None:
    narrowed = login(client, "alice", alice.password, scope="heroes:read")
    assert narrowed.status_code == 200, narrowed.text
    token = narrowed.json()["access_token"]
    widened = sign({**jwt.get_unverified_claims(token), "scope": "heroes:read heroes:write"})
    hero = {"name": "Rusty-Man", "secret_name": "Tommy Sharp"}
    assert_forbidden(client.post("/heroes", json=hero, headers=bearer(widened)), "heroes:write")
