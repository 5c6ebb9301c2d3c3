"""Overlap detection ([R2 6/11]): relisted and laundered data is found at ingest, named on the
version, held above the platform's threshold, appealed and decided; duplicates within a version
are counted; withdrawal takes a version's records out of the index. Over HTTP, on both backends.
"""

from __future__ import annotations

import json
import random
import uuid

import pytest
from sqlalchemy import func, select

from catalog.overlap.models import OverlapBand, OverlapRecord
from catalog.overlap.signing import jaccard, sign
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from marketplace.kernel.notify import NotificationEvent
from tests.catalog.helpers import (
    WORDS,
    as_csv,
    corpus,
    create_dataset,
    create_version,
    ensure_licensed,
    jsonl,
    launder,
    officer_key,
    publish_with,
    published_dataset,
    set_overlap_threshold,
    upload_small,
)
from tests.factories import bearer, make_tenant


@pytest.fixture
def threshold(app, monkeypatch):
    """Set the platform's hold threshold for this test (the suite's default is the product's)."""
    return lambda share: set_overlap_threshold(app, monkeypatch, share)


def test_a_laundered_relisting_is_found_and_names_the_earlier_dataset(app, client, threshold):
    threshold(2.0)  # never hold: this test reads the findings
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(200, 1)
    ds_a, v_a = published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)}, title="Cardiology notes")
    laundered = launder(records, 0.10, 2)
    ds_b, v_b = publish_with(client, b.keys["owner"], {"part1.csv": as_csv(laundered[:120], {"text": "body", "zh": "中文"}),
                                                    "part2.jsonl": jsonl(laundered[120:]), "fresh.jsonl": jsonl(corpus(50, 3))})
    assert v_b["status"] == "published", v_b
    r = client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["member"]))
    assert r.status_code == 200, r.json
    rep = r.json
    assert rep["state"] == "clear" and rep["indexed"] and rep["records"] == 250
    [f] = rep["findings"]
    assert f["other_dataset_id"] == ds_a["id"] and f["other_dataset_title"] == "Cardiology notes" and f["same_vendor"] is False
    assert f["other_vendor"] == a.org.name and f["other_published_at"] == v_a["published_at"]
    # 180 exact (after normalisation), 20 edited near copies, 50 fresh records found nowhere.
    assert (f["exact"], f["near"]) == (180, 20)
    assert f["share"] == pytest.approx(200 / 250)
    assert f["other_matched"] == f["other_records"] == 200 and f["other_share"] == 1.0
    assert f["files"] == {"part1.csv": 1.0, "part2.jsonl": 1.0}
    # The earlier publisher is told, with statistics only: an audit event on its version and a notification.
    ev = get_session().scalars(select(AuditEvent).where(AuditEvent.action == "version.overlap.found", AuditEvent.subject_id == str(v_a["id"]))).all()
    assert len(ev) == 1 and ev[0].subject_org_id == a.org.id and ev[0].details["matched"] == 200
    note = get_session().scalars(select(NotificationEvent).where(NotificationEvent.topic == "overlap.found", NotificationEvent.org_id == a.org.id)).one()
    assert note.data["matched_percent"] == "100.0" and str(ds_b["id"]) not in json.dumps(note.data) and "relisted" not in json.dumps(note.data)
    # Both sides see it on the dataset query: A learns the share, not who (B's dataset is not public unless listed).
    mine = client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps", headers=bearer(a.keys["auditor"])).json["overlaps"]
    assert [o["direction"] for o in mine] == ["other_holds_this"] and mine[0]["other_matched"] == 200
    officer = officer_key()
    both = client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps", headers=bearer(officer)).json["overlaps"]
    assert both[0]["counterpart_dataset_id"] == ds_b["id"] and both[0]["counterpart_org_id"] == str(b.org.id)


