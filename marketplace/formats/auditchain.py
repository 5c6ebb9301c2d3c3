"""Canonical event bytes, block hashes and signatures, and the offline verifier of exports.

This module needs no database and no application: `marketplace audit verify FILE` uses it to
check an export on an auditor's machine with only the platform's public key.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from marketplace.formats import merkle

GENESIS = "0" * 64
EVENT_FIELDS = ("id", "occurred_at", "request_id", "action", "outcome", "actor_user_id", "actor_api_key_id", "actor_org_id",
                "subject_type", "subject_id", "subject_org_id", "ip", "quantities", "details")
# Blocks sealed before the log tree existed sign these fields; later blocks also sign the size and
# root of the whole-log tree (so consistency proofs connect any two checkpoints).
BLOCK_FIELDS_V1 = ("id", "event_count", "first_event_id", "last_event_id", "event_ids_sha256", "merkle_root", "prev_hash", "sealed_at", "key_id")
BLOCK_FIELDS = BLOCK_FIELDS_V1 + ("tree_size", "tree_root")
EXPORT_FORMAT = "marketplace-audit-export/2"
# The export header is signed too (every field the verifier relies on is): scope, organisation,
# the newest checkpoint at export time and, for an organisation, how many events it has.
HEADER_FIELDS = ("format", "scope", "org_id", "exported_at", "key_id", "checkpoint", "org_event_count")
HEADER_DOMAIN = b"marketplace-audit-export-header\n"


def canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


_AS_IS = (type(None), int, float, str, dict, list, bool)


def event_dict(ev: Any) -> dict[str, Any]:
    """The exported, hashed form of an event (ids as strings, times as ISO 8601 UTC)."""
    values: list[Any] = [ev.get(f) for f in EVENT_FIELDS] if isinstance(ev, dict) else [getattr(ev, f) for f in EVENT_FIELDS]
    out = {}
    for f, v in zip(EVENT_FIELDS, values, strict=True):
        # Sealing runs this for every event: the common types are decided by one type lookup.
        if type(v) not in _AS_IS:
            v = v.isoformat() if hasattr(v, "isoformat") else str(v)
        out[f] = v
    return out


def event_leaf(ev: dict[str, Any]) -> bytes:
    """The Merkle leaf of an event. Since positions were introduced, the leaf also covers the
    event's position in the log of each organisation it concerns (`org_seq`), so an export of one
    organisation proves it is complete: a gap or a swap in the positions is visible."""
    body = {k: ev.get(k) for k in EVENT_FIELDS}
    if ev.get("org_seq") is not None:
        body["org_seq"] = ev["org_seq"]
    return merkle.leaf_hash(canonical(body))


# The canonical form of an event, assembled from its fields as text (the sealer's fast path reads
# them so from PostgreSQL): byte for byte `canonical()` of `event_leaf`'s body, which a test
# checks on hostile values. Keys in sorted order; strings escaped as json.dumps does with
# ensure_ascii=False; JSON columns re-serialised canonically.
_ENCODE = json.encoder.encode_basestring


def _text(value: str | None) -> str:
    return "null" if value is None else _ENCODE(value)


# One encoder for every call (json.dumps would build one per call): the same settings as canonical().
canonical_text = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode
_loads = json.JSONDecoder().decode


def _json_text(value: str | None) -> str:
    return "null" if value is None else canonical_text(_loads(value))


def seq_text(org_seq: dict[str, int]) -> str:
    """canonical() of an org_seq: keys are organisation ids as text (nothing to escape)."""
    return "{" + ",".join(f'"{k}":{int(v)}' for k, v in sorted(org_seq.items())) + "}"


def event_leaf_from_text(row: Sequence[Any], org_seq: dict[str, int] | None) -> bytes:
    """`event_leaf(event_dict(event) + org_seq)` from the event's columns as text, in
    EVENT_FIELDS order (uuids in their canonical form, the time as ISO 8601 UTC, JSON columns as
    JSON text)."""
    (event_id, occurred_at, request_id, action, outcome, actor_user_id, actor_api_key_id, actor_org_id, subject_type, subject_id,
     subject_org_id, ip, quantities, details) = row
    body = (f'{{"action":{_ENCODE(action)},"actor_api_key_id":{_text(actor_api_key_id)},"actor_org_id":{_text(actor_org_id)},'
            f'"actor_user_id":{_text(actor_user_id)},"details":{_json_text(details)},"id":{event_id},"ip":{_text(ip)},'
            f'"occurred_at":{_ENCODE(occurred_at)},')
    if org_seq is not None:
        body += f'"org_seq":{seq_text(org_seq)},'
    body += (f'"outcome":{_ENCODE(outcome)},"quantities":{_json_text(quantities)},"request_id":{_ENCODE(request_id)},'
             f'"subject_id":{_text(subject_id)},"subject_org_id":{_text(subject_org_id)},"subject_type":{_text(subject_type)}}}')
    return hashlib.sha256(b"\x00" + body.encode()).digest()


def ids_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def block_hash(block: dict[str, Any]) -> str:
    fields = BLOCK_FIELDS if block.get("tree_root") is not None else BLOCK_FIELDS_V1
    return hashlib.sha256(canonical({k: block.get(k) for k in fields})).hexdigest()


def header_message(header: dict[str, Any]) -> bytes:
    return HEADER_DOMAIN + canonical({k: header.get(k) for k in HEADER_FIELDS})


def key_id(public_key_raw: bytes) -> str:
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def key_id_b64(public_key_b64: str) -> str:
    try:
        return key_id(base64.b64decode(public_key_b64))
    except ValueError:
        return "invalid"


def verify_bytes(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    from cryptography.exceptions import InvalidSignature  # deferred: the light SDK may lack cryptography; only signature checks need it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # deferred: the light SDK may lack cryptography; only signature checks need it

    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64)).verify(base64.b64decode(signature_b64), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def verify_signature(public_key_b64: str, block_hash_hex: str, signature_b64: str) -> bool:
    try:
        return verify_bytes(public_key_b64, bytes.fromhex(block_hash_hex), signature_b64)
    except (ValueError, TypeError):
        return False


@dataclass
class Report:
    ok: bool = True
    blocks: int = 0
    events: int = 0
    first_bad_event: int | None = None
    problems: list[str] = field(default_factory=list)
    key_id: str | None = None  # the pinned key the verification used

    def fail(self, msg: str, event_id: int | None = None) -> None:
        self.ok = False
        if event_id is not None and self.first_bad_event is None:
            self.first_bad_event = event_id
        self.problems.append(msg)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "blocks": self.blocks, "events": self.events, "first_bad_event": self.first_bad_event, "problems": self.problems[:100],
                "key_id": self.key_id}


def verify_blocks(blocks: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]], public_key_b64: str, *, complete_chain: bool = True,
                  checkpoint: dict[str, Any] | None = None) -> Report:
    """Check blocks in order with their events: chain, block hashes, signatures, the signed list
    of event ids (deleted or reordered events), each event's hash (changed events), the Merkle
    roots and, for a complete chain, that it starts at the first block, has no missing block,
    recomputes every signed log-tree root, and ends at `checkpoint` (the newest one the verifier
    trusts: a signed export header, or the checkpoint witnessed outside the database)."""
    rep = Report()
    prev: dict[str, Any] | None = None
    frontier: merkle.Frontier = []
    for block, events in blocks:
        rep.blocks += 1
        bid = block.get("id")
        if complete_chain:
            want_id = 1 if prev is None else int(prev["id"]) + 1
            if bid != want_id:
                if isinstance(bid, int) and bid > want_id:
                    rep.fail(f"block {want_id}: missing" if bid == want_id + 1 else f"blocks {want_id}..{bid - 1}: missing")
                else:
                    rep.fail(f"block {bid}: out of sequence")
            expected_prev = GENESIS if prev is None else prev["block_hash"]
            if block.get("prev_hash") != expected_prev and bid == want_id:
                rep.fail(f"block {bid}: not chained to the block before it")
        elif prev is not None and block.get("prev_hash") != prev["block_hash"] and bid == int(prev["id"]) + 1:
            rep.fail(f"block {bid}: not chained to the block before it")
        if block_hash(block) != block.get("block_hash"):
            rep.fail(f"block {bid}: its fields do not match its hash")
        if not verify_signature(public_key_b64, block.get("block_hash") or "", block.get("signature") or ""):
            rep.fail(f"block {bid}: the signature does not verify")
        prev = block
        ids = [int(e["id"]) for e in events]
        signed_ids = block.get("event_ids")
        if signed_ids is None or ids_digest(signed_ids) != block["event_ids_sha256"]:
            rep.fail(f"block {bid}: its list of event ids is missing or altered")
            signed_ids = ids
        if ids != signed_ids:
            for i, want in enumerate(signed_ids):
                got = ids[i] if i < len(ids) else None
                if got != want:
                    if want not in ids:
                        rep.fail(f"event {want}: deleted (sealed in block {bid}, absent here)", want)
                    else:
                        rep.fail(f"event {got}: out of order (block {bid} has event {want} at position {i})", got)
                    break
            extra = [i for i in ids if i not in set(signed_ids)]
            if extra:
                rep.fail(f"event {extra[0]}: not sealed in block {bid} but listed with it", extra[0])
        leaves = []
        for e in events:
            rep.events += 1
            leaf = event_leaf(e)
            leaves.append(leaf)
            if e.get("leaf_hash") and e["leaf_hash"] != leaf.hex():
                rep.fail(f"event {e['id']}: changed after sealing", int(e["id"]))
        if ids == signed_ids and merkle.root(leaves).hex() != block["merkle_root"]:
            rep.fail(f"block {bid}: the Merkle root over its events does not match the signed checkpoint (events {block['first_event_id']}..{block['last_event_id']})",
                     None if rep.first_bad_event else int(block["first_event_id"]))
        if complete_chain:
            for leaf in (leaves if ids == signed_ids else [bytes.fromhex(e.get("leaf_hash") or "00" * 32) for e in events]):
                frontier = merkle.frontier_append(frontier, leaf)
            if block.get("tree_root") is not None:
                if block.get("tree_size") != merkle.frontier_size(frontier) or block["tree_root"] != merkle.frontier_root(frontier).hex():
                    rep.fail(f"block {bid}: the signed log-tree root does not match the blocks before it and their events")
    if complete_chain and checkpoint is not None:
        cid: Any = checkpoint.get("id")
        if prev is None:
            rep.fail(f"blocks 1..{cid}: missing (the checkpoint is block {cid})")
        elif int(prev["id"]) < int(cid):
            rep.fail(f"blocks {int(prev['id']) + 1}..{cid}: missing (truncated: the checkpoint is block {cid})")
        elif int(prev["id"]) == int(cid) and prev.get("block_hash") != checkpoint.get("block_hash"):
            rep.fail(f"block {cid}: differs from the checkpoint")
    return rep


def verify_header(header: dict[str, Any] | None, public_key_b64: str) -> str | None:
    """None if the export header is signed by the pinned key (and its checkpoint too), else why not."""
    if header is None:
        return "the export has no header: its scope and completeness cannot be checked"
    if header.get("format") != EXPORT_FORMAT:
        return f"unknown export format {header.get('format')!r} (this verifier reads {EXPORT_FORMAT})"
    if not verify_bytes(public_key_b64, header_message(header), header.get("signature") or ""):
        return "the export header's signature does not verify with the pinned key (edited header, or signed by another key)"
    cp = header.get("checkpoint")
    if cp is not None and (block_hash(cp) != cp.get("block_hash") or not verify_signature(public_key_b64, cp["block_hash"], cp.get("signature") or "")):
        return "the header's checkpoint is not signed by the pinned key"
    return None


# Every key a line of an export may carry; anything else was added after export.
ALLOWED_KEYS = {
    "header": set(HEADER_FIELDS) | {"type", "signature", "public_key"},
    "block": set(BLOCK_FIELDS) | {"type", "block_hash", "signature", "event_ids"},
    "event": set(EVENT_FIELDS) | {"type", "leaf_hash", "block_id", "org_seq"},
}
PROOF_KEYS = {"leaf_hash", "index", "tree_size", "path", "block"}


def verify_export_lines(lines: Iterable[str], public_key_b64: str) -> Report:
    """Verify a JSON Lines export (signed header, then each block followed by its events, or each
    event with its inclusion proof) with a pinned public key — never one found in the file."""
    if not public_key_b64:
        raise ValueError("a pinned public key is required")
    header: dict[str, Any] | None = None
    grouped: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    proofs: list[dict[str, Any]] = []
    rep = Report()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            rep.fail(f"line {n}: not JSON")
            return rep
        if not isinstance(obj, dict):
            rep.fail(f"line {n}: not an export record")
            return rep
        if obj.get("type") in ("block", "event") and (not isinstance(obj.get("id"), int) or isinstance(obj.get("id"), bool)):
            rep.fail(f"line {n}: a {obj.get('type')} without a whole-number id")
            return rep
        t: Any = obj.get("type")
        extra = sorted(set(obj) - ALLOWED_KEYS.get(t, set()) - ({"proof"} if t == "event" else set()))
        if t in ALLOWED_KEYS and extra:
            # Nothing outside the signed or hashed fields may ride along: a reader would take an
            # added "approved": true for part of the record.
            rep.fail(f"line {n}: {', '.join(extra)} is not part of the sealed {t} (added after export)",
                     obj.get("id") if t == "event" and isinstance(obj.get("id"), int) else None)
        if t == "header":
            if header is not None:
                rep.fail(f"line {n}: a second header")
            header = obj
        elif t == "block":
            grouped.append((obj, []))
        elif t == "event":
            if "proof" in obj:
                pr = obj["proof"]
                if not isinstance(pr, dict) or set(pr) - PROOF_KEYS:
                    rep.fail(f"line {n}: the inclusion proof has fields it should not", obj.get("id") if isinstance(obj.get("id"), int) else None)
                proofs.append(obj)
            elif not grouped:
                rep.fail(f"line {n}: an event before any block")
            else:
                if obj.get("block_id") is not None and obj.get("block_id") != grouped[-1][0].get("id"):
                    rep.fail(f"line {n}: event {obj.get('id')} names block {obj.get('block_id')} but follows block {grouped[-1][0].get('id')}",
                             obj.get("id") if isinstance(obj.get("id"), int) else None)
                grouped[-1][1].append(obj)
        else:
            rep.fail(f"line {n}: unknown record type {t!r}")
    problem = verify_header(header, public_key_b64)
    if problem:
        rep.fail(problem)
        rep.key_id = key_id_b64(public_key_b64)
        return rep
    assert header is not None
    scope = header.get("scope")
    out = verify_blocks(grouped, public_key_b64, complete_chain=scope == "all", checkpoint=header.get("checkpoint") if scope == "all" else None)
    out.problems = rep.problems + out.problems
    out.ok = out.ok and rep.ok
    if scope == "all" and proofs:
        out.fail("a full export carries no per-event proofs")
    if scope == "organisation":
        if grouped:
            out.fail("an organisation's export carries per-event proofs, not blocks")
        _verify_org_events(out, header, proofs, public_key_b64)
    out.key_id = key_id_b64(public_key_b64)
    return out


def _verify_org_events(out: Report, header: dict[str, Any], events: list[dict[str, Any]], public_key_b64: str) -> None:
    """Each event must be proven into a signed block, and the organisation's positions must run
    1, 2, ... up to the signed count with none missing, repeated or out of order."""
    org = header.get("org_id")
    want = header.get("org_event_count")
    cp = header.get("checkpoint") or {}
    expected = 1
    for p in events:
        out.events += 1
        problem = verify_inclusion(p, p["proof"], public_key_b64)
        if problem:
            out.fail(f"event {p['id']}: {problem}", int(p["id"]))
            continue
        block = p["proof"]["block"]
        if cp and int(block.get("id", 0)) > int(cp.get("id", 0)):
            out.fail(f"event {p['id']}: sealed after the export's checkpoint", int(p["id"]))
        seq = (p.get("org_seq") or {}).get(org)
        if seq is None:
            continue  # sealed before positions existed: proven included, completeness not provable
        if seq != expected:
            if seq > expected:
                out.fail(f"events at positions {expected}..{seq - 1} of this organisation: missing (deleted before event {p['id']})", int(p["id"]))
            else:
                out.fail(f"event {p['id']}: out of order or repeated (position {seq}, expected {expected})", int(p["id"]))
            expected = max(expected, seq + 1)
            continue
        expected += 1
    if isinstance(want, int) and expected - 1 < want:
        out.fail(f"events at positions {expected}..{want} of this organisation: missing (the export is truncated; the signed header counts {want})")


def verify_inclusion(event: dict[str, Any], proof: dict[str, Any], public_key_b64: str) -> str | None:
    """None if the event is provably in a signed block, else what is wrong."""
    try:
        leaf = event_leaf(event)
        if proof.get("leaf_hash") is not None and proof["leaf_hash"] != leaf.hex():
            return "changed after sealing (the event does not hash to its sealed leaf)"
        r = merkle.root_from_path(int(proof["index"]), int(proof["tree_size"]), leaf, [bytes.fromhex(h) for h in proof["path"]])
        block = proof["block"]
        if int(proof["tree_size"]) != int(block["event_count"]):
            return "the inclusion proof is for another tree size than the signed block's"
    except (ValueError, KeyError, TypeError):
        return "the inclusion proof is malformed"
    if r.hex() != block.get("merkle_root"):
        return "changed after sealing (its inclusion proof does not reach the signed root)"
    if block_hash(block) != block.get("block_hash"):
        return "the checkpoint's fields do not match its hash"
    if not verify_signature(public_key_b64, block["block_hash"], block.get("signature") or ""):
        return "the checkpoint signature does not verify"
    return None


def verify_proof_document(doc: dict[str, Any], public_key_b64: str) -> Report:
    """Verify one event's inclusion proof as served by GET /audit/events/{id}/proof."""
    rep = Report(key_id=key_id_b64(public_key_b64))
    try:
        event, proof = doc["event"], {k: doc[k] for k in ("index", "tree_size", "path", "block")}
    except (KeyError, TypeError):
        rep.fail("not an inclusion proof document")
        return rep
    rep.events = 1
    problem = verify_inclusion(event, proof, public_key_b64)
    if problem:
        rep.fail(f"event {event.get('id')}: {problem}", event.get("id") if isinstance(event.get("id"), int) else None)
    return rep


