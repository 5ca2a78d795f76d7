"""Fresh benchmark databases (a SQLite file, a PostgreSQL database) and fast bulk seeding."""

import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg

HERO_COLUMNS = ("id", "name", "secret_name", "age", "team_id", "owner_id")
TEAM_COLUMNS = ("id", "name", "headquarters", "name_key")
TEAM_COUNT = 100
HeroRow = tuple[int, str, str, int | None, int | None, int | None]
TeamRow = tuple[int, str, str, str]


@contextmanager
def fresh_database(kind: str, workdir: Path, postgres_server: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'hero.db'}"
    elif kind == "postgres":
        with postgres_database(postgres_server) as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}: use sqlite or postgres")


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    name = f"hero_bench_{secrets.token_hex(4)}"
    with psycopg.connect(libpq_url(f"{server}/postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(libpq_url(f"{server}/postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def team_rows(count: int) -> Iterator[TeamRow]:
    for number in range(1, count + 1):
        name = f"Team {number:03d}"
        yield (number, name, f"Headquarters {number:03d}", name.lower())


def hero_rows(count: int, owner_ids: Sequence[int]) -> Iterator[HeroRow]:
    for number in range(1, count + 1):
        age = None if number % 7 == 0 else 18 + number % 60
        team_id = None if number % 5 == 0 else 1 + number % TEAM_COUNT
        owner_id = owner_ids[number % len(owner_ids)] if owner_ids else None
        yield (
            number,
            f"Hero {number}",
            f"Secret identity {number}",
            age,
            team_id,
            owner_id,
        )


def seed(url: str, heroes: int, owner_ids: Sequence[int]) -> None:
    if url.startswith("sqlite"):
        seed_sqlite(sqlite_path(url), heroes, owner_ids)
    else:
        seed_postgres(libpq_url(url), heroes, owner_ids)


def insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def seed_sqlite(path: str, heroes: int, owner_ids: Sequence[int]) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.executemany(insert_sql("team", TEAM_COLUMNS), team_rows(TEAM_COUNT))
            connection.executemany(insert_sql("hero", HERO_COLUMNS), hero_rows(heroes, owner_ids))
        connection.execute("ANALYZE")
    finally:
        connection.close()


def copy_rows(
    cursor: psycopg.Cursor[tuple[object, ...]],
    table: str,
    columns: Sequence[str],
    rows: Iterator[Sequence[object]],
) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def reset_sequence(cursor: psycopg.Cursor[tuple[object, ...]], table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        f" WHERE pg_get_serial_sequence('{table}', 'id') IS NOT NULL"
    )


def seed_postgres(url: str, heroes: int, owner_ids: Sequence[int]) -> None:
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        copy_rows(cursor, "team", TEAM_COLUMNS, team_rows(TEAM_COUNT))
        copy_rows(cursor, "hero", HERO_COLUMNS, hero_rows(heroes, owner_ids))
        reset_sequence(cursor, "team")
        reset_sequence(cursor, "hero")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")
