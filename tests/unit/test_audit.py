"""SPEC §6, the audit paragraph: every change to users, roles and permissions, and every login,
failed login, lockout and logout, leaves exactly one record; a refused change or a no-op leaves
none; no password, hash or token reaches the trail or the logs; GET /audit reads it."""

import json
import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from core.permissions import CATALOGUE
from models import User
from tests.unit.conftest import (
    DEFAULT_PASSWORD,
    DEFAULT_PERMISSIONS,
    Account,
    MakeUser,
    bearer,
    login,
)
from tests.unit.test_guard import LAST_MANAGER, MANAGE
from tests.unit.test_roles import create_role

Record = dict[str, Any]
RECORD_FIELDS = {"id", "at", "actor_id", "action", "target_user_id", "target", "before", "after"}
UNKNOWN_USER = 999_999
PARIS_SUMMER = timezone(timedelta(hours=2))


def read_audit(client: TestClient, reader: Account, **filters: str | int) -> list[Record]:
    response = client.get("/audit", params=filters, headers=reader.headers)
    assert response.status_code == 200, response.text
    records: list[Record] = response.json()
    return records


def newest_id(client: TestClient, reader: Account) -> int:
    newest = read_audit(client, reader, limit=1)
    return newest[0]["id"] if newest else 0


def written_since(client: TestClient, reader: Account, mark: int) -> list[Record]:
    """Records newer than `mark`, newest first, without their id and time."""
    return [
        {key: value for key, value in record.items() if key not in ("id", "at")}
        for record in read_audit(client, reader)
        if record["id"] > mark
    ]


def the_one_written_since(client: TestClient, reader: Account, mark: int) -> Record:
    written = written_since(client, reader, mark)
    assert len(written) == 1, written
    return written[0]


def grant(client: TestClient, actor: Account, target: Account, permission: str) -> None:
    response = client.post(
        f"/users/{target.id}/permissions", json={"permission": permission}, headers=actor.headers
    )
    assert response.status_code == 200, response.text


# Users


def test_user_create_is_audited(client: TestClient, admin: Account) -> None:
    mark = newest_id(client, admin)
    body = {
        "username": "Rusty",
        "password": "rusty-man-2024",
        "email": "rusty@example.com",
        "full_name": "Rusty Man",
    }

    response = client.post("/users", json=body, headers=admin.headers)

    assert response.status_code == 201, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "user.create",
        "target_user_id": response.json()["id"],
        "target": "Rusty",
        "before": None,
        "after": {
            "username": "Rusty",
            "email": "rusty@example.com",
            "full_name": "Rusty Man",
            "is_active": True,
            "permissions": DEFAULT_PERMISSIONS,
            "roles": [],
        },
    }


def test_user_update_is_audited_with_the_changed_fields_only(
    client: TestClient, admin: Account
) -> None:
    created = client.post(
        "/users",
        json={
            "username": "rusty",
            "password": "rusty-man-2024",
            "email": "rusty@example.com",
            "full_name": "Rusty Man",
        },
        headers=admin.headers,
    ).json()
    mark = newest_id(client, admin)

    response = client.patch(
        f"/users/{created['id']}",
        json={"email": "rusty@heroes.example.com", "full_name": None},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "rusty@heroes.example.com"
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "user.update",
        "target_user_id": created["id"],
        "target": "rusty",
        "before": {"email": "rusty@example.com", "full_name": "Rusty Man"},
        "after": {"email": "rusty@heroes.example.com", "full_name": None},
    }


def test_own_profile_update_is_audited_with_the_user_as_actor(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)

    response = client.patch("/users/me", json={"full_name": "Bob Parr"}, headers=bob.headers)

    assert response.status_code == 200, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": bob.id,
        "action": "user.update",
        "target_user_id": bob.id,
        "target": "bob",
        "before": {"full_name": None},
        "after": {"full_name": "Bob Parr"},
    }


