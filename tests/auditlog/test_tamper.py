"""Tampering with every audit export kind is detected: full exports, organisation exports and
single-event proofs, each crossed with modify, delete, reorder, truncate, re-sign with a key
embedded in the file, and edit the header. The verifier always uses a pinned key. Also: a database
superuser who deletes a whole block (triggers off), or the newest blocks, is named by the live
check; consistency proofs show the log only grew, and fail for a rewritten log."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import text

from marketplace.auditlog import services as audit_svc
from marketplace.formats import merkle
from marketplace.formats.auditchain import (
    GENESIS,
    block_hash,
    event_leaf,
    header_message,
    ids_digest,
    key_id,
    verify_consistency_document,
    verify_export_lines,
    verify_proof_document,
)
from marketplace.kernel import audit
from marketplace.kernel.db import get_session, unit_of_work
from marketplace.kernel.principal import Principal
from tests.auditlog.helpers import principal_compliance
from tests.factories import TestAction, make_tenant, principal


class Attacker:
    """Someone who rewrites an export and signs it with a key of their own, embedding it."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = base64.b64encode(raw).decode()
        self.kid = key_id(raw)

    def sign_block(self, block: dict) -> None:
        block["key_id"] = self.kid
        block["block_hash"] = block_hash(block)
        block["signature"] = base64.b64encode(self.key.sign(bytes.fromhex(block["block_hash"]))).decode()

    def sign_header(self, header: dict) -> None:
        header["key_id"], header["public_key"] = self.kid, self.public
        header["signature"] = base64.b64encode(self.key.sign(header_message(header))).decode()


def _log(n_events: int = 14):
    """A tenant with events sealed into several blocks (and other tenants' events between)."""
    tenant, other = make_tenant(), make_tenant()
    with unit_of_work():
        for i in range(n_events):
            org = tenant.org.id if i % 3 else other.org.id
            audit.record(Principal(request_id=f"t{i}", ip="10.0.0.9"), TestAction.TAMPER, subject_type="thing", subject_id=str(i), subject_org_id=org,
                         actor_org_id=tenant.org.id if i % 2 else None, quantities={"n": i})
    audit_svc.seal(grace_seconds=0, batch_size=4)
    return tenant


def _full_export() -> list[str]:
    return list(audit_svc.export_lines(principal_compliance()))


def _org_export(tenant) -> list[str]:
    return list(audit_svc.export_lines(principal(tenant.owner), org_id=tenant.org.id))


def _ok(lines: list[str], key: str | None = None) -> bool:
    return verify_export_lines(lines, key or audit_svc.public_key_b64()).ok


def _objs(lines):
    return [json.loads(line) for line in lines]


def _dump(objs):
    return [json.dumps(o) for o in objs]


# --------------------------------------------------------------------------- full export


def _resign_full(objs: list[dict], attacker: Attacker) -> list[dict]:
    """Recompute every hash, root, chain link and signature of a full export, as an attacker with
    their own key would after changing it."""
    header, rest = objs[0], objs[1:]
    groups: list[tuple[dict, list[dict]]] = []
    for o in rest:
        if o["type"] == "block":
            groups.append((o, []))
        else:
            groups[-1][1].append(o)
    prev, frontier = GENESIS, []
    for block, events in groups:
        leaves = [event_leaf(e) for e in events]
        for e, leaf in zip(events, leaves, strict=True):
            e["leaf_hash"] = leaf.hex()
            frontier = merkle.frontier_append(frontier, leaf)
        ids = [e["id"] for e in events]
        block.update(event_ids=ids, event_ids_sha256=ids_digest(ids), merkle_root=merkle.root(leaves).hex(), prev_hash=prev, event_count=len(ids),
                     first_event_id=ids[0], last_event_id=ids[-1], tree_size=merkle.frontier_size(frontier), tree_root=merkle.frontier_root(frontier).hex())
        attacker.sign_block(block)
        prev = block["block_hash"]
    cp = {k: v for k, v in groups[-1][0].items() if k != "event_ids"}
    header["checkpoint"] = cp
    attacker.sign_header(header)
    return [header] + [o for b, evs in groups for o in [b, *evs]]