def test_the_threshold_holds_a_relisting_until_compliance_allows_it(app, client, threshold):
    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(120, 4)
    published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)})
    ds_b, v_b = publish_with(client, b.keys["owner"], {"copy.jsonl": jsonl(launder(records, 0.1, 5))})
    assert v_b["status"] == "draft" and "held" in v_b["status_reason"] and "100%" in v_b["status_reason"], v_b
    rep = client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json
    assert rep["state"] == "blocked" and rep["reason"] == v_b["status_reason"]
    # Held records are not in the index: a third vendor's copy is compared with A only.
    assert get_session().scalar(select(func.count()).select_from(OverlapRecord).where(OverlapRecord.version_id == uuid.UUID(v_b["id"]))) == 0
    # Appeal: the vendor's writers only; decision: platform compliance only.
    assert client.post(f"/api/v1/versions/{v_b['id']}/overlap/appeal", json={"reason": "x"}, headers=bearer(b.keys["auditor"])).status_code == 403
    assert client.post(f"/api/v1/versions/{v_b['id']}/overlap/appeal", json={"reason": "x"}, headers=bearer(a.keys["owner"])).status_code == 404
    r = client.post(f"/api/v1/versions/{v_b['id']}/overlap/appeal", json={"reason": "We licensed it from A: contract 2026-17."}, headers=bearer(b.keys["member"]))
    assert r.status_code == 200 and r.json["state"] == "appealed", r.json
    assert client.post(f"/api/v1/versions/{v_b['id']}/overlap/decision", json={"allow": True, "note": "ok"}, headers=bearer(b.keys["owner"])).status_code == 403
    officer = officer_key()
    r = client.post(f"/api/v1/versions/{v_b['id']}/overlap/decision", json={"allow": True, "note": "Contract seen."}, headers=bearer(officer))
    assert r.status_code == 200 and r.json["state"] == "overridden", r.json
    assert client.post(f"/api/v1/versions/{v_b['id']}/overlap/decision", json={"allow": True, "note": "again"}, headers=bearer(officer)).status_code == 409
    r = client.post(f"/api/v1/versions/{v_b['id']}/publish", headers=bearer(b.keys["owner"]))
    assert r.status_code == 202 and r.json["status"] == "published", r.json
    assert client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json["state"] == "overridden"
    actions = {e.action for e in get_session().scalars(select(AuditEvent).where(AuditEvent.subject_id == str(v_b["id"])))}
    assert {"version.overlap.block", "version.overlap.appeal", "version.overlap.decide", "version.publish"} <= actions


def test_an_override_is_for_the_files_it_was_given_for(app, client, threshold):
    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(60, 6)
    published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)})
    _, v_b = publish_with(client, b.keys["owner"], {"copy.jsonl": jsonl(records)})
    assert v_b["status"] == "draft"
    officer = officer_key()
    assert client.post(f"/api/v1/versions/{v_b['id']}/overlap/decision", json={"allow": True, "note": "ok"}, headers=bearer(officer)).status_code == 200
    # The vendor adds another copied file after the decision: held again.
    upload_small(client, b.keys["owner"], v_b["id"], "more.jsonl", jsonl(corpus(60, 6)[:30]))
    r = client.post(f"/api/v1/versions/{v_b['id']}/publish", headers=bearer(b.keys["owner"]))
    assert r.json["status"] == "draft" and client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json["state"] == "blocked"


def test_duplicates_within_a_version_are_a_quality_figure(app, client, threshold):
    threshold(2.0)
    t = make_tenant(vendor=True)
    base = corpus(100, 7)
    near = [dict(r, text=r["text"].replace(r["text"].split()[10], "changed", 1)) for r in base[:10]]
    exact = [dict(r, id="dup") for r in base[10:25]]
    _, v = publish_with(client, t.keys["owner"], {"a.jsonl": jsonl(base[:60]), "b.jsonl": jsonl(base[60:] + near + exact)})
    rep = client.get(f"/api/v1/versions/{v['id']}/overlap", headers=bearer(t.keys["owner"])).json
    assert (rep["records"], rep["duplicate_exact"], rep["duplicate_near"]) == (125, 15, 10)
    assert rep["duplicate_rate"] == pytest.approx(25 / 125) and rep["findings"] == []