def test_user_deactivate_and_activate_are_audited(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)

    response = client.patch(f"/users/{bob.id}", json={"is_active": False}, headers=admin.headers)

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "user.deactivate",
        "target_user_id": bob.id,
        "target": "bob",
        "before": {"is_active": True},
        "after": {"is_active": False},
    }
    mark = newest_id(client, admin)

    response = client.patch(f"/users/{bob.id}", json={"is_active": True}, headers=admin.headers)

    assert response.status_code == 200, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "user.activate",
        "target_user_id": bob.id,
        "target": "bob",
        "before": {"is_active": False},
        "after": {"is_active": True},
    }


def test_user_delete_is_audited_with_what_the_user_was(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)

    response = client.delete(f"/users/{bob.id}", headers=admin.headers)

    assert response.status_code == 204
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "user.delete",
        "target_user_id": bob.id,
        "target": "bob",
        "before": {"username": "bob", "email": None, "full_name": None, "is_active": True},
        "after": None,
    }


def test_user_unlock_is_audited(client: TestClient, admin: Account, make_user: MakeUser) -> None:
    bob = make_user("bob")
    assert login(client, "bob", "not the password").status_code == 401
    mark = newest_id(client, admin)

    response = client.post(f"/users/{bob.id}/unlock", headers=admin.headers)

    assert response.status_code == 204
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "user.unlock",
        "target_user_id": bob.id,
        "target": "bob",
        "before": {"failed_logins_counted": True},
        "after": {"failed_logins_counted": False},
    }


def test_password_set_by_admin_is_audited_without_the_password(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)

    response = client.patch(
        f"/users/{bob.id}", json={"password": "set by the admin"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "user.password_reset",
        "target_user_id": bob.id,
        "target": "bob",
        "before": None,
        "after": None,
    }


def test_own_password_change_is_audited_without_the_password(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)
    change = {"current_password": DEFAULT_PASSWORD, "new_password": "bob's new secret"}

    response = client.post("/users/me/password", json=change, headers=bob.headers)

    assert response.status_code == 204
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": bob.id,
        "action": "user.password_change",
        "target_user_id": bob.id,
        "target": "bob",
        "before": None,
        "after": None,
    }


# Permissions and roles


def test_permission_grant_is_audited(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["teams:read", "heroes:read"])
    mark = newest_id(client, admin)

    response = client.post(
        f"/users/{bob.id}/permissions", json={"permission": "heroes:write"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "permission.grant",
        "target_user_id": bob.id,
        "target": "heroes:write",
        "before": ["heroes:read", "teams:read"],
        "after": ["heroes:read", "heroes:write", "teams:read"],
    }


def test_permission_revoke_is_audited(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["teams:read", "heroes:read"])
    mark = newest_id(client, admin)

    response = client.delete(f"/users/{bob.id}/permissions/teams:read", headers=admin.headers)

    assert response.status_code == 204
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "permission.revoke",
        "target_user_id": bob.id,
        "target": "teams:read",
        "before": ["heroes:read", "teams:read"],
        "after": ["heroes:read"],
    }


def test_permission_replace_is_audited(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["teams:read", "heroes:read"])
    mark = newest_id(client, admin)

    response = client.put(
        f"/users/{bob.id}/permissions",
        json={"permissions": ["teams:write", "heroes:read", "teams:write"]},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "permission.set",
        "target_user_id": bob.id,
        "target": "heroes:read,teams:write",
        "before": ["heroes:read", "teams:read"],
        "after": ["heroes:read", "teams:write"],
    }


def test_role_create_is_audited(client: TestClient, admin: Account) -> None:
    mark = newest_id(client, admin)

    create_role(client, admin, "editors", ["heroes:manage", "heroes:read"])

    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "role.create",
        "target_user_id": None,
        "target": "editors",
        "before": None,
        "after": {"description": "the editors", "permissions": ["heroes:manage", "heroes:read"]},
    }


