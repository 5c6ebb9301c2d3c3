"""Small helpers every page module shares: the signed-in gate, the organisation the pages act for,
and turning a service's validation errors into form messages."""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, session, url_for
from werkzeug.wrappers import Response

from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import DomainError
from marketplace.kernel.principal import Principal
from marketplace.kernel.schemas import ascii_int


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Pages behind a login send anonymous visitors to the sign-in page and back again."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_principal().authenticated:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def active_org_id(p: Principal) -> uuid.UUID | None:
    """The organisation chosen in the header switcher, else the caller's first one."""
    chosen = session.get("org_id")
    if chosen:
        try:
            org = uuid.UUID(chosen)
        except ValueError:
            org = None
        if org in p.memberships:
            return org
    return next(iter(p.memberships), None)


def caller_and_org() -> tuple[Principal, uuid.UUID]:
    """The signed-in caller and their active organisation (404 without one)."""
    p = current_principal()
    org = active_org_id(p)
    if org is None:
        abort(404)
    return p, org


def act_and_return(act: Callable[[], Any], done: str, to: str) -> Response:
    """A change made from a page: the service call, "done" or its refusal shown at the top of
    the page, and back to `to`."""
    try:
        act()
        flash(done, "ok")
    except DomainError as e:
        flash_error(e)
    return redirect(to)


def flash_error(e: DomainError) -> dict[str, Any]:
    """Show a service's refusal at the top of the page; return its field errors, flattened to
    'field.sub' keys, for inline messages."""
    flash(e.detail or e.title, "error")
    return flatten_errors(e.errors or {})


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(errors, dict):
        for k, v in errors.items():
            out.update(flatten_errors(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(errors, list) and all(isinstance(x, str) for x in errors):
        out[prefix] = " ".join(errors)
    elif isinstance(errors, list):
        for i, v in enumerate(errors):
            out.update(flatten_errors(v, f"{prefix}.{i}"))
    else:
        out[prefix] = str(errors)
    return out


def form_int(name: str, default: int | None = None) -> int | None:
    """An integer form field; None (or the default) when absent, ValueError text when not a number."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    return ascii_int(raw)


_SAFE_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*")


def local_path(target: str | None, default: str) -> str:
    """Where to go after signing in: only a path on this site. Browsers drop tabs and newlines
    from URLs and treat a backslash as a slash, so a slash, a tab and "/evil.example" (or a slash
    and a backslash) would leave the site; anything but plain URL characters after one leading
    slash is refused."""
    if target and _SAFE_PATH.fullmatch(target) and not urlsplit(target).netloc:
        return target
    return default
