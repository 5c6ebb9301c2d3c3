"""Sealing, verification, proofs, queries and exports of the audit log.

Sealing never touches the request path: events are plain INSERTs; a job later reads unsealed
events (older than a short grace period, so transactions still committing are not skipped),
hashes them into an RFC 6962 Merkle tree, chains the block to the previous one and signs it.
Only sealers serialise among themselves (an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.orm import Session

from catalog.storage import ObjectNotFound, StorageUnavailable, object_store
from marketplace.auditlog.models import AuditBlock, AuditLeaf, AuditOrgHead
from marketplace.auditlog.policy import POLICY
from marketplace.auditlog.policy import AuditPermission as Perm
from marketplace.formats import merkle
from marketplace.formats.auditchain import (
    CSV_COLUMNS,
    EXPORT_FORMAT,
    GENESIS,
    Report,
    block_hash,
    canonical,
    csv_to_lines,
    event_dict,
    event_leaf,
    event_leaf_from_text,
    header_message,
    ids_digest,
    key_id,
    seq_text,
    verify_blocks,
    verify_export_lines,
)
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.config import current_settings as _settings
from marketplace.kernel.cursors import SignedCursor
from marketplace.kernel.db import after_commit, get_session, unit_of_work, utcnow
from marketplace.kernel.errors import Conflict, NotFound, ValidationFailed
from marketplace.kernel.policy import Outcome
from marketplace.kernel.principal import Principal

SEAL_LOCK = 0x6D6B7461  # advisory lock id for sealers
WITNESS_LATEST = "audit/checkpoints/latest.json"
log = logging.getLogger(__name__)




def _private_key():
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(_settings().audit_signing_key))


def public_key_b64() -> str:
    return base64.b64encode(_private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _key_id() -> str:
    return key_id(base64.b64decode(public_key_b64()))


def key_id_of_platform() -> str:
    """The id of the key that signs checkpoints (the first 16 hex digits of its SHA-256)."""
    return _key_id()


def block_dict(b: AuditBlock, *, with_ids: list[int] | None = None) -> dict[str, Any]:
    out = {"type": "block", "id": b.id, "event_count": b.event_count, "first_event_id": b.first_event_id, "last_event_id": b.last_event_id,
           "event_ids_sha256": b.event_ids_sha256, "merkle_root": b.merkle_root, "prev_hash": b.prev_hash, "sealed_at": b.sealed_at.isoformat(),
           "key_id": b.key_id, "tree_size": b.tree_size, "tree_root": b.tree_root, "block_hash": b.block_hash, "signature": b.signature}
    if with_ids is not None:
        out["event_ids"] = with_ids
    return out


def _frontier_after(last: AuditBlock | None) -> merkle.Frontier:
    """The log tree's frontier after `last`: stored with the block, or (after an upgrade from
    blocks without one) rebuilt once from every sealed leaf in sealing order."""
    if last is None:
        return []
    if last.frontier is not None:
        return [(int(h), bytes.fromhex(x)) for h, x in last.frontier]
    frontier: merkle.Frontier = []
    rows = get_session().execute(select(AuditLeaf.leaf_hash).order_by(AuditLeaf.block_id, AuditLeaf.position))
    for (leaf,) in rows:
        frontier = merkle.frontier_append(frontier, bytes.fromhex(leaf))
    return frontier


def _positions(events: list[Any]) -> tuple[list[dict[str, int] | None], dict[uuid.UUID, AuditOrgHead], dict[uuid.UUID, int]]:
    """Give each event its next position in the log of every organisation it concerns. Returns
    the positions, the heads read, and each organisation's new last position."""
    session = get_session()
    orgs = {o for e in events for o in (e.actor_org_id, e.subject_org_id) if o is not None}
    heads = {h.org_id: h for h in session.scalars(select(AuditOrgHead).where(AuditOrgHead.org_id.in_(orgs)))} if orgs else {}
    counters = {o: (heads[o].seq if o in heads else 0) for o in orgs}
    names = {o: str(o) for o in orgs}  # each organisation's id as text once, not once per event
    out: list[dict[str, int] | None] = []
    for e in events:
        a, b = e.actor_org_id, e.subject_org_id
        parties = [o for o in ((a,) if a == b else (a, b)) if o is not None]
        if len(parties) == 2 and names[parties[1]] < names[parties[0]]:
            parties.reverse()
        seqs = {}
        for o in parties:
            counters[o] += 1
            seqs[names[o]] = counters[o]
        out.append(seqs or None)
    return out, heads, counters


