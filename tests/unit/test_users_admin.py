"""Managing users from the outside (SPEC §5, §6): list, read, create, update, delete."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import permissions as catalogue
from tests.unit.conftest import (
    BAD_CREDENTIALS,
    BAD_TOKEN,
    DEFAULT_PASSWORD,
    DEFAULT_PERMISSIONS,
    Account,
    MakeUser,
    bearer,
    create_hero,
    login,
)

EVERYTHING = sorted(catalogue.CATALOGUE)
USER_NOT_FOUND = {"detail": "User not found"}
NEW_PASSWORD = "a brand new passphrase"


def view(account: Account, **fields: Any) -> dict[str, Any]:
    """What `/users` shows of an account made by `make_user` with nothing else set."""
    return {
        "id": account.id,
        "username": account.username,
        "email": None,
        "full_name": None,
        "is_active": True,
        "roles": [],
        "permissions": [],
        **fields,
    }


def admin_view(admin: Account) -> dict[str, Any]:
    return view(admin, roles=["admin"], permissions=EVERYTHING)


def create_user(client: TestClient, admin: Account, **body: Any) -> dict[str, Any]:
    response = client.post("/users", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


# reading


def test_users_listed_in_id_order_with_total(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    carol = make_user("carol")
    reader = make_user("reader", permissions=["users:read"])

    response = client.get("/users", headers=reader.headers)

    assert response.status_code == 200
    assert response.json() == [
        admin_view(admin),
        view(bob, permissions=["heroes:read"]),
        view(carol),
        view(reader, permissions=["users:read"]),
    ]
    assert response.headers["X-Total-Count"] == "4"


def test_users_paged_with_total_ignoring_paging(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    accounts = [admin] + [make_user(f"user{n}") for n in range(4)]

    pages = [
        client.get("/users", params={"offset": offset, "limit": 2}, headers=admin.headers)
        for offset in (0, 2, 4, 6)
    ]

    assert [page.status_code for page in pages] == [200] * 4
    assert [[user["id"] for user in page.json()] for page in pages] == [
        [accounts[0].id, accounts[1].id],
        [accounts[2].id, accounts[3].id],
        [accounts[4].id],
        [],
    ]
    assert {page.headers["X-Total-Count"] for page in pages} == {"5"}


@pytest.mark.parametrize(("parameter", "value"), [("limit", 0), ("limit", 101), ("offset", -1)])
def test_users_paging_out_of_bounds_is_422(
    client: TestClient, admin: Account, parameter: str, value: int
) -> None:
    response = client.get("/users", params={parameter: value}, headers=admin.headers)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", parameter]]


def test_user_read_by_id(client: TestClient, admin: Account, make_user: MakeUser) -> None:
    bob = make_user("bob", permissions=["teams:read", "heroes:read"])

    response = client.get(f"/users/{bob.id}", headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == view(bob, permissions=["heroes:read", "teams:read"])


def test_unknown_user_is_404(client: TestClient, admin: Account) -> None:
    responses = [
        client.get("/users/999999", headers=admin.headers),
        client.patch("/users/999999", json={"full_name": "x"}, headers=admin.headers),
        client.delete("/users/999999", headers=admin.headers),
    ]
    for response in responses:
        assert response.status_code == 404
        assert response.json() == USER_NOT_FOUND


@pytest.mark.parametrize("path", ["/users", "/users/{me}"])
def test_user_reads_need_users_read(client: TestClient, make_user: MakeUser, path: str) -> None:
    manager = make_user("manager", permissions=["users:manage", "permissions:manage"])

    response = client.get(path.format(me=manager.id), headers=manager.headers)

    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: users:read"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/users", {"username": "eve", "password": DEFAULT_PASSWORD}),
        ("PATCH", "/users/{bob}", {"full_name": "Hacked"}),
        ("PATCH", "/users/{bob}", {"password": "hacked password"}),
        ("DELETE", "/users/{bob}", None),
    ],
)
def test_user_changes_need_users_manage(
    client: TestClient,
    admin: Account,
    make_user: MakeUser,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    bob = make_user("bob")
    mallory = make_user("mallory", permissions=[p for p in EVERYTHING if p != "users:manage"])
    before = client.get("/users", headers=admin.headers).json()

    response = client.request(method, path.format(bob=bob.id), json=body, headers=mallory.headers)

    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: users:manage"}
    assert client.get("/users", headers=admin.headers).json() == before
    assert login(client, "bob", DEFAULT_PASSWORD).status_code == 200


# creating


def test_user_created_201_with_default_permissions(client: TestClient, admin: Account) -> None:
    response = client.post(
        "/users",
        json={
            "username": "Bob",
            "password": DEFAULT_PASSWORD,
            "email": "bob@example.com",
            "full_name": "Bob Parr",
        },
        headers=admin.headers,
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "username": "Bob",
        "email": "bob@example.com",
        "full_name": "Bob Parr",
        "is_active": True,
        "roles": [],
        "permissions": DEFAULT_PERMISSIONS,
    }
    assert client.get(f"/users/{body['id']}", headers=admin.headers).json() == body
    token = login(client, "bob", DEFAULT_PASSWORD)
    assert token.status_code == 200
    me = client.get("/users/me", headers=bearer(token.json()["access_token"]))
    assert me.json() == body


def test_created_user_can_use_default_permissions(client: TestClient, admin: Account) -> None:
    create_user(client, admin, username="bob", password=DEFAULT_PASSWORD)
    headers = bearer(login(client, "bob", DEFAULT_PASSWORD).json()["access_token"])

    created = client.post("/heroes", json={"name": "A", "secret_name": "B"}, headers=headers)
    teams = client.get("/teams", headers=headers)
    refused = client.post("/teams", json={"name": "T", "headquarters": "H"}, headers=headers)

    assert created.status_code == 201
    assert teams.status_code == 200
    assert (refused.status_code, refused.json()) == (
        403,
        {"detail": "Missing permission: teams:write"},
    )


@pytest.mark.parametrize("username", ["bob", "BOB", "Bob", "bOb"])
def test_duplicate_username_in_any_case_is_409(
    client: TestClient, admin: Account, make_user: MakeUser, username: str
) -> None:
    bob = make_user("bob")
    before = client.get("/users", headers=admin.headers).json()

    response = client.post(
        "/users", json={"username": username, "password": "other password"}, headers=admin.headers
    )

    assert response.status_code == 409
    assert response.json() == {"detail": "Username already taken"}
    assert client.get("/users", headers=admin.headers).json() == before
    assert login(client, "bob", DEFAULT_PASSWORD).status_code == 200
    assert before[-1]["id"] == bob.id


@pytest.mark.parametrize(
    "extra",
    [
        {"permissions": ["permissions:manage"]},
        {"roles": ["admin"]},
        {"is_active": False},
        {"id": 4242},
    ],
)
def test_fields_the_caller_may_not_set_are_never_honoured(
    client: TestClient, admin: Account, extra: dict[str, Any]
) -> None:
    body = {"username": "bob", "password": DEFAULT_PASSWORD, **extra}

    response = client.post("/users", json=body, headers=admin.headers)

    if response.status_code == 201:
        created = response.json()
        assert created["permissions"] == DEFAULT_PERMISSIONS
        assert created["roles"] == []
        assert created["is_active"] is True
        assert created["id"] != 4242
    else:
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], list)
        usernames = [u["username"] for u in client.get("/users", headers=admin.headers).json()]
        assert usernames == ["admin"]


@pytest.mark.parametrize(
    "extra",
    [
        {"permissions": ["permissions:manage"]},
        {"roles": ["admin"]},
        {"username": "robert"},
        {"id": 4242},
    ],
)
def test_fields_the_caller_may_not_set_in_a_user_update_are_never_honoured(
    client: TestClient, admin: Account, make_user: MakeUser, extra: dict[str, Any]
) -> None:
    bob = make_user("bob")

    response = client.patch(
        f"/users/{bob.id}", json={"full_name": "Bob", **extra}, headers=admin.headers
    )

    if response.status_code == 200:
        assert response.json() == view(bob, full_name="Bob")
    else:
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], list)
        assert client.get(f"/users/{bob.id}", headers=admin.headers).json() == view(bob)


# updating


def test_user_email_and_full_name_updated(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])

    response = client.patch(
        f"/users/{bob.id}",
        json={"email": "bob@example.com", "full_name": "Bob Parr"},
        headers=admin.headers,
    )

    expected = view(bob, email="bob@example.com", full_name="Bob Parr", permissions=["heroes:read"])
    assert response.status_code == 200
    assert response.json() == expected
    assert client.get(f"/users/{bob.id}", headers=admin.headers).json() == expected
    assert client.get("/users/me", headers=bob.headers).json() == expected


def test_user_update_is_partial_and_null_clears_full_name(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob")
    client.patch(
        f"/users/{bob.id}",
        json={"email": "bob@example.com", "full_name": "Bob Parr"},
        headers=admin.headers,
    )

    response = client.patch(f"/users/{bob.id}", json={"full_name": None}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == view(bob, email="bob@example.com")


@pytest.mark.parametrize("body", [{"is_active": None}, {"password": None}])
def test_user_update_null_for_a_required_field_is_422(
    client: TestClient, admin: Account, make_user: MakeUser, body: dict[str, Any]
) -> None:
    bob = make_user("bob")

    response = client.patch(f"/users/{bob.id}", json=body, headers=admin.headers)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", *body]]
    assert client.get(f"/users/{bob.id}", headers=admin.headers).json() == view(bob)


def test_deactivated_user_refused_and_reactivated(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])

    response = client.patch(f"/users/{bob.id}", json={"is_active": False}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == view(bob, is_active=False, permissions=["heroes:read"])
    refused = client.get("/heroes", headers=bob.headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    disabled = login(client, "bob", DEFAULT_PASSWORD)
    assert (disabled.status_code, disabled.json()) == (403, {"detail": "Account disabled"})

    again = client.patch(f"/users/{bob.id}", json={"is_active": True}, headers=admin.headers)

    assert again.status_code == 200
    assert again.json()["is_active"] is True
    assert client.get("/heroes", headers=bob.headers).status_code == 401  # old token stays dead
    assert login(client, "bob", DEFAULT_PASSWORD).status_code == 200


def test_password_set_by_admin_ends_the_users_sessions(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    second = login(client, "bob", DEFAULT_PASSWORD).json()

    response = client.patch(
        f"/users/{bob.id}", json={"password": NEW_PASSWORD}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json() == view(bob, permissions=["heroes:read"])
    for token in (bob.token, second["access_token"]):
        refused = client.get("/heroes", headers=bearer(token))
        assert refused.status_code == 401
        assert refused.json() == BAD_TOKEN
    for refresh_token in (bob.refresh_token, second["refresh_token"]):
        assert (
            client.post("/auth/refresh", json={"refresh_token": refresh_token}).status_code == 401
        )
    old = login(client, "bob", DEFAULT_PASSWORD)
    assert (old.status_code, old.json()) == (401, BAD_CREDENTIALS)
    new = login(client, "bob", NEW_PASSWORD)
    assert new.status_code == 200
    assert client.get("/heroes", headers=bearer(new.json()["access_token"])).status_code == 200


def test_password_set_by_admin_leaves_other_users_sessions(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    carol = make_user("carol", permissions=["heroes:read"])

    client.patch(f"/users/{bob.id}", json={"password": NEW_PASSWORD}, headers=admin.headers)

    assert client.get("/heroes", headers=carol.headers).status_code == 200
    assert client.get("/users", headers=admin.headers).status_code == 200


def test_profile_update_leaves_the_users_sessions(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])

    client.patch(f"/users/{bob.id}", json={"full_name": "Bob"}, headers=admin.headers)

    assert client.get("/heroes", headers=bob.headers).status_code == 200


@pytest.mark.parametrize("password", ["short", "x" * 257])
def test_password_set_by_admin_out_of_bounds_is_422(
    client: TestClient, admin: Account, make_user: MakeUser, password: str
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])

    response = client.patch(f"/users/{bob.id}", json={"password": password}, headers=admin.headers)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "password"]]
    assert client.get("/heroes", headers=bob.headers).status_code == 200


# deleting


def test_deleted_user_is_gone_and_their_heroes_stay_without_owner(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=DEFAULT_PERMISSIONS)
    carol = make_user("carol", permissions=DEFAULT_PERMISSIONS)
    bobs = create_hero(client, bob, name="A", secret_name="B")
    carols = create_hero(client, carol, name="C", secret_name="D")

    response = client.delete(f"/users/{bob.id}", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    gone = client.get(f"/users/{bob.id}", headers=admin.headers)
    assert (gone.status_code, gone.json()) == (404, USER_NOT_FOUND)
    assert client.get("/heroes", headers=admin.headers).json() == [
        {**bobs, "owner_id": None},
        carols,
    ]
    assert client.get("/heroes", headers=bob.headers).status_code == 401
    assert login(client, "bob", DEFAULT_PASSWORD).status_code == 401
    assert [u["username"] for u in client.get("/users", headers=admin.headers).json()] == [
        "admin",
        "carol",
    ]


def test_deleted_users_name_can_be_taken_again_with_a_new_id(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    assert client.delete(f"/users/{bob.id}", headers=admin.headers).status_code == 204

    again = create_user(client, admin, username="BOB", password=NEW_PASSWORD)

    assert again["id"] != bob.id
    assert again["permissions"] == DEFAULT_PERMISSIONS
    assert client.get("/heroes", headers=bob.headers).status_code == 401
