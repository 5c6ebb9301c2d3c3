"""Resolved API keys, kept per process for a few seconds, and the epoch that ends them at once.

Resolving a key costs a lookup of the key and its user, the user's memberships and, now and
then, a write of its last use: more than the rest of a bare request. Training clusters call
with the same key thousands of times a minute, so each process keeps what a key resolved to for
`MARKETPLACE_AUTH_CACHE_SECONDS` (default 5).

A cached key must never outlive a change that narrows it, on any worker. Every such change (a
key revoked, a membership added, changed or removed, a user disabled or given another platform
role) raises the one counter in `auth_epoch` in the transaction that makes it. Triggers on the
tables do it (migration 0012), so no writer can forget: not a service, not a bulk or raw SQL
statement, not a cascade from a deleted organisation, not a fix typed into psql. Each request compares the counter it reads
with the one the entry was resolved under; any difference drops the entry and resolves the key
again. The counter is read in the same statement that reads the key, so an entry can never
carry a counter newer than what it saw. A key's own expiry is checked from the entry itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.identity.models import AuthEpoch
from marketplace.kernel.principal import Principal

EXTENSION = "identity.keycache"

EPOCH = select(AuthEpoch.value).where(AuthEpoch.id == 1).scalar_subquery()
_EPOCH_NOW = select(AuthEpoch.value).where(AuthEpoch.id == 1)


@dataclass(frozen=True)
class Entry:
    principal: Principal  # without the request's id and address
    epoch: int
    key_expires_at: datetime | None
    fresh_until: float  # time.monotonic()


class KeyCache:
    """Resolved keys by the SHA-256 of the whole bearer token (a wrong secret never hits)."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = 10_000):
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Entry | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.fresh_until <= time.monotonic():
            self._entries.pop(digest, None)
            return None
        return entry

    def put(self, digest: str, principal: Principal, *, epoch: int, key_expires_at: datetime | None) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                # Bounded: a flood of distinct keys empties the cache rather than the memory.
                self._entries.clear()
            self._entries[digest] = Entry(principal, epoch, key_expires_at, time.monotonic() + self.ttl)

    def drop(self, digest: str) -> None:
        self._entries.pop(digest, None)


def key_cache() -> KeyCache:
    """This application's cache of resolved API keys."""
    cache: KeyCache = current_app.extensions[EXTENSION]
    return cache


def current_epoch(session: Session) -> int:
    """The counter as this statement sees it (0 before any change)."""
    return session.connection().execute(_EPOCH_NOW).scalar() or 0


def init_app(app: Flask) -> None:
    """Give the application its cache of resolved keys."""
    app.extensions[EXTENSION] = KeyCache(app.config["SETTINGS"].auth_cache_seconds)
