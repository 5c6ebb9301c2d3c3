"""Who is calling: the request's API key or browser session, resolved once per request into a
:class:`Principal` that views hand to services (services never read the request)."""

from __future__ import annotations

import uuid

from flask import g, request, session

from marketplace.identity import services
from marketplace.kernel.errors import Unauthenticated
from marketplace.kernel.principal import Principal


def current_principal() -> Principal:
    """The caller of the current request, resolved once (API key first, then browser session)."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    base = Principal(request_id=g.get("request_id", "-"), ip=request.remote_addr)
    principal = base
    auth = request.headers.get("Authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Use 'Authorization: Bearer <API key>'.")
        principal = services.authenticate_api_key(base, token.strip())
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
