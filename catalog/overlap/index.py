"""The overlap index: sign every record of a version's text-bearing files, write the records
and their LSH band keys, and decide which indexed records each one copies, exactly or nearly.

Indexing runs inside the ingest job, after the files are verified and before the version is
published, so that a version made of another vendor's data can be held (`services.conclude`).
It streams each file once, a batch of records at a time; each batch is one transaction (its
rows, then its lookups), so memory and locks stay bounded whatever the file's size. A version's
rows take part in other versions' lookups only once it is published (`LIVE`), and are deleted if
it goes back to draft or is withdrawn.

A near-duplicate is decided on the MinHash estimate of Jaccard similarity (120 values, 16 bits
kept of each) where the estimate cannot be wrong, and on the two records' shingle sets, read
back from the object store, where it could; an exact copy on the exact hash of the normalised
text. Versions of the same dataset are not compared (a new version repeats the last one).
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
from sqlalchemy import bindparam, delete, func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger

from catalog.models import Dataset, DatasetVersion, VersionFile, VersionStatus, blob_key
from catalog.overlap import signing
from catalog.overlap.models import OverlapBand, OverlapRecord, OverlapReport
from catalog.overlap.records import TEXT_FORMATS, Fetcher, Located, text_records
from catalog.storage import object_store
from marketplace.kernel.db import end_read, get_session, unit_of_work

BATCH = 2000  # records signed, written and looked up per transaction
BATCH_CHARS = 2 << 20  # or fewer, when their text adds up to this many characters (signing holds ~28 bytes per character)
PER_BAND = 64  # candidates read per key, the earliest: a record repeated 16,000 times does not fetch them all for every copy
CHECKS = 16  # unsure candidates of one record compared exactly, the most similar first
LIVE = (VersionStatus.published.value, VersionStatus.deprecated.value)


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
            theirs = self._values({rid[k]: cands[rid[k]] for k in check if rid[k] not in own})
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

    def _values(self, cands: dict[int, _Candidate]) -> dict[int, list[str]]:
        """The text values of indexed records (the batch's candidates, with where each lies),
        read again from their files."""
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
