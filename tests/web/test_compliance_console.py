"""The compliance console: role-scoped audit search, log verification, reports and the BOM."""

from __future__ import annotations

import json

from sqlalchemy import text

from marketplace.auditlog import services as audit_svc
from marketplace.kernel.db import get_session
from tests.auditlog.helpers import purchase, unlock
from tests.factories import make_user
from tests.web.helpers import sign_in


def test_org_auditor_searches_own_events_verifies_and_downloads_the_bom(app, client):
    vendor, buyer, gid = purchase(client)
    other_vendor, other_buyer, _ = purchase(client)
    audit_svc.seal(grace_seconds=0)
    sign_in(client, buyer.auditor)
    page = client.get("/compliance/").get_data(as_text=True)
    assert "order.create" in page and "delivery.authorize" in page
    assert other_buyer.org.name not in page  # another tenant's events stay out
    filtered = client.get("/compliance/?action=delivery.authorize").get_data(as_text=True)
    assert "delivery.authorize" in filtered and "<code>order.create</code>" not in filtered
    bad = client.get("/compliance/?since=yesterday")
    assert bad.status_code == 200 and "A date such as" in bad.get_data(as_text=True)
    token = sign_in(client, buyer.auditor)
    r = client.post("/compliance/verify", data={"csrf_token": token, "org": str(buyer.org.id)})
    assert r.status_code == 200 and "Verified:" in r.get_data(as_text=True)
    # The newest checkpoint, as witnessed in the object store, is shown to be copied elsewhere,
    # with the key id to pin.
    html = r.get_data(as_text=True)
    witnessed = json.loads(html.split('id="witnessed-checkpoint" aria-labelledby="checkpoint-h">')[1].split("</pre>")[0].replace("&#34;", '"'))
    assert witnessed["block_hash"] == audit_svc.latest_checkpoint()["block_hash"] and witnessed["tree_root"]
    assert audit_svc.key_id_of_platform() in html
    assert "<code>order.create</code>" in r.get_data(as_text=True)  # the latest events stay in view
    r = client.post("/compliance/verify", data={"csrf_token": token, "org": str(other_buyer.org.id)})
    assert r.status_code == 404
    bom = client.get(f"/compliance/bom.cdx.json?org={buyer.org.id}")
    assert bom.headers["Content-Type"].startswith("application/vnd.cyclonedx+json") and "attachment" in bom.headers["Content-Disposition"]
    assert json.loads(bom.data)["bomFormat"] == "CycloneDX" and len(json.loads(bom.data)["components"]) == 1
    spdx = client.get(f"/compliance/bom.spdx.json?org={buyer.org.id}")
    assert spdx.status_code == 200 and "spdx" in spdx.get_data(as_text=True).lower()
    report_link = client.get("/compliance/").get_data(as_text=True).split('href="/compliance/reports/')[1].split('"')[0]
    report = client.get(f"/compliance/reports/{report_link}")
    assert report.status_code == 200 and "Provenance report" in report.get_data(as_text=True)


def test_members_do_not_read_the_audit_log(app, client):
    _vendor, buyer, _ = purchase(client)
    sign_in(client, buyer.member)
    r = client.get("/compliance/", headers={"Accept": "text/html"})
    assert r.status_code == 403 and "owner, admin or auditor" in r.get_data(as_text=True)


def test_platform_compliance_sees_a_tampered_event_named(app, client, backend):
    purchase(client)
    audit_svc.seal(grace_seconds=0)
    officer = make_user(platform_compliance=True)
    token = sign_in(client, officer)
    assert "Verified:" in client.post("/compliance/verify", data={"csrf_token": token}).get_data(as_text=True)
    unlock(backend)
    victim = get_session().execute(text("SELECT id FROM audit_events WHERE action = 'order.create' ORDER BY id DESC LIMIT 1")).scalar()
    get_session().execute(text("UPDATE audit_events SET outcome = 'denied' WHERE id = :id"), {"id": victim})
    page = client.post("/compliance/verify", data={"csrf_token": token}).get_data(as_text=True)
    assert "Verification FAILED" in page and f"at event {victim}" in page
