"""Resolved API keys, kept per process for a few seconds, and the epoch that ends them at once.

Resolving a key costs a lookup of the key and its user, the user's memberships and, now and
then, a write of its last use: more than the rest of a bare request. Training clusters call
with the same key thousands of times a minute, so each process keeps what a key resolved to for
`MARKETPLACE_AUTH_CACHE_SECONDS` (default 5).

A cached key must never outlive a change that narrows it, on any worker. Every such change (a
key revoked, a membership added, changed or removed, a user disabled or given another platform
role) raises the one counter in `auth_epoch` in the transaction that makes it: the session hook
below sees it in the flush, so no service can forget. Each request compares the counter it reads
with the one the entry was resolved under; any difference drops the entry and resolves the key
again. The counter is read in the same statement that reads the key, so an entry can never
carry a counter newer than what it saw. A key's own expiry is checked from the entry itself.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Delete, Update, event, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from marketplace.identity.models import ApiKey, AuthEpoch, Membership, User
from marketplace.kernel.principal import Principal

EXTENSION = "identity.keycache"
# The user columns a principal is made of; other changes (a new password hash, a name) leave
# every cached key as it was.
_USER_FIELDS = ("is_active", "is_platform_admin", "is_platform_compliance", "email")
# An API key's last use is bookkeeping, not access.
_KEY_BOOKKEEPING = {"last_used_at"}

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


def _narrows_access(session: Session) -> bool:
    for obj in session.new:
        if isinstance(obj, Membership):
            return True
    for obj in session.deleted:
        if isinstance(obj, (Membership, ApiKey, User)):
            return True
    for obj in session.dirty:
        if isinstance(obj, Membership):
            return True
        if isinstance(obj, ApiKey):
            if _changed(obj) - _KEY_BOOKKEEPING:
                return True
        if isinstance(obj, User) and _changed(obj) & set(_USER_FIELDS):
            return True
    return False


def _changed(obj: Any) -> set[str]:
    return {a.key for a in inspect(obj).attrs if a.history.has_changes()}


def _bump(session: Session) -> None:
    # Core on the session's connection: no autoflush, so this is safe inside a flush.
    session.connection().execute(update(AuthEpoch).where(AuthEpoch.id == 1).values(value=AuthEpoch.value + 1))


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if _narrows_access(session):
        _bump(session)


def _bulk_statement(state: ORMExecuteState) -> None:
    # An UPDATE or DELETE statement on keys, memberships or users that bypasses the unit of
    # work's objects (session.execute(update(Membership)...)) counts as a change too.
    stmt = state.statement
    if isinstance(stmt, (Update, Delete)) and state.bind_mapper is not None and state.bind_mapper.class_ in (ApiKey, Membership, User):
        _bump(state.session)


def init_app(app: Flask) -> None:
    """Give the application its cache and make every narrowing change raise the epoch.

    The hooks listen on every Session, not on this application's session factory: whoever
    writes keys, memberships or users (a service, the CLI, a test's own session) raises the
    epoch of the database it writes to. Listening once is enough for every application."""
    app.extensions[EXTENSION] = KeyCache(app.config["SETTINGS"].auth_cache_seconds)
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _bulk_statement)
