"""A real `hero-api serve` on a loopback port, as a process group the test owns.

Integration tests talk to it over HTTP only; nothing of the app is imported here."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from tests.settings import TEST_SECRET_KEY, on_postgres, postgres_database

LOOPBACK = "127.0.0.1"
ADMIN_USERNAME = "root_admin"
ADMIN_PASSWORD = "integration admin password"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
LOG_TAIL_CHARS = 4000
HERO_API = Path(sys.executable).with_name("hero-api")


class ServerError(RuntimeError):
    """The server did not start, or died."""


@dataclass
class Server:
    base_url: str
    database_url: str
    process: "subprocess.Popen[bytes]"
    log_path: Path

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout)

    def login(self, username: str, password: str, scope: str | None = None) -> str:
        """An access token through the real OAuth2 password flow."""
        form = {"username": username, "password": password}
        if scope is not None:
            form["scope"] = scope
        with self.client() as client:
            response = client.post("/auth/token", data=form)
        if response.status_code != 200:
            raise AssertionError(f"login {username!r}: {response.status_code} {response.text}")
        return str(response.json()["access_token"])

    def admin_headers(self) -> dict[str, str]:
        return bearer(self.login(ADMIN_USERNAME, ADMIN_PASSWORD))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def database(directory: Path) -> Iterator[str]:
    """A database of the test's own: a PostgreSQL database under TEST_DATABASE=postgresql,
    a SQLite file in `directory` otherwise."""
    if on_postgres():
        with postgres_database("hero_it") as url:
            yield url
    else:
        yield f"sqlite:///{directory / 'hero.db'}"


@contextlib.contextmanager
def run_server(
    database_url: str,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    workdir: Path | None = None,
) -> Iterator[Server]:
    """`hero-api serve` on a free loopback port; ready when /health answers 200; the whole
    process group is stopped on exit (TERM, then KILL), whatever happened."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hero-it-")))
        port = free_port()
        log_path = workdir / f"server-{port}.log"
        settings = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "ENVIRONMENT": "development",
            "BCRYPT_ROUNDS": "4",
            "FIRST_ADMIN_USERNAME": ADMIN_USERNAME,
            "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "LOG_LEVEL": "warning",
            **(env or {}),
        }
        argv = [str(HERO_API), "serve", "--host", LOOPBACK, "--port", str(port)]
        argv += ["--workers", str(workers)]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv,
                cwd=workdir,  # no stray .env is read: the settings above are the whole config
                env={**os.environ, **settings},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(f"http://{LOOPBACK}:{port}", database_url, process, log_path)
        try:
            _wait_ready(server)
            yield server
        finally:
            _stop(process)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    with server.client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise ServerError(
                    f"server exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if client.get("/health").status_code == 200:
                    return
            time.sleep(0.1)
    raise ServerError(f"server not ready in {READY_TIMEOUT_SECONDS:.0f} s:\n{server.log_tail()}")


def _stop(process: "subprocess.Popen[bytes]") -> None:
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_TIMEOUT_SECONDS)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait(STOP_TIMEOUT_SECONDS)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)