def verify_consistency_document(kept: dict[str, Any], doc: dict[str, Any], public_key_b64: str) -> Report:
    """Check that the log only grew from a checkpoint the auditor kept (`kept`) to the later
    checkpoint in `doc` (as served by GET /audit/consistency): both signed by the pinned key,
    the served first checkpoint identical to the kept one, and the RFC 6962 proof valid."""
    rep = Report(key_id=key_id_b64(public_key_b64))
    try:
        first, second, proof = doc["first"], doc["second"], [bytes.fromhex(h) for h in doc["proof"]]
        for name, cp in (("kept", kept), ("later", second)):
            if block_hash(cp) != cp.get("block_hash") or not verify_signature(public_key_b64, cp["block_hash"], cp.get("signature") or ""):
                rep.fail(f"the {name} checkpoint (block {cp.get('id')}) is not signed by the pinned key")
        if first.get("block_hash") != kept.get("block_hash"):
            rep.fail(f"the log no longer holds the checkpoint you kept (block {kept.get('id')}): it was rewritten")
        if kept.get("tree_size") is None or second.get("tree_size") is None:
            rep.fail("these checkpoints predate the log tree; no consistency proof exists for them")
        elif rep.ok and not merkle.verify_consistency(int(kept["tree_size"]), int(second["tree_size"]), bytes.fromhex(kept["tree_root"]),
                                                       bytes.fromhex(second["tree_root"]), proof):
            rep.fail(f"the consistency proof does not show block {second.get('id')} extends block {kept.get('id')}: the log did not only grow")
    except (KeyError, TypeError, ValueError):
        rep.fail("not a consistency proof document")
    return rep