def test_the_vendor_chooses_the_text_fields(app, client, threshold):
    threshold(2.0)
    t = make_tenant(vendor=True)
    # Every record repeats a long instruction; only the answers differ. Compared whole, the
    # instruction makes them near-duplicates of each other; compared on `answer`, none is.
    prompt = " ".join(WORDS + WORDS[::-1] + sorted(WORDS))
    rng = random.Random(11)
    records = [{"instruction": prompt, "answer": " ".join(rng.choice(WORDS) for _ in range(12))} for _ in range(40)]
    _, whole = publish_with(client, t.keys["owner"], {"sft.jsonl": jsonl(records)})
    rep = client.get(f"/api/v1/versions/{whole['id']}/overlap", headers=bearer(t.keys["owner"])).json
    assert rep["text_fields"] is None and rep["duplicate_near"] == 39
    _, chosen = publish_with(client, t.keys["owner"], {"sft.jsonl": jsonl(records)}, fields=["answer"])
    rep = client.get(f"/api/v1/versions/{chosen['id']}/overlap", headers=bearer(t.keys["owner"])).json
    assert rep["text_fields"] == ["answer"] and rep["duplicate_exact"] + rep["duplicate_near"] == 0
    # Compared on `answer` alone, the other dataset's whole records are not its records.
    assert rep["findings"] == []
    r = client.put(f"/api/v1/versions/{chosen['id']}/overlap/text-fields", json={"fields": None}, headers=bearer(t.keys["owner"]))
    assert r.status_code == 409  # published: its findings are for the fields it was checked with


def test_withdrawal_takes_a_version_out_of_the_index(app, client, threshold):
    threshold(2.0)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(40, 9)
    _, v_a = published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)})
    vid = uuid.UUID(v_a["id"])
    assert get_session().scalar(select(func.count()).select_from(OverlapBand).where(OverlapBand.version_id == vid)) == 40 * 12
    r = client.post(f"/api/v1/versions/{v_a['id']}/withdraw", json={"reason": "rights ended"}, headers=bearer(a.keys["owner"]))
    assert r.status_code == 200, r.json
    assert get_session().scalar(select(func.count()).select_from(OverlapRecord).where(OverlapRecord.version_id == vid)) == 0
    assert get_session().scalar(select(func.count()).select_from(OverlapBand).where(OverlapBand.version_id == vid)) == 0
    _, v_b = publish_with(client, b.keys["owner"], {"copy.jsonl": jsonl(records)})
    assert client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json["findings"] == []


def test_other_tenants_see_nothing(app, client, threshold):
    threshold(2.0)
    a, b, c = make_tenant(vendor=True), make_tenant(vendor=True), make_tenant()
    records = corpus(30, 10)
    ds_a, _ = published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)})
    ds_b, v_b = publish_with(client, b.keys["owner"], {"copy.jsonl": jsonl(records)}, visibility="draft")
    for key in (a.keys["owner"], c.keys["owner"]):
        assert client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(key)).status_code == 404
        assert client.put(f"/api/v1/versions/{v_b['id']}/overlap/text-fields", json={"fields": ["x"]}, headers=bearer(key)).status_code == 404
    assert client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps", headers=bearer(c.keys["owner"])).status_code == 404
    assert client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps").status_code == 404
    # A sees that its records are held elsewhere, but B's dataset is not public: not named.
    [o] = client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps", headers=bearer(a.keys["owner"])).json["overlaps"]
    assert o["counterpart_dataset_id"] is None and o["counterpart_dataset_title"] is None and o["other_matched"] == 30
    # B sees A named: A's dataset is public.
    [f] = client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json["findings"]
    assert f["other_dataset_id"] == ds_a["id"]


def test_hostile_records_are_signed_or_skipped_never_crash_ingest(app, client, threshold):
    threshold(2.0)
    t = make_tenant(vendor=True)
    deep = '{"a":' * 900 + '"deep words inside many levels"' + "}" * 900  # past Python's recursion limit for the walk, not for ingest
    lines = [json.dumps({"text": "a plain sentence of several words"}), deep, json.dumps({"n": 1e308, "text": ""}),
             json.dumps({"text": "一二三四五六七八九十" * 3}), json.dumps({"list": [["nested words in a list"] * 3]}), "", "  "]
    _, v = publish_with(client, t.keys["owner"], {"odd.jsonl": "\n".join(lines).encode() + b"\n", "odd.csv": b'a,b\n"x, y and z",\n"unclosed \r\n quote, still one field",2\n'})
    assert v["status"] == "published", (v["status_reason"], v.get("ingest_report"))
    rep = client.get(f"/api/v1/versions/{v['id']}/overlap", headers=bearer(t.keys["owner"])).json
    assert rep["files"]["odd.jsonl"] == {"records": 5, "signed": 4} and rep["files"]["odd.csv"] == {"records": 2, "signed": 2}


