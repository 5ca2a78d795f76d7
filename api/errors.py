"""Every error a client can cause becomes a clear JSON 4xx; a database away becomes a 503."""

import logging
import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core import errors

logger = logging.getLogger("hero_api")

DATABASE_UNAVAILABLE = "Database unavailable; try again shortly"


def _json_safe(value: Any) -> Any:
    """What Python's JSON parser takes but JSON cannot give back (NaN, infinities, lone
    surrogates), as a validation error echoes it in `input`: rendering it would be a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape, safe to render whatever the client sent."""
    assert isinstance(exc, RequestValidationError)
    detail = _json_safe(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    headers: dict[str, str] = {}
    body: dict[str, object] = {"detail": exc.detail}
    if isinstance(exc, errors.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, errors.TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, errors.Forbidden) and exc.missing:
        headers["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{exc.missing}"'
    elif isinstance(exc, errors.InvalidScope):
        body = {
            "detail": "invalid_scope",
            "error": "invalid_scope",
            "error_description": exc.detail,
        }
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse(
        {"detail": DATABASE_UNAVAILABLE},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or isinstance(exc, OperationalError):
        return _database_unavailable(request, exc)
    return _unexpected(request, exc)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return JSONResponse({"detail": "Internal server error"}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(errors.DomainError, _domain_error)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
