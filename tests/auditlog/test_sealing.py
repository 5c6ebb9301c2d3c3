"""Sealing and verification: any changed, deleted or reordered event is detected and named, in
the database and in an export verified offline by `marketplace audit verify`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from marketplace.app.cli import main as cli
from marketplace.auditlog import services as audit_svc
from marketplace.formats.auditchain import verify_inclusion
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.auditlog.helpers import COMPLIANCE_ACTIONS, principal_compliance, sealed_log, unlock, write_events


def test_seal_and_verify_clean_log(app):
    sealed_log()
    rep = audit_svc.verify_database()
    assert rep.ok, rep.problems
    assert rep.blocks >= 3 and rep.events >= COMPLIANCE_ACTIONS


def test_changed_event_in_database_is_named(app, backend):
    ids = sealed_log()
    unlock(backend)
    get_session().execute(text("UPDATE audit_events SET outcome = 'denied' WHERE id = :id"), {"id": ids[4]})
    rep = audit_svc.verify_database()
    assert not rep.ok and rep.first_bad_event == ids[4]


def test_deleted_event_in_database_is_named(app, backend):
    ids = sealed_log()
    unlock(backend)
    get_session().execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[7]})
    rep = audit_svc.verify_database()
    assert not rep.ok and rep.first_bad_event == ids[7] and "deleted" in rep.problems[0]


def test_reordered_events_in_database_are_named(app, backend):
    ids = sealed_log()
    unlock(backend)
    a, b = ids[2], ids[3]
    rows = {r.id: r for r in get_session().scalars(select(AuditEvent).where(AuditEvent.id.in_([a, b])))}
    # swap the contents of two neighbouring events (what a reordering amounts to in a table)
    get_session().execute(text("UPDATE audit_events SET subject_id = :s, request_id = :r WHERE id = :id"), {"s": rows[b].subject_id, "r": rows[b].request_id, "id": a})
    get_session().execute(text("UPDATE audit_events SET subject_id = :s, request_id = :r WHERE id = :id"), {"s": rows[a].subject_id, "r": rows[a].request_id, "id": b})
    get_session().expire_all()
    rep = audit_svc.verify_database()
    assert not rep.ok and rep.first_bad_event == a


def export(tmp_path, fmt="jsonl"):
    p = principal_compliance()
    body = audit_svc.export_csv(p) if fmt == "csv" else "\n".join(audit_svc.export_lines(p)) + "\n"
    path = tmp_path / f"audit.{fmt}"
    path.write_text(body)
    return path


def cli_verify(path, *extra):
    """Verify as an auditor would, with the platform's key pinned (a later --public-key wins)."""
    return CliRunner().invoke(cli, ["audit", "verify", str(path), "--json", "--public-key", audit_svc.public_key_b64(), *extra])


def test_export_verifies_offline_and_names_tampering(app, tmp_path):
    ids = sealed_log()
    path = export(tmp_path)
    r = cli_verify(path)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["ok"]
    lines = path.read_text().splitlines()
    idx = {json.loads(line).get("id"): n for n, line in enumerate(lines) if json.loads(line)["type"] == "event"}

    def variant(name, mutate):
        ls = list(lines)
        mutate(ls)
        p = tmp_path / f"{name}.jsonl"
        p.write_text("\n".join(ls) + "\n")
        res = cli_verify(p)
        return res.exit_code, json.loads(res.output)

    def change(ls):
        ev = json.loads(ls[idx[ids[5]]])
        ev["quantities"] = {"n": 999}
        ls[idx[ids[5]]] = json.dumps(ev)

    code, rep = variant("changed", change)
    assert code == 4 and rep["first_bad_event"] == ids[5]

    def delete(ls):
        del ls[idx[ids[6]]]

    code, rep = variant("deleted", delete)
    assert code == 4 and rep["first_bad_event"] == ids[6]

    def reorder(ls):
        i, j = idx[ids[0]], idx[ids[1]]
        ls[i], ls[j] = ls[j], ls[i]

    code, rep = variant("reordered", reorder)
    assert code == 4 and rep["first_bad_event"] in (ids[0], ids[1])

    def forge_checkpoint(ls):
        for n, line in enumerate(ls):
            obj = json.loads(line)
            if obj["type"] == "block":
                obj["merkle_root"] = "00" * 32
                ls[n] = json.dumps(obj)
                return

    code, rep = variant("forged", forge_checkpoint)
    assert code == 4 and not rep["ok"]


def test_wrong_public_key_fails(app, tmp_path):
    sealed_log(3)
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    r = cli_verify(export(tmp_path), "--public-key", other)
    assert r.exit_code == 4 and "signature" in json.loads(r.output)["problems"][0]


