"""One entitlement decision for every delivery channel: the same matrix of situations runs
through downloads and record streams, and each channel must answer alike and charge nothing
when refused. (The record stream once kept serving and charging after a licence term ended,
while downloads refused.) New channels (Delta Sharing, fingerprinted copies) join CHANNELS."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.commerce.models import Grant
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session, unit_of_work
from tests.factories import LicenseFactory, OfferFactory, bearer, make_key, make_tenant_rows, paid_grant, published_version

DATA = b"".join(b'{"i": %d}\n' % i for i in range(10))
TERMS = {"commercial_use": "allowed", "ai_training": "allowed", "redistribution": "allowed", "term_months": 12}


def _download(client, key, gid):
    return client.post(f"/api/v1/grants/{gid}/downloads", json={}, headers=bearer(key))


def _records(client, key, gid):
    return client.get(f"/api/v1/grants/{gid}/records?path=d.jsonl&limit=5", headers=bearer(key))


CHANNELS = {"download": (_download, "delivery.authorize"), "records": (_records, "delivery.records")}


def _set(gid: str, **values) -> None:
    with unit_of_work():
        g = get_session().get(Grant, uuid.UUID(gid))
        for k, v in values.items():
            setattr(g, k, v(g) if callable(v) else v)


def _situations():
    """(name, how to bring it about, expected status, who calls)."""
    return [
        ("active", lambda ctx: None, 200, "member"),
        ("grant term ended", lambda ctx: _set(ctx["gid"], expires_at=lambda g: g.starts_at - timedelta(seconds=1)), 403, "member"),
        ("licence term ended", lambda ctx: _set(ctx["gid"], starts_at=lambda g: g.starts_at - timedelta(days=400)), 403, "member"),
        ("refunded", lambda ctx: _set(ctx["gid"], status="revoked"), 403, "member"),
        ("disputed", lambda ctx: _set(ctx["gid"], status="suspended"), 403, "member"),
        ("version withdrawn", lambda ctx: ctx["client"].post(f"/api/v1/versions/{ctx['version_id']}/withdraw", json={"reason": "consent withdrawn"},
                                                             headers=bearer(ctx["vendor"].keys["owner"])), 410, "member"),
        ("quota exhausted", lambda ctx: _set(ctx["gid"], balance=0), 402, "member"),
        ("auditor", lambda ctx: None, 403, "auditor"),
        ("vendor", lambda ctx: None, 403, "vendor"),
        ("another tenant", lambda ctx: None, 404, "stranger"),
        ("key without delivery scope", lambda ctx: None, 403, "no-scope"),
    ]


@pytest.mark.parametrize("situation", _situations(), ids=lambda s: s[0])
@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_every_channel_asks_the_same_decision(app, client, channel, situation):
    name, bring_about, expected, caller = situation
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    # A version sold under a one-year licence, bought: rows (publishing and buying have their own tests).
    lic = LicenseFactory(owner=vendor.org, name="One-year licence", text="Use for twelve months from purchase, then stop.", terms=TERMS)
    pub = published_version({"d.jsonl": DATA}, organization=vendor.org, license=lic)
    v = pub.version
    offer = OfferFactory(dataset=pub.dataset, license=lic, title="t", pricing_unit="records", unit_price_minor=1, currency="EUR", version_id=v.id)
    gid = str(paid_grant(offer, buyer.org, quantity=100).id)
    bring_about({"gid": gid, "client": client, "vendor": vendor, "version_id": v.id})
    key = {"member": buyer.keys["member"], "auditor": buyer.keys["auditor"], "vendor": vendor.keys["owner"], "stranger": make_tenant_rows().keys["owner"],
           "no-scope": make_key(buyer.member, buyer.org, scopes=["catalog:read", "commerce:read"])}[caller]
    get_session().expire_all()
    before = get_session().get(Grant, uuid.UUID(gid)).balance
    call, action = CHANNELS[channel]
    r = call(client, key, gid)
    assert r.status_code == expected, (channel, name, r.status_code, r.get_data(as_text=True)[:300])
    get_session().expire_all()
    after = get_session().get(Grant, uuid.UUID(gid)).balance
    if expected == 200:
        assert after < before  # served and charged
        return
    assert after == before  # refused: nothing charged
    assert r.headers["Content-Type"].startswith("application/problem+json")
    if expected in (403, 410):
        denied = get_session().scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == "denied",
                                                                AuditEvent.subject_id == gid)).all()
        assert denied, f"{channel}: the refusal ({name}) was not audited"
