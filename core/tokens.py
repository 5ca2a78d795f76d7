"""JWT access and refresh tokens, signed and checked with python-jose."""

import hashlib
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

from jose import JWTError, jwt
from sqlalchemy.engine import make_url

from core.config import MIN_SECRET_KEY_BYTES, Settings, get_settings
from core.errors import ConfigurationError
from models.common import INT32_MAX, utcnow

TokenType = Literal["access", "refresh"]
REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti", "scope", "type", "iss", "aud", "sid")
JOSE_OPTIONS = {
    "require_exp": True,
    "require_iat": True,
    "require_jti": True,
    "require_sub": True,
    "require_iss": True,
    "require_aud": True,
    "leeway": 0,
}
VERIFIED_CACHE_SIZE = 4096


logger = logging.getLogger("hero_api")


class InvalidToken(Exception):
    """The token cannot be trusted; the reason is for the logs, never for the client."""


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: int
    session_id: str
    jti: str
    scope: str
    token_type: TokenType
    issued_at: datetime
    expires_at: datetime


def secret_key_path(settings: Settings) -> Path:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(db.name + ".secret_key")
    return Path(".hero-api.secret_key")


def resolve_secret_key(settings: Settings) -> str:
    """The signing key: SECRET_KEY, or in development a random one kept beside the database."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if settings.is_production and len(key.encode()) < MIN_SECRET_KEY_BYTES:
            raise ConfigurationError(
                f"SECRET_KEY is shorter than {MIN_SECRET_KEY_BYTES} bytes; "
                'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return key
    if settings.is_production:
        raise ConfigurationError(
            "SECRET_KEY is not set and ENVIRONMENT=production; set a random key of at least "
            f'{MIN_SECRET_KEY_BYTES} bytes (python -c "import secrets; '
            'print(secrets.token_urlsafe(48))")'
        )
    return _development_key(secret_key_path(settings))


def _development_key(path: Path) -> str:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    logger.warning(
        "SECRET_KEY is not set: created a development key in %s (mode 0600). "
        "Set SECRET_KEY before running in production.",
        path,
    )
    return key


@lru_cache
def signing_key() -> str:
    return resolve_secret_key(get_settings())


def new_id() -> str:
    return uuid4().hex


def fingerprint(jti: str) -> str:
    return hashlib.sha256(jti.encode()).hexdigest()


def encode(
    *, user_id: int, session_id: str, scope: str, token_type: TokenType, lifetime: timedelta
) -> tuple[str, str]:
    """A signed token and its jti."""
    settings = get_settings()
    now = utcnow()
    jti = new_id()
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "sid": session_id,
        "jti": jti,
        "scope": scope,
        "type": token_type,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, signing_key(), algorithm=settings.jwt_algorithm), jti


def decode(token: str, expected_type: TokenType) -> Claims:
    """The verified claims of a token of the expected type, still unexpired now."""
    settings = get_settings()
    claims = _verify(
        token,
        expected_type,
        signing_key(),
        settings.jwt_algorithm,
        settings.jwt_audience,
        settings.jwt_issuer,
    )
    if claims.expires_at <= utcnow():
        raise InvalidToken("expired")
    return claims


@lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _verify(
    token: str, expected_type: TokenType, key: str, algorithm: str, audience: str, issuer: str
) -> Claims:
    """Signature and claims checks, remembered per token string: a client sends the same
    token with every request, and python-jose takes longer than the whole database lookup.
    Only the expiry depends on the clock, and decode() checks it on every use; revocation is
    the database's job (the session row), never this cache's. Failures are not cached."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            options=JOSE_OPTIONS,
        )
    except JWTError as exc:
        raise InvalidToken(str(exc)) from exc
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in payload]
    if missing:
        raise InvalidToken(f"missing claims: {missing}")
    if payload["type"] != expected_type:
        raise InvalidToken(f"a {payload['type']!r} token where {expected_type!r} was expected")
    sub, sid, jti, scope, iat = (payload[c] for c in ("sub", "sid", "jti", "scope", "iat"))
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and len(sub) <= 10):
        raise InvalidToken("malformed sub")
    if int(sub) > INT32_MAX or not all(isinstance(v, str) for v in (sid, jti, scope)):
        raise InvalidToken("malformed claims")
    try:
        issued_at = datetime.fromtimestamp(int(iat), tz=UTC)
        expires_at = datetime.fromtimestamp(int(payload["exp"]), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidToken("malformed times") from None
    return Claims(
        user_id=int(sub),
        session_id=sid,
        jti=jti,
        scope=scope,
        token_type=payload["type"],
        issued_at=issued_at,
        expires_at=expires_at,
    )