def seal(*, batch_size: int = 5000, grace_seconds: int | None = None) -> list[int]:
    """Seal every unsealed event older than the grace period into blocks of `batch_size`.
    Returns the ids of the new blocks. Safe to run concurrently (sealers take turns). Each new
    checkpoint is also written to the object store after commit (the witness outside the
    database), so dropping the newest blocks from the database is detected."""
    grace = _settings().audit_seal_grace_seconds if grace_seconds is None else grace_seconds
    sealed: list[int] = []
    while True:
        with unit_of_work() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK})
            last = session.scalars(select(AuditBlock).order_by(AuditBlock.id.desc()).limit(1)).first()
            floor = max(0, (last.last_event_id if last else 0) - 10_000)  # late commits below the last block are still picked up
            cutoff = utcnow() - timedelta(seconds=grace)
            if session.get_bind().dialect.name == "postgresql":
                events, seqs, heads, counters, leaves = _unsealed_as_text(session, floor, cutoff, batch_size)
            else:
                # Plain rows, not ORM objects: a block is thousands of events (see benchmarks/sealing.py).
                events = list(session.execute(
                    select(*AuditEvent.__table__.columns).outerjoin(AuditLeaf, AuditLeaf.event_id == AuditEvent.id)
                    .where(AuditLeaf.event_id.is_(None), AuditEvent.id > floor, AuditEvent.occurred_at <= cutoff)
                    .order_by(AuditEvent.id).limit(batch_size)))
                seqs, heads, counters = _positions(events)
                leaves = [event_leaf(dict(event_dict(e), org_seq=seqs[i])) for i, e in enumerate(events)]
            if not events:
                return sealed
            frontier = _frontier_after(last)
            for leaf in leaves:
                frontier = merkle.frontier_append(frontier, leaf)
            ids = [e.id for e in events]
            bid = (last.id + 1) if last else 1
            b: dict[str, Any] = {"id": bid, "event_count": len(events), "first_event_id": ids[0], "last_event_id": ids[-1],
                 "event_ids_sha256": ids_digest(ids), "merkle_root": merkle.root(leaves).hex(), "prev_hash": last.block_hash if last else GENESIS,
                 "sealed_at": utcnow().isoformat(), "key_id": _key_id(), "tree_size": merkle.frontier_size(frontier),
                 "tree_root": merkle.frontier_root(frontier).hex()}
            h = block_hash(b)
            sig = base64.b64encode(_private_key().sign(bytes.fromhex(h))).decode()
            row = AuditBlock(id=bid, event_count=b["event_count"], first_event_id=b["first_event_id"], last_event_id=b["last_event_id"],
                             event_ids_sha256=b["event_ids_sha256"], merkle_root=b["merkle_root"], prev_hash=b["prev_hash"],
                             sealed_at=datetime.fromisoformat(b["sealed_at"]), block_hash=h, signature=sig, key_id=b["key_id"],
                             tree_size=b["tree_size"], tree_root=b["tree_root"], frontier=[[hh, x.hex()] for hh, x in frontier])
            session.add(row)
            session.flush()
            _insert_leaves(session, [(e.id, bid, i, leaves[i].hex(), seqs[i]) for i, e in enumerate(events)])
            for org, seq in counters.items():
                if org in heads:
                    heads[org].seq, heads[org].block_id = seq, bid
                else:
                    session.add(AuditOrgHead(org_id=org, seq=seq, block_id=bid))
            checkpoint = block_dict(row)
            after_commit(functools.partial(_witness, checkpoint))
            sealed.append(bid)
            if len(events) < batch_size:
                return sealed


