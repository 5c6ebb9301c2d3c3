"""Overlap detection ([R2 6/11]): relisted and laundered data is found at ingest, named on the
version, held above the platform's threshold, appealed and decided; duplicates within a version
are counted; withdrawal takes a version's records out of the index. Over HTTP, on both backends.
"""

from __future__ import annotations

import csv
import dataclasses
import io
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
from tests.catalog.helpers import create_dataset, create_version, ensure_licensed, published_dataset, upload_small
from tests.factories import bearer, make_key, make_org, make_tenant, make_user

WORDS = ("patient reports chest pain radiating left arm since morning doctor orders ecg troponin aspirin given history of hypertension "
         "diabetes smoker denies fever cough nausea vomiting shortness breath clinic follow week review results medication dose").split()
CJK = "患者主诉胸痛向左臂放射自今晨起医生安排心电图检查肌钙蛋白阿司匹林高血压糖尿病吸烟史否认发热咳嗽恶心呕吐气短门诊随访"


def corpus(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS) for _ in range(40))
        zh = "".join(rng.choice(CJK) for _ in range(30))
        out.append({"id": f"rec-{seed}-{i}", "text": text, "zh": zh, "label": rng.choice(["a", "b"])})
    return out


def jsonl(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


def as_csv(records: list[dict], rename: dict[str, str]) -> bytes:
    buf = io.StringIO()
    cols = ["zh", "text", "id"]  # reordered, renamed below
    w = csv.writer(buf)
    w.writerow([rename.get(c, c) for c in cols])
    for r in records:
        w.writerow([r[c] for c in cols])
    return buf.getvalue().encode()


def launder(records: list[dict], edited: float, seed: int) -> list[dict]:
    """Another vendor's relisting: new ids, shuffled, `edited` of the records lightly edited
    (two words changed), the rest with case and width changed (undone by normalisation)."""
    rng = random.Random(seed)
    out = []
    for i, r in enumerate(records):
        words = r["text"].split()
        if i < int(len(records) * edited):
            for k in (5, 25):
                words[k] = "edited"
            text = " ".join(words)
        else:
            text = r["text"].upper().replace("A", "Ａ")  # fullwidth A: NFKC folds it back
        out.append({"id": f"relisted-{i}", "text": text, "zh": r["zh"], "label": r["label"]})
    rng.shuffle(out)
    return out


@pytest.fixture
def threshold(app, monkeypatch):
    """Set the platform's hold threshold for this test (the suite's default is the product's)."""
    def set_(share: float) -> None:
        monkeypatch.setitem(app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], overlap_block_share=share))
    return set_


def _publish(client, key: str, files: dict[str, bytes], *, fields: list[str] | None = None, **over):
    ds = create_dataset(client, key, **over)
    v = create_version(client, key, ds["id"])
    for path, data in files.items():
        upload_small(client, key, v["id"], path, data)
    if fields is not None:
        r = client.put(f"/api/v1/versions/{v['id']}/overlap/text-fields", json={"fields": fields}, headers=bearer(key))
        assert r.status_code == 200, r.json
    ensure_licensed(client, key, v["id"])
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    assert r.status_code == 202, r.json
    return ds, r.json


def _officer_key():
    officer = make_user(platform_compliance=True)
    return make_key(officer, make_org(officer))


def test_a_laundered_relisting_is_found_and_names_the_earlier_dataset(app, client, threshold):
    threshold(2.0)  # never hold: this test reads the findings
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(200, 1)
    ds_a, v_a = published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)}, title="Cardiology notes")
    laundered = launder(records, 0.10, 2)
    ds_b, v_b = _publish(client, b.keys["owner"], {"part1.csv": as_csv(laundered[:120], {"text": "body", "zh": "中文"}),
                                                    "part2.jsonl": jsonl(laundered[120:]), "fresh.jsonl": jsonl(corpus(50, 3))})
    assert v_b["status"] == "published", v_b
    r = client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["member"]))
    assert r.status_code == 200, r.json
    rep = r.json
    assert rep["state"] == "clear" and rep["indexed"] and rep["records"] == 250
    [f] = rep["findings"]
    assert f["other_dataset_id"] == ds_a["id"] and f["other_dataset_title"] == "Cardiology notes" and f["same_vendor"] is False
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
    officer = _officer_key()
    both = client.get(f"/api/v1/datasets/{ds_a['id']}/overlaps", headers=bearer(officer)).json["overlaps"]
    assert both[0]["counterpart_dataset_id"] == ds_b["id"] and both[0]["counterpart_org_id"] == str(b.org.id)


def test_the_threshold_holds_a_relisting_until_compliance_allows_it(app, client, threshold):
    threshold(0.5)
    a, b = make_tenant(vendor=True), make_tenant(vendor=True)
    records = corpus(120, 4)
    published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)})
    ds_b, v_b = _publish(client, b.keys["owner"], {"copy.jsonl": jsonl(launder(records, 0.1, 5))})
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
    officer = _officer_key()
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
    _, v_b = _publish(client, b.keys["owner"], {"copy.jsonl": jsonl(records)})
    assert v_b["status"] == "draft"
    officer = _officer_key()
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
    _, v = _publish(client, t.keys["owner"], {"a.jsonl": jsonl(base[:60]), "b.jsonl": jsonl(base[60:] + near + exact)})
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
    _, whole = _publish(client, t.keys["owner"], {"sft.jsonl": jsonl(records)})
    rep = client.get(f"/api/v1/versions/{whole['id']}/overlap", headers=bearer(t.keys["owner"])).json
    assert rep["text_fields"] is None and rep["duplicate_near"] == 39
    _, chosen = _publish(client, t.keys["owner"], {"sft.jsonl": jsonl(records)}, fields=["answer"])
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
    assert get_session().scalar(select(func.count()).select_from(OverlapBand).where(OverlapBand.version_id == vid)) == 40 * 24
    r = client.post(f"/api/v1/versions/{v_a['id']}/withdraw", json={"reason": "rights ended"}, headers=bearer(a.keys["owner"]))
    assert r.status_code == 200, r.json
    assert get_session().scalar(select(func.count()).select_from(OverlapRecord).where(OverlapRecord.version_id == vid)) == 0
    assert get_session().scalar(select(func.count()).select_from(OverlapBand).where(OverlapBand.version_id == vid)) == 0
    _, v_b = _publish(client, b.keys["owner"], {"copy.jsonl": jsonl(records)})
    assert client.get(f"/api/v1/versions/{v_b['id']}/overlap", headers=bearer(b.keys["owner"])).json["findings"] == []


def test_other_tenants_see_nothing(app, client, threshold):
    threshold(2.0)
    a, b, c = make_tenant(vendor=True), make_tenant(vendor=True), make_tenant()
    records = corpus(30, 10)
    ds_a, _ = published_dataset(client, a.keys["owner"], {"notes.jsonl": jsonl(records)})
    ds_b, v_b = _publish(client, b.keys["owner"], {"copy.jsonl": jsonl(records)}, visibility="draft")
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
    _, v = _publish(client, t.keys["owner"], {"odd.jsonl": "\n".join(lines).encode() + b"\n", "odd.csv": b'a,b\n"x, y and z",\n"unclosed \r\n quote, still one field",2\n'})
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
