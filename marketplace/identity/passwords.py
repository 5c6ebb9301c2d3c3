"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with argon2-cffi's defaults (t=3, m=64 MiB, p=4). The test suite lowers the cost with
# these variables (the algorithm stays argon2id; every hash records its own parameters, and
# needs_rehash upgrades old ones at the next login).
_hasher = PasswordHasher(
    time_cost=int(os.environ.get("MARKETPLACE_ARGON2_TIME_COST", "3")),
    memory_cost=int(os.environ.get("MARKETPLACE_ARGON2_MEMORY_KIB", str(64 * 1024))),
)
# Verified against when the e-mail is unknown, so that a miss costs as much as a hit and
# response times do not reveal which accounts exist.
_DUMMY = _hasher.hash("not-a-real-password-7f3c")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
