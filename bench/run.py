"""The hero-api benchmark in one command: fresh databases, seeded data, servers, wrk, a table."""

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TypeVar
from urllib.parse import urlsplit

from bench import client, servers, wrk
from bench.database import fresh_database, seed
from bench.plan import ONE_HERO, STORM_CONNECTIONS, Row, Shape, rows_for, servers_for
from bench.report import Summary, rss_lines, summarize, table, targets

ROOT = Path(__file__).resolve().parent.parent
HERO_API_COMMAND: tuple[str, ...] = (str(Path(sys.executable).with_name("hero-api")),)
LOG_LEVEL = "warning"
UVICORN_FLAGS: tuple[str, ...] = ("--log-level", LOG_LEVEL)
"""Configured as `hero-api serve` configures uvicorn (access log on, filtered by the level)
so that rows differ only in the app."""
SECRET_KEY = "8c1f5e0d7a2b49c6b3e8f1a0d5c7e9b2a4f6c8e0d1b3a5f7"
ENVIRONMENT = "production"
ADMIN_USERNAME = "bench_admin"
ADMIN_PASSWORD = "bench-admin-password-7f3a"
USER_PASSWORD = "bench-user-password-2c9e"
STORM_USERNAME = "bench_storm"
LOGIN_MAX_FAILURES = 1_000_000_000
TOKEN_MINUTES = 24 * 60
STORM_LEAD_SECONDS = 1.0
HTTP_PARALLELISM = 4
TUTORIAL_POOL_SIZE = {"sqlite": 64, "postgres": 40}
"""Past anyio's 40 worker threads on SQLite; on PostgreSQL every server of the run shares
max_connections (100 by default), so the tutorial gets what the others leave."""
PREPARE_TIMEOUT_SECONDS = 600
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
T = TypeVar("T")
R = TypeVar("R")


class BenchError(RuntimeError):
    """The benchmark cannot run as asked."""


@dataclass(frozen=True)
class Options:
    databases: tuple[str, ...]
    shape: Shape
    rounds: int
    seconds: int
    warmup_seconds: int
    threads: int
    users: int
    bcrypt_rounds: int
    rss_factor: int
    postgres_server: str


@dataclass(frozen=True)
class Accounts:
    user_ids: list[int]
    usernames: list[str]


@dataclass(frozen=True)
class Stage:
    servers: dict[str, servers.Server]
    token_file: Path | None
    options: Options


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def app_env(database_url: str, options: Options) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "ENVIRONMENT": ENVIRONMENT,
        "FIRST_ADMIN_USERNAME": ADMIN_USERNAME,
        "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BCRYPT_ROUNDS": str(options.bcrypt_rounds),
        "LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
        "ACCESS_TOKEN_EXPIRE_MINUTES": str(TOKEN_MINUTES),
        "LOG_LEVEL": LOG_LEVEL,
    }


def uvicorn_argv(app: str) -> Callable[[int], list[str]]:
    return lambda port: [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(ROOT),
        app,
        "--host",
        servers.LOOPBACK,
        "--port",
        str(port),
        *UVICORN_FLAGS,
    ]


