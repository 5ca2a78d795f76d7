"""The last active holder of permissions:manage cannot lose it, be deactivated or be deleted;
not through any route, and not when two admins demote each other at the same moment."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from core import access, bootstrap, db, grants, schema, users
from core.config import get_settings
from core.errors import Conflict
from models import AuditRecord, RoleCreate, User, UserCreate, UserUpdate
from tests.settings import on_postgres, postgres_database
from tests.unit.conftest import Account, MakeUser

MANAGE = "permissions:manage"
LAST_MANAGER = "Refused: no active user would hold permissions:manage after this change"
REFUSED = {"detail": LAST_MANAGER}


def audit_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(AuditRecord)).one()


def managers(engine: Engine) -> list[int]:
    with Session(engine) as session:
        active = session.exec(select(User.id).where(User.is_active == True)).all()  # noqa: E712
        return sorted(u for u in active if MANAGE in access.effective_permissions(session, u))


def view(client: TestClient, admin: Account, user_id: int) -> dict:
    response = client.get(f"/users/{user_id}/permissions", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_refused_and_unchanged(
    client: TestClient,
    engine: Engine,
    watcher: Account,
    holder: Account,
    request: Callable[[], object],
) -> None:
    """The guard answered 409, and the holder, the roles and the audit trail are as before."""
    before = (view(client, watcher, holder.id), audit_count(engine))
    roles_before = client.get("/roles", headers=watcher.headers).json()

    response = request()

    assert response.status_code == 409  # type: ignore[attr-defined]
    assert response.json() == REFUSED  # type: ignore[attr-defined]
    assert (view(client, watcher, holder.id), audit_count(engine)) == before
    assert client.get("/roles", headers=watcher.headers).json() == roles_before
    assert managers(engine) == [holder.id]
    assert client.get("/users/me", headers=holder.headers).status_code == 200


@pytest.fixture
def watcher(make_user: MakeUser) -> Account:
    """Reads and manages users, but cannot manage permissions."""
    return make_user("watcher", permissions=["users:read", "users:manage"])


def test_last_direct_holder_cannot_revoke_own_grant(
    client: TestClient, engine: Engine, make_user: MakeUser, watcher: Account
) -> None:
    solo = make_user("solo", permissions=[MANAGE])
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        solo,
        lambda: client.delete(f"/users/{solo.id}/permissions/{MANAGE}", headers=solo.headers),
    )


def test_last_direct_holder_cannot_replace_own_grants(
    client: TestClient, engine: Engine, make_user: MakeUser, watcher: Account
) -> None:
    solo = make_user("solo", permissions=[MANAGE, "heroes:read"])
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        solo,
        lambda: client.put(
            f"/users/{solo.id}/permissions",
            json={"permissions": ["heroes:read"]},
            headers=solo.headers,
        ),
    )


def test_last_admin_cannot_drop_the_admin_role(
    client: TestClient, engine: Engine, admin: Account, watcher: Account
) -> None:
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        admin,
        lambda: client.put(f"/users/{admin.id}/roles", json={"roles": []}, headers=admin.headers),
    )


def test_last_holder_through_a_role_keeps_it_when_the_role_is_edited(
    client: TestClient, engine: Engine, session: Session, make_user: MakeUser, watcher: Account
) -> None:
    grants.create_role(session, RoleCreate(name="keepers", permissions=[MANAGE]), actor_id=None)
    keeper = make_user("keeper", roles=["keepers"])
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        keeper,
        lambda: client.patch(
            "/roles/keepers", json={"permissions": ["heroes:read"]}, headers=keeper.headers
        ),
    )


def test_last_holder_through_a_role_keeps_it_when_the_role_is_deleted(
    client: TestClient, engine: Engine, session: Session, make_user: MakeUser, watcher: Account
) -> None:
    grants.create_role(session, RoleCreate(name="keepers", permissions=[MANAGE]), actor_id=None)
    keeper = make_user("keeper", roles=["keepers"])
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        keeper,
        lambda: client.delete("/roles/keepers", headers=keeper.headers),
    )


def test_last_holder_cannot_be_deactivated(
    client: TestClient, engine: Engine, admin: Account, watcher: Account
) -> None:
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        admin,
        lambda: client.patch(
            f"/users/{admin.id}", json={"is_active": False}, headers=watcher.headers
        ),
    )


def test_last_holder_cannot_deactivate_themselves(
    client: TestClient, engine: Engine, admin: Account, watcher: Account
) -> None:
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        admin,
        lambda: client.patch(
            f"/users/{admin.id}",
            json={"full_name": "Gone Fishing", "is_active": False},
            headers=admin.headers,
        ),
    )
    assert client.get("/users/me", headers=admin.headers).json()["full_name"] is None


def test_last_holder_cannot_be_deleted(
    client: TestClient, engine: Engine, admin: Account, watcher: Account
) -> None:
    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        admin,
        lambda: client.delete(f"/users/{admin.id}", headers=watcher.headers),
    )


def test_an_inactive_holder_does_not_count(
    client: TestClient, engine: Engine, admin: Account, make_user: MakeUser, watcher: Account
) -> None:
    dormant = make_user("dormant", roles=["admin"])
    response = client.patch(
        f"/users/{dormant.id}", json={"is_active": False}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is False

    assert_refused_and_unchanged(
        client,
        engine,
        watcher,
        admin,
        lambda: client.put(f"/users/{admin.id}/roles", json={"roles": []}, headers=admin.headers),
    )


def test_the_same_changes_pass_while_another_holder_remains(
    client: TestClient, admin: Account, make_user: MakeUser
) -> None:
    solo = make_user("solo", permissions=[MANAGE])
    other = make_user("other", roles=["admin"])

    revoked = client.delete(f"/users/{solo.id}/permissions/{MANAGE}", headers=admin.headers)
    dropped = client.put(f"/users/{other.id}/roles", json={"roles": []}, headers=admin.headers)
    deleted = client.delete(f"/users/{other.id}", headers=admin.headers)
    deactivated = client.patch(
        f"/users/{solo.id}", json={"is_active": False}, headers=admin.headers
    )

    assert [r.status_code for r in (revoked, dropped, deleted, deactivated)] == [204, 200, 204, 200]
    last = client.put(f"/users/{admin.id}/roles", json={"roles": []}, headers=admin.headers)
    assert (last.status_code, last.json()) == (409, REFUSED)


# The race: two managers demote each other at the same moment, on a real database file
# (SQLite's write lock) or a real PostgreSQL server (row locks), through the core functions
# that the API and the command line share.

ROUNDS = 6
Demote = Callable[[Session, int, int], None]


def revoke_direct(session: Session, actor: int, target: int) -> None:
    grants.revoke(session, target, MANAGE, actor_id=actor)


def replace_direct(session: Session, actor: int, target: int) -> None:
    grants.set_direct(session, target, ["heroes:read"], actor_id=actor)


def drop_roles(session: Session, actor: int, target: int) -> None:
    grants.set_roles(session, target, [], actor_id=actor)


def deactivate(session: Session, actor: int, target: int) -> None:
    users.update_user(session, target, UserUpdate(is_active=False), actor_id=actor)


def delete(session: Session, actor: int, target: int) -> None:
    users.delete_user(session, target, actor_id=actor)


def take_away(session: Session, actor: int, target: int) -> None:
    """Whichever way the target holds it: a direct grant or a role."""
    if MANAGE in grants.direct_permissions(session, target):
        grants.revoke(session, target, MANAGE, actor_id=actor)
    else:
        grants.set_roles(session, target, [], actor_id=actor)


DEMOTIONS: dict[str, tuple[str, Demote]] = {
    "revoke": ("direct", revoke_direct),
    "replace": ("direct", replace_direct),
    "drop-role": ("role", drop_roles),
    "mixed": ("mixed", take_away),
    "deactivate": ("direct", deactivate),
    "delete": ("role", delete),
}


@pytest.fixture
def race_engine(tmp_path: Path) -> Iterator[Engine]:
    if on_postgres():
        with postgres_database("hero_race") as url:
            engine = db.create_db_engine(get_settings(), url)
            schema.migrate(engine)
            yield engine
            engine.dispose()
        return
    engine = db.create_db_engine(get_settings(), f"sqlite:///{tmp_path}/race.db")
    schema.migrate(engine)
    yield engine
    engine.dispose()


def two_managers(engine: Engine, round_number: int, holding: str) -> tuple[int, int]:
    """Two users holding permissions:manage directly, through a custom role, or one of each."""
    ids = []
    with Session(engine, expire_on_commit=False) as session:
        bootstrap.ensure_admin_role(session)
        role = f"keepers{round_number}"
        grants.create_role(session, RoleCreate(name=role, permissions=[MANAGE]), actor_id=None)
        for name, through_role in (("left", holding == "role"), ("right", holding != "direct")):
            user = users.create_user(
                session,
                UserCreate(username=f"{name}{round_number}", password="correct horse battery"),
                actor_id=None,
                permissions=[] if through_role else [MANAGE],
                roles=[role] if through_role else [],
            )
            assert user.id is not None
            ids.append(user.id)
    return ids[0], ids[1]


def retire(engine: Engine, manager: int) -> None:
    with Session(engine) as session:
        users.update_user(session, manager, UserUpdate(is_active=False), actor_id=None)


def demote_each_other(engine: Engine, demote: Demote, left: int, right: int) -> list[str]:
    start = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def run(actor: int, target: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            start.wait()
            try:
                demote(session, actor, target)
                outcomes[actor] = "done"
            except Conflict as exc:
                outcomes[actor] = "409" if exc.detail == LAST_MANAGER else exc.detail
            except DBAPIError as exc:  # would be a 503 or a 500: the race was not serialised
                outcomes[actor] = f"database error: {type(exc.orig).__name__}"

    threads = [
        threading.Thread(target=run, args=(left, right)),
        threading.Thread(target=run, args=(right, left)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes.values())


@pytest.mark.parametrize("demotion", DEMOTIONS)
def test_two_managers_demoting_each_other_leave_one(race_engine: Engine, demotion: str) -> None:
    holding, demote = DEMOTIONS[demotion]
    survivor: int | None = None
    for round_number in range(ROUNDS):
        left, right = two_managers(race_engine, round_number, holding)
        if survivor is not None:
            retire(race_engine, survivor)
        assert managers(race_engine) == [left, right]
        records_before = audit_count(race_engine)

        outcomes = demote_each_other(race_engine, demote, left, right)

        assert outcomes == ["409", "done"], f"round {round_number}: {outcomes}"
        remaining = managers(race_engine)
        assert len(remaining) == 1, f"round {round_number}: {remaining}"
        assert remaining[0] in (left, right)
        assert audit_count(race_engine) == records_before + 1
        survivor = remaining[0]
