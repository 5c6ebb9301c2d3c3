"""Sealing, verification, proofs, queries and exports of the audit log.

Sealing never touches the request path: events are plain INSERTs; a job later reads unsealed
events (older than a short grace period, so transactions still committing are not skipped),
hashes them into an RFC 6962 Merkle tree, chains the block to the previous one and signs it.
Only sealers serialise among themselves (an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from typing import Any, Iterator

from sqlalchemy import func, or_, select, text

from marketplace.audit import merkle
from marketplace.audit.chain import GENESIS, Report, block_hash, canonical, event_dict, event_leaf, ids_digest, key_id, verify_blocks
from marketplace.audit.models import AuditBlock, AuditLeaf
from marketplace.core.audit import AuditEvent
from marketplace.core.cursors import SignedCursor
from marketplace.core.db import get_session, unit_of_work, utcnow
from marketplace.core.errors import NotFound, ValidationFailed
from marketplace.core.identity.models import OrgRole
from marketplace.core.identity.principal import Principal
from marketplace.core.config import current_settings as _settings

SEAL_LOCK = 0x6D6B7461  # advisory lock id for sealers




def _private_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(_settings().audit_signing_key))


def public_key_b64() -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return base64.b64encode(_private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _key_id() -> str:
    return key_id(base64.b64decode(public_key_b64()))


def block_dict(b: AuditBlock, *, with_ids: list[int] | None = None) -> dict[str, Any]:
    out = {"type": "block", "id": b.id, "event_count": b.event_count, "first_event_id": b.first_event_id, "last_event_id": b.last_event_id,
           "event_ids_sha256": b.event_ids_sha256, "merkle_root": b.merkle_root, "prev_hash": b.prev_hash, "sealed_at": b.sealed_at.isoformat(),
           "key_id": b.key_id, "block_hash": b.block_hash, "signature": b.signature}
    if with_ids is not None:
        out["event_ids"] = with_ids
    return out


def seal(*, batch_size: int = 5000, grace_seconds: int | None = None) -> list[int]:
    """Seal every unsealed event older than the grace period into blocks of `batch_size`.
    Returns the ids of the new blocks. Safe to run concurrently (sealers take turns)."""
    grace = _settings().audit_seal_grace_seconds if grace_seconds is None else grace_seconds
    sealed: list[int] = []
    while True:
        with unit_of_work() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK})
            last = session.scalars(select(AuditBlock).order_by(AuditBlock.id.desc()).limit(1)).first()
            floor = max(0, (last.last_event_id if last else 0) - 10_000)  # late commits below the last block are still picked up
            cutoff = utcnow() - timedelta(seconds=grace)
            events = list(session.scalars(
                select(AuditEvent).outerjoin(AuditLeaf, AuditLeaf.event_id == AuditEvent.id)
                .where(AuditLeaf.event_id.is_(None), AuditEvent.id > floor, AuditEvent.occurred_at <= cutoff)
                .order_by(AuditEvent.id).limit(batch_size)))
            if not events:
                return sealed
            leaves = [event_leaf(event_dict(e)) for e in events]
            ids = [e.id for e in events]
            b = {"id": (last.id + 1) if last else 1, "event_count": len(events), "first_event_id": ids[0], "last_event_id": ids[-1],
                 "event_ids_sha256": ids_digest(ids), "merkle_root": merkle.root(leaves).hex(), "prev_hash": last.block_hash if last else GENESIS,
                 "sealed_at": utcnow().isoformat(), "key_id": _key_id()}
            h = block_hash(b)
            sig = base64.b64encode(_private_key().sign(bytes.fromhex(h))).decode()
            session.add(AuditBlock(id=b["id"], event_count=b["event_count"], first_event_id=b["first_event_id"], last_event_id=b["last_event_id"],
                                   event_ids_sha256=b["event_ids_sha256"], merkle_root=b["merkle_root"], prev_hash=b["prev_hash"],
                                   sealed_at=datetime.fromisoformat(b["sealed_at"]), block_hash=h, signature=sig, key_id=b["key_id"]))
            session.flush()
            session.add_all([AuditLeaf(event_id=e.id, block_id=b["id"], position=i, leaf_hash=leaves[i].hex()) for i, e in enumerate(events)])
            sealed.append(b["id"])
            if len(events) < batch_size:
                return sealed


def _blocks_with_events(block_ids: list[int] | None = None) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    session = get_session()
    q = select(AuditBlock).order_by(AuditBlock.id)
    if block_ids is not None:
        q = q.where(AuditBlock.id.in_(block_ids))
    for b in session.scalars(q):
        leaves = list(session.execute(select(AuditLeaf.event_id, AuditLeaf.leaf_hash).where(AuditLeaf.block_id == b.id).order_by(AuditLeaf.position)))
        ids = [i for i, _ in leaves]
        by_id = {e.id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))} if ids else {}
        events = []
        for eid, leaf in leaves:
            ev = by_id.get(eid)
            if ev is not None:
                events.append(dict(event_dict(ev), type="event", leaf_hash=leaf, block_id=b.id))
        yield block_dict(b, with_ids=ids), events


def verify_database() -> Report:
    """Check every sealed block against the live events table (changed, deleted, reordered)."""
    return _note_unsealed(verify_blocks(_blocks_with_events(), public_key_b64()), None)


def _note_unsealed(rep: Report, scope: Any) -> Report:
    """Events younger than the last seal are not covered yet: say how many, without failing."""
    q = select(func.count()).select_from(AuditEvent).outerjoin(AuditLeaf, AuditLeaf.event_id == AuditEvent.id).where(AuditLeaf.event_id.is_(None))
    unsealed = get_session().scalar(q if scope is None else q.where(scope)) or 0
    if unsealed:
        rep.problems.append(f"note: {unsealed} event(s) not sealed yet")
    return rep


def verify_for(principal: Principal, org_id: uuid.UUID | None) -> Report:
    """The verification the caller may run: platform compliance checks the whole live log; an
    organisation's owners, admins and auditors check their own export (every event with its
    inclusion proof against signed checkpoints), exactly as `marketplace audit verify` would."""
    _scope(principal, org_id)  # permission: the same rule as reading the events
    if principal.platform_compliance and org_id is None:
        return verify_database()
    from marketplace.audit.chain import verify_export_lines

    return _note_unsealed(verify_export_lines(export_lines(principal, org_id=org_id), public_key_b64()), _scope(principal, org_id))


# --------------------------------------------------------------------------- who sees what


def _scope(principal: Principal, org_id: uuid.UUID | None) -> Any:
    """A filter on events the caller may read. Platform compliance reads everything; an
    organisation's owners, admins and auditors read events it caused or that concern it."""
    principal.require_scope("audit:read")
    if principal.platform_compliance:
        if org_id is None:
            return None
        return or_(AuditEvent.actor_org_id == org_id, AuditEvent.subject_org_id == org_id)
    if org_id is None:
        raise ValidationFailed("Say whose audit log to read.", errors={"org_id": ["Required unless you are platform compliance."]})
    role = principal.role_in(org_id)
    if role is None:
        raise NotFound("No such organisation.")
    if role == OrgRole.member:
        from marketplace.core.errors import Forbidden

        raise Forbidden("Reading the audit log needs the owner, admin or auditor role.")
    return or_(AuditEvent.actor_org_id == org_id, AuditEvent.subject_org_id == org_id)


