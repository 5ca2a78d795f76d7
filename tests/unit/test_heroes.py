"""Heroes from the outside (SPEC §5, §6): ownership, who sees `secret_name`, partial updates,
filters and pages."""

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

WRITER = DEFAULT_PERMISSIONS
MANAGER = ["heroes:read", "heroes:manage", "teams:read"]
HERO_NOT_FOUND = {"detail": "Hero not found"}


def read_hero(client: TestClient, viewer: Account, hero_id: int) -> dict[str, Any]:
    response = client.get(f"/heroes/{hero_id}", headers=viewer.headers)
    assert response.status_code == 200, response.text
    return response.json()


def ids(response_body: list[dict[str, Any]]) -> list[int]:
    return [hero["id"] for hero in response_body]


# creating


def test_hero_created_201_with_secret_name_and_owner(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)

    response = client.post(
        "/heroes",
        json={"name": "Deadpond", "secret_name": "Dive Wilson", "age": 30},
        headers=alice.headers,
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "Deadpond",
        "secret_name": "Dive Wilson",
        "age": 30,
        "team_id": None,
        "owner_id": alice.id,
    }
    assert isinstance(body["id"], int)
    assert read_hero(client, alice, body["id"]) == body


def test_hero_created_in_a_team(client: TestClient, admin: Account, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    team = create_team(client, admin)

    hero = create_hero(client, alice, team_id=team["id"])

    assert hero["team_id"] == team["id"]
    assert read_hero(client, alice, hero["id"])["team_id"] == team["id"]


def test_hero_with_unknown_team_is_422(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)

    response = client.post(
        "/heroes",
        json={"name": "Deadpond", "secret_name": "Dive Wilson", "team_id": 4242},
        headers=alice.headers,
    )

    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown team_id: 4242"}
    listed = client.get("/heroes", headers=alice.headers)
    assert listed.json() == []
    assert listed.headers["X-Total-Count"] == "0"


@pytest.mark.parametrize("field", ["owner_id", "id"])
def test_server_set_fields_in_create_body_are_never_honoured(
    client: TestClient, make_user: MakeUser, field: str
) -> None:
    alice = make_user("alice", permissions=WRITER)
    mallory = make_user("mallory", permissions=WRITER)
    victim = create_hero(client, alice, name="Existing")
    forged = victim["id"] if field == "id" else alice.id

    response = client.post(
        "/heroes",
        json={"name": "Forged", "secret_name": "x", field: forged},
        headers=mallory.headers,
    )

    if response.status_code == 201:
        assert response.json()["owner_id"] == mallory.id
        assert response.json()["id"] != victim["id"]
    else:
        assert response.status_code == 422
        assert "detail" in response.json()
    assert read_hero(client, alice, victim["id"]) == victim
    owned = [h for h in client.get("/heroes", headers=alice.headers).json() if "secret_name" in h]
    assert owned == [victim]


@pytest.mark.parametrize("field", ["owner_id", "id"])
def test_server_set_fields_in_update_body_are_never_honoured(
    client: TestClient, make_user: MakeUser, field: str
) -> None:
    alice = make_user("alice", permissions=WRITER)
    mallory = make_user("mallory", permissions=WRITER)
    hero = create_hero(client, mallory)
    forged = alice.id if field == "owner_id" else hero["id"] + 1000

    response = client.patch(
        f"/heroes/{hero['id']}", json={"age": 40, field: forged}, headers=mallory.headers
    )

    if response.status_code == 200:
        assert response.json() == {**hero, "age": 40}
    else:
        assert response.status_code == 422
        assert "detail" in response.json()
    after = read_hero(client, mallory, hero["id"])
    assert after["owner_id"] == mallory.id
    assert after["id"] == hero["id"]


def test_creating_heroes_needs_heroes_write(client: TestClient, make_user: MakeUser) -> None:
    reader = make_user("reader", permissions=["heroes:read"])

    response = client.post(
        "/heroes", json={"name": "Deadpond", "secret_name": "Dive Wilson"}, headers=reader.headers
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "Missing permission: heroes:write"}
    assert client.get("/heroes", headers=reader.headers).json() == []


# ownership


def test_writer_deletes_own_hero(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    hero = create_hero(client, alice)

    response = client.delete(f"/heroes/{hero['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert response.content == b""
    gone = client.get(f"/heroes/{hero['id']}", headers=alice.headers)
    assert gone.status_code == 404
    assert gone.json() == HERO_NOT_FOUND


def test_reader_cannot_change_heroes(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    reader = make_user("reader", permissions=["heroes:read"])
    hero = create_hero(client, alice)
    wanted = "Missing permission: one of heroes:write heroes:manage"

    patched = client.patch(f"/heroes/{hero['id']}", json={"age": 1}, headers=reader.headers)
    deleted = client.delete(f"/heroes/{hero['id']}", headers=reader.headers)

    assert (patched.status_code, patched.json()) == (403, {"detail": wanted})
    assert (deleted.status_code, deleted.json()) == (403, {"detail": wanted})
    assert read_hero(client, alice, hero["id"]) == hero


def test_manager_updates_and_deletes_any_hero(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    manager = make_user("manager", permissions=MANAGER)
    first = create_hero(client, alice)
    second = create_hero(client, alice, name="Rusty-Man", secret_name="Tommy Sharp")

    patched = client.patch(f"/heroes/{first['id']}", json={"age": 48}, headers=manager.headers)
    deleted = client.delete(f"/heroes/{second['id']}", headers=manager.headers)

    assert patched.status_code == 200
    assert patched.json() == {**first, "age": 48}
    assert patched.json()["owner_id"] == alice.id
    assert deleted.status_code == 204
    assert client.get(f"/heroes/{second['id']}", headers=alice.headers).status_code == 404
    assert read_hero(client, alice, first["id"]) == {**first, "age": 48}


def test_manager_without_heroes_write_still_changes_any_hero(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)
    manager = make_user("manager", permissions=["heroes:manage"])
    hero = create_hero(client, alice)

    response = client.patch(f"/heroes/{hero['id']}", json={"age": 7}, headers=manager.headers)

    assert response.status_code == 200
    assert response.json() == {**hero, "age": 7}


# who sees secret_name


def test_secret_name_hidden_from_other_users_in_reads(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)
    bob = make_user("bob", permissions=WRITER)
    hero = create_hero(client, alice)

    seen_by_bob = read_hero(client, bob, hero["id"])

    assert "secret_name" not in seen_by_bob
    assert seen_by_bob == public(hero)


def test_secret_name_shown_to_owner_and_manager_in_reads(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)
    manager = make_user("manager", permissions=MANAGER)
    hero = create_hero(client, alice)

    assert read_hero(client, alice, hero["id"])["secret_name"] == "Dive Wilson"
    assert read_hero(client, manager, hero["id"]) == hero


def test_secret_name_hidden_from_other_users_in_lists(
    client: TestClient, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)
    bob = make_user("bob", permissions=WRITER)
    alices = create_hero(client, alice)
    bobs = create_hero(client, bob, name="Spider-Boy", secret_name="Pedro Parqueador")

    as_alice = client.get("/heroes", headers=alice.headers)
    as_bob = client.get("/heroes", headers=bob.headers)

    assert as_alice.status_code == as_bob.status_code == 200
    assert as_alice.json() == [alices, public(bobs)]
    assert as_bob.json() == [public(alices), bobs]


def test_secret_name_shown_to_manager_in_lists(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    bob = make_user("bob", permissions=WRITER)
    manager = make_user("manager", permissions=MANAGER)
    alices = create_hero(client, alice)
    bobs = create_hero(client, bob, name="Spider-Boy", secret_name="Pedro Parqueador")

    response = client.get("/heroes", headers=manager.headers)

    assert response.status_code == 200
    assert response.json() == [alices, bobs]


def test_secret_name_hidden_from_other_users_in_team_view(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    team = create_team(client, admin)
    alice = make_user("alice", permissions=WRITER)
    bob = make_user("bob", permissions=WRITER)
    manager = make_user("manager", permissions=MANAGER)
    alices = create_hero(client, alice, team_id=team["id"])
    bobs = create_hero(client, bob, name="Spider-Boy", secret_name="P. P.", team_id=team["id"])

    def team_heroes(viewer: Account) -> list[dict[str, Any]]:
        response = client.get(f"/teams/{team['id']}", headers=viewer.headers)
        assert response.status_code == 200, response.text
        listed = client.get("/teams", headers=viewer.headers)
        assert listed.status_code == 200, listed.text
        assert listed.json() == [response.json()]
        return response.json()["heroes"]

    assert team_heroes(alice) == [alices, public(bobs)]
    assert team_heroes(bob) == [public(alices), bobs]
    assert team_heroes(manager) == [alices, bobs]


def test_secret_name_of_ownerless_hero_shown_only_to_manager(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)
    bob = make_user("bob", permissions=WRITER)
    hero = create_hero(client, alice)
    assert client.delete(f"/users/{alice.id}", headers=admin.headers).status_code == 204

    seen_by_bob = read_hero(client, bob, hero["id"])
    seen_by_admin = read_hero(client, admin, hero["id"])

    assert seen_by_bob == {**public(hero), "owner_id": None}
    assert seen_by_admin == {**hero, "owner_id": None}


def test_secret_name_follows_heroes_manage_revoked_on_next_request(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)
    manager = make_user("manager", permissions=MANAGER)
    hero = create_hero(client, alice)
    assert "secret_name" in read_hero(client, manager, hero["id"])

    revoked = client.delete(f"/users/{manager.id}/permissions/heroes:manage", headers=admin.headers)

    assert revoked.status_code == 204
    assert read_hero(client, manager, hero["id"]) == public(hero)


# partial updates


def test_patch_with_empty_body_changes_nothing(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    hero = create_hero(client, alice, age=30)

    response = client.patch(f"/heroes/{hero['id']}", json={}, headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == hero


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Deadpond II"), ("secret_name", "Wade"), ("age", None), ("team_id", None)],
)
def test_patch_changes_only_the_field_sent(
    client: TestClient, admin: Account, make_user: MakeUser, field: str, value: Any
) -> None:
    """A new value, or null clearing a nullable field; every other field is kept."""
    alice = make_user("alice", permissions=WRITER)
    team = create_team(client, admin)
    hero = create_hero(client, alice, age=30, team_id=team["id"])

    response = client.patch(f"/heroes/{hero['id']}", json={field: value}, headers=alice.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {**hero, field: value}
    assert read_hero(client, alice, hero["id"]) == {**hero, field: value}


@pytest.mark.parametrize("field", ["name", "secret_name"])
def test_patch_null_for_a_required_field_is_422(
    client: TestClient, make_user: MakeUser, field: str
) -> None:
    alice = make_user("alice", permissions=WRITER)
    hero = create_hero(client, alice, age=30)

    response = client.patch(
        f"/heroes/{hero['id']}", json={field: None, "age": 31}, headers=alice.headers
    )

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
    assert read_hero(client, alice, hero["id"]) == hero


def test_patch_moves_hero_to_another_team(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    alice = make_user("alice", permissions=WRITER)
    preventers = create_team(client, admin)
    z_force = create_team(client, admin, "Z-Force")
    hero = create_hero(client, alice, team_id=preventers["id"])

    response = client.patch(
        f"/heroes/{hero['id']}", json={"team_id": z_force["id"]}, headers=alice.headers
    )

    assert response.status_code == 200
    assert response.json() == {**hero, "team_id": z_force["id"]}
    old = client.get(f"/teams/{preventers['id']}", headers=alice.headers).json()
    new = client.get(f"/teams/{z_force['id']}", headers=alice.headers).json()
    assert old["heroes"] == []
    assert new["heroes"] == [{**hero, "team_id": z_force["id"]}]


def test_patch_to_unknown_team_is_422(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    hero = create_hero(client, alice)

    response = client.patch(f"/heroes/{hero['id']}", json={"team_id": 4242}, headers=alice.headers)

    assert response.status_code == 422
    assert response.json() == {"detail": "Unknown team_id: 4242"}
    assert read_hero(client, alice, hero["id"]) == hero


# not found


def test_deleted_hero_is_404_everywhere(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    hero = create_hero(client, alice)
    assert client.delete(f"/heroes/{hero['id']}", headers=alice.headers).status_code == 204

    responses = [
        client.get(f"/heroes/{hero['id']}", headers=alice.headers),
        client.patch(f"/heroes/{hero['id']}", json={"age": 1}, headers=alice.headers),
        client.delete(f"/heroes/{hero['id']}", headers=alice.headers),
    ]

    for response in responses:
        assert response.status_code == 404
        assert response.json() == HERO_NOT_FOUND
    assert client.get("/heroes", headers=alice.headers).json() == []


def test_unknown_hero_is_404(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)

    response = client.get("/heroes/999999", headers=alice.headers)

    assert response.status_code == 404
    assert response.json() == HERO_NOT_FOUND


# lists: order, pages, filters


@pytest.fixture
def roster(client: TestClient, admin: Account, make_user: MakeUser) -> dict[str, Any]:
    """Six heroes over two teams, the tutorial's cast."""
    alice = make_user("alice", permissions=WRITER)
    preventers = create_team(client, admin, "Preventers")
    z_force = create_team(client, admin, "Z-Force")
    cast = [
        {"name": "Deadpond", "secret_name": "Dive Wilson", "team_id": z_force["id"]},
        {"name": "Spider-Boy", "secret_name": "Pedro Parqueador"},
        {"name": "Rusty-Man", "secret_name": "Tommy Sharp", "age": 48},
        {"name": "Tarantula", "secret_name": "Natalia", "age": 32, "team_id": preventers["id"]},
        {"name": "Black Lion", "secret_name": "Trevor", "age": 35, "team_id": preventers["id"]},
        {"name": "Dr. Weird", "secret_name": "Steve Weird", "age": 36},
    ]
    heroes = [create_hero(client, alice, **hero) for hero in cast]
    return {"alice": alice, "heroes": heroes, "preventers": preventers, "z_force": z_force}


def list_heroes(client: TestClient, viewer: Account, **params: Any) -> tuple[list[Any], int]:
    response = client.get("/heroes", params=params, headers=viewer.headers)
    assert response.status_code == 200, response.text
    return response.json(), int(response.headers["X-Total-Count"])


def test_list_ordered_by_id_after_updates(client: TestClient, roster: dict[str, Any]) -> None:
    alice, heroes = roster["alice"], roster["heroes"]
    for hero in (heroes[0], heroes[2]):
        renamed = client.patch(
            f"/heroes/{hero['id']}", json={"name": "Zz " + hero["name"]}, headers=alice.headers
        )
        assert renamed.status_code == 200

    found, total = list_heroes(client, alice)

    assert ids(found) == sorted(ids(heroes))
    assert ids(found) == ids(heroes)
    assert total == 6


def test_list_offset_and_limit_page_through_in_order(
    client: TestClient, roster: dict[str, Any]
) -> None:
    alice, heroes = roster["alice"], roster["heroes"]

    pages = [list_heroes(client, alice, offset=offset, limit=4) for offset in (0, 4, 8)]

    assert [ids(found) for found, _ in pages] == [
        ids(heroes[0:4]),
        ids(heroes[4:6]),
        [],
    ]
    assert [total for _, total in pages] == [6, 6, 6]
    assert list_heroes(client, alice, offset=2, limit=1) == ([heroes[2]], 6)


def test_list_limit_defaults_to_100(client: TestClient, make_user: MakeUser) -> None:
    alice = make_user("alice", permissions=WRITER)
    for number in range(101):
        create_hero(client, alice, name=f"Hero {number}")

    found, total = list_heroes(client, alice)
    at_most, _ = list_heroes(client, alice, limit=100)
    rest, _ = list_heroes(client, alice, offset=100)

    assert len(found) == 100
    assert total == 101
    assert at_most == found
    assert [hero["name"] for hero in rest] == ["Hero 100"]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("limit", 0), ("limit", 101), ("limit", -1), ("offset", -1), ("limit", "ten")],
)
def test_list_paging_out_of_bounds_is_422(
    client: TestClient, make_user: MakeUser, parameter: str, value: Any
) -> None:
    alice = make_user("alice", permissions=WRITER)

    response = client.get("/heroes", params={parameter: value}, headers=alice.headers)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", parameter]]


def test_list_filter_by_exact_name(client: TestClient, roster: dict[str, Any]) -> None:
    alice, heroes = roster["alice"], roster["heroes"]

    assert list_heroes(client, alice, name="Spider-Boy") == ([heroes[1]], 1)
    assert list_heroes(client, alice, name="Spider") == ([], 0)
    assert list_heroes(client, alice, name="spider-boy") == ([], 0)


def test_list_filter_by_team(client: TestClient, roster: dict[str, Any]) -> None:
    alice, heroes = roster["alice"], roster["heroes"]

    assert list_heroes(client, alice, team_id=roster["preventers"]["id"]) == (heroes[3:5], 2)
    assert list_heroes(client, alice, team_id=roster["z_force"]["id"]) == ([heroes[0]], 1)
    assert list_heroes(client, alice, team_id=4242) == ([], 0)


def test_list_filter_by_age_is_inclusive(client: TestClient, roster: dict[str, Any]) -> None:
    alice, heroes = roster["alice"], roster["heroes"]

    assert list_heroes(client, alice, min_age=35) == ([heroes[2], heroes[4], heroes[5]], 3)
    assert list_heroes(client, alice, max_age=35) == ([heroes[3], heroes[4]], 2)
    assert list_heroes(client, alice, min_age=35, max_age=36) == ([heroes[4], heroes[5]], 2)
    assert list_heroes(client, alice, min_age=36, max_age=35) == ([], 0)


def test_list_filters_combine(client: TestClient, roster: dict[str, Any]) -> None:
    alice, heroes = roster["alice"], roster["heroes"]
    preventers = roster["preventers"]["id"]

    assert list_heroes(client, alice, team_id=preventers, min_age=33) == ([heroes[4]], 1)
    assert list_heroes(client, alice, team_id=preventers, name="Deadpond") == ([], 0)


def test_list_after_id_returns_ids_greater_than_it(
    client: TestClient, roster: dict[str, Any]
) -> None:
    alice, heroes = roster["alice"], roster["heroes"]

    found, _ = list_heroes(client, alice, after_id=heroes[3]["id"])
    first, _ = list_heroes(client, alice, after_id=0, limit=2)
    nothing, _ = list_heroes(client, alice, after_id=heroes[-1]["id"])

    assert found == heroes[4:]
    assert first == heroes[:2]
    assert nothing == []


def test_list_after_id_pages_through_every_hero(client: TestClient, roster: dict[str, Any]) -> None:
    alice, heroes = roster["alice"], roster["heroes"]
    seen: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page, _ = list_heroes(client, alice, after_id=cursor, limit=4)
        if not page:
            break
        seen += page
        cursor = page[-1]["id"]

    assert seen == heroes


def test_list_after_id_combines_with_filters(client: TestClient, roster: dict[str, Any]) -> None:
    alice, heroes = roster["alice"], roster["heroes"]

    found, _ = list_heroes(client, alice, min_age=30, after_id=heroes[3]["id"], limit=1)

    assert found == [heroes[4]]


def test_total_count_is_all_matching_the_filters_ignoring_paging(
    client: TestClient, roster: dict[str, Any]
) -> None:
    alice, heroes = roster["alice"], roster["heroes"]

    paged, paged_total = list_heroes(client, alice, min_age=30, offset=1, limit=1)
    cursor, cursor_total = list_heroes(client, alice, min_age=30, after_id=heroes[4]["id"])
    beyond, beyond_total = list_heroes(client, alice, offset=50)

    assert (paged, paged_total) == ([heroes[3]], 4)
    assert (cursor, cursor_total) == ([heroes[5]], 4)
    assert (beyond, beyond_total) == ([], 6)


def test_list_filters_apply_to_what_each_viewer_sees(
    client: TestClient, roster: dict[str, Any], make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"])
    heroes = roster["heroes"]

    assert list_heroes(client, bob, name="Tarantula") == ([public(heroes[3])], 1)