# The unsealed events with every column as text, in the form the canonical JSON of a leaf uses
# (uuids as text, the time as Python's isoformat of a UTC datetime, JSON as its text): no UUID,
# datetime or JSON object is built per event. `event_leaf_from_text` turns a row into its leaf,
# byte for byte what `event_leaf(event_dict(...))` gives (tests/auditlog/test_sealing.py checks).
_UNSEALED_AS_TEXT = """
SELECT e.id,
       to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
         || CASE WHEN mod(date_part('microseconds', e.occurred_at)::bigint, 1000000) = 0 THEN ''
                 ELSE to_char(e.occurred_at AT TIME ZONE 'UTC', '.US') END || '+00:00',
       e.request_id, e.action, e.outcome, e.actor_user_id::text, e.actor_api_key_id::text, e.actor_org_id::text,
       e.subject_type, e.subject_id, e.subject_org_id::text, e.ip, e.quantities::text, e.details::text
FROM audit_events e LEFT JOIN audit_leaves l ON l.event_id = e.id
WHERE l.event_id IS NULL AND e.id > %(floor)s AND e.occurred_at <= %(cutoff)s
ORDER BY e.id LIMIT %(limit)s
"""


def seal_lag() -> tuple[int, float]:
    """Events after the last sealed block, and the age in seconds of the oldest of them (0 when
    none): what an operator alerts on when sealing stops. Two index reads."""
    session = get_session()
    last = session.scalar(select(func.max(AuditBlock.last_event_id))) or 0
    count, oldest = session.execute(select(func.count(), func.min(AuditEvent.occurred_at)).where(AuditEvent.id > last)).one()
    if not count or oldest is None:
        return 0, 0.0
    return int(count), max(0.0, (utcnow() - _aware(oldest)).total_seconds())


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=utcnow().tzinfo)


class _TextEvent(tuple[Any, ...]):
    """A row of _UNSEALED_AS_TEXT; `id` for the block's bookkeeping."""

    @property
    def id(self) -> int:
        return int(self[0])


