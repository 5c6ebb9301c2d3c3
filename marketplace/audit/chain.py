"""Canonical event bytes, block hashes and signatures, and the offline verifier of exports.

This module needs no database and no application: `marketplace audit verify FILE` uses it to
check an export on an auditor's machine with only the platform's public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from marketplace.audit import merkle

GENESIS = "0" * 64
EVENT_FIELDS = ("id", "occurred_at", "request_id", "action", "outcome", "actor_user_id", "actor_api_key_id", "actor_org_id",
                "subject_type", "subject_id", "subject_org_id", "ip", "quantities", "details")
BLOCK_FIELDS = ("id", "event_count", "first_event_id", "last_event_id", "event_ids_sha256", "merkle_root", "prev_hash", "sealed_at", "key_id")


def canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_dict(ev: Any) -> dict[str, Any]:
    """The exported, hashed form of an event (ids as strings, times as ISO 8601 UTC)."""
    out = {}
    for f in EVENT_FIELDS:
        v = getattr(ev, f) if not isinstance(ev, dict) else ev.get(f)
        if hasattr(v, "isoformat"):
            v = v.isoformat()
        elif v is not None and not isinstance(v, (int, float, str, dict, list, bool)):
            v = str(v)
        out[f] = v
    return out


def event_leaf(ev: dict[str, Any]) -> bytes:
    return merkle.leaf_hash(canonical({k: ev.get(k) for k in EVENT_FIELDS}))


def ids_digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def block_hash(block: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: block[k] for k in BLOCK_FIELDS})).hexdigest()


def key_id(public_key_raw: bytes) -> str:
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def verify_signature(public_key_b64: str, block_hash_hex: str, signature_b64: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64)).verify(base64.b64decode(signature_b64), bytes.fromhex(block_hash_hex))
        return True
    except (InvalidSignature, ValueError):
        return False


@dataclass
class Report:
    ok: bool = True
    blocks: int = 0
    events: int = 0
    first_bad_event: int | None = None
    problems: list[str] = field(default_factory=list)

    def fail(self, msg: str, event_id: int | None = None) -> None:
        self.ok = False
        if event_id is not None and self.first_bad_event is None:
            self.first_bad_event = event_id
        self.problems.append(msg)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "blocks": self.blocks, "events": self.events, "first_bad_event": self.first_bad_event, "problems": self.problems[:100]}


def verify_blocks(blocks: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]], public_key_b64: str, *, complete_chain: bool = True) -> Report:
    """Check blocks in order with their events: chain, block hashes, signatures, the signed list
    of event ids (deleted or reordered events), each event's hash (changed events) and the
    Merkle roots. Names the first bad event."""
    rep = Report()
    prev = None
    for block, events in blocks:
        rep.blocks += 1
        bid = block.get("id")
        if complete_chain and prev is not None and block["prev_hash"] != prev:
            rep.fail(f"block {bid}: not chained to the block before it")
        if block_hash(block) != block["block_hash"]:
            rep.fail(f"block {bid}: its fields do not match its hash")
        if not verify_signature(public_key_b64, block["block_hash"], block["signature"]):
            rep.fail(f"block {bid}: the signature does not verify")
        prev = block["block_hash"]
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
    return rep


def verify_export_lines(lines: Iterable[str], public_key_b64: str | None = None) -> Report:
    """Verify a JSON Lines export (header, then each block followed by its events)."""
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
        t = obj.get("type")
        if t == "header":
            header = obj
        elif t == "block":
            grouped.append((obj, []))
        elif t == "event":
            if "proof" in obj:
                proofs.append(obj)
            elif not grouped:
                rep.fail(f"line {n}: an event before any block")
            else:
                grouped[-1][1].append(obj)
    key = public_key_b64 or (header or {}).get("public_key")
    if not key:
        rep.fail("no public key: pass one, or keep the export's header")
        return rep
    if header and public_key_b64 and header.get("public_key") != public_key_b64:
        rep.problems.append("note: the export's header names another key than the one given; the given key is used")
    out = verify_blocks(grouped, key, complete_chain=bool(header and header.get("scope") == "all"))
    for p in proofs:
        out.events += 1
        problem = verify_inclusion(p, p["proof"], key)
        if problem:
            out.fail(f"event {p['id']}: {problem}", int(p["id"]))
    return out


def verify_inclusion(event: dict[str, Any], proof: dict[str, Any], public_key_b64: str) -> str | None:
    """None if the event is provably in a signed block, else what is wrong."""
    leaf = event_leaf(event)
    try:
        r = merkle.root_from_path(proof["index"], proof["tree_size"], leaf, [bytes.fromhex(h) for h in proof["path"]])
    except (ValueError, KeyError):
        return "the inclusion proof is malformed"
    block = proof["block"]
    if r.hex() != block["merkle_root"]:
        return "changed after sealing (its inclusion proof does not reach the signed root)"
    if block_hash(block) != block["block_hash"]:
        return "the checkpoint's fields do not match its hash"
    if not verify_signature(public_key_b64, block["block_hash"], block["signature"]):
        return "the checkpoint signature does not verify"
    return None
