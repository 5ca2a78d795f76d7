"""The schema is made by Alembic migrations on SQLite and PostgreSQL, and they match the models."""

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, inspect
from sqlmodel import SQLModel

from core import db, schema
from core.config import get_settings
from tests.integration.server import HERO_API, database

MODEL_TABLES = set(SQLModel.metadata.tables)


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """A database with nothing in it: a fresh PostgreSQL database, or a new SQLite file."""
    with database(tmp_path) as url:
        engine = db.create_db_engine(get_settings(), url)
        yield engine
        engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(schema.alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def drift(engine: Engine, metadata: MetaData) -> list[Any]:
    """What autogenerate would write to bring the database to `metadata`: [] when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_from_empty_to_head_creates_every_model_table(empty_engine: Engine) -> None:
    assert tables(empty_engine) == set()

    schema.migrate(empty_engine)

    assert tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(empty_engine) == head_revision()


def test_upgrade_twice_is_a_no_op(empty_engine: Engine) -> None:
    schema.migrate(empty_engine)
    schema.migrate(empty_engine)

    assert current_revision(empty_engine) == head_revision()
    assert tables(empty_engine) == MODEL_TABLES | {"alembic_version"}


def test_downgrade_to_base_then_upgrade_round_trips(empty_engine: Engine) -> None:
    schema.migrate(empty_engine)

    schema.downgrade(empty_engine, "base")
    assert tables(empty_engine) == {"alembic_version"}
    assert current_revision(empty_engine) is None

    schema.migrate(empty_engine)
    assert tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(empty_engine) == head_revision()
    assert drift(empty_engine, SQLModel.metadata) == []


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    """Fails when a model changes without a migration (run `alembic revision --autogenerate`)."""
    schema.migrate(empty_engine)

    assert drift(empty_engine, SQLModel.metadata) == []


def test_drift_check_sees_a_model_change_without_migration(empty_engine: Engine) -> None:
    """The agreement check above can fail: a new column and a changed length are reported."""
    schema.migrate(empty_engine)
    changed = MetaData()
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["hero"].append_column(Column("nickname", String(50), nullable=True))
    changed.tables["team"].c.headquarters.type = String(150)

    found = drift(empty_engine, changed)

    kinds = {(d[0] if isinstance(d, tuple) else d[0][0]) for d in found}
    assert kinds == {"add_column", "modify_type"}, found


def test_cli_migrate_creates_the_schema(empty_engine: Engine, tmp_path: Path) -> None:
    url = empty_engine.url.render_as_string(hide_password=False)

    done = subprocess.run(
        [str(HERO_API), "migrate"],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "database at head" in done.stdout
    assert current_revision(empty_engine) == head_revision()
    assert tables(empty_engine) == MODEL_TABLES | {"alembic_version"}