def _unsealed_as_text(session: Session, floor: int, cutoff: datetime, limit: int) -> tuple[list[Any], list[dict[str, int] | None], dict[uuid.UUID, AuditOrgHead],
                                                                                            dict[uuid.UUID, int], list[bytes]]:
    """PostgreSQL's fast path of a seal: the events as text, their positions in each
    organisation's log, and their leaves."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(_UNSEALED_AS_TEXT, {"floor": floor, "cutoff": cutoff, "limit": limit})
        rows = [_TextEvent(r) for r in cur.fetchall()]
    if not rows:
        return [], [], {}, {}, []
    orgs = {o for r in rows for o in (r[7], r[10]) if o is not None}
    heads = {h.org_id: h for h in session.scalars(select(AuditOrgHead).where(AuditOrgHead.org_id.in_([uuid.UUID(o) for o in orgs])))}
    counters = {o: (heads[uuid.UUID(o)].seq if uuid.UUID(o) in heads else 0) for o in orgs}
    seqs: list[dict[str, int] | None] = []
    leaves = []
    for r in rows:
        a, b = r[7], r[10]
        if a is None and b is None:
            seq = None
        elif a == b or b is None:
            counters[a] += 1
            seq = {a: counters[a]}
        elif a is None:
            counters[b] += 1
            seq = {b: counters[b]}
        else:
            counters[a] += 1
            counters[b] += 1
            seq = {a: counters[a], b: counters[b]}
        seqs.append(seq)
        leaves.append(event_leaf_from_text(r, seq))
    return rows, seqs, heads, {uuid.UUID(o): n for o, n in counters.items()}, leaves


def _insert_leaves(session: Session, rows: list[tuple[int, int, int, str, dict[str, int] | None]]) -> None:
    """Write a block's leaves. On PostgreSQL through COPY, several times faster than a bulk
    INSERT for thousands of rows; elsewhere a bulk insert of plain rows (the unit of work would
    build an object per leaf)."""
    if session.get_bind().dialect.name == "postgresql":
        raw = session.connection().connection.driver_connection
        assert raw is not None
        # One buffer in COPY's text format: every value is a number, a hex digest or compact JSON
        # of organisation ids and numbers, so nothing needs COPY's escaping.
        buf = "".join(f"{event_id}\t{block_id}\t{position}\t{leaf}\t{seq_text(seq) if seq is not None else chr(92) + 'N'}\n"
                      for event_id, block_id, position, leaf, seq in rows)
        with raw.cursor() as cur, cur.copy("COPY audit_leaves (event_id, block_id, position, leaf_hash, org_seq) FROM STDIN") as copy:
            copy.write(buf)
        return
    session.execute(insert(AuditLeaf), [{"event_id": r[0], "block_id": r[1], "position": r[2], "leaf_hash": r[3], "org_seq": r[4]} for r in rows])


def _witness(checkpoint: dict[str, Any]) -> None:
    """Write the newest checkpoint outside the database. A failure is logged, not raised: the
    seal stands, and the live check reports the witness as behind until the next seal."""
    body = json.dumps(checkpoint, sort_keys=True).encode()
    try:
        store = _store()
        store.put(f"audit/checkpoints/{int(checkpoint['id']):012d}.json", body, content_type="application/json")
        # Sealers write after their commits, in any order: the witness never goes backwards.
        current = witnessed_checkpoint()
        if current is None or int(current.get("id", 0)) < int(checkpoint["id"]):
            store.put(WITNESS_LATEST, body, content_type="application/json")
    except Exception:  # noqa: BLE001 - any store failure leaves the seal valid
        log.warning("could not witness audit checkpoint %s in the object store", checkpoint.get("id"), exc_info=True)


_store = object_store


def witnessed_checkpoint() -> dict[str, Any] | None:
    """The newest checkpoint written outside the database (None if none was, or it cannot be read)."""
    try:
        doc = json.loads(_store().read(WITNESS_LATEST))
    except (ObjectNotFound, StorageUnavailable, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def latest_checkpoint() -> dict[str, Any] | None:
    """The newest signed checkpoint in the database."""
    b = get_session().scalars(select(AuditBlock).order_by(AuditBlock.id.desc()).limit(1)).first()
    return block_dict(b) if b is not None else None


def _blocks_with_events(block_ids: list[int] | None = None) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    session = get_session()
    q = select(AuditBlock).order_by(AuditBlock.id)
    if block_ids is not None:
        q = q.where(AuditBlock.id.in_(block_ids))
    for b in session.scalars(q):
        leaves = list(session.execute(select(AuditLeaf.event_id, AuditLeaf.leaf_hash, AuditLeaf.org_seq).where(AuditLeaf.block_id == b.id)
                                      .order_by(AuditLeaf.position)))
        ids = [i for i, _, _ in leaves]
        by_id = {e.id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))} if ids else {}
        events = []
        for eid, leaf, seq in leaves:
            ev = by_id.get(eid)
            if ev is not None:
                events.append(_with_seq(dict(event_dict(ev), type="event", leaf_hash=leaf, block_id=b.id), seq))
        yield block_dict(b, with_ids=ids), events


def _with_seq(ev: dict[str, Any], seq: dict[str, int] | None) -> dict[str, Any]:
    if seq is not None:
        ev["org_seq"] = seq
    return ev


def verify_database() -> Report:
    """Check every sealed block against the live events table (changed, deleted, reordered
    events; missing, altered or unchained blocks), and the newest block against the checkpoint
    witnessed outside the database (dropped newest blocks)."""
    witness = witnessed_checkpoint()
    latest = latest_checkpoint()
    checkpoint = witness if witness and (latest is None or int(witness["id"]) >= int(latest["id"])) else None
    rep = verify_blocks(_blocks_with_events(), public_key_b64(), complete_chain=True, checkpoint=checkpoint)
    rep.key_id = _key_id()
    if witness is None:
        rep.problems.append("note: no checkpoint is witnessed outside the database yet")
    elif latest is not None and int(witness["id"]) < int(latest["id"]):
        rep.problems.append(f"note: the witnessed checkpoint (block {witness['id']}) is behind the newest block ({latest['id']})")
    return _note_unsealed(rep, None)


def _note_unsealed(rep: Report, scope: Any) -> Report:
    """Events younger than the last seal are not covered yet: say how many, without failing."""
    q = select(func.count()).select_from(AuditEvent).outerjoin(AuditLeaf, AuditLeaf.event_id == AuditEvent.id).where(AuditLeaf.event_id.is_(None))
    unsealed = get_session().scalar(q if scope is None else q.where(scope)) or 0
    if unsealed:
        rep.problems.append(f"note: {unsealed} event(s) not sealed yet")
    return rep


def verify_whole_log(principal: Principal) -> Report:
    """Verify every sealed block against the live events (platform compliance)."""
    POLICY.require(principal, Perm.WHOLE_LOG)
    return verify_database()


def checkpoints(principal: Principal) -> dict[str, Any]:
    """The newest signed checkpoint, and the one witnessed outside the database."""
    POLICY.require(principal, Perm.CHECKPOINTS)
    return {"latest": latest_checkpoint(), "witnessed": witnessed_checkpoint()}


def verify_for(principal: Principal, org_id: uuid.UUID | None) -> Report:
    """The verification the caller may run: platform compliance checks the whole live log; an
    organisation's owners, admins and auditors check their own export (every event with its
    inclusion proof against signed checkpoints), exactly as `marketplace audit verify` would."""
    _scope(principal, org_id)  # permission: the same rule as reading the events
    if principal.platform_compliance and org_id is None:
        return verify_database()
    return _note_unsealed(verify_export_lines(export_lines(principal, org_id=org_id), public_key_b64()), _scope(principal, org_id))


# --------------------------------------------------------------------------- who sees what


def _scope(principal: Principal, org_id: uuid.UUID | None) -> Any:
    """A filter on events the caller may read. Platform compliance reads everything; an
    organisation's owners, admins and auditors read events it caused or that concern it."""
    if org_id is None:
        if POLICY.allows(principal, Perm.WHOLE_LOG):
            return None
        principal.require_scope("audit:read")
        raise ValidationFailed("Say whose audit log to read.", errors={"org_id": ["Required unless you are platform compliance."]})
    POLICY.require(principal, Perm.EVENTS_READ, org=org_id)
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
    ev = session.get(AuditEvent, event_id) if 0 < event_id < 2**63 else None  # no 64-bit id is larger: not found, not an overflow
    if ev is None:
        raise NotFound("No such event.")
    decision = POLICY.decide(principal, Perm.EVENT_PROOF, actor=ev.actor_org_id, subject=ev.subject_org_id)
    if decision.outcome in (Outcome.hidden, Outcome.forbidden):
        raise NotFound("No such event.")  # an event a member may not read does not exist for them
    POLICY.require(principal, Perm.EVENT_PROOF, actor=ev.actor_org_id, subject=ev.subject_org_id)
    leaf = session.get(AuditLeaf, event_id)
    if leaf is None:
        raise Conflict("The event is not sealed yet; try again after the next seal.")
    block = session.get_one(AuditBlock, leaf.block_id)
    leaves = [bytes.fromhex(h) for h in session.scalars(select(AuditLeaf.leaf_hash).where(AuditLeaf.block_id == block.id).order_by(AuditLeaf.position))]
    path = merkle.audit_path(leaf.position, leaves)
    # Not redacted: a proof must hash to exactly what was sealed.
    return {"event": _with_seq(event_dict(ev), leaf.org_seq), "leaf_hash": leaf.leaf_hash, "index": leaf.position, "tree_size": len(leaves),
            "path": [p.hex() for p in path], "block": block_dict(block), "public_key": public_key_b64()}