@pytest.mark.parametrize("body,field", [({"fields": []}, "fields"), ({"fields": ["a"] * 65}, "fields"), ({"fields": ["\u202e"]}, "fields"), ({"fields": "text"}, "fields"),
                                        ({"fields": ["a"], "extra": 1}, "extra")])
def test_bad_text_fields_are_refused_by_name(app, client, body, field):
    t = make_tenant(vendor=True)
    v = create_version(client, t.keys["owner"], create_dataset(client, t.keys["owner"])["id"])
    r = client.put(f"/api/v1/versions/{v['id']}/overlap/text-fields", json=body, headers=bearer(t.keys["owner"]))
    assert r.status_code in (400, 422) and r.headers["Content-Type"].startswith("application/problem+json"), r.json
    assert field in json.dumps(r.json)


def test_signing_undoes_a_launderers_cosmetic_edits():
    base = sign([["The patient reports chest pain, radiating to the left arm.", "胸痛向左臂放射"]])
    for values in (["胸痛向左臂放射", "the PATIENT reports   chest pain radiating to the left arm"],  # column order, case, punctuation, spaces
                   ["Ｔｈｅ patient reports chest pain radiating to the left arm.", "胸痛向左臂放射"]):  # fullwidth forms (NFKC)
        other = sign([values])
        assert other.exact[0] == base.exact[0] and (other.bands[0] == base.bands[0]).all()
    edited = sign([["The patient reports chest pain, radiating to the right arm.", "胸痛向左臂放射"]])
    assert edited.exact[0] != base.exact[0]
    # A lone surrogate (valid in JSON text, not in UTF-8) is signed, not a crash.
    odd = sign([["lone \ud800 surrogate in a sentence"], [], ["x"]])
    assert list(odd.has_text) == [True, False, True]
    assert jaccard(["a b c d e"], ["a b c d f"]) == pytest.approx(2 / 4)


def _publish_licensed(client, key: str, files: dict[str, bytes], license: str, **over) -> tuple[dict, dict]:
    ds = create_dataset(client, key, **over)
    v = create_version(client, key, ds["id"])
    for path, data in files.items():
        upload_small(client, key, v["id"], path, data)
    ensure_licensed(client, key, v["id"], license)
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    assert r.json["status"] == "published", r.json
    return ds, r.json


def test_undeclared_overlap_with_a_non_commercial_dataset_blocks_a_commercial_offer(app, client, threshold):
    threshold(2.0)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(80, 12)
    _, v_a = _publish_licensed(client, a.keys["owner"], {"notes.jsonl": jsonl(records)}, "CC-BY-NC-4.0")
    # B mixes half of A's records into its own and declares only first-hand collection.
    ds_b, v_b = _publish_licensed(client, b.keys["owner"], {"mine.jsonl": jsonl(records[:40] + corpus(40, 13))}, "CC-BY-4.0")
    compat = client.get(f"/api/v1/versions/{v_b['id']}/compatibility", headers=bearer(b.keys["owner"])).json
    [finding] = [f for f in compat["findings"] if f["code"] == "undeclared-overlap"]
    assert "50%" in finding["message"], finding
    offer = {"title": "Commercial", "license": "CC-BY-4.0", "pricing_unit": "records", "unit_price_minor": 2, "currency": "EUR", "included_quota": 0, "min_quantity": 1}
    r = client.post(f"/api/v1/datasets/{ds_b['id']}/offers", json=offer, headers=bearer(b.keys["owner"]))
    assert r.status_code in (409, 422) and "non-commercial" in json.dumps(r.json).lower(), r.json
    # The lineage graph draws the evidence as an edge.
    assert {"from": v_b["id"], "to": v_a["id"], "relation": "overlap"} in compat["lineage"]["edges"]
    assert compat["use_class"] == "non-commercial"