def hero_api_argv(workers: int) -> Callable[[int], list[str]]:
    return lambda port: [
        *HERO_API_COMMAND,
        "serve",
        "--host",
        servers.LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def server_spec(
    name: str, env: dict[str, str], accounts: Accounts | None, workers: int
) -> servers.ServerSpec:
    if name == "ceiling":
        return servers.ServerSpec(name, uvicorn_argv("bench.ceiling_app:app"), "/heroes/1", env)
    if name == "tutorial":
        return servers.ServerSpec(name, uvicorn_argv("bench.tutorial_app:app"), "/heroes/1", env)
    if name == "tutorial_pool":
        kind = "sqlite" if env["DATABASE_URL"].startswith("sqlite") else "postgres"
        pool = {"BENCH_TUTORIAL_POOL": str(TUTORIAL_POOL_SIZE[kind])}
        argv = uvicorn_argv("bench.tutorial_app:app")
        return servers.ServerSpec(name, argv, "/heroes/1", {**env, **pool})
    if name == "overridden":
        if accounts is None:
            raise BenchError("configuration 3 needs hero-api's users")
        principal = {"BENCH_PRINCIPAL_ID": str(accounts.user_ids[0])}
        return servers.ServerSpec(
            name,
            uvicorn_argv("bench.overridden_app:app"),
            "/health",
            {**env, **principal},
        )
    if name == "hero":
        return servers.ServerSpec(name, hero_api_argv(1), "/health", env)
    if name == "hero_workers":
        return servers.ServerSpec(name, hero_api_argv(workers), "/health", env)
    raise BenchError(f"unknown server {name}")


def launch(stack: ExitStack, spec: servers.ServerSpec, workdir: Path) -> servers.Server:
    log(f"starting {spec.name}")
    server = servers.start(spec, workdir)
    stack.callback(servers.stop, server)
    log(f"{spec.name} answers on port {server.port}")
    return server


def migrate(env: dict[str, str], workdir: Path) -> None:
    """hero-api's schema for every server of the run, the tutorial's included."""
    if not Path(HERO_API_COMMAND[0]).exists():
        raise BenchError(
            f"{HERO_API_COMMAND[0]} not found: install the app into this venv (pip install -e .)"
        )
    argv = [*HERO_API_COMMAND, "migrate"]
    log(f"running {shlex.join(argv)}")
    done = subprocess.run(
        argv,
        cwd=workdir,  # no stray .env: every setting comes from env
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=PREPARE_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(
            f"{shlex.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
        )


def in_parallel(work: Callable[[T], R], items: list[T]) -> list[R]:
    with ThreadPoolExecutor(HTTP_PARALLELISM) as pool:
        return list(pool.map(work, items))


def bench_usernames(count: int) -> list[str]:
    return [f"bench_user_{number:03d}" for number in range(count)]


def create_accounts(hero: servers.Server, count: int) -> Accounts:
    base = hero.url("")
    admin_token = client.login(base, ADMIN_USERNAME, ADMIN_PASSWORD)
    usernames = bench_usernames(count)
    log(f"creating {count} users and {STORM_USERNAME} through POST /users")
    user_ids = in_parallel(
        lambda name: client.create_user(base, admin_token, name, USER_PASSWORD),
        [*usernames, STORM_USERNAME],
    )
    return Accounts(user_ids[:-1], usernames)


def write_tokens(hero: servers.Server, accounts: Accounts, workdir: Path) -> Path:
    log(f"logging in {len(accounts.usernames)} users for their bearer tokens")
    tokens = in_parallel(
        lambda name: client.login(hero.url(""), name, USER_PASSWORD), accounts.usernames
    )
    token_file = workdir / "tokens.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    return token_file


def first_token(token_file: Path | None) -> str | None:
    return token_file.read_text().split("\n", 1)[0] if token_file else None


def check_rows(rows: list[Row], stage: Stage) -> None:
    token = first_token(stage.token_file)
    for row in rows:
        client.check_ok(
            stage.servers[row.server].url(row.path.replace("{id}", "1")),
            token if row.authenticated else None,
        )
    if any(row.storm for row in rows):
        client.login(stage.servers["hero"].url(""), STORM_USERNAME, USER_PASSWORD)


def read_load(row: Row, stage: Stage, seconds: int) -> wrk.Load:
    env = {
        "BENCH_PATH": row.path,
        "BENCH_ID_MAX": str(stage.options.shape.heroes),
        "BENCH_TOKEN_FILE": str(stage.token_file) if row.authenticated and stage.token_file else "",
    }
    threads = min(stage.options.threads, row.connections)
    return wrk.Load(
        stage.servers[row.server].url("/"),
        wrk.AUTH_SCRIPT,
        threads,
        row.connections,
        seconds,
        env,
    )


def storm_load(stage: Stage, seconds: int) -> wrk.Load:
    env = {"BENCH_USERNAME": STORM_USERNAME, "BENCH_PASSWORD": USER_PASSWORD}
    storm_seconds = seconds + int(STORM_LEAD_SECONDS) + 2
    return wrk.Load(
        stage.servers["hero"].url("/auth/token"),
        wrk.LOGIN_SCRIPT,
        1,
        STORM_CONNECTIONS,
        storm_seconds,
        env,
    )


@contextmanager
def login_storm(stage: Stage, seconds: int) -> Iterator[None]:
    storm = wrk.start(storm_load(stage, seconds))
    try:
        time.sleep(STORM_LEAD_SECONDS)
        yield
    except BaseException:
        wrk.kill(storm)
        raise
    result = wrk.interrupt(storm)
    log(f"  login storm: {result.requests_per_second:.1f} logins/s, {result.errors} errors")


def measure(row: Row, stage: Stage, seconds: int) -> wrk.WrkResult:
    seconds = max(seconds, row.min_seconds)
    if not row.storm:
        return wrk.run(read_load(row, stage, seconds))
    with login_storm(stage, seconds):
        return wrk.run(read_load(row, stage, seconds))


def describe(result: wrk.WrkResult) -> str:
    rate, p99 = result.requests_per_second, result.p99_ms
    return f"{rate:,.0f} req/s, p99 {p99:.1f} ms, {result.errors} errors"


def run_rounds(rows: list[Row], stage: Stage) -> list[Summary]:
    options = stage.options
    if options.warmup_seconds > 0:
        log(f"warm-up: {options.warmup_seconds} s per configuration")
        for row in rows:
            measure(row, stage, options.warmup_seconds)
    results: dict[str, list[wrk.WrkResult]] = {row.key: [] for row in rows}
    for number in range(1, options.rounds + 1):
        for row in rows:
            result = measure(row, stage, options.seconds)
            results[row.key].append(result)
            log(f"round {number}/{options.rounds} {row.label}: {describe(result)}")
    return [summarize(row, results[row.key]) for row in rows]


def measure_rss(stage: Stage) -> list[str]:
    hero = stage.servers["hero"]
    before = servers.rss_kib(hero.process.pid)
    seconds = stage.options.seconds * stage.options.rss_factor
    row = Row("7", "7 RSS load", "hero", ONE_HERO, True, stage.options.shape.connections)
    log(f"RSS: driving {seconds} s of configuration 4 ({stage.options.rss_factor}x a round)")
    result = wrk.run(read_load(row, stage, seconds))
    return rss_lines(before, servers.rss_kib(hero.process.pid), result.requests)


def heading(kind: str, options: Options, argv: list[str]) -> list[str]:
    shape = options.shape
    return [
        f"### hero-api benchmark on {'SQLite' if kind == 'sqlite' else 'PostgreSQL'}",
        "",
        f"`{shlex.join(['python', '-m', 'bench.run', *argv])}`",
        "",
        (
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores;"
            f" {shape.heroes:,} heroes, {options.users} users;"
            f" wrk -t{options.threads} -c{shape.connections} -d{options.seconds}s,"
            f" {options.rounds} interleaved rounds (medians);"
            " hero-api --workers 1 unless the row says otherwise."
        ),
        "",
    ]


def bench_database(kind: str, options: Options, argv: list[str]) -> str:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hero-bench-")))
        database_url = stack.enter_context(fresh_database(kind, workdir, options.postgres_server))
        log(f"{kind}: fresh database {database_url}")
        env = app_env(database_url, options)
        rows = rows_for(options.shape)
        names = servers_for(rows, options.shape)
        running: dict[str, servers.Server] = {}
        accounts: Accounts | None = None
        migrate(env, workdir)
        if "hero" in names:
            running["hero"] = launch(stack, server_spec("hero", env, None, 1), workdir)
            accounts = create_accounts(running["hero"], options.users)
        log(f"seeding {options.shape.heroes:,} heroes")
        seed(database_url, options.shape.heroes, accounts.user_ids if accounts else [])
        for name in sorted(names - running.keys()):
            running[name] = launch(
                stack, server_spec(name, env, accounts, options.shape.workers), workdir
            )
        token_file = write_tokens(running["hero"], accounts, workdir) if accounts else None
        stage = Stage(running, token_file, options)
        check_rows(rows, stage)
        summaries = run_rounds(rows, stage)
        lines = [*heading(kind, options, argv), table(summaries), ""]
        if notes := targets(summaries):
            lines += ["Targets (informational, not asserted):", *notes]
        if 7 in options.shape.configs and "hero" in running:
            lines += measure_rss(stage)
        return "\n".join(lines) + "\n"


def csv_of(parse: Callable[[str], T]) -> Callable[[str], tuple[T, ...]]:
    return lambda text: tuple(parse(item.strip()) for item in text.split(",") if item.strip())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument(
        "--db",
        type=csv_of(str),
        default=("sqlite", "postgres"),
        help="sqlite,postgres (default both)",
    )
    p.add_argument(
        "--configs",
        type=csv_of(int),
        default=(1, 2, 3, 4, 5, 6, 7),
        help="issue 6 configurations to run (default 1,2,3,4,5,6,7)",
    )
    p.add_argument("--heroes", type=int, help="heroes to seed (default 100000, smoke 2000)")
    p.add_argument(
        "--users",
        type=int,
        help="users to create through POST /users (default 100, smoke 5)",
    )
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 5, smoke 1)")
    p.add_argument("--seconds", type=int, help="seconds per wrk run (default 10, smoke 1)")
    p.add_argument(
        "--warmup-seconds",
        type=int,
        help="unrecorded wrk run per configuration first (default 2, smoke 0)",
    )
    p.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--connections", type=int, help="wrk connections (default 64, smoke 8)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="also run the full chain on hero-api with N workers",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        help="also run the open and full-chain routes at this many connections (e.g. 256)",
    )
    p.add_argument(
        "--bcrypt-rounds",
        type=int,
        help="BCRYPT_ROUNDS for hero-api (default 12, smoke 4)",
    )
    p.add_argument(
        "--rss-factor",
        type=int,
        default=10,
        help="configuration 7 drives this many rounds' worth of load (default 10)",
    )
    p.add_argument(
        "--postgres-server",
        default="postgresql+psycopg://postgres@127.0.0.1:5432",
        help="loopback PostgreSQL server URL, without database",
    )
    p.add_argument(
        "--smoke",
        action="store_true",
        help="seconds-long run for CI: 1 round, 1 s runs, tiny data",
    )
    return p