def test_full_export_verifies_clean(app):
    _log()
    lines = _full_export()
    assert _ok(lines)


def _event_positions(objs):
    return [i for i, o in enumerate(objs) if o["type"] == "event"]


def _block_positions(objs):
    return [i for i, o in enumerate(objs) if o["type"] == "block"]


FULL_MUTATIONS = {
    "modify": lambda objs: objs[_event_positions(objs)[3]].__setitem__("quantities", {"n": 999}) or objs,
    "delete": lambda objs: [o for i, o in enumerate(objs) if i != _event_positions(objs)[3]],
    "reorder": lambda objs: (lambda a, b: objs.__setitem__(slice(a, b + 1), [objs[b], objs[a]]) or objs)(*_event_positions(objs)[4:6]),
    "truncate last block": lambda objs: objs[:_block_positions(objs)[-1]],
    "truncate mid-block": lambda objs: objs[:-1],
    "remove a middle block": lambda objs: (lambda b: objs[:b[1]] + objs[b[2]:])(_block_positions(objs)),
    "edit header scope": lambda objs: objs[0].__setitem__("scope", "organisation") or objs,
    "remove a middle block and edit the header": lambda objs: (lambda b: [dict(objs[0], scope="organisation")] + objs[1:b[1]] + objs[b[2]:])(_block_positions(objs)),
    "drop the header": lambda objs: objs[1:],
    "add a field to an event": lambda objs: objs[_event_positions(objs)[2]].__setitem__("note", "approved by CFO") or objs,
    "add a field to a block": lambda objs: objs[_block_positions(objs)[1]].__setitem__("approved", True) or objs,
    "move an event to another block": lambda objs: objs[_event_positions(objs)[1]].__setitem__("block_id", 999) or objs,
}


@pytest.mark.parametrize("name", sorted(FULL_MUTATIONS))
def test_full_export_tampering_is_detected(app, name):
    _log()
    objs = _objs(_full_export())
    assert len(_block_positions(objs)) >= 4
    tampered = FULL_MUTATIONS[name](copy.deepcopy(objs))
    rep = verify_export_lines(_dump(tampered), audit_svc.public_key_b64())
    assert not rep.ok, name
    assert rep.key_id == key_id(base64.b64decode(audit_svc.public_key_b64()))


def test_full_export_resigned_with_an_embedded_key_fails_with_the_pinned_key(app):
    _log()
    attacker = Attacker()
    objs = _objs(_full_export())
    objs[_event_positions(objs)[2]]["outcome"] = "denied"
    forged = _dump(_resign_full(objs, attacker))
    assert _ok(forged, attacker.public)  # a consistent forgery: it verifies under the attacker's own key...
    rep = verify_export_lines(forged, audit_svc.public_key_b64())
    assert not rep.ok and "signature" in rep.problems[0]  # ...never under the pinned one


# --------------------------------------------------------------------------- organisation export


def _resign_org(objs: list[dict], attacker: Attacker, *, count: int | None = None) -> list[dict]:
    header = objs[0]
    for o in objs[1:]:
        pr = o["proof"]
        leaf = event_leaf(o)
        pr["leaf_hash"] = leaf.hex()
        pr["block"]["merkle_root"] = merkle.root_from_path(pr["index"], pr["tree_size"], leaf, [bytes.fromhex(h) for h in pr["path"]]).hex()
        attacker.sign_block(pr["block"])
    attacker.sign_block(header["checkpoint"])
    if count is not None:
        header["org_event_count"] = count
    attacker.sign_header(header)
    return objs


def test_organisation_export_verifies_clean_and_counts_its_events(app):
    tenant = _log()
    lines = _org_export(tenant)
    header = json.loads(lines[0])
    assert header["org_event_count"] == len(lines) - 1 >= 8
    assert _ok(lines)


