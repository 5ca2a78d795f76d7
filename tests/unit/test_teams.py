"""Teams from the outside (SPEC §6): CRUD with teams:read and teams:write, names unique in any
case, a team shown with its heroes, and heroes left without a team when it goes."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.conftest import (
    DEFAULT_PERMISSIONS,
    Account,
    MakeUser,
    create_hero,
    create_team,
    public,
)

READER = ["teams:read", "heroes:read"]
WRITER = ["teams:read", "teams:write"]
NAME_TAKEN = {"detail": "A team with this name already exists"}
TEAM_NOT_FOUND = {"detail": "Team not found"}


def read_team(client: TestClient, viewer: Account, team_id: int) -> dict[str, Any]:
    response = client.get(f"/teams/{team_id}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_team_created_201_without_heroes(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)

    response = client.post(
        "/teams", json={"name": "Preventers", "headquarters": "Sharp Tower"}, headers=writer.headers
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "Preventers",
        "headquarters": "Sharp Tower",
        "heroes": [],
    }
    assert read_team(client, writer, body["id"]) == body


def test_teams_listed_in_order_with_total(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)
    teams = [create_team(client, writer, name) for name in ("Z-Force", "Preventers", "Avengers")]

    everything = client.get("/teams", headers=writer.headers)
    second = client.get("/teams", params={"offset": 1, "limit": 1}, headers=writer.headers)

    assert everything.status_code == 200
    assert everything.json() == teams
    assert everything.headers["X-Total-Count"] == "3"
    assert second.status_code == 200
    assert second.json() == [teams[1]]
    assert second.headers["X-Total-Count"] == "3"


def test_team_view_includes_its_heroes_in_id_order(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)
    preventers = create_team(client, writer)
    z_force = create_team(client, writer, "Z-Force")
    rusty = create_hero(
        client, alice, name="Rusty-Man", secret_name="Tommy", team_id=preventers["id"]
    )
    create_hero(client, alice, name="Deadpond", team_id=z_force["id"])
    create_hero(client, alice, name="Spider-Boy", secret_name="Pedro")
    tarantula = create_hero(
        client, alice, name="Tarantula", secret_name="N", team_id=preventers["id"]
    )

    seen = read_team(client, alice, preventers["id"])

    assert seen == {**preventers, "heroes": [rusty, tarantula]}
    listed = client.get("/teams", headers=alice.headers).json()
    assert listed[0]["heroes"] == [rusty, tarantula]
    assert [hero["name"] for hero in listed[1]["heroes"]] == ["Deadpond"]


def test_team_renamed_and_moved(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)

    renamed = client.patch(
        f"/teams/{team['id']}", json={"name": "The Preventers"}, headers=writer.headers
    )
    moved = client.patch(
        f"/teams/{team['id']}", json={"headquarters": "Blunt Tower"}, headers=writer.headers
    )

    assert renamed.status_code == 200
    assert renamed.json() == {**team, "name": "The Preventers"}
    assert moved.status_code == 200
    assert moved.json() == {**team, "name": "The Preventers", "headquarters": "Blunt Tower"}
    assert read_team(client, writer, team["id"]) == moved.json()


def test_team_patch_shows_its_heroes(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)
    team = create_team(client, writer)
    hero = create_hero(client, alice, team_id=team["id"])

    response = client.patch(f"/teams/{team['id']}", json={"name": "P"}, headers=writer.headers)

    assert response.status_code == 200
    assert response.json()["heroes"] == [public(hero)]


@pytest.mark.parametrize("name", ["Preventers", "preventers", "PREVENTERS", "pReVeNtErS"])
def test_team_name_taken_in_any_case_is_409_on_create(
    client: TestClient, make_user: MakeUser, name: str
) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)

    response = client.post(
        "/teams", json={"name": name, "headquarters": "Elsewhere"}, headers=writer.headers
    )

    assert response.status_code == 409
    assert response.json() == NAME_TAKEN
    assert client.get("/teams", headers=writer.headers).json() == [team]


@pytest.mark.parametrize("name", ["Z-Force", "z-force", "Z-FORCE"])
def test_team_name_taken_in_any_case_is_409_on_rename(
    client: TestClient, make_user: MakeUser, name: str
) -> None:
    writer = make_user("writer", permissions=WRITER)
    preventers = create_team(client, writer)
    z_force = create_team(client, writer, "Z-Force")

    response = client.patch(
        f"/teams/{preventers['id']}", json={"name": name}, headers=writer.headers
    )

    assert response.status_code == 409
    assert response.json() == NAME_TAKEN
    assert client.get("/teams", headers=writer.headers).json() == [preventers, z_force]


def test_team_renamed_to_its_own_name_in_another_case(
    client: TestClient, make_user: MakeUser
) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)

    response = client.patch(
        f"/teams/{team['id']}", json={"name": "PREVENTERS"}, headers=writer.headers
    )

    assert response.status_code == 200
    assert response.json() == {**team, "name": "PREVENTERS"}
    again = client.post(
        "/teams", json={"name": "Preventers", "headquarters": "x"}, headers=writer.headers
    )
    assert (again.status_code, again.json()) == (409, NAME_TAKEN)


def test_team_name_freed_by_rename_can_be_taken(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)
    client.patch(f"/teams/{team['id']}", json={"name": "Retired"}, headers=writer.headers)

    response = client.post(
        "/teams", json={"name": "preventers", "headquarters": "New HQ"}, headers=writer.headers
    )

    assert response.status_code == 201
    assert response.json()["name"] == "preventers"


def test_deleting_a_team_leaves_its_heroes_without_a_team(
    client: TestClient, make_user: MakeUser
) -> None:
    writer = make_user("writer", permissions=WRITER)
    alice = make_user("alice", permissions=DEFAULT_PERMISSIONS)
    team = create_team(client, writer)
    other = create_team(client, writer, "Z-Force")
    members = [create_hero(client, alice, name=name, team_id=team["id"]) for name in ("A", "B")]
    outsider = create_hero(client, alice, name="C", team_id=other["id"])

    response = client.delete(f"/teams/{team['id']}", headers=writer.headers)

    assert response.status_code == 204
    assert response.content == b""
    heroes = client.get("/heroes", headers=alice.headers).json()
    assert heroes == [{**hero, "team_id": None} for hero in members] + [outsider]
    assert client.get("/teams", headers=alice.headers).json() == [{**other, "heroes": [outsider]}]


def test_team_name_freed_by_delete_can_be_taken(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)
    assert client.delete(f"/teams/{team['id']}", headers=writer.headers).status_code == 204

    again = create_team(client, writer, "PREVENTERS")

    assert again == {**team, "id": again["id"], "name": "PREVENTERS"}
    assert client.get("/teams", headers=writer.headers).json() == [again]


def test_deleted_team_is_404_everywhere(client: TestClient, make_user: MakeUser) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)
    assert client.delete(f"/teams/{team['id']}", headers=writer.headers).status_code == 204

    responses = [
        client.get(f"/teams/{team['id']}", headers=writer.headers),
        client.patch(f"/teams/{team['id']}", json={"name": "X"}, headers=writer.headers),
        client.delete(f"/teams/{team['id']}", headers=writer.headers),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json() == TEAM_NOT_FOUND


def test_unknown_team_is_404(client: TestClient, make_user: MakeUser) -> None:
    reader = make_user("reader", permissions=READER)

    response = client.get("/teams/999999", headers=reader.headers)

    assert response.status_code == 404
    assert response.json() == TEAM_NOT_FOUND


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/teams", {"name": "Sneaky", "headquarters": "x"}),
        ("PATCH", "/teams/{team}", {"name": "Sneaky"}),
        ("DELETE", "/teams/{team}", None),
    ],
)
def test_team_changes_need_teams_write(
    client: TestClient,
    make_user: MakeUser,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)
    everything_else = ["teams:read", "heroes:read", "heroes:write", "heroes:manage"]
    reader = make_user("reader", permissions=everything_else)

    response = client.request(
        method, path.format(team=team["id"]), json=body, headers=reader.headers
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: teams:write"}
    assert client.get("/teams", headers=reader.headers).json() == [team]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Preventers"},
        {"headquarters": "Sharp Tower"},
        {"name": "", "headquarters": "Sharp Tower"},
        {"name": "Preventers", "headquarters": ""},
        {"name": "Preventers", "headquarters": "x", "id": 7},
    ],
)
def test_team_create_body_invalid_is_422(
    client: TestClient, make_user: MakeUser, body: dict[str, Any]
) -> None:
    writer = make_user("writer", permissions=WRITER)

    response = client.post("/teams", json=body, headers=writer.headers)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert client.get("/teams", headers=writer.headers).json() == []


@pytest.mark.parametrize("body", [{"name": None}, {"headquarters": None}, {"id": 99}])
def test_team_patch_body_invalid_is_422(
    client: TestClient, make_user: MakeUser, body: dict[str, Any]
) -> None:
    writer = make_user("writer", permissions=WRITER)
    team = create_team(client, writer)

    response = client.patch(f"/teams/{team['id']}", json=body, headers=writer.headers)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert read_team(client, writer, team["id"]) == team
