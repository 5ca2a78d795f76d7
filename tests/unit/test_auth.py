"""SPEC §4 from outside: refresh rotation and reuse detection, logout, password changes,
deactivation, login answers, password rules, hash upgrades, scopes and sign-up."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from jose import jwt
from passlib.hash import bcrypt, bcrypt_sha256
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from core import tokens
from models import AuthSession, User
from models.common import utcnow
from tests.unit.conftest import (
    BAD_CREDENTIALS,
    BAD_REFRESH,
    DEFAULT_PASSWORD,
    Account,
    Configure,
    MakeUser,
    assert_refused,
    bearer,
    login,
)


def login_ok(client: TestClient, username: str, password: str = DEFAULT_PASSWORD) -> Account:
    response = login(client, username, password)
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(0, username, password, body["access_token"], body["refresh_token"])


def refresh(client: TestClient, refresh_token: str) -> Response:
    return client.post("/auth/refresh", json={"refresh_token": refresh_token})


def assert_session_over(client: TestClient, access_token: str, refresh_token: str) -> None:
    assert_refused(client.get("/users/me", headers=bearer(access_token)))
    assert_refused(refresh(client, refresh_token), BAD_REFRESH)


def assert_session_alive(client: TestClient, account: Account) -> None:
    assert client.get("/users/me", headers=account.headers).status_code == 200


def stored_hash(engine: Engine, user_id: int) -> str:
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.hashed_password


def store_hash(engine: Engine, user_id: int, hashed: str) -> None:
    with Session(engine) as session:
        session.execute(update(User).where(col(User.id) == user_id).values(hashed_password=hashed))
        session.commit()


# Refresh tokens


def test_refresh_returns_a_new_pair_with_the_same_scope(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["heroes:read", "heroes:write"], scope="heroes:read")
    response = refresh(client, alice.refresh_token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == "heroes:read"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"] != alice.token
    assert body["refresh_token"] != alice.refresh_token
    assert jwt.get_unverified_claims(body["access_token"])["scope"] == "heroes:read"
    new = bearer(body["access_token"])
    assert client.get("/heroes", headers=new).status_code == 200
    hero = {"name": "Deadpond", "secret_name": "Dive Wilson"}
    assert client.post("/heroes", json=hero, headers=new).status_code == 403


def test_refresh_never_widens_a_narrowed_scope(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["heroes:read"], scope="heroes:read")
    granted = client.post(
        f"/users/{alice.id}/permissions", json={"permission": "teams:read"}, headers=admin.headers
    )
    assert granted.status_code == 200
    response = refresh(client, alice.refresh_token)
    assert response.status_code == 200
    assert response.json()["scope"] == "heroes:read"
    new = bearer(response.json()["access_token"])
    refused = client.get("/teams", headers=new)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Missing permission: teams:read"}


def test_refresh_token_works_once(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    first = refresh(client, alice.refresh_token)
    assert first.status_code == 200
    assert_refused(refresh(client, alice.refresh_token), BAD_REFRESH)


def test_replayed_refresh_token_revokes_the_whole_family(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    other_session = login_ok(client, "alice")
    newest = refresh(client, alice.refresh_token).json()
    assert client.get("/heroes", headers=bearer(newest["access_token"])).status_code == 200

    assert_refused(refresh(client, alice.refresh_token), BAD_REFRESH)

    assert_session_over(client, newest["access_token"], newest["refresh_token"])
    assert_session_over(client, alice.token, alice.refresh_token)
    assert_session_alive(client, other_session)


def test_access_token_is_not_a_refresh_token_and_back(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    assert_refused(refresh(client, alice.token), BAD_REFRESH)
    assert_refused(client.get("/users/me", headers=bearer(alice.refresh_token)))
    assert_session_alive(client, alice)


def test_refresh_after_logout_is_refused(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice")
    assert client.post("/auth/logout", headers=alice.headers).status_code == 204
    assert_refused(refresh(client, alice.refresh_token), BAD_REFRESH)


def test_refresh_after_password_change_is_refused(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice")
    change = {"current_password": alice.password, "new_password": "a brand new secret"}
    assert client.post("/users/me/password", json=change, headers=alice.headers).status_code == 204
    assert_refused(refresh(client, alice.refresh_token), BAD_REFRESH)


def test_refresh_after_deactivation_is_refused(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    response = client.patch(f"/users/{alice.id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert_session_over(client, alice.token, alice.refresh_token)
    reactivated = client.patch(
        f"/users/{alice.id}", json={"is_active": True}, headers=admin.headers
    )
    assert reactivated.status_code == 200
    assert_session_over(client, alice.token, alice.refresh_token)


def test_refresh_after_deletion_is_refused(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    assert client.delete(f"/users/{alice.id}", headers=admin.headers).status_code == 204
    assert_session_over(client, alice.token, alice.refresh_token)


def test_tokens_of_a_deleted_user_fail_and_the_id_is_never_handed_out_again(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    assert client.delete(f"/users/{alice.id}", headers=admin.headers).status_code == 204
    mallory = make_user("mallory", permissions=[])
    assert mallory.id > alice.id  # without AUTOINCREMENT, SQLite would reuse the freed rowid
    assert_session_over(client, alice.token, alice.refresh_token)
    assert_session_alive(client, mallory)


def test_refresh_of_an_expired_session_is_refused(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    with Session(engine) as session:
        session.execute(
            update(AuthSession)
            .where(col(AuthSession.user_id) == alice.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert_refused(refresh(client, alice.refresh_token), BAD_REFRESH)


def test_expired_refresh_token_is_refused(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice")
    session_id = jwt.get_unverified_claims(alice.refresh_token)["sid"]
    expired, _ = tokens.encode(
        user_id=alice.id,
        session_id=session_id,
        scope="",
        token_type="refresh",
        lifetime=timedelta(seconds=-1),
    )
    assert_refused(refresh(client, expired), BAD_REFRESH)


# Logout


def test_logout_ends_the_access_token_and_its_refresh_family_at_once(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    other_session = login_ok(client, "alice")
    response = client.post("/auth/logout", headers=alice.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_session_over(client, alice.token, alice.refresh_token)
    assert_session_alive(client, other_session)


def test_logout_all_ends_every_session_of_the_user(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice")
    second = login_ok(client, "alice")
    bob = make_user("bob")
    response = client.post("/auth/logout", params={"all": "true"}, headers=second.headers)
    assert response.status_code == 204
    assert_session_over(client, alice.token, alice.refresh_token)
    assert_session_over(client, second.token, second.refresh_token)
    assert_session_alive(client, bob)
    assert_session_alive(client, login_ok(client, "alice"))


def test_logout_needs_a_live_token(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice")
    assert client.post("/auth/logout", headers=alice.headers).status_code == 204
    assert_refused(client.post("/auth/logout", headers=alice.headers))
    assert_refused(client.post("/auth/logout"), {"detail": "Not authenticated"})


# Passwords


def test_password_change_ends_every_older_token(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice")
    second = login_ok(client, "alice")
    change = {"current_password": alice.password, "new_password": "a brand new secret"}
    response = client.post("/users/me/password", json=change, headers=alice.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_session_over(client, alice.token, alice.refresh_token)
    assert_session_over(client, second.token, second.refresh_token)
    assert_refused(login(client, "alice", alice.password), BAD_CREDENTIALS)
    assert_session_alive(client, login_ok(client, "alice", "a brand new secret"))


def test_password_change_with_wrong_current_password_is_400(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    before = stored_hash(engine, alice.id)
    change = {"current_password": "not my password", "new_password": "a brand new secret"}
    response = client.post("/users/me/password", json=change, headers=alice.headers)
    assert response.status_code == 400
    assert response.json() == {"detail": "Current password is incorrect"}
    assert stored_hash(engine, alice.id) == before
    assert_session_alive(client, alice)


@pytest.mark.parametrize("new_password", ["short", "x" * 257])
def test_new_password_outside_8_to_256_characters_is_refused(
    client: TestClient, make_user: MakeUser, new_password: str
) -> None:
    alice = make_user("alice")
    change = {"current_password": alice.password, "new_password": new_password}
    response = client.post("/users/me/password", json=change, headers=alice.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "new_password"]
    assert_session_alive(client, alice)


def test_admin_password_reset_ends_that_users_sessions(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    bob = make_user("bob")
    response = client.patch(
        f"/users/{alice.id}", json={"password": "reset by admin"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert "password" not in response.json()
    assert "hashed_password" not in response.json()
    assert_session_over(client, alice.token, alice.refresh_token)
    assert_session_alive(client, bob)
    assert_session_alive(client, admin)
    assert_refused(login(client, "alice", alice.password), BAD_CREDENTIALS)
    assert login(client, "alice", "reset by admin").status_code == 200


@pytest.mark.parametrize("length", [8, 256])
def test_password_of_8_to_256_characters_is_accepted(
    client: TestClient, admin: Account, length: int
) -> None:
    password = "p" * length
    body = {"username": "alice", "password": password}
    assert client.post("/users", json=body, headers=admin.headers).status_code == 201
    assert login(client, "alice", password).status_code == 200


@pytest.mark.parametrize("length", [7, 257])
def test_password_outside_8_to_256_characters_is_refused(
    client: TestClient, admin: Account, length: int
) -> None:
    body = {"username": "alice", "password": "p" * length}
    response = client.post("/users", json=body, headers=admin.headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_every_character_of_a_long_password_counts(client: TestClient, make_user: MakeUser) -> None:
    password = "a" * 99 + "b"
    make_user("alice", password=password)
    assert_refused(login(client, "alice", "a" * 99 + "c"), BAD_CREDENTIALS)
    assert_refused(login(client, "alice", "a" * 99), BAD_CREDENTIALS)
    assert login(client, "alice", password).status_code == 200


def test_every_byte_past_72_counts_for_multibyte_passwords(
    client: TestClient, make_user: MakeUser
) -> None:
    password = "é" * 40 + "1"  # 81 bytes in UTF-8
    make_user("alice", password=password)
    assert_refused(login(client, "alice", "é" * 40 + "2"), BAD_CREDENTIALS)
    assert login(client, "alice", password).status_code == 200


# Login answers


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice")
    wrong_password = login(client, "alice", "not the password")
    unknown_user = login(client, "nobody", "not the password")
    assert_refused(wrong_password, BAD_CREDENTIALS)
    assert_refused(unknown_user, BAD_CREDENTIALS)
    assert wrong_password.content == unknown_user.content


@pytest.mark.parametrize("length", [257, 5000, 100_000])
def test_password_too_long_for_the_hash_is_a_plain_401(
    client: TestClient, make_user: MakeUser, length: int
) -> None:
    make_user("alice")
    assert_refused(login(client, "alice", "x" * length), BAD_CREDENTIALS)
    assert_refused(login(client, "nobody", "x" * length), BAD_CREDENTIALS)


def test_usernames_are_case_insensitive_at_login(client: TestClient, make_user: MakeUser) -> None:
    make_user("Alice")
    for spelling in ("alice", "ALICE", "aLiCe"):
        response = login(client, spelling, DEFAULT_PASSWORD)
        assert response.status_code == 200, spelling
        me = client.get("/users/me", headers=bearer(response.json()["access_token"]))
        assert me.json()["username"] == "Alice"


def test_deactivated_account_learns_it_only_with_the_right_password(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    client.patch(f"/users/{alice.id}", json={"is_active": False}, headers=admin.headers)
    disabled = login(client, "alice", alice.password)
    assert disabled.status_code == 403
    assert disabled.json() == {"detail": "Account disabled"}
    assert "access_token" not in disabled.text
    assert_refused(login(client, "alice", "not the password"), BAD_CREDENTIALS)


# Hash upgrades


def test_hash_with_fewer_rounds_is_upgraded_at_next_login(
    client: TestClient, engine: Engine, make_user: MakeUser, configure: Configure
) -> None:
    alice = make_user("alice")
    store_hash(engine, alice.id, bcrypt_sha256.using(rounds=4).hash(alice.password))
    configure(BCRYPT_ROUNDS="5")
    assert_refused(login(client, "alice", "not the password"), BAD_CREDENTIALS)
    assert bcrypt_sha256.from_string(stored_hash(engine, alice.id)).rounds == 4
    assert login(client, "alice", alice.password).status_code == 200
    upgraded = stored_hash(engine, alice.id)
    assert bcrypt_sha256.identify(upgraded)
    assert bcrypt_sha256.from_string(upgraded).rounds == 5
    assert login(client, "alice", alice.password).status_code == 200
    assert stored_hash(engine, alice.id) == upgraded


def test_plain_bcrypt_hash_is_upgraded_at_next_login(
    client: TestClient, engine: Engine, make_user: MakeUser
) -> None:
    alice = make_user("alice")
    store_hash(engine, alice.id, bcrypt.using(rounds=4).hash(alice.password))
    assert login(client, "alice", alice.password).status_code == 200
    upgraded = stored_hash(engine, alice.id)
    assert not bcrypt.identify(upgraded)
    assert bcrypt_sha256.identify(upgraded)
    assert login(client, "alice", alice.password).status_code == 200


# Scopes


def test_narrowed_token_is_refused_what_the_user_holds_outside_its_scope(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["heroes:read", "heroes:write"], scope="heroes:read")
    hero = {"name": "Deadpond", "secret_name": "Dive Wilson"}
    response = client.post("/heroes", json=hero, headers=alice.headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: heroes:write"}
    assert client.get("/heroes", headers=alice.headers).status_code == 200
    me = client.get("/users/me", headers=alice.headers).json()
    assert me["permissions"] == ["heroes:read", "heroes:write"]
    full = login_ok(client, "alice")
    assert client.post("/heroes", json=hero, headers=full.headers).status_code == 201


def test_token_scope_is_requested_intersected_with_held(
    client: TestClient, make_user: MakeUser
) -> None:
    make_user("alice", permissions=["heroes:read", "heroes:write"])
    response = login(client, "alice", DEFAULT_PASSWORD, scope="heroes:read teams:write")
    assert response.status_code == 200
    assert response.json()["scope"] == "heroes:read"
    assert jwt.get_unverified_claims(response.json()["access_token"])["scope"] == "heroes:read"
    nothing = login(client, "alice", DEFAULT_PASSWORD, scope="audit:read")
    assert nothing.status_code == 200
    assert nothing.json()["scope"] == ""
    denied = client.get("/heroes", headers=bearer(nothing.json()["access_token"]))
    assert denied.status_code == 403


def test_narrowed_token_does_not_follow_later_grants(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["heroes:read"], scope="heroes:read teams:read")
    client.post(
        f"/users/{alice.id}/permissions", json={"permission": "teams:read"}, headers=admin.headers
    )
    assert client.get("/teams", headers=alice.headers).status_code == 403


def test_unknown_scope_is_invalid_scope(client: TestClient, make_user: MakeUser) -> None:
    make_user("alice", permissions=["heroes:read"])
    response = login(client, "alice", DEFAULT_PASSWORD, scope="heroes:read heroes:everything")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "invalid_scope",
        "error": "invalid_scope",
        "error_description": "Unknown scope: heroes:everything",
    }


def test_unscoped_token_follows_grants_and_revokes_on_the_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    hero = {"name": "Deadpond", "secret_name": "Dive Wilson"}
    assert client.post("/heroes", json=hero, headers=alice.headers).status_code == 403
    granted = client.post(
        f"/users/{alice.id}/permissions", json={"permission": "heroes:write"}, headers=admin.headers
    )
    assert granted.status_code == 200
    assert client.post("/heroes", json=hero, headers=alice.headers).status_code == 201
    revoked = client.delete(f"/users/{alice.id}/permissions/heroes:write", headers=admin.headers)
    assert revoked.status_code == 204
    response = client.post("/heroes", json=hero, headers=alice.headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: heroes:write"}


# Sign-up and the own profile


def test_register_is_404_by_default(client: TestClient) -> None:
    body = {"username": "newcomer", "password": "long enough"}
    response = client.post("/auth/register", json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert login(client, "newcomer", "long enough").status_code == 401


def test_register_creates_a_user_with_default_permissions(
    client: TestClient, configure: Configure
) -> None:
    configure(ALLOW_REGISTRATION="true", DEFAULT_PERMISSIONS="heroes:read,teams:read")
    body = {"username": "Newcomer", "password": "long enough", "full_name": "New Comer"}
    response = client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created == {
        "id": created["id"],
        "username": "Newcomer",
        "email": None,
        "full_name": "New Comer",
        "is_active": True,
        "roles": [],
        "permissions": ["heroes:read", "teams:read"],
    }
    token = login(client, "newcomer", "long enough").json()["access_token"]
    me = client.get("/users/me", headers=bearer(token))
    assert me.json()["permissions"] == ["heroes:read", "teams:read"]
    taken = client.post("/auth/register", json={**body, "username": "NEWCOMER"})
    assert taken.status_code == 409
    assert taken.json() == {"detail": "Username already taken"}


def test_register_cannot_ask_for_more(client: TestClient, configure: Configure) -> None:
    configure(ALLOW_REGISTRATION="true")
    body = {"username": "greedy", "password": "long enough", "permissions": ["users:manage"]}
    response = client.post("/auth/register", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "permissions"]
    assert login(client, "greedy", "long enough").status_code == 401


def test_patch_me_changes_email_and_full_name(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    changes = {"email": "alice@example.com", "full_name": "Alice Liddell"}
    response = client.patch("/users/me", json=changes, headers=alice.headers)
    assert response.status_code == 200
    assert response.json() == {
        "id": alice.id,
        "username": "alice",
        "email": "alice@example.com",
        "full_name": "Alice Liddell",
        "is_active": True,
        "roles": [],
        "permissions": ["heroes:read"],
    }
    assert client.get("/users/me", headers=alice.headers).json() == response.json()


@pytest.mark.parametrize(
    "changes",
    [
        {"is_active": False},
        {"username": "root"},
        {"password": "a new password"},
        {"roles": ["admin"]},
    ],
)
def test_patch_me_cannot_change_anything_else(
    client: TestClient, make_user: MakeUser, changes: dict[str, object]
) -> None:
    alice = make_user("alice", permissions=["heroes:read"])
    response = client.patch("/users/me", json=changes, headers=alice.headers)
    assert response.status_code == 422
    me = client.get("/users/me", headers=alice.headers).json()
    assert me["username"] == "alice"
    assert me["roles"] == []
    assert login(client, "alice", DEFAULT_PASSWORD).status_code == 200
