"""The ASGI application: `api.main:app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline

from api import errors, threads
from api.middleware import BodySizeLimit
from api.routers import audit, auth, health, heroes, permissions, teams, users
from core import db, startup
from core.config import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(startup.prepare, db.engine, get_settings())
    yield
    threads.shutdown()
    db.engine.dispose()


def create_app(*, prepare_on_start: bool = True) -> FastAPI:
    # FastAPI's /docs and /redoc load Swagger UI and ReDoc from a CDN, which a machine without
    # internet access (or a strict CSP) cannot reach; fastapi-offline serves them itself
    app = FastAPIOffline(
        title="hero-api",
        summary="Heroes and teams behind real authentication and authorization.",
        version="1.0.0",
        lifespan=lifespan if prepare_on_start else None,
    )
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_body_bytes)
    # the hot routes first: a request is matched against each route in turn
    for module in (heroes, teams, auth, users, permissions, audit, health):
        app.include_router(module.router)
    return app


app = create_app()