ORG_MUTATIONS = {
    "modify": lambda objs: objs[3].__setitem__("details", {"x": 1}) or objs,
    "delete": lambda objs: objs[:3] + objs[4:],
    "reorder": lambda objs: objs[:3] + [objs[4], objs[3]] + objs[5:],
    "truncate": lambda objs: objs[:-2],
    "duplicate": lambda objs: objs + [objs[-1]],
    "edit header count": lambda objs: [dict(objs[0], org_event_count=objs[0]["org_event_count"] - 2)] + objs[1:-2],
    "edit header organisation": lambda objs: [dict(objs[0], org_id="00000000-0000-0000-0000-000000000000")] + objs[1:],
    "drop the header": lambda objs: objs[1:],
    "add a field to an event": lambda objs: objs[3].__setitem__("approved", True) or objs,
    "edit a leaf hash": lambda objs: objs[3]["proof"].__setitem__("leaf_hash", "00" * 32) or objs,
    "add a field to the header": lambda objs: [dict(objs[0], note="complete")] + objs[1:],
}


@pytest.mark.parametrize("name", sorted(ORG_MUTATIONS))
def test_organisation_export_tampering_is_detected(app, name):
    tenant = _log()
    objs = _objs(_org_export(tenant))
    tampered = ORG_MUTATIONS[name](copy.deepcopy(objs))
    rep = verify_export_lines(_dump(tampered), audit_svc.public_key_b64())
    assert not rep.ok, name


def test_organisation_export_resigned_with_an_embedded_key_fails_with_the_pinned_key(app):
    tenant = _log()
    attacker = Attacker()
    objs = _objs(_org_export(tenant))
    objs = objs[:-1]  # drop the newest event...
    objs[2]["outcome"] = "denied"  # ...and rewrite another
    forged = _dump(_resign_org(objs, attacker, count=len(objs) - 1))
    assert _ok(forged, attacker.public)
    assert not _ok(forged)


# --------------------------------------------------------------------------- single-event proof


def _proof_doc(tenant):
    p = principal(tenant.owner)
    eid = json.loads(_org_export(tenant)[4])["id"]
    return audit_svc.proof(p, eid)


PROOF_MUTATIONS = {
    "modify": lambda d: d["event"].__setitem__("outcome", "denied") or d,
    "delete a path node": lambda d: d.__setitem__("path", d["path"][1:]) or d,
    "reorder the path": lambda d: d.__setitem__("path", list(reversed(d["path"]))) or d,
    "truncate the tree": lambda d: d.__setitem__("tree_size", d["tree_size"] - 1) or d,
    "edit the checkpoint": lambda d: d["block"].__setitem__("sealed_at", "2020-01-01T00:00:00+00:00") or d,
    "move the position": lambda d: d["event"].__setitem__("org_seq", {k: v + 1 for k, v in (d["event"].get("org_seq") or {}).items()}) or d,
}


@pytest.mark.parametrize("name", sorted(PROOF_MUTATIONS))
def test_single_event_proof_tampering_is_detected(app, name):
    tenant = _log()
    doc = _proof_doc(tenant)
    assert len(doc["path"]) >= 2 and doc["event"].get("org_seq")
    assert verify_proof_document(doc, audit_svc.public_key_b64()).ok
    assert not verify_proof_document(PROOF_MUTATIONS[name](copy.deepcopy(doc)), audit_svc.public_key_b64()).ok, name


def test_single_event_proof_resigned_with_an_embedded_key_fails(app):
    tenant = _log()
    attacker = Attacker()
    doc = copy.deepcopy(_proof_doc(tenant))
    doc["event"]["outcome"] = "denied"
    leaf = event_leaf(doc["event"])
    doc["block"]["merkle_root"] = merkle.root_from_path(doc["index"], doc["tree_size"], leaf, [bytes.fromhex(h) for h in doc["path"]]).hex()
    attacker.sign_block(doc["block"])
    doc["public_key"] = attacker.public
    assert verify_proof_document(doc, attacker.public).ok
    assert not verify_proof_document(doc, audit_svc.public_key_b64()).ok


# --------------------------------------------------------------------------- the live database


