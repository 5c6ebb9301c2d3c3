"""Overlap at ingest: sign every record of a version's text-bearing files, add them to the
catalogue-wide index, and find which other published versions hold the same or nearly the same
records; then the findings, the publishing threshold, appeals and overrides.

Indexing runs inside the ingest job, after the files are verified and before the version is
published, so that a version made of another vendor's data can be held. It streams each file
once, a batch of records at a time; each batch is one transaction (its rows, then its lookups),
so memory and locks stay bounded whatever the file's size. The version's rows take part in
other versions' lookups only once it is published (`LIVE`), and are deleted if it goes back
to draft or is withdrawn.

A near-duplicate is decided on the MinHash estimate of Jaccard similarity (120 values, of which
16 bits are kept per value); an exact copy on the exact hash of the normalised text. Versions
of the same dataset are not compared (a new version is expected to repeat the last one).
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from sqlalchemy import bindparam, delete, func, insert, literal, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased
from sqlalchemy.types import BigInteger

from catalog.actions import CatalogAction
from catalog.models import Dataset, DatasetVersion, VersionFile, VersionStatus, Visibility, blob_key
from catalog.overlap import signing
from catalog.overlap.models import OverlapBand, OverlapFinding, OverlapRecord, OverlapReport, OverlapState
from catalog.overlap.records import TEXT_FORMATS, Fetcher, Located, text_records
from catalog.policy import POLICY, CatalogPermission, can_read_private, require_dataset_writer
from catalog.storage import object_store
from marketplace.identity.models import Organization
from marketplace.kernel import audit
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import end_read, get_session, transactional, unit_of_work, utcnow
from marketplace.kernel.errors import Conflict, NotFound, ValidationFailed
from marketplace.kernel.notify import Topic, publish
from marketplace.kernel.principal import Principal
from marketplace.kernel.schemas import UNSAFE_TEXT

BATCH = 2000  # records signed, written and looked up per transaction
BATCH_CHARS = 8 << 20  # or fewer, when their text adds up to this many characters
PER_BAND = 200  # candidates read per band key: a very common short record does not fetch the whole index
CHECKS = 16  # unsure candidates of one record compared exactly, the most similar first
LIVE = (VersionStatus.published.value, VersionStatus.deprecated.value)
MAX_FIELDS = 64
LINEAGE_SHARE = 0.05  # undeclared overlap from which another dataset's licence binds as upstream
LINEAGE_RECORDS = 10
SYSTEM = Principal(request_id="ingest", ip=None)


@dataclass
class Source:
    """One stored file to sign."""

    file_id: uuid.UUID
    path: str
    format: str
    size: int
    sha256: str
    open_chunks: Callable[[], Iterator[bytes]]
    read_range: Callable[[int, int], bytes]


@dataclass
class Tally:
    """What one other version holds of the version being indexed."""

    exact: int = 0
    near: int = 0
    files: Counter[str] = field(default_factory=Counter)
    # The other version's record ids that matched, as int64 arrays compacted now and then: 8
    # bytes per distinct record rather than a Python set's 60, so a whole relisted corpus of
    # millions of records stays small while it is indexed.
    _matched: list[np.ndarray] = field(default_factory=list)
    _pending: int = 0

    def add_matched(self, ids: list[int]) -> None:
        self._matched.append(np.asarray(ids, dtype=np.int64))
        self._pending += len(ids)
        if self._pending > 1_000_000:
            self._matched, self._pending = [np.unique(np.concatenate(self._matched))], 0

    @property
    def matched(self) -> int:
        return len(np.unique(np.concatenate(self._matched))) if self._matched else 0


@dataclass
class Outcome:
    """Everything indexing found, for `conclude` to record."""

    content_key: str
    fields: list[str] | None
    records: int = 0
    foreign: int = 0  # records with a copy in another vendor's published data
    duplicate_exact: int = 0
    duplicate_near: int = 0
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    others: dict[uuid.UUID, Tally] = field(default_factory=lambda: defaultdict(Tally))


@dataclass(frozen=True)
class _Version:
    id: uuid.UUID
    dataset_id: uuid.UUID
    org_id: uuid.UUID
    live: bool
    published_at: datetime | None


def content_key(sources: Sequence[Source]) -> str:
    """Names the exact content an override was given for: publishing other files needs a new decision."""
    return hashlib.sha256("\n".join(sorted(f"{s.path}\t{s.sha256}" for s in sources)).encode()).hexdigest()


def index_version(version_id: uuid.UUID, dataset_id: uuid.UUID, sources: Sequence[Source],
                  observe: Callable[[str, int, int, bool], None] | None = None, *, org_id: uuid.UUID | None = None) -> Outcome:
    """Sign and index every record of the version's text-bearing files and tally what other
    versions hold of them. Called by the ingest job outside any transaction. `observe(path,
    ordinal, record id, exact)` hears every match decided (the accuracy benchmark's seam)."""
    session = get_session()
    report = session.get(OverlapReport, version_id)
    fields = list(report.text_fields) if report is not None and report.text_fields else None
    end_read()
    remove_rows(version_id)
    out = Outcome(content_key=content_key(sources), fields=fields)
    indexer = _Indexer(version_id, dataset_id, out, {s.file_id: s for s in sources}, observe, org_id)
    for src in sources:
        if src.format not in TEXT_FORMATS:
            continue
        signed_before = out.records
        batch: list[Located] = []
        ordinal = chars = 0
        for located in text_records(src.format, src.open_chunks, src.read_range, src.size, fields):
            batch.append(located)
            chars += sum(len(v) for v in located[0])
            if len(batch) >= BATCH or chars >= BATCH_CHARS:  # long records: a batch is bounded by its text too
                indexer.add(src, ordinal, batch)
                ordinal += len(batch)
                batch, chars = [], 0
        if batch:
            indexer.add(src, ordinal, batch)
            ordinal += len(batch)
        out.files[src.path] = {"records": ordinal, "signed": out.records - signed_before}
    return out


def remove_rows(version_id: uuid.UUID) -> None:
    """Take a version's records out of the index (a re-run of ingest, a block, a withdrawal)."""
    with unit_of_work() as session:
        session.execute(delete(OverlapBand).where(OverlapBand.version_id == version_id))
        session.execute(delete(OverlapRecord).where(OverlapRecord.version_id == version_id))


@dataclass(frozen=True)
class _Candidate:
    version_id: uuid.UUID
    file_id: uuid.UUID
    exact: int
    signature: np.ndarray
    where: tuple[int, int]


class _Indexer:
    def __init__(self, version_id: uuid.UUID, dataset_id: uuid.UUID, out: Outcome, own_files: dict[uuid.UUID, Source],
                 observe: Callable[[str, int, int, bool], None] | None = None, org_id: uuid.UUID | None = None) -> None:
        self.vid, self.dataset_id, self.out, self.own_files, self.observe, self.org_id = version_id, dataset_id, out, own_files, observe, org_id
        self.versions: dict[uuid.UUID, _Version | None] = {}
        self.fetchers: dict[uuid.UUID, Fetcher | None] = {}

    def add(self, src: Source, start: int, batch: list[Located]) -> None:
        texts = [i for i, (values, _, _) in enumerate(batch) if values]  # most records of a media or numeric file have no text: not signed
        if not texts:
            return
        signed = signing.sign([batch[i][0] for i in texts])
        kept = np.flatnonzero(signed.has_text)
        if not len(kept):
            return
        keep = np.asarray(texts, dtype=np.int64)[kept]
        exact, sig, bands, banded = signed.exact[kept], signed.signature[kept], signed.bands[kept], signed.bandable[kept]
        where = np.array([batch[i][1:] for i in keep], dtype=np.int64).reshape(len(keep), 2)
        with unit_of_work() as session:
            ids = _write(session, self.vid, src.file_id, start + keep, where, exact, sig, bands, banded)
            pos, rid = _pairs(_keys(bands, banded, exact), _hits(session, bands[banded], exact[~banded]))
            cands = _records(session, sorted(set(rid.tolist()) - set(ids.tolist())))
            self._versions(session, {c.version_id for c in cands.values()})
            cands = {r: c for r, c in cands.items() if self._counts(c.version_id)}
            self._files(session, {c.file_id for c in cands.values()})
        self.out.records += len(keep)
        self._tally(src, [batch[i][0] for i in keep], ids, exact, sig, pos, rid, cands, start + keep)

    def _versions(self, session: Any, ids: set[uuid.UUID]) -> None:
        missing = [v for v in ids if v not in self.versions]
        if not missing:
            return
        rows = session.execute(select(DatasetVersion.id, DatasetVersion.dataset_id, Dataset.organization_id, DatasetVersion.status, DatasetVersion.published_at)
                               .join(Dataset, Dataset.id == DatasetVersion.dataset_id).where(DatasetVersion.id.in_(missing))).all()
        for v in missing:
            self.versions[v] = None
        for vid, ds, org, status, published in rows:
            self.versions[vid] = _Version(vid, ds, org, status in LIVE, published)

    def _files(self, session: Any, ids: set[uuid.UUID]) -> None:
        """A reader for each file holding a candidate, with its version's text fields."""
        missing = [f for f in ids if f not in self.fetchers]
        if not missing:
            return
        store = object_store()
        for f in missing:
            self.fetchers[f] = None
        rows = session.execute(select(VersionFile.id, VersionFile.format, VersionFile.size, VersionFile.sha256, OverlapReport.text_fields)
                               .outerjoin(OverlapReport, OverlapReport.version_id == VersionFile.version_id).where(VersionFile.id.in_(missing))).all()
        for fid, fmt, size, sha, fields in rows:
            key = blob_key(sha)
            self.fetchers[fid] = Fetcher(fmt, functools.partial(store.iter_range, key, chunk_size=1024 * 1024),
                                         functools.partial(_read, store, key), size, list(fields) if fields else None)
        for fid in missing:
            if fid in self.own_files:  # this version's own files: their verified bytes, its own fields
                s = self.own_files[fid]
                self.fetchers[fid] = Fetcher(s.format, s.open_chunks, s.read_range, s.size, self.out.fields)

    def _counts(self, version_id: uuid.UUID) -> bool:
        """Records of this version (within-dataset duplicates) and of live versions of other datasets."""
        if version_id == self.vid:
            return True
        v = self.versions.get(version_id)
        return v is not None and v.live and v.dataset_id != self.dataset_id

    def _tally(self, src: Source, values: list[list[str]], ids: np.ndarray, exact: np.ndarray, sig: np.ndarray, pos: np.ndarray, rid: np.ndarray,
               cands: dict[int, _Candidate], ordinals: np.ndarray) -> None:
        """Decide every (batch record, indexed record) pair that shares a key: exact, near (by
        the estimate, or exactly where it is unsure), or neither; and count what was found."""
        if not len(pos):
            return
        # Within the version only earlier records count (a duplicate is a later copy); other
        # versions' records only when they count (`cands` kept those).
        order = np.argsort(ids)
        sorted_ids = ids[order]
        at = np.minimum(np.searchsorted(sorted_ids, rid), len(ids) - 1)
        is_own = sorted_ids[at] == rid
        own_at = order[at]
        cand_ids = np.fromiter(cands, dtype=np.int64, count=len(cands))
        valid = np.where(is_own, rid < ids[pos], np.isin(rid, cand_ids))
        pos, rid, is_own, own_at = pos[valid], rid[valid], is_own[valid], own_at[valid]
        if not len(pos):
            return
        own = {int(r): int(i) for r, i in zip(rid[is_own], own_at[is_own], strict=True)}
        their_sig = np.stack([sig[own[r]] if r in own else cands[r].signature for r in rid.tolist()])
        their_exact = np.array([int(exact[own[r]]) if r in own else cands[r].exact for r in rid.tolist()], dtype=np.int64)
        rid = rid.tolist()
        est = np.atleast_1d(signing.estimate(sig[pos], their_sig))
        same = their_exact == exact[pos]
        # The estimate decides where it cannot be wrong (4 standard deviations from 0.8 at 120
        # values); between, the two records' shingle sets are compared exactly.
        near = (est >= signing.SURE) & ~same
        unsure = ~same & (est >= signing.UNSURE) & (est < signing.SURE)
        # Each record's CHECKS most similar unsure candidates are checked: 4,000 records near
        # each other would otherwise be 4,000 x 200 exact comparisons a batch.
        idx = np.flatnonzero(unsure)
        if len(idx):
            idx = idx[np.lexsort((-est[idx], pos[idx]))]
            first = np.r_[True, pos[idx][1:] != pos[idx][:-1]]
            group = np.cumsum(first) - 1
            rank = np.arange(len(idx)) - np.flatnonzero(first)[group]
            check = idx[rank < CHECKS].tolist()
            theirs = self._values([rid[k] for k in check if rid[k] not in own])
            sets: dict[tuple[str, int], frozenset[str]] = {}

            def shingled(kind: str, key: int, vals: list[str]) -> frozenset[str]:
                if (kind, key) not in sets:
                    sets[(kind, key)] = frozenset(signing.shingles(vals))
                return sets[(kind, key)]

            for k in check:
                r, i = rid[k], int(pos[k])
                other = values[own[r]] if r in own else theirs.get(r)
                if other is None:
                    continue
                mine, its = shingled("pos", i, values[i]), shingled("own" if r in own else "rid", own.get(r, r), other)
                near[k] = bool(mine or its) and len(mine & its) / max(len(mine | its), 1) >= signing.NEAR
        per_record: dict[int, dict[uuid.UUID, bool]] = defaultdict(dict)  # position -> version -> exact?
        matched: dict[uuid.UUID, list[int]] = defaultdict(list)
        for k, r in enumerate(rid):
            if not (same[k] or near[k]):
                continue
            version = self.vid if r in own else cands[r].version_id
            i = int(pos[k])
            if self.observe is not None:
                self.observe(src.path, int(ordinals[i]), r, bool(same[k]))
            per_record[i][version] = per_record[i].get(version, False) or bool(same[k])
            if version != self.vid:
                matched[version].append(r)
        for version, rs in matched.items():
            self.out.others[version].add_matched(rs)
        for found in per_record.values():
            if any(v != self.vid and (ver := self.versions.get(v)) is not None and ver.org_id != self.org_id for v in found):
                self.out.foreign += 1
            for version, is_exact in found.items():
                if version == self.vid:
                    if is_exact:
                        self.out.duplicate_exact += 1
                    else:
                        self.out.duplicate_near += 1
                    continue
                t = self.out.others[version]
                if is_exact:
                    t.exact += 1
                else:
                    t.near += 1
                t.files[src.path] += 1

    def _values(self, ids: list[int]) -> dict[int, list[str]]:
        """The text values of indexed records, read again from their files."""
        session = get_session()
        cands = _records(session, sorted(set(ids)))
        by_file: dict[uuid.UUID, list[int]] = defaultdict(list)
        for r, c in cands.items():
            by_file[c.file_id].append(r)
        out: dict[int, list[str]] = {}
        for fid, rs in by_file.items():
            fetcher = self.fetchers.get(fid)
            if fetcher is None:
                continue
            got = fetcher.values([cands[r].where for r in rs])
            out.update({r: got[cands[r].where] for r in rs})
        end_read()
        return out


def _read(store: Any, key: str, start: int, length: int) -> bytes:
    return store.read(key, start=start, length=length)


def _write(session: Any, vid: uuid.UUID, file_id: uuid.UUID, ordinals: np.ndarray, where: np.ndarray, exact: np.ndarray, sig: np.ndarray, bands: np.ndarray,
           banded: np.ndarray) -> np.ndarray:
    """Insert the batch's records and band keys; returns their ids. On PostgreSQL ids come from
    the sequence in one statement and rows go through COPY (a bulk INSERT of 48,000 band rows
    per batch was the slowest step); on SQLite, a bulk INSERT."""
    n = len(exact)
    if session.get_bind().dialect.name == "postgresql":
        ids = np.array(session.execute(text("SELECT nextval('overlap_records_id_seq') FROM generate_series(1, :n)"), {"n": n}).scalars().all(), dtype=np.int64)
        raw = session.connection().connection.driver_connection
        v, f = str(vid), str(file_id)
        with raw.cursor() as cur:
            with cur.copy("COPY overlap_records (id, version_id, file_id, ordinal, \"offset\", length, exact, signature) FROM STDIN") as copy:
                copy.write("".join(f"{ids[i]}\t{v}\t{f}\t{ordinals[i]}\t{where[i, 0]}\t{where[i, 1]}\t{exact[i]}\t\\\\x{sig[i].astype('<u2').tobytes().hex()}\n"
                                   for i in range(n)))
            with cur.copy("COPY overlap_bands (band, record_id, version_id) FROM STDIN") as copy:
                copy.write("".join(f"{b}\t{ids[i]}\t{v}\n" for i in np.flatnonzero(banded) for b in bands[i]))
        return ids
    rows = [{"version_id": vid, "file_id": file_id, "ordinal": int(ordinals[i]), "offset": int(where[i, 0]), "length": int(where[i, 1]),
             "exact": int(exact[i]), "signature": sig[i].astype("<u2").tobytes()} for i in range(n)]
    ids = np.array(session.execute(insert(OverlapRecord).returning(OverlapRecord.id, sort_by_parameter_order=True), rows).scalars().all(), dtype=np.int64)
    if banded.any():
        session.execute(insert(OverlapBand), [{"band": int(b), "record_id": int(ids[i]), "version_id": vid} for i in np.flatnonzero(banded) for b in bands[i]])
    return ids


def _keys(bands: np.ndarray, banded: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The batch's lookup keys, sorted, with the position of the record each belongs to: band
    keys of records with enough shingles, exact hashes of the short ones (whose few shingles
    would make every band key a crowded one)."""
    bi = np.flatnonzero(banded)
    keys = np.concatenate([bands[bi].ravel(), exact[~banded]])
    where = np.concatenate([np.repeat(bi, bands.shape[1]), np.flatnonzero(~banded)])
    order = np.argsort(keys, kind="stable")
    return keys[order], where[order]


def _pairs(keys: tuple[np.ndarray, np.ndarray], hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in the batch, record id) of every record pair sharing a key, once each, in
    position order: a join of the sorted keys with the hits, in numpy."""
    kk, kp = keys
    if not len(hits) or not len(kk):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    lo, hi = np.searchsorted(kk, hits[:, 0], "left"), np.searchsorted(kk, hits[:, 0], "right")
    n = hi - lo
    total = int(n.sum())
    if not total:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    first = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(total)
    pr = np.unique(np.stack([kp[first], np.repeat(hits[:, 1], n)], axis=1), axis=0)
    return pr[:, 0], pr[:, 1]


def _hits(session: Any, bands: np.ndarray, exacts: np.ndarray) -> np.ndarray:
    """(key, record id) rows of indexed records sharing a band key with the batch's banded
    records, or an exact hash with its short ones; at most PER_BAND per key, the earliest."""
    keys = sorted({int(b) for b in bands.ravel()})
    short = sorted({int(e) for e in exacts})
    rows: list[Any] = []
    if session.get_bind().dialect.name == "postgresql":
        # One index walk per key (a LATERAL with its LIMIT): `band = ANY(array)` let the planner
        # choose a sequential scan that grew with the index (118 ms a batch at 20,000 records).
        if keys:
            word = func.unnest(bindparam("keys", keys, type_=ARRAY(BigInteger))).table_valued("k").render_derived(name="w")
            best = select(OverlapBand.record_id).where(OverlapBand.band == word.c.k).order_by(OverlapBand.record_id).limit(PER_BAND).lateral("h")
            rows += session.execute(select(word.c.k, best.c.record_id).select_from(word.join(best, literal(True)))).all()
        if short:
            word = func.unnest(bindparam("short", short, type_=ARRAY(BigInteger))).table_valued("k").render_derived(name="w")
            best = select(OverlapRecord.id).where(OverlapRecord.exact == word.c.k).order_by(OverlapRecord.id).limit(PER_BAND).lateral("h")
            rows += session.execute(select(word.c.k, best.c.id).select_from(word.join(best, literal(True)))).all()
    else:
        for i in range(0, len(keys), 500):
            rows += session.execute(select(OverlapBand.band, OverlapBand.record_id).where(OverlapBand.band.in_(keys[i:i + 500]))).all()
        for i in range(0, len(short), 500):
            rows += session.execute(select(OverlapRecord.exact, OverlapRecord.id).where(OverlapRecord.exact.in_(short[i:i + 500]))).all()
    hits = np.array(rows, dtype=np.int64).reshape(-1, 2)
    if not len(hits):
        return hits
    hits = hits[np.lexsort((hits[:, 1], hits[:, 0]))]
    starts = np.flatnonzero(np.r_[True, hits[1:, 0] != hits[:-1, 0]])
    counts = np.diff(np.r_[starts, len(hits)])
    if counts.max() <= PER_BAND:
        return hits
    rank = np.arange(len(hits)) - np.repeat(starts, counts)
    return hits[rank < PER_BAND]


def _records(session: Any, ids: list[int]) -> dict[int, _Candidate]:
    out: dict[int, _Candidate] = {}
    for i in range(0, len(ids), 5000):
        for rid, v, fid, ex, sig, off, length in session.execute(
                select(OverlapRecord.id, OverlapRecord.version_id, OverlapRecord.file_id, OverlapRecord.exact, OverlapRecord.signature,
                       OverlapRecord.offset, OverlapRecord.length).where(OverlapRecord.id.in_(ids[i:i + 5000]))):
            out[int(rid)] = _Candidate(v, fid, int(ex), np.frombuffer(bytes(sig), dtype="<u2"), (int(off), int(length)))
    return out


def lookup(records: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """Which published records overlap these (each given as its text values): for each record
    with a match, the matching published records, exact or near by the signatures' estimate.
    Read-only; for tools that ask about a file without publishing it (and the benchmark)."""
    signed = signing.sign(records)
    keep = np.flatnonzero(signed.has_text)
    if not len(keep):
        return []
    session = get_session()
    bands, banded, exact = signed.bands[keep], signed.bandable[keep], signed.exact[keep]
    pos, rid = _pairs(_keys(bands, banded, exact), _hits(session, bands[banded], exact[~banded]))
    cands = _records(session, sorted(set(rid.tolist())))
    live = {v for v, status in session.execute(select(DatasetVersion.id, DatasetVersion.status)
                                               .where(DatasetVersion.id.in_({c.version_id for c in cands.values()}))) if status in LIVE} if cands else set()
    found: dict[int, dict[int, str]] = defaultdict(dict)
    for j, r in zip(pos.tolist(), rid.tolist(), strict=True):
        c = cands.get(r)
        if c is None or c.version_id not in live:
            continue
        i = int(keep[j])
        if c.exact == int(signed.exact[i]):
            found[j][r] = "exact"
        elif float(signing.estimate(signed.signature[i], c.signature)) >= signing.NEAR:
            found[j][r] = "near"
    end_read()
    return [{"record": int(keep[j]), "matches": [{"version_id": cands[r].version_id, "file_id": cands[r].file_id, "record_id": r, "kind": kind}
                                               for r, kind in m.items()]} for j, m in sorted(found.items()) if m]


# ---------------------------------------------------------------------------------------------
# Findings, the threshold and notifications: in the ingest job's publishing transaction.


def conclude(version: DatasetVersion, dataset: Dataset, out: Outcome, *, backfill: bool = False) -> str | None:
    """Record what indexing found on the version, inside the ingest job's final transaction.
    Returns the reason publishing is held, or None. On publication the earlier publishers of
    relisted records are told (an audit event and a notification, statistics only). With
    `backfill` (a version published before overlap detection) nothing is held or announced."""
    session = get_session()
    report = session.get(OverlapReport, version.id, with_for_update=True)
    if report is None:
        report = OverlapReport(version_id=version.id, state=OverlapState.clear.value)
        session.add(report)
    same_files = report.content_key == out.content_key  # an allowance or an appeal is for the files it was made for
    allowed = report.state == OverlapState.overridden.value and same_files
    report.records, report.duplicate_exact, report.duplicate_near = out.records, out.duplicate_exact, out.duplicate_near
    report.files, report.algorithm, report.computed_at, report.content_key = out.files, signing.ALGORITHM, utcnow(), out.content_key
    session.execute(delete(OverlapFinding).where(OverlapFinding.version_id == version.id))
    others = _others(session, list(out.others))
    totals = _record_counts(session, list(out.others))
    findings: list[OverlapFinding] = []
    for vid, t in out.others.items():
        o = others.get(vid)
        if o is None or not (t.exact + t.near):
            continue
        ov, ods = o
        f = OverlapFinding(version_id=version.id, dataset_id=dataset.id, other_version_id=vid, other_dataset_id=ods.id, other_org_id=ods.organization_id,
                           same_vendor=ods.organization_id == dataset.organization_id, other_earlier=True, records=out.records, exact=t.exact, near=t.near,
                           other_records=totals.get(vid, 0), other_matched=t.matched, share=(t.exact + t.near) / max(out.records, 1),
                           files={p: round(n / max(out.files.get(p, {}).get("signed", 0), 1), 4) for p, n in t.files.items()})
        session.add(f)
        findings.append(f)
    # The hold counts every record found in any other vendor's data (49 % from one and 49 %
    # from another is 98 % someone else's), and names the largest source.
    foreign = out.foreign / max(out.records, 1)
    worst = max((f for f in findings if not f.same_vendor), key=lambda f: f.share, default=None)
    if worst is not None and foreign >= current_settings().overlap_block_share and not allowed and not backfill:
        ov, ods = others[worst.other_version_id]
        report.state = OverlapState.appealed.value if report.state == OverlapState.appealed.value and same_files else OverlapState.blocked.value
        report.reason = (f"{foreign:.0%} of this version's records are copies or near copies of other vendors' published data"
                         f" (the most from {_public_name(ods, ov)}: {worst.share:.0%}). Publishing is held: if you hold the rights to this data,"
                         " appeal with your evidence; platform compliance decides.")
        audit.record(SYSTEM, CatalogAction.VERSION_OVERLAP_BLOCK, outcome="failure", subject_type="version", subject_id=version.id, subject_org_id=dataset.organization_id,
                     details={"share": round(foreign, 4), "largest_share": round(worst.share, 4), "threshold": current_settings().overlap_block_share})
        return report.reason
    if not allowed:
        report.state, report.reason = OverlapState.clear.value, None
    for f in findings:
        if f.same_vendor or backfill:
            continue
        ov, ods = others[f.other_version_id]
        stats = {"matched": f.other_matched, "records": f.other_records, "matched_percent": _percent(f.other_matched, f.other_records),
                 "share_percent": _percent(f.exact + f.near, f.records), "exact": f.exact, "near": f.near}
        audit.record(SYSTEM, CatalogAction.VERSION_OVERLAP_FOUND, subject_type="version", subject_id=ov.id, subject_org_id=ods.organization_id,
                     details={**stats, "finding_id": str(f.id)})
        publish(Topic.OVERLAP_FOUND, ods.organization_id, {"dataset_id": str(ods.id), "dataset_title": ods.title, "version_id": str(ov.id), "version": ov.version, **stats},
                dedupe=f"overlap:{version.id}:{ov.id}")
    return None


def _percent(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}" if d else "0"


def _others(session: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[DatasetVersion, Dataset]]:
    if not ids:
        return {}
    return {v.id: (v, d) for v, d in session.execute(select(DatasetVersion, Dataset).join(Dataset, Dataset.id == DatasetVersion.dataset_id).where(DatasetVersion.id.in_(ids)))}


def _record_counts(session: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    return dict(session.execute(select(OverlapRecord.version_id, func.count()).where(OverlapRecord.version_id.in_(ids)).group_by(OverlapRecord.version_id)).all())


def shown(ds: Dataset, v: DatasetVersion) -> bool:
    """Whether another vendor's dataset may be named to a vendor: listed in the public catalogue
    with the version live. Not an unlisted one (its id is its private link), not a draft."""
    return ds.visibility == Visibility.listed.value and v.status in LIVE


def _public_name(ds: Dataset, v: DatasetVersion) -> str:
    """How a vendor is shown another vendor's dataset: by name when it is listed, else unnamed."""
    if shown(ds, v):
        return f"“{ds.title}” {v.version}"
    return "a dataset that is not public"


# ---------------------------------------------------------------------------------------------
# What vendors and compliance see and do.


def _version(principal: Principal, version_id: uuid.UUID, *, lock: bool = False) -> tuple[DatasetVersion, Dataset]:
    session = get_session()
    row = session.execute(select(DatasetVersion, Dataset).join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                          .where(DatasetVersion.id == version_id).with_for_update(of=DatasetVersion) if lock else
                          select(DatasetVersion, Dataset).join(Dataset, Dataset.id == DatasetVersion.dataset_id).where(DatasetVersion.id == version_id)).first()
    if row is None or not can_read_private(principal, row[1]):
        raise NotFound("No such version.")
    return row[0], row[1]


def version_overlap(principal: Principal, version_id: uuid.UUID) -> dict[str, Any]:
    """The version's overlap report and findings (the vendor's members and platform staff).
    Another vendor's dataset is named only when it is public, or to platform staff."""
    v, ds = _version(principal, version_id)
    session = get_session()
    report = session.get(OverlapReport, v.id)
    staff = POLICY.allows(principal, CatalogPermission.OVERLAP_SEARCH)
    rows = session.execute(select(OverlapFinding, DatasetVersion, Dataset, Organization.name).join(DatasetVersion, DatasetVersion.id == OverlapFinding.other_version_id)
                           .join(Dataset, Dataset.id == OverlapFinding.other_dataset_id).join(Organization, Organization.id == Dataset.organization_id)
                           .where(OverlapFinding.version_id == v.id).order_by(OverlapFinding.share.desc())).all()
    return {"version_id": v.id, "dataset_id": ds.id, **_report_view(report, v),
            "findings": [_finding_view(f, ov, ods, vendor, show=staff or f.same_vendor or shown(ods, ov))
                         for f, ov, ods, vendor in rows]}


def _report_view(report: OverlapReport | None, v: DatasetVersion) -> dict[str, Any]:
    if report is None:
        return {"state": None, "indexed": False, "text_fields": None, "records": 0, "duplicate_exact": 0, "duplicate_near": 0, "duplicate_rate": None,
                "files": {}, "reason": None, "appeal": None, "appealed_at": None, "decision_note": None, "decided_at": None, "computed_at": None}
    return {"state": report.state, "indexed": report.computed_at is not None, "text_fields": report.text_fields, "records": report.records,
            "duplicate_exact": report.duplicate_exact, "duplicate_near": report.duplicate_near,
            "duplicate_rate": round((report.duplicate_exact + report.duplicate_near) / report.records, 4) if report.records else None,
            "files": report.files or {}, "reason": report.reason, "appeal": report.appeal, "appealed_at": report.appealed_at,
            "decision_note": report.decision_note, "decided_at": report.decided_at, "computed_at": report.computed_at}


def _finding_view(f: OverlapFinding, ov: DatasetVersion, ods: Dataset, vendor: str, *, show: bool) -> dict[str, Any]:
    return {"other_vendor": vendor if show else None, "other_version_id": ov.id if show else None, "other_dataset_id": ods.id if show else None,
            "other_dataset_title": ods.title if show else None, "other_version": ov.version if show else None,
            "other_org_id": f.other_org_id if show else None, "same_vendor": f.same_vendor,
            "other_published_at": ov.published_at if show else None, "records": f.records, "exact": f.exact, "near": f.near,
            "exact_share": round(f.exact / f.records, 4) if f.records else 0.0, "near_share": round(f.near / f.records, 4) if f.records else 0.0,
            "share": round(f.share, 4), "other_records": f.other_records if show else None, "other_matched": f.other_matched if show else None,
            "other_share": (round(f.other_matched / f.other_records, 4) if f.other_records else 0.0) if show else None, "files": f.files or {}, "found_at": f.created_at}


@transactional
def set_text_fields(principal: Principal, version_id: uuid.UUID, *, text_fields: list[str] | None) -> dict[str, Any]:
    """Say which fields carry the text to compare (a draft version; None: every text-bearing field)."""
    v, ds = _version(principal, version_id, lock=True)
    require_dataset_writer(principal, ds, get_session().get_one(Organization, ds.organization_id))
    if v.status != VersionStatus.draft.value:
        raise Conflict(f"Text fields are chosen before publishing (this version is {v.status}).")
    fields = text_fields
    if fields is not None:
        fields = list(dict.fromkeys(f.strip() for f in fields if f.strip()))
        if not fields or len(fields) > MAX_FIELDS:
            raise ValidationFailed("Name between 1 and 64 fields, or none to take every text-bearing field.", errors={"fields": [f"Between 1 and {MAX_FIELDS} field names."]})
    session = get_session()
    report = session.get(OverlapReport, v.id)
    if report is None:
        report = OverlapReport(version_id=v.id, state=OverlapState.clear.value)
        session.add(report)
    report.text_fields = fields
    audit.record(principal, CatalogAction.VERSION_OVERLAP_FIELDS, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"fields": fields})
    session.flush()
    return version_overlap(principal, v.id)


@transactional
def appeal(principal: Principal, version_id: uuid.UUID, *, reason: str) -> dict[str, Any]:
    """The vendor asks platform compliance to let a held version publish, saying why."""
    v, ds = _version(principal, version_id, lock=True)
    require_dataset_writer(principal, ds, get_session().get_one(Organization, ds.organization_id))
    reason = (reason or "").strip()
    if not UNSAFE_TEXT.sub("", reason).strip():
        raise ValidationFailed("An appeal needs a reason.", errors={"reason": ["Say why you hold the rights to this data."]})
    report = get_session().get(OverlapReport, v.id)
    if report is None or report.state not in (OverlapState.blocked.value, OverlapState.appealed.value):
        raise Conflict("Only a version held for overlap can be appealed.")
    report.state, report.appeal, report.appealed_at = OverlapState.appealed.value, reason, utcnow()
    audit.record(principal, CatalogAction.VERSION_OVERLAP_APPEAL, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"reason": reason[:2000]})
    return version_overlap(principal, v.id)


@transactional
def decide(principal: Principal, version_id: uuid.UUID, *, allow: bool, note: str) -> dict[str, Any]:
    """Platform compliance lets a held version publish (its current files only) or keeps it held."""
    POLICY.require(principal, CatalogPermission.OVERLAP_DECIDE)
    v, ds = _version(principal, version_id, lock=True)
    note = (note or "").strip()
    if not UNSAFE_TEXT.sub("", note).strip():
        raise ValidationFailed("A decision needs a note.", errors={"note": ["Say why, for the vendor and the record."]})
    report = get_session().get(OverlapReport, v.id)
    if report is None or report.state not in (OverlapState.blocked.value, OverlapState.appealed.value):
        raise Conflict("Only a version held for overlap can be decided on (and only once until it is held again).")
    report.state = OverlapState.overridden.value if allow else OverlapState.blocked.value
    report.decision_note, report.decided_by, report.decided_at = note, principal.user_id, utcnow()
    audit.record(principal, CatalogAction.VERSION_OVERLAP_DECIDE, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                 details={"allow": allow, "note": note[:2000], "content_key": report.content_key})
    return version_overlap(principal, v.id)


def dataset_overlaps(principal: Principal, dataset_id: uuid.UUID) -> dict[str, Any]:
    """Which datasets overlap with this one, both ways: its versions' records found elsewhere,
    and other versions found to hold its records. Platform staff see every party; the dataset's
    own vendor sees the statistics, and the other party only when it is public or its own."""
    session = get_session()
    ds = session.get(Dataset, dataset_id)
    staff = POLICY.allows(principal, CatalogPermission.OVERLAP_SEARCH)
    if ds is None or not (staff or can_read_private(principal, ds)):
        raise NotFound("No such dataset.")
    sub = aliased_versions()
    rows = session.execute(select(OverlapFinding, sub[0], sub[1], sub[2], sub[3])
                           .join(sub[0], sub[0].id == OverlapFinding.version_id).join(sub[1], sub[1].id == OverlapFinding.dataset_id)
                           .join(sub[2], sub[2].id == OverlapFinding.other_version_id).join(sub[3], sub[3].id == OverlapFinding.other_dataset_id)
                           .where(or_(OverlapFinding.dataset_id == ds.id, OverlapFinding.other_dataset_id == ds.id))
                           .order_by(OverlapFinding.share.desc()).limit(500)).all()
    out = []
    for f, v, d, ov, ods in rows:
        mine_is_subject = d.id == ds.id
        cv, cds = (ov, ods) if mine_is_subject else (v, d)
        if not (staff or mine_is_subject or cds.organization_id == ds.organization_id or v.status in LIVE):
            continue  # another vendor's version that was held, never published: none of this vendor's business
        show = staff or cds.organization_id == ds.organization_id or shown(cds, cv)
        out.append({"direction": "found_in_other" if mine_is_subject else "other_holds_this", "version_id": (v if mine_is_subject else ov).id,
                    "version": (v if mine_is_subject else ov).version, "counterpart_version_id": cv.id if show else None,
                    "counterpart_version": cv.version if show else None, "counterpart_dataset_id": cds.id if show else None,
                    "counterpart_dataset_title": cds.title if show else None, "counterpart_org_id": cds.organization_id if show else None,
                    "same_vendor": f.same_vendor, "records": f.records, "exact": f.exact, "near": f.near, "share": round(f.share, 4),
                    "other_records": f.other_records, "other_matched": f.other_matched, "found_at": f.created_at})
    return {"dataset_id": ds.id, "overlaps": out}


def held_versions(principal: Principal) -> list[dict[str, Any]]:
    """Versions held for overlap or appealed, oldest appeal first (platform staff)."""
    POLICY.require(principal, CatalogPermission.OVERLAP_SEARCH)
    rows = get_session().execute(select(OverlapReport, DatasetVersion, Dataset).join(DatasetVersion, DatasetVersion.id == OverlapReport.version_id)
                                 .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                                 .where(OverlapReport.state.in_([OverlapState.blocked.value, OverlapState.appealed.value]))
                                 .order_by(OverlapReport.state.desc(), OverlapReport.appealed_at, OverlapReport.updated_at).limit(200)).all()
    return [{"version_id": v.id, "version": v.version, "dataset_id": ds.id, "dataset_title": ds.title, "org_id": ds.organization_id, "state": r.state,
             "reason": r.reason, "appeal": r.appeal, "appealed_at": r.appealed_at, "records": r.records} for r, v, ds in rows]


def aliased_versions() -> tuple[Any, Any, Any, Any]:
    """A finding's two sides: (version, dataset) of the subject and of the other."""
    return aliased(DatasetVersion), aliased(Dataset), aliased(DatasetVersion), aliased(Dataset)


def duplicate_rate(version_id: uuid.UUID) -> dict[str, Any] | None:
    """The version's within-dataset duplicate figures (dataset page, Croissant, report), or None
    when it was not indexed."""
    report = get_session().get(OverlapReport, version_id)
    if report is None or report.computed_at is None:
        return None
    return {"records": report.records, "exact": report.duplicate_exact, "near": report.duplicate_near,
            "rate": round((report.duplicate_exact + report.duplicate_near) / report.records, 4) if report.records else 0.0}


def undeclared_overlaps(version_id: uuid.UUID, declared: set[uuid.UUID]) -> list[dict[str, Any]]:
    """Other vendors' listed, published datasets this version holds records of that its lineage
    does not declare (for the licence-compatibility check). Only listed ones: the lineage is
    shown to anyone who may see this version, and a private dataset must not be named there
    (nor could its vendor poison others' licences unseen). Below LINEAGE_SHARE, or
    LINEAGE_RECORDS records, a few shared stock sentences would drag a stranger's licence in."""
    session = get_session()
    rows = session.execute(select(OverlapFinding.other_dataset_id, OverlapFinding.other_version_id, OverlapFinding.share)
                           .join(Dataset, Dataset.id == OverlapFinding.other_dataset_id).join(DatasetVersion, DatasetVersion.id == OverlapFinding.other_version_id)
                           .where(OverlapFinding.version_id == version_id, OverlapFinding.same_vendor.is_(False), OverlapFinding.share >= LINEAGE_SHARE,
                                  OverlapFinding.exact + OverlapFinding.near >= LINEAGE_RECORDS, Dataset.visibility == Visibility.listed.value,
                                  DatasetVersion.status.in_(LIVE))
                           .order_by(OverlapFinding.share.desc())).all()
    return [{"dataset_id": d, "version_id": v, "share": round(s, 4)} for d, v, s in rows if d not in declared]
