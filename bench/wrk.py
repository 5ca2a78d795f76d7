"""Run wrk against a URL with a Lua script and read its report: req/s, p99 latency, errors."""

import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
AUTH_SCRIPT = BENCH_DIR / "auth.lua"
LOGIN_SCRIPT = BENCH_DIR / "login.lua"
REQUEST_TIMEOUT_SECONDS = 5
GRACE_SECONDS = 30
LATENCY_UNITS_MS = {
    "us": 0.001,
    "ms": 1.0,
    "s": 1000.0,
    "m": 60_000.0,
    "h": 3_600_000.0,
}


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed a report this module cannot read."""


@dataclass(frozen=True)
class Load:
    url: str
    script: Path
    threads: int
    connections: int
    seconds: int
    env: dict[str, str]


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkError("wrk is not installed: run `apt-get install -y wrk` (Debian package wrk)")
    return path


def command(load: Load) -> list[str]:
    return [
        require_wrk(),
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{load.seconds}s",
        f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
        "--latency",
        "-s",
        str(load.script),
        load.url,
    ]


def parse(output: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if rps is None or p99 is None or total is None:
        raise WrkError(f"cannot read the wrk report:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * LATENCY_UNITS_MS[p99.group(2)],
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def start(load: Load) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        command(load),
        env={**os.environ, **load.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(process: "subprocess.Popen[str]", timeout: float) -> WrkResult:
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        kill(process)
    if process.returncode != 0:
        raise WrkError(f"wrk exited with {process.returncode}:\n{output}")
    return parse(output)


def interrupt(process: "subprocess.Popen[str]") -> WrkResult:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    return finish(process, GRACE_SECONDS)


def kill(process: "subprocess.Popen[str]") -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(GRACE_SECONDS)


def run(load: Load) -> WrkResult:
    return finish(start(load), load.seconds + GRACE_SECONDS)