def test_csv_export_verifies_and_detects_changes(app, tmp_path):
    ids = sealed_log(6)
    path = export(tmp_path, "csv")
    assert cli_verify(path).exit_code == 0
    tampered = path.read_text().replace('"{""n"": 3}"', '"{""n"": 4}"', 1)
    assert tampered != path.read_text()
    p2 = tmp_path / "t.csv"
    p2.write_text(tampered)
    r = cli_verify(p2)
    assert r.exit_code == 4 and json.loads(r.output)["first_bad_event"] == ids[3]


def test_inclusion_proof_of_a_single_event(app):
    ids = sealed_log(9)
    p = principal_compliance()
    proof = audit_svc.proof(p, ids[6])
    assert verify_inclusion(proof["event"], proof, proof["public_key"]) is None
    forged = dict(proof["event"], outcome="denied")
    assert "changed" in verify_inclusion(forged, proof, proof["public_key"])


def test_unsealed_event_has_no_proof_yet(app):
    ids = write_events(1)
    from marketplace.kernel.errors import Conflict

    with pytest.raises(Conflict):
        audit_svc.proof(principal_compliance(), ids[0])


def test_blocks_and_leaves_are_append_only(app, backend):
    sealed_log(3)
    from sqlalchemy.exc import DBAPIError

    s = get_session()
    for stmt in ("UPDATE audit_blocks SET merkle_root = 'x'", "DELETE FROM audit_leaves"):
        with pytest.raises(DBAPIError):
            with s.begin_nested():
                s.execute(text(stmt))


HOSTILE_TEXT = ['quote " and backslash \\ and slash /', "tab\tnewline\ncarriage\rreturn", "\x01\x08\x0c\x1f control", "\u2028\u2029 separators",
                "emoji 🧬 and CJK 数据集 and RTL \u202e", "\\N looks like COPY's null", "x" * 3000, "", " ", "\u00e9\u0301 combining"]
HOSTILE_JSON = [None, {}, {"a": 1, "b": [1, 2.5, -0.0, 1e16, 2**70, True, None, "é\"\\"], "ключ": {"z": {"y": [{}]}}}, {"float": 0.1, "exp": 1.5e-7, "neg": -3},
                {"nested": [[[[["deep"]]]]], "tab\tkey": "v\n"}]


def test_the_fast_sealer_hashes_every_event_exactly_as_the_verifier_does(app):
    """On PostgreSQL the sealer reads events as text and assembles their canonical JSON itself;
    every leaf must be byte for byte what the verifier recomputes from the event, for hostile
    strings, JSON of every shape, times with and without microseconds, and every org pattern."""
    import uuid
    from datetime import datetime, timezone

    from marketplace.auditlog.models import AuditLeaf
    from marketplace.formats.auditchain import event_dict, event_leaf
    from marketplace.kernel.db import unit_of_work

    orgs = [uuid.uuid4(), uuid.uuid4(), None]
    rows = []
    for i in range(60):
        micro = 0 if i % 3 == 0 else (i * 7919) % 1_000_000
        rows.append({"occurred_at": datetime(2026, 1, 2, 3, 4, 5, micro, tzinfo=timezone.utc), "request_id": HOSTILE_TEXT[i % len(HOSTILE_TEXT)][:64],
                     "action": "delivery.authorize", "outcome": ["success", "denied", "failure"][i % 3],
                     "actor_user_id": uuid.uuid4() if i % 2 else None, "actor_api_key_id": uuid.uuid4() if i % 5 == 0 else None,
                     "actor_org_id": orgs[i % 3], "subject_type": None if i % 4 == 0 else "grant",
                     "subject_id": None if i % 4 == 0 else HOSTILE_TEXT[(i + 3) % len(HOSTILE_TEXT)][:64], "subject_org_id": orgs[(i // 3) % 3],
                     "ip": None if i % 6 == 0 else "2001:db8::1", "quantities": HOSTILE_JSON[i % len(HOSTILE_JSON)],
                     "details": HOSTILE_JSON[(i + 2) % len(HOSTILE_JSON)] if i % 7 else {"text": HOSTILE_TEXT[i % len(HOSTILE_TEXT)]}})
    with unit_of_work() as session:
        session.execute(AuditEvent.__table__.insert(), rows)
    audit_svc.seal(grace_seconds=0)
    session = get_session()
    checked = 0
    for leaf in session.scalars(select(AuditLeaf).order_by(AuditLeaf.block_id, AuditLeaf.position)):
        ev = session.get_one(AuditEvent, leaf.event_id)
        expected = event_leaf(dict(event_dict(ev), org_seq=leaf.org_seq)).hex()
        assert leaf.leaf_hash == expected, (ev.id, ev.request_id, ev.details)
        checked += 1
    assert checked >= 60
    assert audit_svc.verify_database().ok
