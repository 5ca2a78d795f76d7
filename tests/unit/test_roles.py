"""Roles from the outside: a role's permissions are held by its users on the next request."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from core import access
from core import permissions as catalogue
from tests.unit.conftest import DEFAULT_PASSWORD, Account, MakeUser, bearer, login

EVERYTHING = sorted(catalogue.CATALOGUE)


def create_role(client: TestClient, admin: Account, name: str, permissions: list[str]) -> None:
    body = {"name": name, "description": f"the {name}", "permissions": permissions}
    response = client.post("/roles", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert response.json() == {**body, "permissions": sorted(permissions), "builtin": False}


def set_roles(client: TestClient, admin: Account, user: Account, roles: list[str]) -> dict:
    response = client.put(f"/users/{user.id}/roles", json={"roles": roles}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def permissions_of(client: TestClient, admin: Account, user: Account) -> dict:
    response = client.get(f"/users/{user.id}/permissions", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_role_assigned_grants_its_permissions_on_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    assert client.get("/heroes", headers=bob.headers).status_code == 403
    create_role(client, admin, "readers", ["heroes:read"])

    view = set_roles(client, admin, bob, ["readers"])

    assert view == {"direct": [], "roles": ["readers"], "effective": ["heroes:read"]}
    response = client.get("/heroes", headers=bob.headers)
    assert response.status_code == 200
    assert response.json() == []


def test_role_permissions_edited_take_effect_on_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    create_role(client, admin, "readers", ["heroes:read"])
    set_roles(client, admin, bob, ["readers"])

    response = client.patch(
        "/roles/readers", json={"permissions": ["teams:read"]}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json() == {
        "name": "readers",
        "description": "the readers",
        "permissions": ["teams:read"],
        "builtin": False,
    }
    refused = client.get("/heroes", headers=bob.headers)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Missing permission: heroes:read"}
    assert client.get("/teams", headers=bob.headers).status_code == 200


def test_role_taken_away_refused_on_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    create_role(client, admin, "readers", ["heroes:read"])
    set_roles(client, admin, bob, ["readers"])
    assert client.get("/heroes", headers=bob.headers).status_code == 200

    view = set_roles(client, admin, bob, [])

    assert view == {"direct": [], "roles": [], "effective": []}
    response = client.get("/heroes", headers=bob.headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: heroes:read"}
    assert 'scope="heroes:read"' in response.headers["www-authenticate"]


def test_permissions_view_is_direct_roles_and_their_union(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:write", "teams:read"])
    create_role(client, admin, "readers", ["heroes:read", "teams:read"])
    set_roles(client, admin, bob, ["readers"])

    assert permissions_of(client, admin, bob) == {
        "direct": ["heroes:write", "teams:read"],
        "roles": ["readers"],
        "effective": ["heroes:read", "heroes:write", "teams:read"],
    }
    me = client.get("/users/me", headers=bob.headers).json()
    assert me["roles"] == ["readers"]
    assert me["permissions"] == ["heroes:read", "heroes:write", "teams:read"]


def test_permissions_view_of_unknown_user_is_404(client: TestClient, admin: Account) -> None:
    response = client.get("/users/999999/permissions", headers=admin.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


def test_roles_replaced_not_added(client: TestClient, admin: Account, make_user: MakeUser) -> None:
    bob = make_user("bob")
    create_role(client, admin, "readers", ["heroes:read"])
    create_role(client, admin, "writers", ["heroes:write"])
    set_roles(client, admin, bob, ["readers"])

    view = set_roles(client, admin, bob, ["writers", "writers"])

    assert view == {"direct": [], "roles": ["writers"], "effective": ["heroes:write"]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/roles", {"name": "flyers", "permissions": ["heroes:read", "heroes:fly"]}),
        ("PATCH", "/roles/readers", {"permissions": ["heroes:fly"]}),
        ("POST", "/users/{bob}/permissions", {"permission": "heroes:fly"}),
        ("PUT", "/users/{bob}/permissions", {"permissions": ["heroes:read", "heroes:fly"]}),
    ],
)
def test_unknown_permission_is_422_and_changes_nothing(
    client: TestClient,
    admin: Account,
    make_user: MakeUser,
    method: str,
    path: str,
    body: dict,
) -> None:
    bob = make_user("bob", permissions=["teams:read"])
    create_role(client, admin, "readers", ["heroes:read"])
    roles_before = client.get("/roles", headers=admin.headers).json()

    response = client.request(method, path.format(bob=bob.id), json=body, headers=admin.headers)

    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown permission: heroes:fly"}
    assert client.get("/roles", headers=admin.headers).json() == roles_before
    assert permissions_of(client, admin, bob)["direct"] == ["teams:read"]


def test_revoking_unknown_permission_is_422(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["teams:read"])
    response = client.delete(f"/users/{bob.id}/permissions/heroes:fly", headers=admin.headers)
    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown permission: heroes:fly"}


def test_unknown_role_assigned_is_422_and_changes_nothing(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    create_role(client, admin, "readers", ["heroes:read"])
    set_roles(client, admin, bob, ["readers"])

    response = client.put(
        f"/users/{bob.id}/roles", json={"roles": ["readers", "ghosts"]}, headers=admin.headers
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown role: ghosts"}
    assert permissions_of(client, admin, bob)["roles"] == ["readers"]


def test_roles_of_unknown_user_is_404(client: TestClient, admin: Account) -> None:
    response = client.put("/users/999999/roles", json={"roles": []}, headers=admin.headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}


def test_duplicate_role_name_is_409(client: TestClient, admin: Account) -> None:
    create_role(client, admin, "readers", ["heroes:read"])

    response = client.post(
        "/roles", json={"name": "readers", "permissions": ["teams:write"]}, headers=admin.headers
    )

    assert response.status_code == 409
    assert response.json() == {"detail": "Role 'readers' already exists"}
    readers = [
        r for r in client.get("/roles", headers=admin.headers).json() if r["name"] == "readers"
    ]
    assert readers[0]["permissions"] == ["heroes:read"]


def test_role_named_admin_cannot_be_created_again(client: TestClient, admin: Account) -> None:
    response = client.post("/roles", json={"name": "admin"}, headers=admin.headers)
    assert response.status_code == 409
    assert response.json() == {"detail": "Role 'admin' already exists"}


def test_role_name_out_of_bounds_is_422(client: TestClient, admin: Account) -> None:
    for name in ("", "r" * 101):
        response = client.post("/roles", json={"name": name}, headers=admin.headers)
        assert response.status_code == 422, name


def test_unknown_role_edit_or_delete_is_404(client: TestClient, admin: Account) -> None:
    patched = client.patch("/roles/ghosts", json={"description": "x"}, headers=admin.headers)
    deleted = client.delete("/roles/ghosts", headers=admin.headers)
    assert (patched.status_code, patched.json()) == (404, {"detail": "Role 'ghosts' not found"})
    assert (deleted.status_code, deleted.json()) == (404, {"detail": "Role 'ghosts' not found"})


def test_admin_role_listed_as_builtin_with_whole_catalogue(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    reader = make_user("reader", permissions=["users:read"])

    response = client.get("/roles", headers=reader.headers)

    assert response.status_code == 200
    assert response.json() == [
        {
            "name": "admin",
            "description": catalogue.ADMIN_ROLE_DESCRIPTION,
            "permissions": EVERYTHING,
            "builtin": True,
        }
    ]
    names = sorted(p["name"] for p in client.get("/permissions", headers=reader.headers).json())
    assert names == EVERYTHING


def test_admin_role_cannot_be_deleted(client: TestClient, admin: Account) -> None:
    response = client.delete("/roles/admin", headers=admin.headers)
    assert response.status_code == 409
    assert response.json() == {"detail": "The built-in role 'admin' cannot be deleted"}
    assert [r["name"] for r in client.get("/roles", headers=admin.headers).json()] == ["admin"]


def test_admin_role_permissions_cannot_be_edited(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    make_user("second", roles=["admin"])  # so the last-manager guard is not what refuses

    response = client.patch(
        "/roles/admin", json={"permissions": ["heroes:read"]}, headers=admin.headers
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The built-in role 'admin' always holds the whole catalogue"
    }
    assert client.get("/users/me", headers=admin.headers).json()["permissions"] == EVERYTHING


def test_admin_role_holds_permissions_added_to_the_catalogue_later(
    session: Session, admin: Account, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    later = catalogue.ALL_PERMISSIONS | {"villains:read"}
    monkeypatch.setattr(catalogue, "ALL_PERMISSIONS", later)

    assert access.effective_permissions(session, admin.id) == later
    assert access.effective_permissions(session, bob.id) == {"heroes:read"}


def test_deleted_role_leaves_its_users_on_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["teams:read"])
    create_role(client, admin, "readers", ["heroes:read"])
    set_roles(client, admin, bob, ["readers"])

    response = client.delete("/roles/readers", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert [r["name"] for r in client.get("/roles", headers=admin.headers).json()] == ["admin"]
    assert permissions_of(client, admin, bob) == {
        "direct": ["teams:read"],
        "roles": [],
        "effective": ["teams:read"],
    }
    assert client.get("/heroes", headers=bob.headers).status_code == 403
    recreated = client.post("/roles", json={"name": "readers"}, headers=admin.headers)
    assert recreated.status_code == 201
    assert permissions_of(client, admin, bob)["roles"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/roles", {"name": "sneaky", "permissions": ["permissions:manage"]}),
        ("PATCH", "/roles/admin", {"description": "mine"}),
        ("DELETE", "/roles/readers", None),
        ("PUT", "/users/{me}/roles", {"roles": ["admin"]}),
        ("PUT", "/users/{me}/permissions", {"permissions": ["permissions:manage"]}),
        ("POST", "/users/{me}/permissions", {"permission": "permissions:manage"}),
    ],
)
def test_role_and_grant_changes_need_permissions_manage(
    client: TestClient,
    admin: Account,
    make_user: MakeUser,
    method: str,
    path: str,
    body: dict | None,
) -> None:
    create_role(client, admin, "readers", ["heroes:read"])
    everything_else = [p for p in EVERYTHING if p != "permissions:manage"]
    mallory = make_user("mallory", permissions=everything_else)

    response = client.request(
        method, path.format(me=mallory.id), json=body, headers=mallory.headers
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: permissions:manage"}
    assert permissions_of(client, admin, mallory) == {
        "direct": everything_else,
        "roles": [],
        "effective": everything_else,
    }
    assert [r["name"] for r in client.get("/roles", headers=admin.headers).json()] == [
        "admin",
        "readers",
    ]


def test_roles_list_needs_users_read(client: TestClient, make_user: MakeUser) -> None:
    bob = make_user("bob", permissions=["permissions:manage"])
    response = client.get("/roles", headers=bob.headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: users:read"}


def test_role_outside_token_scope_is_not_used(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    create_role(client, admin, "crew", ["heroes:read", "teams:read"])
    make_user("bob", roles=["crew"])
    response = login(client, "bob", DEFAULT_PASSWORD, "teams:read")
    assert response.status_code == 200, response.text
    token = response.json()
    headers = bearer(token["access_token"])

    assert token["scope"] == "teams:read"
    assert client.get("/teams", headers=headers).status_code == 200
    refused = client.get("/heroes", headers=headers)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Missing permission: heroes:read"}
