"""Creating the same thing many times at once, on PostgreSQL: exactly one creation, and every
other caller a 409 problem (found from outside: 11 of 12 simultaneous registrations of one
address answered 500, as did simultaneous datasets with one slug)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from catalog.models import Dataset
from marketplace.identity.models import User
from marketplace.kernel.db import get_session
from tests.concurrency import race
from tests.factories import bearer, make_tenant

pytestmark = pytest.mark.postgres_only
N = 20


def _count(app, model, *where) -> int:
    with app.app_context():
        try:
            return get_session().scalar(select(func.count()).select_from(model).where(*where)) or 0
        finally:
            app.extensions["db"].remove()


def _outcome(res) -> list[int]:
    codes = sorted(r.status_code for r in res)
    assert all(c < 500 for c in codes), codes
    for r in res:
        if r.status_code == 409:
            assert r.headers["Content-Type"].startswith("application/problem+json") and r.json["status"] == 409
    return codes


def test_one_address_registered_by_twenty_at_once(session_app):
    email = f"race-{uuid.uuid4().hex[:8]}@example.test"
    res = race(session_app, N, lambda c, i: c.post("/api/v1/auth/register", json={"email": email, "password": "correct horse battery", "name": f"R{i}"}))
    codes = _outcome(res)
    assert codes.count(201) == 1 and codes.count(409) == N - 1, codes
    assert _count(session_app, User, User.email == email) == 1


def test_one_slug_listed_by_twenty_at_once(session_app):
    with session_app.app_context():
        try:
            vendor = make_tenant(vendor=True)
            key, org_id = vendor.keys["owner"], vendor.org.id
        finally:
            session_app.extensions["db"].remove()
    slug = f"race-{uuid.uuid4().hex[:8]}"
    body = {"slug": slug, "title": "Raced corpus", "domain": "healthcare", "visibility": "draft"}
    res = race(session_app, N, lambda c, i: c.post("/api/v1/datasets", json=body, headers=bearer(key)))
    codes = _outcome(res)
    assert codes.count(201) == 1 and codes.count(409) == N - 1, codes
    assert _count(session_app, Dataset, Dataset.organization_id == org_id, Dataset.slug == slug) == 1
