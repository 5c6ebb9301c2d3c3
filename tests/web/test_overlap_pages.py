"""Overlap in the browser: the vendor sees its findings and appeals a held version; platform
compliance decides on the overlap page; other people get 404."""

from __future__ import annotations

from tests.catalog.helpers import corpus, create_dataset, create_version, jsonl, launder, publish_with, published_dataset, set_overlap_threshold
from tests.factories import make_tenant, make_user
from tests.web.helpers import sign_in


def test_a_held_version_is_appealed_and_allowed_through_the_pages(app, client, monkeypatch):
    set_overlap_threshold(app, monkeypatch, 0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(60, 21)
    ds_a, _ = published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)}, title="Oncology notes")
    _, v = publish_with(client, b.keys["owner"], {"copy.jsonl": jsonl(launder(records, 0.1, 22))})
    assert v["status"] == "draft"
    token = sign_in(client, b.member)
    page = client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    assert "Publishing is held." in page and "Oncology notes" in page and 'id="overlap-findings"' in page
    r = client.post(f"/vendor/versions/{v['id']}/overlap/appeal", data={"csrf_token": token, "reason": "Licensed from the vendor, contract 44."})
    assert r.status_code == 302
    assert "Licensed from the vendor, contract 44." in client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    # Another vendor's member cannot see or appeal it.
    other = make_tenant(vendor=True)
    token_c = sign_in(client, other.owner)
    assert client.get(f"/vendor/versions/{v['id']}").status_code == 404
    assert client.post(f"/vendor/versions/{v['id']}/overlap/appeal", data={"csrf_token": token_c, "reason": "x"}).status_code == 404
    assert client.get("/compliance/overlaps").status_code == 404
    officer = make_user(platform_compliance=True)
    token = sign_in(client, officer)
    held = client.get("/compliance/overlaps").get_data(as_text=True)
    assert 'id="held"' in held and "contract 44" in held
    found = client.get(f"/compliance/overlaps?dataset={ds_a['id']}").get_data(as_text=True)
    assert "its records are in" in found and "100 %" in found
    assert "No dataset has that id." in client.get("/compliance/overlaps?dataset=nonsense").get_data(as_text=True)
    r = client.post(f"/compliance/overlaps/{v['id']}", data={"csrf_token": token, "allow": "1", "note": "Contract checked."})
    assert r.status_code == 302
    assert "No version is held." in client.get("/compliance/overlaps").get_data(as_text=True)
    token = sign_in(client, b.owner)
    r = client.post(f"/vendor/versions/{v['id']}/publish", data={"csrf_token": token})
    assert r.status_code == 302
    page = client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    assert "Platform compliance allowed these files to publish: Contract checked." in page and "status-published" in page


def test_the_vendor_sets_text_fields_in_the_wizard(app, client):
    t = make_tenant(vendor=True)
    ds = create_dataset(client, t.keys["owner"])
    v = create_version(client, t.keys["owner"], ds["id"])
    token = sign_in(client, t.owner)
    r = client.post(f"/vendor/versions/{v['id']}/overlap/fields", data={"csrf_token": token, "fields": "question, answer"})
    assert r.status_code == 302
    page = client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    assert 'value="question, answer"' in page and "Fields saved: question, answer." in page
    client.post(f"/vendor/versions/{v['id']}/overlap/fields", data={"csrf_token": token, "fields": "a\u202eb"})
    assert "Fields:" in client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
