"""Who is calling: the request's API key or browser session, resolved once per request into a
:class:`Principal` that views hand to services (services never read the request)."""

from __future__ import annotations

import uuid
from typing import Callable, TypeVar

from flask import g, request, session

from marketplace.identity import services
from marketplace.kernel.errors import Unauthenticated
from marketplace.kernel.principal import Principal, StaleCredentials

T = TypeVar("T")


def current_principal(*, defer_epoch: bool = False) -> Principal:
    """The caller of the current request, resolved once (API key first, then browser session).
    `defer_epoch`: see :func:`as_caller`."""
    cached = g.get("principal")
    if cached is not None and (cached.epoch_unconfirmed is None or defer_epoch):
        return cached
    base = Principal(request_id=g.get("request_id", "-"), ip=request.remote_addr)
    principal = base
    auth = request.headers.get("Authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Use 'Authorization: Bearer <API key>'.")
        principal = services.authenticate_api_key(base, token.strip(), defer_epoch=defer_epoch)
        g.auth_kind = "api_key"
    elif session.get("user_id"):
        try:
            uid = uuid.UUID(session["user_id"])
        except (ValueError, TypeError):
            uid = None
        sid = session.get("sid")
        loaded = services.load_session_principal(base, uid, sid) if uid and isinstance(sid, str) else None
        if loaded is None:
            session.clear()
        else:
            principal = loaded
            g.auth_kind = "session"
    g.principal = principal
    return principal


def as_caller(call: Callable[[Principal], T]) -> T:
    """Run a service call for the current caller, letting its first statement confirm a cached
    API key's auth epoch instead of a read of its own (the download path's round trip). When
    the epoch moved, the call raised `StaleCredentials` before writing anything: run it again
    with the key checked in full, so a revoked key gets its 401 and any other caller its answer."""
    try:
        return call(current_principal(defer_epoch=True))
    except StaleCredentials:
        g.pop("principal", None)
        return call(current_principal())