def _inclusion_proofs(sealed: list[tuple[AuditEvent, AuditLeaf]]) -> list[dict[str, Any]]:
    """The proofs `proof()` gives, for many events at once (an organisation's export): each
    block's leaves are read once and its tree hashed once, so an export costs O(events), not
    O(events x block size)."""
    session = get_session()
    block_ids = sorted({leaf.block_id for _, leaf in sealed})
    blocks = {b.id: b for b in session.scalars(select(AuditBlock).where(AuditBlock.id.in_(block_ids)))} if block_ids else {}
    # Rows come in block order: only the current block's tree is kept, so memory stays one block's.
    tree, tree_block = merkle.Tree([]), None
    out = []
    for ev, leaf in sealed:
        if leaf.block_id != tree_block:
            hashes = session.scalars(select(AuditLeaf.leaf_hash).where(AuditLeaf.block_id == leaf.block_id).order_by(AuditLeaf.position))
            tree, tree_block = merkle.Tree([bytes.fromhex(h) for h in hashes]), leaf.block_id
        out.append({"event": _with_seq(event_dict(ev), leaf.org_seq), "leaf_hash": leaf.leaf_hash, "index": leaf.position,
                    "tree_size": len(tree.leaves), "path": [p.hex() for p in tree.path(leaf.position)], "block": block_dict(blocks[leaf.block_id])})
    return out


