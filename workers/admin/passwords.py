"""Admin passwords: Argon2id hashes (argon2-cffi), checked in the same time whether the name exists or not."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@lru_cache(maxsize=1)
def _dummy() -> str:
    """Checked when the name is unknown, so that both cases cost one Argon2 verification."""
    return _hasher.hash("a password nobody has")


class WeakPassword(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when `password` matches; an unknown admin (None) costs the same time and fails."""
    try:
        return _hasher.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """The library's parameters moved on since this hash was made: store a fresh one."""
    return _hasher.check_needs_rehash(stored)