def test_the_duplicate_rate_is_on_the_dataset_page_and_in_croissant_and_the_report(app, client, threshold):
    threshold(2.0)
    t = make_tenant(vendor=True)
    base = corpus(30, 14)
    ds, v = publish_with(client, t.keys["owner"], {"a.jsonl": jsonl(base + base[:10])})
    page = client.get(f"/datasets/{ds['id']}").get_data(as_text=True)
    assert "Duplicates within this version" in page and "25.0 %" in page and "10 exact" in page
    cr = client.get(f"/api/v1/versions/{v['id']}/croissant").json
    assert any("10 exact and 0 near" in x and "25.0%" in x for x in cr["rai:dataLimitations"]), cr["rai:dataLimitations"]
    report = client.get(f"/api/v1/versions/{v['id']}/report", headers=bearer(t.keys["owner"])).json
    assert report["quality"]["duplicates"] == {"records": 40, "exact": 10, "near": 0, "rate": 0.25}
    html = client.get(f"/api/v1/versions/{v['id']}/report?format=html", headers=bearer(t.keys["owner"])).get_data(as_text=True)
    assert "Duplicates (measured at ingest)" in html


def test_a_parquet_corpus_with_nested_turns_is_compared_and_checked_exactly(app, client, threshold, monkeypatch):
    import io as _io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from catalog.overlap.records import Fetcher

    threshold(2.0)
    read_back: list[int] = []
    original = Fetcher.values
    monkeypatch.setattr(Fetcher, "values", lambda self, where: read_back.append(len(where)) or original(self, where))
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(60, 15)
    table = pa.table({"id": [r["id"] for r in records],
                      "turns": [[{"role": "patient", "content": r["text"]}, {"role": "doctor", "content": r["zh"]}] for r in records]})
    buf = _io.BytesIO()
    pq.write_table(table, buf, row_group_size=25)  # three row groups: the exact check reads rows from each
    ds_a, _ = published_dataset(client, a.keys["owner"], {"dialogues.parquet": buf.getvalue()})
    # B flattens the turns into two columns and edits two words of a third of the records: Jaccard
    # about 0.83, inside the band where the estimate alone could be wrong, so rows are read back.
    laundered = launder(records, 1 / 3, 16)
    _, v = publish_with(client, b.keys["owner"], {"flat.jsonl": jsonl([{"q": r["text"], "a": r["zh"]} for r in laundered])})
    [f] = client.get(f"/api/v1/versions/{v['id']}/overlap", headers=bearer(b.keys["owner"])).json["findings"]
    assert f["other_dataset_id"] == ds_a["id"] and (f["exact"], f["near"]) == (40, 20) and f["other_matched"] == 60
    assert sum(read_back) >= 10  # the edited records were decided on their shingle sets, read back from A's Parquet rows


# --------------------------------------------------------------------------- adversarial
# (found by attacking the feature from outside: each test asserts the safe behaviour)


def test_a_held_draft_is_not_shown_to_the_earlier_publisher(app, client, threshold):
    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    recs = corpus(40, 101)
    ds_a, _ = published_dataset(client, a.keys["owner"], {"a.jsonl": jsonl(recs)})
    _, v_b = publish_with(client, b.keys["owner"], {"b.jsonl": jsonl(recs + corpus(7, 102))}, visibility="draft")
    assert v_b["status"] == "draft"  # held, never published
    assert client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps", headers=bearer(a.keys["auditor"])).json["overlaps"] == []
    staff = client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps", headers=bearer(officer_key())).json["overlaps"]
    assert len(staff) == 1 and staff[0]["counterpart_version_id"] == v_b["id"]


def test_the_hold_names_no_private_dataset_in_audit_events_or_reasons(app, client, threshold):
    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    recs = corpus(30, 103)
    _, v_a = published_dataset(client, a.keys["owner"], {"a.jsonl": jsonl(recs)}, visibility="draft", title="Secret acquisition")
    _, v_b = publish_with(client, b.keys["owner"], {"b.jsonl": jsonl(recs)})
    assert v_b["status"] == "draft" and "not public" in v_b["status_reason"] and "Secret" not in v_b["status_reason"]
    events = get_session().scalars(select(AuditEvent).where(AuditEvent.subject_id == v_b["id"])).all()
    assert events and v_a["id"] not in json.dumps([e.details for e in events])
    [f] = client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json["findings"]
    assert f["other_dataset_id"] is None and f["other_records"] is None and f["other_matched"] is None and f["share"] == 1.0