def test_role_update_is_audited(client: TestClient, admin: Account) -> None:
    create_role(client, admin, "editors", ["heroes:manage", "heroes:read"])
    mark = newest_id(client, admin)

    response = client.patch(
        "/roles/editors",
        json={"description": "Edits every hero", "permissions": ["heroes:read"]},
        headers=admin.headers,
    )

    assert response.status_code == 200, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "role.update",
        "target_user_id": None,
        "target": "editors",
        "before": {"description": "the editors", "permissions": ["heroes:manage", "heroes:read"]},
        "after": {"description": "Edits every hero", "permissions": ["heroes:read"]},
    }


def test_role_delete_is_audited(client: TestClient, admin: Account) -> None:
    create_role(client, admin, "editors", ["heroes:manage", "heroes:read"])
    mark = newest_id(client, admin)

    response = client.delete("/roles/editors", headers=admin.headers)

    assert response.status_code == 204
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "role.delete",
        "target_user_id": None,
        "target": "editors",
        "before": {"description": "the editors", "permissions": ["heroes:manage", "heroes:read"]},
        "after": None,
    }


def test_user_roles_replace_is_audited(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    create_role(client, admin, "editors", ["heroes:manage"])
    create_role(client, admin, "readers", ["heroes:read"])
    bob = make_user("bob", roles=["readers"])
    mark = newest_id(client, admin)

    response = client.put(
        f"/users/{bob.id}/roles", json={"roles": ["readers", "editors"]}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": admin.id,
        "action": "role.assign",
        "target_user_id": bob.id,
        "target": "editors,readers",
        "before": ["readers"],
        "after": ["editors", "readers"],
    }


# Logins and logouts


def test_login_is_audited_under_the_stored_username(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)

    assert login(client, "BOB", DEFAULT_PASSWORD).status_code == 200

    assert the_one_written_since(client, admin, mark) == {
        "actor_id": bob.id,
        "action": "auth.login",
        "target_user_id": bob.id,
        "target": "bob",
        "before": None,
        "after": None,
    }


def test_failed_login_is_audited_for_a_user_and_an_unknown_name(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)

    assert login(client, "bob", "not the password").status_code == 401
    assert login(client, "ghost", "not the password").status_code == 401

    assert written_since(client, admin, mark) == [
        {
            "actor_id": None,
            "action": "auth.login_failed",
            "target_user_id": None,
            "target": "ghost",
            "before": None,
            "after": None,
        },
        {
            "actor_id": None,
            "action": "auth.login_failed",
            "target_user_id": bob.id,
            "target": "bob",
            "before": None,
            "after": None,
        },
    ]


def test_login_to_a_disabled_account_is_audited_as_failed(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    response = client.patch(f"/users/{bob.id}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200
    mark = newest_id(client, admin)

    refused = login(client, "bob", DEFAULT_PASSWORD)

    assert refused.status_code == 403
    assert refused.json() == {"detail": "Account disabled"}
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": None,
        "action": "auth.login_failed",
        "target_user_id": bob.id,
        "target": "bob",
        "before": None,
        "after": {"reason": "account disabled"},
    }


def test_lockout_is_audited_with_the_failure_that_caused_it(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    for _ in range(4):
        assert login(client, "bob", "not the password").status_code == 401
    mark = newest_id(client, admin)

    assert login(client, "bob", "not the password").status_code == 401

    lockout, failure = written_since(client, admin, mark)
    assert failure == {
        "actor_id": None,
        "action": "auth.login_failed",
        "target_user_id": bob.id,
        "target": "bob",
        "before": None,
        "after": None,
    }
    retry_after = lockout["after"]["retry_after"]
    assert 0 < retry_after <= 900
    assert lockout == {
        "actor_id": None,
        "action": "auth.lockout",
        "target_user_id": bob.id,
        "target": "bob",
        "before": None,
        "after": {"failed_logins": 5, "retry_after": retry_after},
    }
    assert login(client, "bob", DEFAULT_PASSWORD).status_code == 429


@pytest.mark.parametrize(
    ("params", "action"), [({}, "auth.logout"), ({"all": "true"}, "auth.logout_all")]
)
def test_logout_is_audited(
    client: TestClient, admin: Account, make_user: MakeUser, params: dict[str, str], action: str
) -> None:
    bob = make_user("bob")
    mark = newest_id(client, admin)

    response = client.post("/auth/logout", params=params, headers=bob.headers)

    assert response.status_code == 204
    assert the_one_written_since(client, admin, mark) == {
        "actor_id": bob.id,
        "action": action,
        "target_user_id": bob.id,
        "target": "bob",
        "before": None,
        "after": None,
    }


# Refused changes and no-ops leave no record


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        (
            "POST",
            "/users/{bob}/permissions",
            {"permission": "heroes:fly"},
            422,
            "Unknown permission: heroes:fly",
        ),
        (
            "PUT",
            "/users/{bob}/permissions",
            {"permissions": ["heroes:read", "heroes:fly"]},
            422,
            "Unknown permission: heroes:fly",
        ),
        (
            "POST",
            "/roles",
            {"name": "flyers", "permissions": ["heroes:fly"]},
            422,
            "Unknown permission: heroes:fly",
        ),
        (
            "PATCH",
            "/roles/readers",
            {"description": "changed", "permissions": ["heroes:fly"]},
            422,
            "Unknown permission: heroes:fly",
        ),
        ("PUT", "/users/{bob}/roles", {"roles": ["ghosts"]}, 422, "Unknown role: ghosts"),
        ("PUT", "/users/{admin}/roles", {"roles": []}, 409, LAST_MANAGER),
        ("PATCH", "/users/{admin}", {"is_active": False}, 409, LAST_MANAGER),
        (
            "PATCH",
            "/users/{admin}",
            {"full_name": "Not kept", "is_active": False},
            409,
            LAST_MANAGER,
        ),
        ("DELETE", "/users/{admin}", None, 409, LAST_MANAGER),
        (
            "DELETE",
            "/roles/admin",
            None,
            409,
            "The built-in role 'admin' cannot be deleted",
        ),
        ("PATCH", f"/users/{UNKNOWN_USER}", {"full_name": "Nobody"}, 404, "User not found"),
        ("DELETE", f"/users/{UNKNOWN_USER}", None, 404, "User not found"),
        ("POST", f"/users/{UNKNOWN_USER}/unlock", None, 404, "User not found"),
        (
            "POST",
            f"/users/{UNKNOWN_USER}/permissions",
            {"permission": "heroes:read"},
            404,
            "User not found",
        ),
        ("PUT", f"/users/{UNKNOWN_USER}/roles", {"roles": ["readers"]}, 404, "User not found"),
        (
            "DELETE",
            "/users/{bob}/permissions/heroes:write",
            None,
            404,
            "heroes:write is not granted directly to this user",
        ),
        (
            "POST",
            "/users",
            {"username": "BOB", "password": "another password"},
            409,
            "Username already taken",
        ),
        ("POST", "/roles", {"name": "readers"}, 409, "Role 'readers' already exists"),
    ],
)
def test_refused_change_leaves_no_record(
    client: TestClient,
    admin: Account,
    make_user: MakeUser,
    method: str,
    path: str,
    body: Record | None,
    status: int,
    detail: str,
) -> None:
    create_role(client, admin, "readers", ["heroes:read"])
    bob = make_user("bob", permissions=["teams:read"])
    admin_before = client.get(f"/users/{admin.id}", headers=admin.headers).json()
    assert admin_before == {
        "id": admin.id,
        "username": "admin",
        "email": None,
        "full_name": None,
        "is_active": True,
        "roles": ["admin"],
        "permissions": sorted(CATALOGUE),
    }
    mark = newest_id(client, admin)

    response = client.request(
        method, path.format(bob=bob.id, admin=admin.id), json=body, headers=admin.headers
    )

    assert response.status_code == status, response.text
    assert response.json() == {"detail": detail}
    assert written_since(client, admin, mark) == []
    assert client.get(f"/users/{admin.id}", headers=admin.headers).json() == admin_before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/users/{bob}/permissions", {"permission": "teams:read"}),
        ("PUT", "/users/{bob}/permissions", {"permissions": ["teams:read", "teams:read"]}),
        ("PUT", "/users/{bob}/roles", {"roles": ["readers"]}),
        ("PATCH", "/users/{bob}", {"full_name": "Bob Parr", "is_active": True}),
        ("PATCH", "/roles/readers", {"description": "the readers"}),
    ],
)
def test_change_to_what_already_is_leaves_no_record(
    client: TestClient,
    admin: Account,
    make_user: MakeUser,
    method: str,
    path: str,
    body: Record,
) -> None:
    create_role(client, admin, "readers", ["heroes:read"])
    bob = make_user("bob", permissions=["teams:read"], roles=["readers"])
    named = client.patch(f"/users/{bob.id}", json={"full_name": "Bob Parr"}, headers=admin.headers)
    assert named.status_code == 200
    mark = newest_id(client, admin)

    response = client.request(method, path.format(bob=bob.id), json=body, headers=admin.headers)

    assert response.status_code == 200, response.text
    assert written_since(client, admin, mark) == []


