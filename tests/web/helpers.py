"""Helpers for page tests: read a form's CSRF token, sign a user in through the login form."""

from __future__ import annotations

import re

from tests.factories import PASSWORD


def csrf_from(html: str) -> str:
    m = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, "page has no CSRF token"
    return m.group(1)


def sign_in(client, user) -> str:
    """Sign in through the form; returns a CSRF token of the new session."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"csrf_token": token, "email": user.email, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return csrf_from(client.get("/dashboard").get_data(as_text=True))
