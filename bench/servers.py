"""Bench servers as process groups on loopback ports: start, wait until they answer, stop, RSS."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.1
LOG_TAIL_CHARS = 4000


class ServerError(RuntimeError):
    """A server did not start, or died."""


@dataclass(frozen=True)
class ServerSpec:
    name: str
    argv: Callable[[int], list[str]]
    ready_path: str
    env: dict[str, str]


@dataclass
class Server:
    name: str
    port: int
    process: "subprocess.Popen[bytes]"
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def start(spec: ServerSpec, workdir: Path) -> Server:
    """Run from workdir, where no .env is: every setting comes from spec.env."""
    port = free_port()
    log_path = workdir / f"{spec.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            spec.argv(port),
            cwd=workdir,
            env={**os.environ, **spec.env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(spec.name, port, process, log_path)
    try:
        wait_ready(server, spec.ready_path)
    except BaseException:
        stop(server)
        raise
    return server


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError as error:
        return error.code < 500
    except OSError:
        return False


def wait_ready(server: Server, ready_path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        if answers(server.url(ready_path)):
            return
        time.sleep(POLL_SECONDS)
    raise ServerError(
        f"{server.name} did not answer within {READY_TIMEOUT_SECONDS:.0f} s:\n{server.log_tail()}"
    )


def stop(server: Server) -> None:
    signal_group(server.process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(STOP_TIMEOUT_SECONDS)
    signal_group(server.process.pid, signal.SIGKILL)
    server.process.wait(STOP_TIMEOUT_SECONDS)


def signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