# No secrets


def test_no_password_hash_or_token_in_the_audit_trail_or_the_logs(
    client: TestClient,
    session: Session,
    admin: Account,
    make_user: MakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bob = make_user("bob", permissions=["heroes:read"])
    created = client.post(
        "/users",
        json={"username": "carol", "password": "carol's first secret"},
        headers=admin.headers,
    )
    assert created.status_code == 201
    carol_id = created.json()["id"]
    passwords = [DEFAULT_PASSWORD, "carol's first secret", "carol's reset secret"]
    passwords += ["bob's second secret", "a wrong guess at it"]
    tokens = [admin.token, admin.refresh_token, bob.token, bob.refresh_token]

    refreshed = client.post("/auth/refresh", json={"refresh_token": bob.refresh_token})
    assert refreshed.status_code == 200
    tokens += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
    replayed = client.post("/auth/refresh", json={"refresh_token": bob.refresh_token})
    assert replayed.status_code == 401
    again = login(client, "bob", DEFAULT_PASSWORD)
    assert again.status_code == 200
    tokens += [again.json()["access_token"], again.json()["refresh_token"]]
    bob_now = bearer(again.json()["access_token"])
    change = {"current_password": DEFAULT_PASSWORD, "new_password": "bob's second secret"}
    assert client.post("/users/me/password", json=change, headers=bob_now).status_code == 204
    reset = client.patch(
        f"/users/{carol_id}", json={"password": "carol's reset secret"}, headers=admin.headers
    )
    assert reset.status_code == 200
    assert login(client, "carol", "carol's first secret").status_code == 401
    assert login(client, "bob", "a wrong guess at it").status_code == 401
    assert login(client, "ghost", "a wrong guess at it").status_code == 401
    assert login(client, "carol", "carol's reset secret").status_code == 200
    forged = bearer(f"{admin.token}x")
    assert client.get("/users/me", headers=forged).status_code == 401

    hashes = []
    for user_id in (admin.id, bob.id, carol_id):
        user = session.get(User, user_id)
        assert user is not None
        session.refresh(user)
        hashes.append(user.hashed_password)
    records = read_audit(client, admin)
    trail = json.dumps(records)
    actions = {record["action"] for record in records}
    assert {"auth.login_failed", "user.password_change", "user.password_reset"} <= actions
    assert "auth.refresh_reuse" in actions
    assert 'POST http://testserver/auth/refresh "HTTP/1.1 401 Unauthorized"' in caplog.text
    for text in (trail, caplog.text):
        for secret in [*passwords, *tokens, *hashes, "$2b$", "$bcrypt-sha256$"]:
            assert secret not in text, secret


# GET /audit


def test_audit_record_shape_with_time_in_utc(client: TestClient, admin: Account) -> None:
    before = datetime.now(UTC)
    create_role(client, admin, "editors", ["heroes:read"])

    newest = read_audit(client, admin, limit=1)

    assert len(newest) == 1
    record = newest[0]
    assert set(record) == RECORD_FIELDS
    assert isinstance(record["id"], int)
    at = datetime.fromisoformat(record["at"])
    assert at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC) + timedelta(seconds=1)
    assert record["action"] == "role.create"