def _superuser(backend: str) -> None:
    """Play a database superuser: the append-only triggers are switched off (inside the test's
    rolled-back transaction)."""
    s = get_session()
    if backend == "postgresql":
        for t in ("audit_events", "audit_blocks", "audit_leaves"):
            s.execute(text(f"ALTER TABLE {t} DISABLE TRIGGER USER"))
    else:
        for t in ("audit_events", "audit_blocks", "audit_leaves"):
            for verb in ("update", "delete"):
                s.execute(text(f"DROP TRIGGER IF EXISTS {t}_no_{verb}"))


def _drop_block(block_id: int) -> None:
    s = get_session()
    ids = [r[0] for r in s.execute(text("SELECT event_id FROM audit_leaves WHERE block_id = :b"), {"b": block_id})]
    s.execute(text("DELETE FROM audit_leaves WHERE block_id = :b"), {"b": block_id})
    s.execute(text("DELETE FROM audit_blocks WHERE id = :b"), {"b": block_id})
    for i in ids:
        s.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": i})


def test_live_check_names_a_whole_block_deleted_by_a_superuser(app, backend):
    _log()
    latest = audit_svc.latest_checkpoint()["id"]
    assert audit_svc.verify_database().ok
    _superuser(backend)
    _drop_block(latest - 2)
    rep = audit_svc.verify_database()
    assert not rep.ok and any(f"block {latest - 2}: missing" in p for p in rep.problems), rep.problems


def test_live_check_detects_the_newest_blocks_dropped_by_the_witness(app, backend):
    _log()
    latest = audit_svc.latest_checkpoint()
    assert audit_svc.witnessed_checkpoint()["block_hash"] == latest["block_hash"]
    _superuser(backend)
    _drop_block(latest["id"])
    _drop_block(latest["id"] - 1)
    rep = audit_svc.verify_database()
    assert not rep.ok and any(f"blocks {latest['id'] - 1}..{latest['id']}: missing" in p for p in rep.problems), rep.problems


def test_consistency_proof_shows_the_log_only_grew_and_catches_a_rewrite(app, client, backend):
    from tests.factories import bearer, make_key, make_org, make_user

    _log(8)
    kept = audit_svc.latest_checkpoint()
    _log(12)
    officer = make_user(platform_compliance=True)
    key = make_key(officer, make_org(officer), scopes=["audit:read"])
    doc = client.get(f"/api/v1/audit/consistency?first={kept['id']}", headers=bearer(key)).json
    assert doc["second"]["id"] > kept["id"] and doc["proof"]
    assert verify_consistency_document(kept, doc, audit_svc.public_key_b64()).ok
    # A kept checkpoint the log no longer matches (the log was rewritten and re-sealed from there).
    forged = dict(kept, tree_root="00" * 32)
    assert not verify_consistency_document(forged, doc, audit_svc.public_key_b64()).ok
    bad = dict(doc, proof=list(reversed(doc["proof"])))
    assert not verify_consistency_document(kept, bad, audit_svc.public_key_b64()).ok
    cps = client.get("/api/v1/audit/checkpoints", headers=bearer(key)).json
    assert cps["latest"]["id"] == cps["witnessed"]["id"] == doc["second"]["id"]


def test_csv_export_with_an_added_column_or_value_is_refused(app, tmp_path):
    from click.testing import CliRunner

    from marketplace.app.cli import main as cli

    tenant = _log()
    body = audit_svc.export_csv(principal(tenant.owner), org_id=tenant.org.id)
    lines = body.splitlines()
    added_col = "\n".join([lines[0] + ",note"] + [line + "," for line in lines[1:]]) + "\n"
    added_val = "\n".join(lines[:2] + [lines[2] + ',"approved"'] + lines[3:]) + "\n"
    for name, text_ in (("clean", body), ("column", added_col), ("value", added_val)):
        path = tmp_path / f"{name}.csv"
        path.write_text(text_)
        r = CliRunner().invoke(cli, ["audit", "verify", str(path), "--public-key", audit_svc.public_key_b64()])
        assert r.exit_code == (0 if name == "clean" else 4), (name, r.output)