def _redact(ev: dict[str, Any], principal: Principal, org_id: uuid.UUID | None) -> dict[str, Any]:
    """In queries, a vendor sees who accessed its data (organisation, user, quantities) but not the
    other organisation's client IP addresses. Exports and proofs carry events unredacted, as
    sealed, so that they verify."""
    if principal.platform_compliance or org_id is None:
        return ev
    if ev.get("actor_org_id") != str(org_id):
        ev = dict(ev, ip=None)
    return ev


def query(principal: Principal, *, org_id: uuid.UUID | None = None, action: str | None = None, outcome: str | None = None,
          subject_type: str | None = None, subject_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
          cursor: str | None = None, limit: int = 100) -> dict[str, Any]:
    scope = _scope(principal, org_id)
    q = select(AuditEvent).order_by(AuditEvent.id.desc())
    if scope is not None:
        q = q.where(scope)
    for col, val in ((AuditEvent.action, action), (AuditEvent.outcome, outcome), (AuditEvent.subject_type, subject_type), (AuditEvent.subject_id, subject_id)):
        if val is not None:
            q = q.where(col == val)
    if since:
        q = q.where(AuditEvent.occurred_at >= since)
    if until:
        q = q.where(AuditEvent.occurred_at < until)
    if cursor:
        q = q.where(AuditEvent.id < _cursor_id(cursor, org_id))
    rows = list(get_session().scalars(q.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_redact(event_dict(e), principal, org_id) for e in rows]
    return {"items": items, "next_cursor": _make_cursor(rows[-1].id, org_id) if more and rows else None}


CURSOR = SignedCursor("audit.cursor")


def _make_cursor(last_id: int, org_id: uuid.UUID | None) -> str:
    return CURSOR.dump({"id": last_id}, bound=str(org_id) if org_id else None)


def _cursor_id(cursor: str, org_id: uuid.UUID | None) -> int:
    last = CURSOR.load(cursor, bound=str(org_id) if org_id else None).get("id")
    if not isinstance(last, int):
        raise ValidationFailed("The cursor is not valid.", errors={"cursor": ["Invalid or tampered cursor; start again without it."]})
    return last


def proof(principal: Principal, event_id: int) -> dict[str, Any]:
    """An inclusion proof: the event, its Merkle audit path and the signed checkpoint."""
    session = get_session()
    ev = session.get(AuditEvent, event_id)
    if ev is None:
        raise NotFound("No such event.")
    if not principal.platform_compliance:
        principal.require_scope("audit:read")
        allowed = [o for o in (ev.actor_org_id, ev.subject_org_id) if o is not None and principal.role_in(o) in (OrgRole.owner, OrgRole.admin, OrgRole.auditor)]
        if not allowed:
            raise NotFound("No such event.")
    leaf = session.get(AuditLeaf, event_id)
    if leaf is None:
        from marketplace.core.errors import Conflict

        raise Conflict("The event is not sealed yet; try again after the next seal.")
    block = session.get(AuditBlock, leaf.block_id)
    leaves = [bytes.fromhex(h) for h in session.scalars(select(AuditLeaf.leaf_hash).where(AuditLeaf.block_id == block.id).order_by(AuditLeaf.position))]
    path = merkle.audit_path(leaf.position, leaves)
    # Not redacted: a proof must hash to exactly what was sealed.
    return {"event": event_dict(ev), "leaf_hash": leaf.leaf_hash, "index": leaf.position, "tree_size": len(leaves),
            "path": [p.hex() for p in path], "block": block_dict(block), "public_key": public_key_b64()}


def export_lines(principal: Principal, *, org_id: uuid.UUID | None = None) -> Iterator[str]:
    """JSON Lines. Platform compliance without org_id: every sealed block and its events (the
    whole chain). Otherwise: the caller's events, each with its own inclusion proof."""
    scope = _scope(principal, org_id)
    yield json.dumps({"type": "header", "format": "marketplace-audit-export/1", "scope": "all" if scope is None else "organisation",
                      "org_id": str(org_id) if org_id else None, "public_key": public_key_b64(), "key_id": _key_id(), "exported_at": utcnow().isoformat()})
    if scope is None:
        for block, events in _blocks_with_events():
            yield json.dumps(block)
            for e in events:
                yield json.dumps(e)
        return
    session = get_session()
    sealed = select(AuditEvent.id).join(AuditLeaf, AuditLeaf.event_id == AuditEvent.id).where(scope).order_by(AuditEvent.id)
    for eid in session.scalars(sealed):
        p = proof(principal, eid)
        yield json.dumps(dict(p["event"], type="event", proof={k: p[k] for k in ("leaf_hash", "index", "tree_size", "path", "block")}))


def export_csv(principal: Principal, *, org_id: uuid.UUID | None = None) -> str:
    """CSV: one row per line of the JSON Lines export; checkpoints and proofs in a JSON column."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for line in export_lines(principal, org_id=org_id):
        obj = json.loads(line)
        if obj["type"] != "event":
            w.writerow({"type": obj["type"], "id": obj.get("id", ""), "checkpoint": line})
            continue
        row = {k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in obj.items() if k in CSV_COLUMNS}
        if "proof" in obj:
            row["checkpoint"] = json.dumps(obj["proof"])
        w.writerow(row)
    return buf.getvalue()


CSV_COLUMNS = ["type", "id", "occurred_at", "action", "outcome", "actor_user_id", "actor_api_key_id", "actor_org_id", "subject_type", "subject_id",
               "subject_org_id", "ip", "request_id", "quantities", "details", "leaf_hash", "block_id", "checkpoint"]


def csv_to_lines(text_: str) -> Iterator[str]:
    """Turn a CSV export back into JSON Lines for verification."""
    for row in csv.DictReader(io.StringIO(text_)):
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
        for k in ("quantities", "details"):
            ev[k] = json.loads(row[k]) if row.get(k) else None
        if row.get("checkpoint"):
            ev["proof"] = json.loads(row["checkpoint"])
        yield json.dumps(ev)


__all__ = ["seal", "verify_database", "query", "proof", "export_lines", "export_csv", "csv_to_lines", "public_key_b64", "canonical"]