def test_audit_is_newest_first(client: TestClient, admin: Account, make_user: MakeUser) -> None:
    bob = make_user("bob")
    for permission in ("teams:read", "teams:write", "heroes:read"):
        grant(client, admin, bob, permission)

    records = read_audit(client, admin)

    ids = [record["id"] for record in records]
    assert ids == sorted(ids, reverse=True)
    times = [datetime.fromisoformat(record["at"]) for record in records]
    assert times == sorted(times, reverse=True)
    assert [record["target"] for record in records[:3]] == [
        "heroes:read",
        "teams:write",
        "teams:read",
    ]


def test_audit_filters_by_actor_target_and_action(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    carol = make_user("carol", permissions=[MANAGE, "users:manage"])
    grants = [(admin, bob, "teams:read"), (carol, bob, "teams:write"), (carol, admin, "teams:read")]
    for actor, target, permission in grants:
        grant(client, actor, target, permission)

    by_carol = read_audit(client, admin, actor_id=carol.id)
    about_bob = read_audit(client, admin, target_user_id=bob.id, action="permission.grant")
    logins = read_audit(client, admin, action="auth.login")

    assert [(r["action"], r["target_user_id"], r["target"]) for r in by_carol] == [
        ("permission.grant", admin.id, "teams:read"),
        ("permission.grant", bob.id, "teams:write"),
        ("auth.login", carol.id, "carol"),
    ]
    assert [(r["actor_id"], r["target"]) for r in about_bob] == [
        (carol.id, "teams:write"),
        (admin.id, "teams:read"),
    ]
    assert [r["actor_id"] for r in logins] == [carol.id, bob.id, admin.id]
    assert read_audit(client, admin, action="permission.nothing") == []
    assert read_audit(client, admin, actor_id=UNKNOWN_USER) == []


def test_audit_filters_by_since(client: TestClient, admin: Account, make_user: MakeUser) -> None:
    bob = make_user("bob")
    for permission in ("teams:read", "teams:write", "heroes:read", "heroes:write"):
        grant(client, admin, bob, permission)
    everything = read_audit(client, admin)
    middle = datetime.fromisoformat(everything[2]["at"])
    expected = [r["id"] for r in everything if datetime.fromisoformat(r["at"]) >= middle]
    assert 3 <= len(expected) < len(everything)

    in_utc = read_audit(client, admin, since=middle.isoformat())
    in_paris = read_audit(client, admin, since=middle.astimezone(PARIS_SUMMER).isoformat())
    naive_utc = read_audit(client, admin, since=middle.replace(tzinfo=None).isoformat())

    assert [r["id"] for r in in_utc] == expected
    assert [r["id"] for r in in_paris] == expected
    assert [r["id"] for r in naive_utc] == expected
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert read_audit(client, admin, since=future) == []
    bad = client.get("/audit", params={"since": "yesterday"}, headers=admin.headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "since"]


def test_audit_pages_with_offset_and_limit(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    for permission in ("teams:read", "teams:write", "heroes:read", "heroes:write"):
        grant(client, admin, bob, permission)
    everything = [r["id"] for r in read_audit(client, admin)]
    assert len(everything) >= 6

    pages = [
        [r["id"] for r in read_audit(client, admin, offset=offset, limit=2)]
        for offset in range(0, len(everything), 2)
    ]

    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert [record_id for page in pages for record_id in page] == everything
    assert read_audit(client, admin, offset=len(everything)) == []
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"actor_id": 0}):
        response = client.get("/audit", params=bad, headers=admin.headers)
        assert response.status_code == 422, bad
