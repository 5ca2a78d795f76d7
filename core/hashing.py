"""Password hashing: bcrypt over HMAC-SHA256 (every character counts), bounded in concurrency."""

import threading
from functools import lru_cache

from passlib.context import CryptContext

from core.config import get_settings
from models.user import PASSWORD_MAX


@lru_cache
def _context() -> CryptContext:
    settings = get_settings()
    # bcrypt_sha256 pre-hashes, so passwords past bcrypt's 72 bytes are neither truncated nor
    # refused; plain "bcrypt" hashes still verify and are upgraded at the next login.
    return CryptContext(
        schemes=["bcrypt_sha256", "bcrypt"],
        deprecated=["bcrypt"],
        bcrypt_sha256__rounds=settings.bcrypt_rounds,
    )


@lru_cache
def _slots() -> threading.BoundedSemaphore:
    # bcrypt holds a core for ~0.3 s; a login storm must leave cores for everything else.
    return threading.BoundedSemaphore(get_settings().hash_concurrency)


@lru_cache
def _dummy_hash() -> str:
    hashed: str = _context().hash("hero-api: no such user")
    return hashed


def hash_password(password: str) -> str:
    with _slots():
        hashed: str = _context().hash(password)
        return hashed


def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one uses outdated settings). A missing hash, or a
    password no account can have, still costs one verification: it takes as long as a wrong
    password."""
    with _slots():
        if hashed is None or len(password) > PASSWORD_MAX:
            _context().verify(password[:PASSWORD_MAX], _dummy_hash())
            return False, None
        matches, new_hash = _context().verify_and_update(password, hashed)
        return bool(matches), new_hash