def pick(value: int | None, smoke: bool, smoke_default: int, default: int) -> int:
    if value is not None:
        return value
    return smoke_default if smoke else default


def options_from(args: argparse.Namespace) -> Options:
    if urlsplit(args.postgres_server).hostname not in LOOPBACK_HOSTS:
        raise BenchError("--postgres-server must be on 127.0.0.1")
    unknown = set(args.configs) - set(range(1, 8))
    if unknown or set(args.db) - {"sqlite", "postgres"}:
        raise BenchError(f"unknown --configs {sorted(unknown)} or --db {args.db}")
    shape = Shape(
        configs=frozenset(args.configs),
        heroes=pick(args.heroes, args.smoke, 2_000, 100_000),
        connections=pick(args.connections, args.smoke, 8, 64),
        workers=args.workers,
        concurrency=args.concurrency,
    )
    return Options(
        databases=args.db,
        shape=shape,
        rounds=pick(args.rounds, args.smoke, 1, 5),
        seconds=pick(args.seconds, args.smoke, 1, 10),
        warmup_seconds=pick(args.warmup_seconds, args.smoke, 0, 2),
        threads=args.threads,
        users=pick(args.users, args.smoke, 5, 100),
        bcrypt_rounds=pick(args.bcrypt_rounds, args.smoke, 4, 12),
        rss_factor=args.rss_factor,
        postgres_server=args.postgres_server.rstrip("/"),
    )


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        wrk.require_wrk()
        options = options_from(parser().parse_args(argv))
        for kind in options.databases:
            print(bench_database(kind, options, argv), flush=True)
    except (BenchError, wrk.WrkError, servers.ServerError, client.ClientError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted, servers stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
