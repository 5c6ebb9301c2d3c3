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


def test_the_console_reads_like_an_auditors_tool(app, client):
    """What a new user met: exact action names to type, a reversed date range that silently found
    nothing, subjects as truncated ids, a report without the collection facts, raw timestamps or
    navigation, no exports linked from the dataset page, and models without their documents."""
    vendor, buyer, gid = purchase(client)
    from tests.factories import bearer

    m = client.post(f"/api/v1/orgs/{buyer.org.id}/models", json={"name": "Console-Model", "version": "1", "provider": "Buyer AG"}, headers=bearer(buyer.keys["owner"]))
    assert m.status_code == 201
    sign_in(client, buyer.auditor)
    page = client.get("/compliance/").get_data(as_text=True)
    # the action filter is a picker of every action the log can hold
    assert "<select id=\"action\" name=\"action\"" in page and ">delivery.authorize</option>" in page and ">model.create</option>" in page
    # subjects by name, and the table scrolls inside its card
    assert 'class="table-scroll"' in page and "grant for " in page
    # a reversed range is an error that says so, not an empty result
    reversed_ = client.get("/compliance/?since=2026-11-20&until=2026-11-01").get_data(as_text=True)
    assert "must be later than" in reversed_ and 'id="filter-error"' in reversed_ and "No events match" in reversed_
    assert "Choose an action from the list" in client.get("/compliance/?action=order.creat").get_data(as_text=True)
    # the model and its documents
    assert "Console-Model 1" in page and "eu-training-summary?format=html" in page and "cn-filing-evidence?format=html&amp;lang=zh" in page
    html = client.get(f"/api/v1/models/{m.json['id']}/eu-training-summary?format=html").get_data(as_text=True)
    assert "1 General information" in html
    # the report: collection facts, readable times, a table of contents and the exports
    vid = page.split('href="/compliance/reports/')[1].split('"')[0]
    report = client.get(f"/compliance/reports/{vid}").get_data(as_text=True)
    assert 'id="collection"' in report and "Lawful basis" in report and 'href="#findings"' in report and f"/api/v1/versions/{vid}/croissant" in report
    import re

    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{3}", report)  # no microseconds
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", report)
    # the dataset page links every export; NOTICE says its charset once
    ds_id = client.get(f"/api/v1/grants/{gid}", headers=bearer(buyer.keys["owner"])).json["dataset_id"]
    ds_page = client.get(f"/datasets/{ds_id}").get_data(as_text=True)
    for export in ("croissant", "spdx", "prov", "notice"):
        assert f"/api/v1/versions/{vid}/{export}" in ds_page, export
    notice = client.get(f"/api/v1/versions/{vid}/notice")
    assert notice.headers["Content-Type"] == "text/plain; charset=utf-8"