def test_an_unlisted_dataset_is_not_named(app, client, threshold):
    threshold(2.0)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    recs = corpus(30, 106)
    published_dataset(client, a.keys["owner"], {"a.jsonl": jsonl(recs)}, visibility="unlisted", title="Private link set")
    _, v_b = publish_with(client, b.keys["owner"], {"b.jsonl": jsonl(recs)})
    [f] = client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json["findings"]
    assert f["other_dataset_id"] is None and f["other_dataset_title"] is None  # its id is its private link


def test_a_private_dataset_is_never_lineage_and_cannot_poison_a_licence(app, client, threshold):
    threshold(0.5)
    a, b, c = make_tenant(vendor=True), make_tenant(vendor=True), make_tenant(vendor=True)
    public = corpus(200, 120)  # a public-domain corpus every vendor may use
    _publish_licensed(client, a.keys["owner"], {"a.jsonl": jsonl(public[:30])}, "CC-BY-NC-4.0", visibility="draft", slug="secret-target")
    ds_b, v_b = _publish_licensed(client, b.keys["owner"], {"b.jsonl": jsonl(public[30:40] + corpus(190, 121))}, "CC-BY-4.0")
    for headers in ({}, bearer(c.keys["owner"]), bearer(b.keys["owner"])):
        for url in (f"/api/v1/versions/{v_b['id']}/compatibility", f"/api/v1/versions/{v_b['id']}/notice"):
            assert "secret-target" not in client.get(url, headers=headers).get_data(as_text=True)
    offer = {"title": "Commercial", "license": "CC-BY-4.0", "pricing_unit": "records", "unit_price_minor": 2, "currency": "EUR", "included_quota": 0, "min_quantity": 1}
    assert client.post(f"/api/v1/datasets/{ds_b['id']}/offers", json=offer, headers=bearer(b.keys["owner"])).status_code == 201


@pytest.mark.parametrize("fields", [["id"], ["no_such_field"], ["label"]])
def test_text_fields_cannot_switch_detection_off(app, client, threshold, fields):
    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    recs = corpus(40, 107)
    published_dataset(client, a.keys["owner"], {"a.jsonl": jsonl(recs)})
    _, v_b = publish_with(client, b.keys["owner"], {"b.jsonl": jsonl(recs)}, fields=fields)
    assert v_b["status"] == "draft", v_b  # a verbatim copy is held whatever fields the vendor names


def _parquet(table) -> bytes:
    import io as _io

    import pyarrow.parquet as pq

    buf = _io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


@pytest.mark.parametrize("how", ["dictionary", "binary", "nbsp", "tab", "zero_width", "combining", "cjk_after_64"])
def test_cheap_laundering_is_caught(app, client, threshold, how):
    import pyarrow as pa

    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    recs = corpus(40, 108)
    published_dataset(client, a.keys["owner"], {"a.jsonl": jsonl(recs)})
    t = pa.table({"id": [r["id"] for r in recs], "text": [r["text"] for r in recs], "zh": [r["zh"] for r in recs]})
    files = {
        "dictionary": lambda: {"b.parquet": _parquet(pa.table({"text": t["text"].dictionary_encode(), "zh": t["zh"].dictionary_encode()}))},
        "binary": lambda: {"b.parquet": _parquet(t.cast(pa.schema([("id", pa.string()), ("text", pa.binary()), ("zh", pa.binary())])))},
        "nbsp": lambda: {"b.jsonl": jsonl([{"text": r["text"].replace(" ", "\u00a0"), "zh": r["zh"]} for r in recs])},
        "tab": lambda: {"b.jsonl": jsonl([{"text": r["text"].replace(" ", "\t"), "zh": r["zh"]} for r in recs])},
        "zero_width": lambda: {"b.jsonl": jsonl([dict(r, text=" ".join(w[:1] + "\u200b" + w[1:] for w in r["text"].split()), zh="\u200b".join(r["zh"]))
                                                 for r in recs])},
        "combining": lambda: {"b.jsonl": jsonl([dict(r, text=r["text"].replace("e", "e\u0301")) for r in recs])},
        "cjk_after_64": lambda: {"b.jsonl": jsonl([{"text": r["text"], "zh": "-" * 64 + r["zh"]} for r in recs])},
    }[how]()
    _, v_b = publish_with(client, b.keys["owner"], files)
    rep = client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json
    assert v_b["status"] == "draft", (how, rep["records"], rep["files"], rep["findings"])


