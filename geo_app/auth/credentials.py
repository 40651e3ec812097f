"""Password hashing (argon2id) and bearer-token secrets (random, stored as SHA-256).

A token carries 256 random bits, so a fast hash at rest is enough: nobody can guess a preimage, and
looking a token up stays one indexed equality. Passwords are low-entropy and get argon2id.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "gat_"


@cache
def _dummy_hash() -> str:
    """A hash to verify unknown users against; made on first use (a command line that checks no
    password does not pay for it)."""
    return _hasher.hash("timing equaliser for unknown users")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown user costs the same time as a wrong password."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()