def _signed_header(scope: str, org_id: uuid.UUID | None, checkpoint: dict[str, Any] | None, org_event_count: int | None) -> dict[str, Any]:
    header = {"type": "header", "format": EXPORT_FORMAT, "scope": scope, "org_id": str(org_id) if org_id else None, "exported_at": utcnow().isoformat(),
              "key_id": _key_id(), "checkpoint": checkpoint, "org_event_count": org_event_count}
    header["signature"] = base64.b64encode(_private_key().sign(header_message(header))).decode()
    # Informational only: verifiers use a key they pinned, never this one.
    header["public_key"] = public_key_b64()
    return header


def export_lines(principal: Principal, *, org_id: uuid.UUID | None = None) -> Iterator[str]:
    """JSON Lines with a signed header. Platform compliance without org_id: every sealed block and
    its events (the whole chain, up to the header's checkpoint). Otherwise: the organisation's
    sealed events in sealing order, each with its inclusion proof and its signed position; the
    header signs how many there are, so a deleted, reordered or truncated event is detected."""
    scope = _scope(principal, org_id)
    session = get_session()
    checkpoint = latest_checkpoint()
    if scope is None:
        yield json.dumps(_signed_header("all", None, checkpoint, None))
        upto = [b for b in (checkpoint,) if b]
        for block, events in _blocks_with_events():
            if upto and block["id"] > upto[0]["id"]:
                break  # sealed after the header's checkpoint was read
            yield json.dumps(block)
            for e in events:
                yield json.dumps(e)
        return
    last_block = checkpoint["id"] if checkpoint else 0
    head = session.get(AuditOrgHead, org_id) if org_id else None
    rows = session.execute(select(AuditEvent, AuditLeaf).join(AuditLeaf, AuditLeaf.event_id == AuditEvent.id)
                           .where(scope, AuditLeaf.block_id <= last_block).order_by(AuditLeaf.block_id, AuditLeaf.position))
    sealed: list[tuple[AuditEvent, AuditLeaf]] = [(ev, leaf) for ev, leaf in rows]
    proofs = _inclusion_proofs(sealed)
    counted = max([(p["event"].get("org_seq") or {}).get(str(org_id), 0) for p in proofs] or [0])
    # The organisation's own head is the signed count when it is not newer than the checkpoint.
    count = head.seq if head is not None and head.block_id <= last_block else counted
    yield json.dumps(_signed_header("organisation", org_id, checkpoint, count))
    for p in proofs:
        yield json.dumps(dict(p["event"], type="event", proof={k: p[k] for k in ("leaf_hash", "index", "tree_size", "path", "block")}))


def consistency(principal: Principal, *, first: int, second: int | None = None) -> dict[str, Any]:
    """An RFC 6962 consistency proof between two checkpoints (blocks) of the log tree: an auditor
    who kept checkpoint `first` proves the log only grew up to `second` (default: the newest)."""
    # Any organisation the caller oversees will do: the proof says nothing about one tenant.
    if not any(POLICY.allows(principal, Perm.CONSISTENCY, org=o) for o in principal.org_ids):
        POLICY.require(principal, Perm.CONSISTENCY)
    session = get_session()
    a = session.get(AuditBlock, first)
    b = session.get(AuditBlock, second) if second is not None else session.scalars(select(AuditBlock).order_by(AuditBlock.id.desc()).limit(1)).first()
    if a is None or b is None:
        raise NotFound("No such checkpoint.")
    if a.tree_size is None or b.tree_size is None:
        raise Conflict("Consistency proofs cover checkpoints sealed with a log-tree root; this one predates it.")
    if a.id > b.id:
        raise ValidationFailed("The first checkpoint must not be newer than the second.", errors={"first": ["Older than or equal to second."]})
    leaves = [bytes.fromhex(h) for h in session.scalars(select(AuditLeaf.leaf_hash).where(AuditLeaf.block_id <= b.id)
                                                         .order_by(AuditLeaf.block_id, AuditLeaf.position))]
    if len(leaves) != b.tree_size:
        raise Conflict(f"The database holds {len(leaves)} sealed leaves up to block {b.id}, whose checkpoint signs {b.tree_size}: the log was altered.")
    path = merkle.consistency_proof(a.tree_size, leaves)
    return {"first": block_dict(a), "second": block_dict(b), "proof": [p.hex() for p in path]}


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


__all__ = ["seal", "verify_database", "query", "proof", "export_lines", "export_csv", "csv_to_lines", "public_key_b64", "canonical", "consistency",
           "latest_checkpoint", "witnessed_checkpoint"]
