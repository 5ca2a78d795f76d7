"""The error answers each route declares, so that the OpenAPI schema names every status a client
can get, with its body: FastAPI only documents success and its own 422 unless told."""

from typing import Any

from pydantic import BaseModel

Responses = dict[int | str, dict[str, Any]]


class ErrorMessage(BaseModel):
    """Every error but validation: one message, safe to show."""

    detail: str


class FieldError(BaseModel):
    """One entry of FastAPI's validation error list."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class InvalidInput(BaseModel):
    """FastAPI's field errors, or one message when the input is well formed but names
    something that does not exist (a team, a permission, a role)."""

    detail: list[FieldError] | str


class InvalidScopeError(BaseModel):
    """FastAPI's shape and OAuth2's at once."""

    detail: str
    error: str
    error_description: str


class HealthStatus(BaseModel):
    status: str
    database: str


_DESCRIPTIONS = {
    400: "Refused, or a body that cannot be parsed (not UTF-8, a broken form)",
    401: "Missing, invalid or ended bearer token",
    403: "Missing permission",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    429: "Too many failed logins; see Retry-After",
    503: "Database unavailable; see Retry-After",
}


def errors(*codes: int) -> Responses:
    """Error answers with the `{"detail": "..."}` body."""
    return {code: {"model": ErrorMessage, "description": _DESCRIPTIONS[code]} for code in codes}


NAMES_MISSING: Responses = {
    422: {"model": InvalidInput, "description": "Validation error, or unknown name"}
}
"""For routes whose input may name something that does not exist: a 422 with one message."""

AUTHENTICATED = errors(401, 503)
GUARDED = errors(401, 403, 503)
"""Routers whose routes all need a token; GUARDED when each also declares a permission."""