def test_a_long_csv_field_after_the_sample_is_read(app, client, threshold):
    import csv as _csv
    import io as _io

    threshold(2.0)
    t = make_tenant(vendor=True)
    buf = _io.StringIO()
    w = _csv.writer(buf)
    w.writerow(["id", "text"])
    i = 0
    while buf.tell() < 4_300_000:  # past the sample ingest parses for the schema
        w.writerow([i, i * 7])
        i += 1
    w.writerow([i, "word " * 40_000])  # a 200 KB field: valid CSV, over the csv module's default limit
    _, v = publish_with(client, t.keys["owner"], {"long.csv": buf.getvalue().encode()})
    assert v["status"] == "published", (v["status"], v["status_reason"])


def test_a_failing_overlap_check_fails_the_version_with_a_reason_not_a_wedge(app, client, threshold, monkeypatch):
    from catalog.overlap import index as overlap_index

    threshold(2.0)
    t = make_tenant(vendor=True)

    def broken(*args, **kwargs):
        raise RuntimeError("a reader bug")
    monkeypatch.setattr(overlap_index, "index_version", broken)
    _, v = publish_with(client, t.keys["owner"], {"a.jsonl": jsonl(corpus(5, 150))})
    assert v["status"] == "draft" and "overlap check could not read the records (RuntimeError)" in v["status_reason"]
    monkeypatch.undo()
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(t.keys["owner"]))
    assert r.json["status"] == "published", r.json


def test_an_appeal_is_for_the_files_it_was_made_for(app, client, threshold):
    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    recs = corpus(40, 110)
    published_dataset(client, a.keys["owner"], {"a.jsonl": jsonl(recs)})
    _, v_b = publish_with(client, b.keys["owner"], {"b.jsonl": jsonl(recs[:20])})
    h = bearer(b.keys["owner"])
    assert client.post(f"/api/v1/versions/{v_b['id']}/overlap/appeal", json={"reason": "We licensed b.jsonl from A."}, headers=h).status_code == 200
    upload_small(client, b.keys["owner"], v_b["id"], "c.jsonl", jsonl(recs[20:]))
    assert client.post(f"/api/v1/versions/{v_b['id']}/publish", headers=h).json["status"] == "draft"
    assert client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=h).json["state"] == "blocked"
    blank = client.post(f"/api/v1/versions/{v_b['id']}/overlap/appeal", json={"reason": " \u200b "}, headers=h)
    assert blank.status_code == 400 and "reason" in json.dumps(blank.json)


def test_a_version_made_of_two_other_vendors_data_is_held(app, client, threshold):
    threshold(0.5)
    a, c, b = make_tenant(vendor=True), make_tenant(vendor=True), make_tenant(vendor=True)
    ra, rc = corpus(40, 140), corpus(40, 141)
    published_dataset(client, a.keys["owner"], {"a.jsonl": jsonl(ra)})
    published_dataset(client, c.keys["owner"], {"c.jsonl": jsonl(rc)})
    _, v_b = publish_with(client, b.keys["owner"], {"b.jsonl": jsonl(ra[:30] + rc[:30] + corpus(40, 142))})
    assert v_b["status"] == "draft" and "60%" in v_b["status_reason"] and "30%" in v_b["status_reason"], v_b["status_reason"]


def test_thousands_of_near_identical_records_stay_cheap(app, client, threshold):
    import time

    threshold(2.0)
    t = make_tenant(vendor=True)
    recs = [{"text": f"a short row of some words number {i}"} for i in range(4000)]  # each near many others
    start = time.perf_counter()
    _, v = publish_with(client, t.keys["owner"], {"x.jsonl": jsonl(recs)})
    assert v["status"] == "published"
    # Measured, not asserted as a time: the exact checks per record are capped (CHECKS).
    rep = client.get(f"/api/v1/versions/{v['id']}/overlap", headers=bearer(t.keys["owner"])).json
    assert rep["records"] == 4000 and rep["duplicate_exact"] == 0, rep
    print(f"4,000 near-identical records indexed in {time.perf_counter() - start:.1f} s")
