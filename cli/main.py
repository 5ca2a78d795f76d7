"""`hero-api`: serve, migrate, and administer users, permissions and roles."""

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session

from core import bootstrap, grants, schema, startup, users
from core.config import get_settings
from core.errors import ConfigurationError, DomainError, Invalid, NotFound

app = typer.Typer(help="hero-api: heroes and teams behind real auth.", no_args_is_help=True)

EXIT_REFUSED = 1
EXIT_INVALID = 2


def fail(message: str, code: int) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def problems(exc: ValidationError, *, settings: bool = False) -> str:
    """What is wrong with each field, never the value given: it may be a password."""
    found = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        found.append(f"{field.upper() if settings else field}: {error['msg']}")
    return "; ".join(found)


def engine() -> Engine:
    """Imported on first use, not with this module: core.db builds its engine from the
    settings at import, and main() must check them first to answer with a message."""
    try:
        from core import db
    except ArgumentError as exc:
        raise ConfigurationError(f"DATABASE_URL: {exc}") from None
    return db.engine


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for one command, with the same domain errors turned into exit codes."""
    try:
        with Session(engine(), expire_on_commit=False) as session:
            yield session
    except Invalid as exc:
        fail(exc.detail, EXIT_INVALID)
    except NotFound as exc:
        fail(exc.detail, EXIT_REFUSED)
    except DomainError as exc:
        fail(exc.detail, EXIT_REFUSED)
    except ConfigurationError as exc:
        fail(str(exc), EXIT_INVALID)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    typer.echo(line.format(*headers).rstrip())
    typer.echo(line.format(*("-" * width for width in widths)).rstrip())
    for row in rows:
        typer.echo(line.format(*row).rstrip())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Prepare the database (migrations, first admin) once, then serve api.main:app."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s: %(message)s")
    try:
        database = engine()
        startup.prepare(database, settings)
        startup.check_connection_budget(database, settings, workers)
    except ConfigurationError as exc:
        fail(str(exc), EXIT_INVALID)
    database.dispose()  # the workers open their own connections
    uvicorn.run(
        "api.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        timeout_graceful_shutdown=20,
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Upgrade the database schema (also done by `serve` on every start)."""
    schema.migrate(engine(), revision)
    typer.echo(f"database at {revision}")


@app.command("create-admin")
def create_admin(
    username: str,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="HERO_ADMIN_PASSWORD"
        ),
    ],
) -> None:
    """Create a user holding the built-in admin role."""
    from models import UserCreate

    try:
        UserCreate(username=username, password=password)
    except ValidationError as exc:
        fail(problems(exc), EXIT_INVALID)
    with session_scope() as session:
        user = bootstrap.create_admin(session, username, password, actor_id=None)
        typer.echo(f"created admin {user.username!r} (id {user.id})")


@app.command("users")
def list_users() -> None:
    """List users with their roles and effective permissions."""
    with session_scope() as session:
        found, _ = users.list_public(session, offset=0, limit=10_000)
        print_table(
            ["id", "username", "active", "roles", "permissions"],
            [
                [
                    str(u.id),
                    u.username,
                    "yes" if u.is_active else "no",
                    ",".join(u.roles),
                    ",".join(u.permissions),
                ]
                for u in found
            ],
        )


def _on_user(action: Callable[[Session, int], None], user: str) -> None:
    with session_scope() as session:
        target = users.resolve_user(session, user)
        assert target.id is not None
        action(session, target.id)


@app.command()
def grant(user: str, permission: str) -> None:
    """Grant PERMISSION directly to USER (a username or an id)."""
    _on_user(lambda session, uid: grants.grant(session, uid, permission, actor_id=None), user)
    typer.echo(f"granted {permission} to {user}")


@app.command()
def revoke(user: str, permission: str) -> None:
    """Revoke a direct grant of PERMISSION from USER."""
    _on_user(lambda session, uid: grants.revoke(session, uid, permission, actor_id=None), user)
    typer.echo(f"revoked {permission} from {user}")


@app.command()
def unlock(user: str) -> None:
    """Clear USER's failed-login count, ending a lockout."""
    _on_user(lambda session, uid: users.unlock(session, uid, actor_id=None), user)
    typer.echo(f"unlocked {user}")


@app.command("roles")
def list_roles() -> None:
    """List roles and their permissions."""
    with session_scope() as session:
        print_table(
            ["name", "builtin", "permissions", "description"],
            [
                [r.name, "yes" if r.builtin else "no", ",".join(r.permissions), r.description]
                for r in grants.list_roles(session)
            ],
        )


def main() -> None:
    try:
        get_settings()
    except ValidationError as exc:
        message = f"error: invalid settings: {problems(exc, settings=True)}"
        typer.secho(message, err=True, fg=typer.colors.RED)
        sys.exit(EXIT_INVALID)
    try:
        app()
    except ConfigurationError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(EXIT_INVALID)
    except OperationalError as exc:
        typer.secho(f"error: database unavailable: {exc.orig}", err=True, fg=typer.colors.RED)
        sys.exit(EXIT_REFUSED)
