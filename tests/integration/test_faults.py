"""A database that goes away, or stays locked, is a 503 with a JSON body, never a 500 or a
traceback; when it comes back the same server process serves again by itself. A stop signal
lets requests in flight finish."""

import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from tests.integration.server import Server, database, run_server
from tests.settings import POSTGRES_ADMIN_URL, on_postgres

HERO = {"name": "Deadpond", "secret_name": "Dive Wilson"}
RECOVERY_TIMEOUT_SECONDS = 15.0

postgres_only = pytest.mark.skipif(
    not on_postgres(),
    reason="terminates a PostgreSQL database's backends: runs with TEST_DATABASE=postgresql",
)


def assert_unavailable(response: httpx.Response) -> None:
    """503, JSON, a short message and a retry hint: nothing of the failure leaks out."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get("retry-after") == "1"
    body = response.json()
    assert list(body) == ["detail"]
    assert "unavailable" in body["detail"].lower()
    assert "Traceback" not in response.text
    assert "psycopg" not in response.text and "sqlite" not in response.text.lower()


def wait_healthy(client: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + RECOVERY_TIMEOUT_SECONDS
    while True:
        response = client.get("/health")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


# --- PostgreSQL: backends terminated, database refusing connections -------------------------


@pytest.fixture
def pg_admin() -> Iterator[Connection]:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        yield connection
    engine.dispose()


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[Server]:
    with database(tmp_path) as url, run_server(url, env={"DB_POOL_TIMEOUT": "3"}) as server:
        yield server


def terminate_backends(admin: Connection, database_name: str) -> int:
    rows = admin.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = :name AND pid <> pg_backend_pid()"
        ),
        {"name": database_name},
    ).all()
    return len(rows)


def allow_connections(admin: Connection, database_name: str, allowed: bool) -> None:
    value = "true" if allowed else "false"
    admin.execute(text(f'ALTER DATABASE "{database_name}" WITH ALLOW_CONNECTIONS {value}'))


def create_hero(client: httpx.Client, headers: dict[str, str]) -> int:
    response = client.post("/heroes", json=HERO, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@postgres_only
def test_terminated_backends_are_replaced_without_an_error(
    pg_server: Server, pg_admin: Connection
) -> None:
    name = str(make_url(pg_server.database_url).database)
    headers = pg_server.admin_headers()
    with pg_server.client() as client:
        hero_id = create_hero(client, headers)
        for _ in range(5):  # warm the pool
            assert client.get(f"/heroes/{hero_id}", headers=headers).status_code == 200

        assert terminate_backends(pg_admin, name) >= 1

        statuses = [
            client.get(f"/heroes/{hero_id}", headers=headers).status_code for _ in range(10)
        ]
        assert statuses == [200] * 10  # the checkout check finds them before a query does
        assert client.get("/health").json() == {"status": "ok", "database": "ok"}
    assert pg_server.process.poll() is None


@postgres_only
def test_database_away_is_503_and_the_same_process_recovers(
    pg_server: Server, pg_admin: Connection
) -> None:
    name = str(make_url(pg_server.database_url).database)
    headers = pg_server.admin_headers()
    pid = pg_server.process.pid
    with pg_server.client() as client:
        hero_id = create_hero(client, headers)
        try:
            allow_connections(pg_admin, name, allowed=False)
            terminate_backends(pg_admin, name)

            assert_unavailable(client.get(f"/heroes/{hero_id}", headers=headers))
            assert_unavailable(client.post("/heroes", json=HERO, headers=headers))
            assert_unavailable(
                client.post("/auth/token", data={"username": "x" * 5, "password": "y" * 8})
            )
            health = client.get("/health")
            assert health.status_code == 503
            assert health.json() == {"status": "unavailable", "database": "unavailable"}
            assert pg_server.process.poll() is None
        finally:
            allow_connections(pg_admin, name, allowed=True)

        health = wait_healthy(client)
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "database": "ok"}
        read = client.get(f"/heroes/{hero_id}", headers=headers)
        assert read.status_code == 200, read.text
        assert read.json()["name"] == HERO["name"]
        assert create_hero(client, headers) > hero_id
    assert pg_server.process.pid == pid and pg_server.process.poll() is None


# --- SQLite: a write lock held by someone else --------------------------------------------


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    with run_server(url, env={"SQLITE_BUSY_TIMEOUT_MS": "200"}) as server:
        yield server


def test_sqlite_locked_database_is_503_then_succeeds_once_released(
    sqlite_server: Server,
) -> None:
    path = str(make_url(sqlite_server.database_url).database)
    headers = sqlite_server.admin_headers()
    with sqlite_server.client() as client:
        hero_id = create_hero(client, headers)
        holder = sqlite3.connect(path, isolation_level=None, timeout=5)
        try:
            holder.execute("BEGIN IMMEDIATE")  # the write lock, held past the 200 ms busy timeout

            assert_unavailable(client.post("/heroes", json=HERO, headers=headers))
            assert_unavailable(
                client.patch(f"/heroes/{hero_id}", json={"age": 30}, headers=headers)
            )
            read = client.get(f"/heroes/{hero_id}", headers=headers)  # readers go on (WAL)
            assert read.status_code == 200, read.text
        finally:
            holder.rollback()
            holder.close()

        assert create_hero(client, headers) > hero_id
        changed = client.patch(f"/heroes/{hero_id}", json={"age": 30}, headers=headers)
        assert changed.status_code == 200, changed.text
        assert changed.json()["age"] == 30


# --- Graceful stop ----------------------------------------------------------------------


def test_stop_signal_lets_a_request_in_flight_finish(tmp_path: Path) -> None:
    """SIGTERM while a write waits on a lock: the request in flight completes with its 201,
    then the process exits."""
    with (
        database(tmp_path) as url,
        run_server(url, env={"SQLITE_BUSY_TIMEOUT_MS": "10000"}) as server,
    ):
        headers = server.admin_headers()
        with server.client() as client:
            create_hero(client, headers)
        lock = _hold_hero_table(url)
        try:
            outcome: dict[str, httpx.Response] = {}

            def post() -> None:
                with server.client() as client:
                    outcome["response"] = client.post("/heroes", json=HERO, headers=headers)

            in_flight = threading.Thread(target=post)
            in_flight.start()
            time.sleep(1.0)  # the request is now waiting on the lock, inside the server
            assert "response" not in outcome
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert server.process.poll() is None  # still draining
        finally:
            lock()
        in_flight.join(timeout=30)
        assert not in_flight.is_alive()
        assert outcome["response"].status_code == 201, outcome["response"].text
        # uvicorn re-raises the signal it drained on: the process ends as killed by TERM
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)


def _hold_hero_table(url: str) -> Callable[[], None]:
    """Block writes to `hero` from outside the server; returns the release."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(str(make_url(url).database), isolation_level=None, timeout=5)
        holder.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            holder.rollback()
            holder.close()

        return release_sqlite
    engine = create_engine(url)
    connection = engine.connect()
    connection.execute(text("LOCK TABLE hero IN EXCLUSIVE MODE"))

    def release_postgres() -> None:
        connection.rollback()
        connection.close()
        engine.dispose()

    return release_postgres