CSV_COLUMNS = ["type", "id", "occurred_at", "action", "outcome", "actor_user_id", "actor_api_key_id", "actor_org_id", "subject_type", "subject_id",
               "subject_org_id", "ip", "request_id", "quantities", "details", "org_seq", "leaf_hash", "block_id", "checkpoint"]


def csv_to_lines(text_: str) -> Iterator[str]:
    """Turn a CSV export back into JSON Lines for verification. A column, or a value, that the
    export does not have is refused (ValueError): it was added afterwards."""
    reader = csv.DictReader(io.StringIO(text_))
    if reader.fieldnames != CSV_COLUMNS:
        raise ValueError(f"the CSV's columns are not an audit export's: {', '.join(sorted(set(reader.fieldnames or []) ^ set(CSV_COLUMNS)))}")
    for row in reader:
        if None in row:
            raise ValueError(f"row {reader.line_num} has more values than columns")
        t = row["type"]
        if t in ("header", "block"):
            yield row["checkpoint"]
            continue
        ev: dict[str, Any] = {"type": "event"}
        for k in ("id", "occurred_at", "action", "outcome", "actor_user_id", "actor_api_key_id", "actor_org_id", "subject_type", "subject_id",
                  "subject_org_id", "ip", "request_id", "leaf_hash", "block_id"):
            v = row.get(k)
            ev[k] = None if v == "" else v
        ev["id"] = int(ev["id"])
        if ev.get("block_id") is not None:
            ev["block_id"] = int(ev["block_id"])
        for k in ("quantities", "details"):
            ev[k] = json.loads(row[k]) if row.get(k) else None
        if row.get("org_seq"):
            ev["org_seq"] = json.loads(row["org_seq"])
        if row.get("checkpoint"):
            ev["proof"] = json.loads(row["checkpoint"])
        yield json.dumps(ev)
