"""SPEC §8 from outside: the real `hero-api` console script against a database of the test's
own. Same rules and same audit as the API (actor: null); exit codes 0 done, 1 refused,
2 invalid input (README)."""

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel

from core import audit, bootstrap, db, grants, schema, startup, users
from core import permissions as catalogue
from core.config import get_settings
from core.errors import ConfigurationError
from core.hashing import verify_password
from models import RoleCreate, UserUpdate
from tests.integration.server import HERO_API, database, free_port
from tests.settings import TEST_SECRET_KEY, on_postgres
from tests.unit.conftest import (
    DEFAULT_PASSWORD,
    WRONG_PASSWORD,
    MakeUser,
    assert_locked_out,
    bearer,
    lock_out,
    login,
)
from tests.unit.test_guard import LAST_MANAGER

Record = dict[str, Any]
EXIT_DONE, EXIT_REFUSED, EXIT_INVALID = 0, 1, 2
EVERYTHING = ",".join(sorted(catalogue.CATALOGUE))


@dataclass
class Cli:
    database_url: str
    workdir: Path

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> "subprocess.CompletedProcess[str]":
        """`hero-api ARGS`, configured by the environment alone (no stray .env in workdir)."""
        settings = {
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "BCRYPT_ROUNDS": "4",
            "ENVIRONMENT": "development",
            **(env or {}),
        }
        inherited = {k: v for k, v in os.environ.items() if k != "HERO_ADMIN_PASSWORD"}
        return subprocess.run(
            [str(HERO_API), *args],
            cwd=self.workdir,
            env={**inherited, **settings},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database the `hero-api` subprocess reaches too: a SQLite file or PostgreSQL."""
    with database(tmp_path) as url:
        yield url


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[Engine]:
    engine = db.create_db_engine(get_settings(), database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """Replaces the conftest's: that database, migrated, so the conftest's `session`, `client`
    and `make_user` work on what the command line sees."""
    schema.migrate(empty_engine)
    return empty_engine


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path)


def newest_id(session: Session) -> int:
    newest = audit.list_records(session, audit.AuditFilter(), offset=0, limit=1)
    return newest[0].id if newest and newest[0].id is not None else 0


def written_since(session: Session, mark: int) -> list[Record]:
    """Records newer than `mark`, newest first, without their id and time."""
    session.expire_all()
    return [
        record.model_dump(exclude={"id", "at"})
        for record in audit.list_records(session, audit.AuditFilter(), offset=0, limit=100)
        if record.id is not None and record.id > mark
    ]


def direct(session: Session, user_id: int) -> list[str]:
    session.expire_all()
    return grants.view(session, user_id).direct


def assert_ran(done: "subprocess.CompletedProcess[str]", stdout: str) -> None:
    assert done.returncode == EXIT_DONE, done.stderr
    assert done.stdout == stdout
    assert done.stderr == ""


def assert_failed(done: "subprocess.CompletedProcess[str]", code: int, message: str) -> None:
    assert done.returncode == code, (done.stdout, done.stderr)
    assert done.stderr == f"error: {message}\n"
    assert done.stdout == ""


# migrate


def test_migrate_brings_an_empty_database_to_head(cli: Cli, empty_engine: Engine) -> None:
    assert inspect(empty_engine).get_table_names() == []

    done = cli("migrate")

    assert_ran(done, "database at head\n")
    assert set(inspect(empty_engine).get_table_names()) == set(SQLModel.metadata.tables) | {
        "alembic_version"
    }


# create-admin


def test_create_admin_makes_a_user_holding_the_admin_role(cli: Cli, session: Session) -> None:
    mark = newest_id(session)

    done = cli("create-admin", "alice", env={"HERO_ADMIN_PASSWORD": "alice's admin password"})

    alice = users.find_user(session, "alice")
    assert alice is not None and alice.id is not None
    assert_ran(done, f"created admin 'alice' (id {alice.id})\n")
    assert users.read_user(session, alice.id).model_dump() == {
        "id": alice.id,
        "username": "alice",
        "email": None,
        "full_name": None,
        "is_active": True,
        "roles": ["admin"],
        "permissions": sorted(catalogue.CATALOGUE),
    }
    assert verify_password("alice's admin password", alice.hashed_password)[0]
    assert written_since(session, mark) == [
        {
            "actor_id": None,
            "action": "user.create",
            "target_user_id": alice.id,
            "target": "alice",
            "before": None,
            "after": {
                "username": "alice",
                "email": None,
                "full_name": None,
                "is_active": True,
                "permissions": [],
                "roles": ["admin"],
            },
        }
    ]


def test_create_admin_prompts_for_the_password_twice(cli: Cli, session: Session) -> None:
    done = cli("create-admin", "alice", stdin="typed at the prompt\ntyped at the prompt\n")

    assert done.returncode == EXIT_DONE, done.stderr
    assert "created admin 'alice'" in done.stdout
    assert "typed at the prompt" not in done.stdout + done.stderr
    alice = users.find_user(session, "alice")
    assert alice is not None
    assert verify_password("typed at the prompt", alice.hashed_password)[0]


def test_create_admin_with_a_short_password_is_invalid_and_not_echoed(
    cli: Cli, session: Session
) -> None:
    mark = newest_id(session)

    done = cli("create-admin", "alice", env={"HERO_ADMIN_PASSWORD": "hunter2"})

    assert_failed(done, EXIT_INVALID, "password: String should have at least 8 characters")
    assert "hunter2" not in done.stderr
    assert users.find_user(session, "alice") is None
    assert written_since(session, mark) == []


def test_create_admin_with_a_taken_username_is_refused(
    cli: Cli, session: Session, make_user: MakeUser
) -> None:
    make_user("alice")
    mark = newest_id(session)

    done = cli("create-admin", "ALICE", env={"HERO_ADMIN_PASSWORD": "alice's admin password"})

    assert_failed(done, EXIT_REFUSED, "Username already taken")
    assert written_since(session, mark) == []


# users, roles


def test_users_lists_ids_activity_roles_and_effective_permissions(
    cli: Cli, session: Session, make_user: MakeUser
) -> None:
    alice = make_user("alice", roles=["admin"]).id
    grants.create_role(
        session, RoleCreate(name="readers", permissions=["teams:read"]), actor_id=None
    )
    bob = make_user("bob", permissions=["heroes:read"], roles=["readers"]).id
    carol = make_user("carol").id
    users.update_user(session, carol, UserUpdate(is_active=False), actor_id=None)

    done = cli("users")

    rule = "-" * len(EVERYTHING)
    assert_ran(
        done,
        "id  username  active  roles    permissions\n"
        f"--  --------  ------  -------  {rule}\n"
        f"{alice:<2}  alice     yes     admin    {EVERYTHING}\n"
        f"{bob:<2}  bob       yes     readers  heroes:read,teams:read\n"
        f"{carol:<2}  carol     no\n",
    )


def test_roles_lists_each_role_with_its_permissions(cli: Cli, session: Session) -> None:
    bootstrap.ensure_admin_role(session)
    grants.create_role(
        session,
        RoleCreate(name="readers", description="Reads", permissions=["teams:read", "heroes:read"]),
        actor_id=None,
    )

    done = cli("roles")

    assert done.returncode == EXIT_DONE, done.stderr
    header, rule, *rows = done.stdout.splitlines()
    assert header.split() == ["name", "builtin", "permissions", "description"]
    assert set(rule) == {"-", " "}
    assert [row.split(None, 3) for row in rows] == [
        ["admin", "yes", EVERYTHING, catalogue.ADMIN_ROLE_DESCRIPTION],
        ["readers", "no", "heroes:read,teams:read", "Reads"],
    ]


# grant, revoke


@pytest.mark.parametrize("who", ["BOB", "{id}"])
def test_grant_by_username_or_id_is_audited_without_actor(
    cli: Cli, session: Session, make_user: MakeUser, who: str
) -> None:
    bob = make_user("bob", permissions=["heroes:read"]).id
    mark = newest_id(session)
    user = who.format(id=bob)

    done = cli("grant", user, "teams:write")

    assert_ran(done, f"granted teams:write to {user}\n")
    assert direct(session, bob) == ["heroes:read", "teams:write"]
    assert written_since(session, mark) == [
        {
            "actor_id": None,
            "action": "permission.grant",
            "target_user_id": bob,
            "target": "teams:write",
            "before": ["heroes:read"],
            "after": ["heroes:read", "teams:write"],
        }
    ]


def test_grant_already_held_changes_nothing(
    cli: Cli, session: Session, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["heroes:read"]).id
    mark = newest_id(session)

    done = cli("grant", "bob", "heroes:read")

    assert_ran(done, "granted heroes:read to bob\n")
    assert direct(session, bob) == ["heroes:read"]
    assert written_since(session, mark) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["grant", "bob", "heroes:fly"], EXIT_INVALID, "Unknown permission: heroes:fly"),
        (
            ["revoke", "bob", "teams:write"],
            EXIT_REFUSED,
            "teams:write is not granted directly to this user",
        ),
    ],
)
def test_a_grant_or_revoke_that_cannot_apply_changes_nothing(
    cli: Cli, session: Session, make_user: MakeUser, args: list[str], code: int, message: str
) -> None:
    make_user("alice", roles=["admin"])
    bob = make_user("bob", permissions=["heroes:read"]).id
    mark = newest_id(session)

    done = cli(*args)

    assert_failed(done, code, message)
    assert direct(session, bob) == ["heroes:read"]
    assert written_since(session, mark) == []


@pytest.mark.parametrize(
    "args", [["grant", "ghost", "heroes:read"], ["unlock", "999999"], ["unlock", "nobody"]]
)
def test_unknown_user_is_refused_and_its_lockout_stays(
    cli: Cli, client: TestClient, session: Session, make_user: MakeUser, args: list[str]
) -> None:
    """Failed logins are counted for any username, so there is a lockout to leave alone."""
    make_user("bob")
    user = args[1]
    lock_out(client, user)
    mark = newest_id(session)

    done = cli(*args)

    assert_failed(done, EXIT_REFUSED, f"No user {user!r}")
    assert written_since(session, mark) == []
    assert_locked_out(client, user, WRONG_PASSWORD)


def test_revoke_is_audited_without_actor(cli: Cli, session: Session, make_user: MakeUser) -> None:
    make_user("alice", roles=["admin"])
    bob = make_user("bob", permissions=["heroes:read", "teams:read"]).id
    mark = newest_id(session)

    done = cli("revoke", "bob", "teams:read")

    assert_ran(done, "revoked teams:read from bob\n")
    assert direct(session, bob) == ["heroes:read"]
    assert written_since(session, mark) == [
        {
            "actor_id": None,
            "action": "permission.revoke",
            "target_user_id": bob,
            "target": "teams:read",
            "before": ["heroes:read", "teams:read"],
            "after": ["heroes:read"],
        }
    ]


def test_revoke_from_the_last_holder_of_permissions_manage_is_refused(
    cli: Cli, session: Session, make_user: MakeUser
) -> None:
    bob = make_user("bob", permissions=["permissions:manage"]).id
    mark = newest_id(session)

    done = cli("revoke", "bob", "permissions:manage")

    assert_failed(done, EXIT_REFUSED, LAST_MANAGER)
    assert direct(session, bob) == ["permissions:manage"]
    assert written_since(session, mark) == []


# unlock


@pytest.mark.parametrize("who", ["{id}", "BOB"])
def test_unlock_by_id_or_username_lets_the_next_login_through_and_is_audited_without_actor(
    cli: Cli, client: TestClient, session: Session, make_user: MakeUser, who: str
) -> None:
    bob = make_user("bob").id
    lock_out(client, "Bob")
    assert_locked_out(client, "bob", DEFAULT_PASSWORD)
    mark = newest_id(session)
    user = who.format(id=bob)

    done = cli("unlock", user)

    assert_ran(done, f"unlocked {user}\n")
    assert written_since(session, mark) == [
        {
            "actor_id": None,
            "action": "user.unlock",
            "target_user_id": bob,
            "target": "bob",
            "before": {"failed_logins_counted": True},
            "after": {"failed_logins_counted": False},
        }
    ]
    again = login(client, "bob", DEFAULT_PASSWORD)
    assert again.status_code == 200, again.text
    me = client.get("/users/me", headers=bearer(again.json()["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "bob"


# Bad settings, no database


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["users"],
            {"BCRYPT_ROUNDS": "many"},
            "invalid settings: BCRYPT_ROUNDS: Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            ["migrate"],
            {"DATABASE_URL": "not a database url"},
            "DATABASE_URL: Could not parse SQLAlchemy URL from given URL string",
        ),
        (
            ["serve", "--port", "1"],
            {"ENVIRONMENT": "production", "SECRET_KEY": "too short"},
            "SECRET_KEY is shorter than 32 bytes; generate one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"',
        ),
    ],
)
def test_bad_settings_are_invalid_input_with_a_clear_message(
    cli: Cli, args: list[str], env: dict[str, str], message: str
) -> None:
    done = cli(*args, env=env)

    assert_failed(done, EXIT_INVALID, message)


def test_unreachable_database_is_refused_with_a_clear_message(cli: Cli, tmp_path: Path) -> None:
    nowhere = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'hero.db'}"

    done = cli("users", env={"DATABASE_URL": nowhere})

    assert_failed(done, EXIT_REFUSED, "database unavailable: unable to open database file")


# The connection budget (README, "Running at scale")


postgres_only = pytest.mark.skipif(
    not on_postgres(),
    reason="reads PostgreSQL's max_connections: runs with TEST_DATABASE=postgresql",
)


@postgres_only
def test_serve_refuses_workers_that_together_exceed_max_connections(
    cli: Cli, engine: Engine
) -> None:
    done = cli("serve", "--port", str(free_port()), "--workers", "1000")

    assert done.returncode == EXIT_INVALID, (done.stdout, done.stderr)
    assert "1000 workers x 13 connections" in done.stderr
    assert "exceeds the" in done.stderr and "max_connections" in done.stderr


@postgres_only
def test_a_budget_within_max_connections_is_accepted(engine: Engine) -> None:
    startup.check_connection_budget(engine, get_settings(), workers=2)

    with pytest.raises(ConfigurationError, match="1000 workers x 13 connections"):
        startup.check_connection_budget(engine, get_settings(), workers=1000)
