"""The ingest job: verify every file of a version server-side, then publish it — or send it back
to draft with a reason per file. Nothing is ever half-published.

The job is idempotent (it only acts on a version in `processing`, and content-addressed copies
can be repeated), so a worker that dies midway is simply run again. No database transaction is
held while objects are streamed.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import uuid
from typing import Any, Iterator, NamedTuple

from sqlalchemy import select

from catalog import media, tables
from catalog.actions import CatalogAction
from catalog.analysis import MEDIA_FORMATS, Analysis, RangeReader, analyse_parquet, analyse_stream, media_figures, media_ms
from catalog.models import Blob, BlobHolder, Dataset, DatasetVersion, FileStatus, VersionFile, VersionStatus, blob_key, preview_key, staging_key
from catalog.overlap import index as overlap_index
from catalog.overlap import services as overlap
from catalog.overlap.models import OverlapReport
from catalog.services.datasets import manifest_entries, refresh_latest, root_digest, storage
from catalog.storage import ObjectNotFound, StorageUnavailable
from catalog.tables import TableFile
from marketplace.kernel import audit, metrics
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import after_commit, end_read, get_session, insert_ignore, transactional, unit_of_work, utcnow
from marketplace.kernel.jobs import job
from marketplace.kernel.notify import Topic, publish
from marketplace.kernel.principal import Principal

log = logging.getLogger(__name__)
SYSTEM = Principal(request_id="ingest", ip=None)


def _preview_records() -> int:
    return current_settings().preview_records


def analyse_object(key: str, fmt: str, size_hint: int) -> Analysis:
    """Stream one object once (digest, size, records, sample; a shard's members measured on
    the way); Parquet adds footer reads, media files header and index reads."""
    store = storage()
    n = _preview_records()
    chunks = store.iter_range(key, chunk_size=8 * 1024 * 1024)
    a = media.analyse_shard(chunks) if fmt == "tar" else analyse_stream(chunks, fmt, preview_records=n)
    metrics.INGEST_BYTES.labels(fmt).inc(a.size or 0)
    if fmt == "parquet" and a.size:
        analyse_parquet(functools.partial(_read_range, store, key), a.size, a, preview_records=n)
    elif fmt in MEDIA_FORMATS and not a.problems:
        media.measure_stored(fmt, functools.partial(_read_range, store, key), a.size, a)
    return a


@job("catalog.ingest_version")
def ingest_version(version_id: str) -> str:
    """Verify and publish one version. Returns the resulting status.

    If the object store fails midway, nothing is verified halfway: the version stays in
    processing with a reason the vendor can read, and the job (or a second publish request)
    runs again from the start."""
    vid = uuid.UUID(version_id)
    session = get_session()
    v = session.get(DatasetVersion, vid)
    if v is None or v.status != VersionStatus.processing.value:
        end_read()
        return v.status if v else "missing"
    files = list(session.scalars(select(VersionFile).where(VersionFile.version_id == vid).order_by(VersionFile.path)))
    org_id = session.scalar(select(Dataset.organization_id).where(Dataset.id == v.dataset_id))
    dataset_id = v.dataset_id
    digests = [f.sha256 for f in files]
    # `held`: bytes this organisation proved it has (reusable without an upload); `stored`: any
    # tenant's copy (only spares a second copy of bytes this upload just proved identical).
    held = set(session.scalars(select(BlobHolder.sha256).where(BlobHolder.sha256.in_(digests), BlobHolder.organization_id == org_id)))
    stored = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(digests))))
    end_read()

    try:
        results, failures, segments = _verify_files(files, held, stored)
        found: overlap_index.Outcome | str | None = None
        if not failures:
            try:
                found = overlap_index.index_version(vid, dataset_id, _overlap_sources(files, results), org_id=org_id)
            except StorageUnavailable:
                raise
            except Exception as e:  # noqa: BLE001 - a file the checker cannot read must not wedge the version in processing, nor publish unchecked
                log.exception("overlap check failed", extra={"version_id": version_id})
                overlap_index.remove_rows(vid)
                found = f"The overlap check could not read the records ({type(e).__name__}); the version was not published. Publish again; if it fails again, tell the platform."
    except StorageUnavailable:
        log.warning("object store unavailable during ingest; leaving the version in processing for a retry", extra={"version_id": version_id})
        _pause(vid, "Verification paused: the object store is unavailable. It is retried automatically; with inline jobs, publish again to retry.")
        raise
    except Exception as exc:  # noqa: BLE001 - the safety net: whatever breaks, the vendor gets the version back with a reason
        return _abandon(vid, exc)
    try:
        return _finish(vid, results, failures, found, segments)
    except Exception as exc:  # noqa: BLE001 - as above: a version never stays in processing because a step raised
        get_session().rollback()
        return _abandon(vid, exc)


def _abandon(vid: uuid.UUID, exc: BaseException) -> str:
    """Send a version whose ingest raised back to draft, with a reason and an audited failure,
    instead of leaving it in processing where the vendor can neither edit nor publish it."""
    log.exception("ingest failed", extra={"version_id": str(vid)}, exc_info=exc)
    overlap_index.remove_rows(vid)
    with unit_of_work() as session:
        v = session.get(DatasetVersion, vid, with_for_update=True)
        if v is None or v.status != VersionStatus.processing.value:
            return v.status if v else "missing"
        ds = session.get_one(Dataset, v.dataset_id)
        v.status = VersionStatus.draft.value
        v.status_reason = (f"Verification failed unexpectedly ({type(exc).__name__}); nothing was published. Publish again; if it fails again, "
                           "tell the platform (the log names this version).")
        audit.record(SYSTEM, CatalogAction.VERSION_INGEST, outcome="failure", subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                     details={"error": type(exc).__name__})
        return v.status


def _read_range(store: Any, key: str, start: int, length: int) -> bytes:
    return store.read(key, start=start, length=length)


def _overlap_sources(files: list[VersionFile], results: dict[uuid.UUID, dict[str, Any]]) -> list[overlap_index.Source]:
    """Each verified file, read from its content address, for overlap signing."""
    store = storage()
    out = []
    for f in files:
        a: Analysis = results[f.id]["analysis"] if f.id in results else _stored(f)
        key = blob_key(a.sha256 or f.sha256)
        out.append(overlap_index.Source(file_id=f.id, path=f.path, format=f.format, size=f.size, sha256=f.sha256,
                                  open_chunks=functools.partial(store.iter_range, key, chunk_size=8 * 1024 * 1024),
                                  read_range=functools.partial(_read_range, store, key)))
    return out


@transactional
def _pause(vid: uuid.UUID, reason: str) -> None:
    v = get_session().get(DatasetVersion, vid)
    if v is not None and v.status == VersionStatus.processing.value:
        v.status_reason = reason


def _verify_files(files: list[VersionFile], held: set[str], stored: set[str]) -> tuple[dict[uuid.UUID, dict[str, Any]], dict[str, str], Segments]:
    """Stream each file once (size, SHA-256, records, schema); give verified bytes their content
    address. Only the object store is touched here, never the database. A file without staged
    bytes may reuse a blob only when its organisation holds that blob (`held`)."""
    results: dict[uuid.UUID, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    for f in files:
        if f.status == FileStatus.verified.value:
            continue
        if f.sha256 in held and not storage().exists(staging_key(f.id)):
            # Deduplicated within the organisation: it uploaded these bytes before.
            src = blob_key(f.sha256)
        else:
            src = staging_key(f.id)
        try:
            a = analyse_object(src, f.format, f.size)
        except ObjectNotFound:
            failures[f.path] = "no uploaded bytes were found for this file"
            continue
        reasons = []
        if a.size != f.size:
            reasons.append(f"size mismatch: declared {f.size} bytes, stored {a.size}")
        if a.sha256 != f.sha256:
            reasons.append(f"SHA-256 mismatch: declared {f.sha256}, stored {a.sha256}")
        reasons += a.problems if not reasons else []
        if reasons:
            failures[f.path] = "; ".join(reasons)
        results[f.id] = {"src": src, "analysis": a}

    segments = Segments({}, None, {})
    if not failures:
        # Manifests declare segments: a media file's records are its utterances or clips.
        stats = {f.path: results[f.id]["analysis"].stats if f.id in results else f.stats for f in files}
        keys = {f.path: results[f.id]["src"] if f.id in results else blob_key(f.sha256) for f in files}
        segments = check_segments(files, stats, keys)
        failures.update(segments.problems)
        for f in files:
            if f.path in segments.counts and f.id in results:
                results[f.id]["analysis"].records = segments.counts[f.path]
    if not failures:
        # Give verified bytes their content address before the version points at them.
        for r in results.values():
            a = r["analysis"]
            if r["src"] != blob_key(a.sha256) and a.sha256 not in stored and not storage().exists(blob_key(a.sha256)):
                storage().copy(r["src"], blob_key(a.sha256))
        for f in files:
            if f.id in results:
                results[f.id]["table"] = as_table(f.format, results[f.id]["analysis"])
        for f in preview_choice([f for f in files if f.id in results]):
            results[f.id]["media_preview"] = _media_preview(f, results[f.id]["analysis"])
    return results, failures, segments


MEDIA_PREVIEWS = 6
SAMPLE_FOLDERS = {"sample", "samples", "preview", "previews"}


def preview_choice(files: list[VersionFile]) -> list[VersionFile]:
    """The media files the data viewer previews: the vendor's chosen sample (files in a folder
    named sample(s) or preview(s)) or, without one, the first few media files by path."""
    media_files = sorted((f for f in files if f.format in MEDIA_FORMATS), key=lambda f: f.path)
    chosen = [f for f in media_files if SAMPLE_FOLDERS & set(f.path.lower().split("/")[:-1])]
    return (chosen or media_files)[:MEDIA_PREVIEWS]


def _media_preview(f: VersionFile, a: Analysis) -> dict[str, Any] | None:
    """Make and store one file's preview from its verified bytes; what the file's preview row says of it."""
    if not a.stats or a.problems:
        return None
    store = storage()
    key = blob_key(a.sha256)
    made = media.make_preview(f.format, io.BufferedReader(RangeReader(functools.partial(_read_range, store, key), a.size), buffer_size=256 * 1024),
                              a.stats)
    if made is None:
        return None
    target = preview_key(a.sha256, made.kind, made.ext)
    if not store.exists(target):
        store.put(target, made.data, content_type=made.content_type)
    return {"key": target, "kind": made.kind, "content_type": made.content_type, "size": len(made.data), "seconds": made.seconds}


def _put_blob(sha256: str, data: Any) -> None:
    if not storage().exists(blob_key(sha256)):
        storage().put(blob_key(sha256), data, content_type="application/vnd.apache.parquet")


def table_report(table: TableFile | str | None) -> dict[str, str]:
    """What the ingest report says of a file's table (nothing for a file that is not tabular)."""
    if isinstance(table, TableFile):
        return {"table": "typed" if table.typed else "text (the columns' types change inside the file)"}
    if isinstance(table, str):
        return {"table": f"not shared as a table: {table}"}
    return {}


def as_table(fmt: str, a: Analysis) -> TableFile | str | None:
    """The file as a Parquet table (what Delta Sharing serves), or why it is not one; None for
    files that are not tabular. A file that is not a table still publishes: it is downloaded."""
    key = blob_key(a.sha256)
    try:
        if fmt == "parquet":
            schema = tables.parquet_schema(lambda start, length: storage().read(key, start=start, length=length), a.size)
            return TableFile(sha256=a.sha256, size=a.size, records=a.records or 0, schema=schema, typed=True)
        if fmt in tables.TABULAR:
            return tables.convert(fmt, lambda: storage().iter_range(key, chunk_size=8 * 1024 * 1024), _put_blob)
    except tables.ConversionFailed as exc:
        return str(exc)
    return None


MANIFEST_KEYS = ("audio", "video", "image", "file", "path", "media")
MAX_SEGMENT_PROBLEMS = 3


def is_manifest(path: str) -> bool:
    """A JSONL file that declares the segments (utterances, clips, frames) of media files."""
    name = path.rsplit("/", 1)[-1]
    return name == "manifest.jsonl" or name.endswith(".manifest.jsonl")


class Segments(NamedTuple):
    """What a version's segment manifests say: segments per media file, the figures (segments,
    their hours, speakers) and, per manifest, why it was refused."""

    counts: dict[str, int]
    figures: dict[str, Any] | None
    problems: dict[str, str]


MAX_SECONDS = 10**9  # a segment's times: beyond 31 years it is not a recording
MAX_SPEAKERS = 1_000_000  # distinct speakers counted exactly; past this the figure says "at least"


def check_segments(files: list[VersionFile], stats: dict[str, dict[str, Any] | None], key_of: dict[str, str]) -> Segments:
    """Stream every segment manifest of the version: each line that names a media file
    (`audio`, `video`, `image`, `file`, `path` or `media`, relative to the version or to the
    manifest's folder; a shard's member as `shard.tar/member` or `shard.tar#member`) must name
    one of this version's files or members, and its time range (`start` and `end`, or `offset`
    and `duration`, in seconds) must lie within that file's measured duration. Speakers are
    counted from `speaker` or `speaker_id`. `stats` and `key_of` give each file's measurement
    and stored object by path."""
    targets: dict[str, int | None] = {f.path: (stats.get(f.path) or {}).get("duration_ms") for f in files if f.format in MEDIA_FORMATS}
    for f in files:
        if f.format == "tar":
            for m in (stats.get(f.path) or {}).get("member_list") or ():
                if m.get("format"):
                    targets[f"{f.path}/{m['name']}"] = targets[f"{f.path}#{m['name']}"] = m.get("duration_ms")
    counts: dict[str, int] = {}
    problems: dict[str, str] = {}
    speakers: set[str] = set()
    segments = segment_ms = 0
    manifests = [f for f in files if is_manifest(f.path)] if targets else []
    for f in manifests:
        folder = f.path.rsplit("/", 1)[0] + "/" if "/" in f.path else ""
        found: list[str] = []
        for n, line in enumerate(_lines(key_of[f.path]), start=1):
            seg = _segment(line, n, folder, targets, found)
            if len(found) >= MAX_SEGMENT_PROBLEMS:
                break
            if seg is None:
                continue
            path, ms, speaker = seg
            counts[path] = counts.get(path, 0) + 1
            segments += 1
            segment_ms += ms
            if speaker is not None and len(speakers) < MAX_SPEAKERS:
                speakers.add(speaker)
        if found:
            problems[f.path] = "; ".join(found)
    figures = {"segments": segments, "segment_ms": segment_ms, "speakers": len(speakers) or None} if segments else None
    return Segments(counts, figures, problems)


def _lines(key: str) -> Iterator[bytes]:
    buf = b""
    for chunk in storage().iter_range(key, chunk_size=4 * 1024 * 1024):
        buf += chunk
        *lines, buf = buf.split(b"\n")
        yield from lines
    yield buf


def _seconds(entry: dict[str, Any], key: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or not -MAX_SECONDS <= value <= MAX_SECONDS:
        raise ValueError(f"'{key}' is not a number of seconds (0 to {MAX_SECONDS:,})")
    return float(value)


def _segment(line: bytes, n: int, folder: str, targets: dict[str, int | None], found: list[str]) -> tuple[str, int, str | None] | None:
    """(media path, segment milliseconds, speaker) of one manifest line; None for a line that
    names no media (a problem, when it names one wrongly, is appended to `found`). `targets`
    maps every media file and shard member to its duration."""
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        found.append(f"line {n} is not JSON")
        return None
    if not isinstance(entry, dict):
        return None
    named = next((k for k in MANIFEST_KEYS if k in entry), None)
    if named is None:
        return None
    ref = entry[named]
    if not isinstance(ref, str):
        found.append(f"line {n}: '{named}' is not a path")
        return None
    path = next((c for c in (ref, folder + ref) if c in targets), None)
    if path is None:
        shown = ref if len(ref) <= 200 else ref[:200] + "…"
        found.append(f"line {n} names {shown!r}, which is not a media file of this version")
        return None
    try:
        start, end, offset, duration = (_seconds(entry, k) for k in ("start", "end", "offset", "duration"))
    except ValueError as exc:
        found.append(f"line {n}: {exc}")
        return None
    if start is None and offset is not None:
        start = offset
    if end is None and duration is not None:
        end = (start or 0.0) + duration
    length = targets[path]
    ms = 0
    if length is None and (start is not None or end is not None):
        found.append(f"line {n}: {path} has no duration (an image), so a segment of it has no time range")
        return None
    if start is not None or end is not None:
        lo, hi = start or 0.0, end if end is not None else (length or 0) / 1000
        if lo < 0 or hi < lo:
            found.append(f"line {n}: the segment {lo:g}–{hi:g} s is not a time range")
            return None
        if length is not None and round(hi * 1000) > length:
            found.append(f"line {n}: the segment {lo:g}–{hi:g} s runs past the end of {path} ({length / 1000:g} s)")
            return None
        ms = round((hi - lo) * 1000)
    elif length is not None:
        ms = length
    speaker = entry.get("speaker", entry.get("speaker_id"))
    return path, ms, (str(speaker)[:200] if speaker is not None else None)


def _finish(vid: uuid.UUID, results: dict[uuid.UUID, dict[str, Any]], failures: dict[str, str], found: overlap_index.Outcome | str | None = None,
            segments: Segments | None = None) -> str:
    with unit_of_work() as session:
        v = session.get(DatasetVersion, vid, with_for_update=True)
        if v is None or v.status != VersionStatus.processing.value:
            return v.status if v else "missing"
        ds = session.get_one(Dataset, v.dataset_id)
        files = list(session.scalars(select(VersionFile).where(VersionFile.version_id == vid)))
        store = storage()
        report: dict[str, Any] = {"checked_at": utcnow().isoformat(), "files": {}}
        for f in files:
            r = results.get(f.id)
            table = None
            if r is not None:
                a: Analysis = r["analysis"]
                f.records, f.schema, f.stats = a.records, a.schema, a.stats
                f.media_ms = media_ms(a.stats)
                f.preview = {"records": a.preview or [], "redacted": False, "hidden": False} if a.preview is not None else None
                if r.get("media_preview"):
                    f.preview = {"records": [], "redacted": False, "hidden": False, "media": r["media_preview"]}
                table = r.get("table")
                if isinstance(table, TableFile):
                    f.table_sha256, f.table_size, f.table_records, f.table_schema = table.sha256, table.size, table.records, table.schema
            if f.path in failures:
                f.status = FileStatus.failed.value
                f.failure_reason = failures[f.path][:2000]  # the column's width: a reason quoting a long line is cut, never refused
                report["files"][f.path] = {"status": "failed", "reason": failures[f.path]}
            else:
                report["files"][f.path] = {"status": "ok", "records": f.records, **table_report(table)}
        held_for = (found if isinstance(found, str) else overlap.conclude(v, ds, found)) if found is not None and not failures else None
        if held_for is not None:
            if not isinstance(found, str):
                # The files passed their checks: they keep their content address (no staging
                # copy lingers), and publishing again after a decision re-reads only the records.
                _verified(files, ds.organization_id)
            v.status = VersionStatus.draft.value
            v.status_reason = held_for
            report["overlap"] = {"status": "held", "reason": held_for}
            v.ingest_report = report
            after_commit(functools.partial(overlap_index.remove_rows, v.id))
            audit.record(SYSTEM, CatalogAction.VERSION_INGEST, outcome="failure", subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                         details={"overlap": held_for})
            publish(Topic.INGEST_FAILED, ds.organization_id, {"dataset_id": str(ds.id), "dataset_title": ds.title, "version_id": str(v.id), "version": v.version,
                                                              "reason": held_for, "failures": {}})
            return v.status
        if failures:
            v.status = VersionStatus.draft.value
            v.status_reason = f"{len(failures)} file(s) failed verification; see ingest_report."
            v.ingest_report = report
            for f in files:
                if f.path in failures:
                    key = staging_key(f.id)
                    after_commit(functools.partial(store.delete, key))
            audit.record(SYSTEM, CatalogAction.VERSION_INGEST, outcome="failure", subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                         details={"failures": failures})
            publish(Topic.INGEST_FAILED, ds.organization_id, {"dataset_id": str(ds.id), "dataset_title": ds.title, "version_id": str(v.id), "version": v.version,
                                                              "reason": v.status_reason, "failures": dict(list(failures.items())[:20])})
            return v.status
        _verified(files, ds.organization_id)
        version_totals(v, files, segments.figures if segments else None)
        v.status = VersionStatus.published.value
        v.status_reason = None
        v.ingest_report = report
        v.published_at = utcnow()
        refresh_latest(ds)
        audit.record(SYSTEM, CatalogAction.VERSION_PUBLISH, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                     quantities={"bytes": v.total_bytes, "records": v.total_records, "files": len(files)}, details={"manifest_digest": v.manifest_digest})
        publish(Topic.INGEST_FINISHED, ds.organization_id, {"dataset_id": str(ds.id), "dataset_title": ds.title, "version_id": str(v.id), "version": v.version,
                                                            "files": len(files), "records": v.total_records, "bytes": v.total_bytes})
        return v.status


def version_totals(v: DatasetVersion, files: list[VersionFile], segments: dict[str, Any] | None) -> None:
    """A verified version's manifest digest, totals and media figures, from its files."""
    v.manifest_digest = root_digest(manifest_entries(files))
    v.total_bytes = sum(f.size for f in files)
    # A manifest's lines are already counted as its media files' segments.
    has_media = any(f.format in MEDIA_FORMATS for f in files)
    v.total_records = sum(f.records or 0 for f in files if not (has_media and is_manifest(f.path)))
    v.media = media_figures((f.stats for f in files), segments)


def _verified(files: list[VersionFile], org_id: uuid.UUID) -> None:
    """Mark verified files so: their blobs recorded, the organisation a holder of each, and
    their staging copies deleted once this commits."""
    store = storage()
    for f in files:
        f.status = FileStatus.verified.value
        f.failure_reason = None
        insert_ignore(Blob, sha256=f.sha256, size=f.size, created_at=utcnow())
        if f.table_sha256 is not None and f.table_sha256 != f.sha256:
            insert_ignore(Blob, sha256=f.table_sha256, size=f.table_size, created_at=utcnow())
        insert_ignore(BlobHolder, sha256=f.sha256, organization_id=org_id, created_at=utcnow())
        after_commit(functools.partial(store.delete, staging_key(f.id)))


def missing_tables() -> list[uuid.UUID]:
    """Published or deprecated versions with a tabular file that was never tried as a table
    (ingested before tables existed: its report entry says nothing of one)."""
    rows = get_session().execute(select(VersionFile.version_id, VersionFile.path, DatasetVersion.ingest_report)
                                 .join(DatasetVersion, DatasetVersion.id == VersionFile.version_id)
                                 .where(DatasetVersion.status.in_([VersionStatus.published.value, VersionStatus.deprecated.value]),
                                        VersionFile.format.in_(["csv", "jsonl", "parquet"]), VersionFile.table_sha256.is_(None)))
    return sorted({vid for vid, path, report in rows if "table" not in ((report or {}).get("files", {}).get(path) or {})})


def make_missing_tables() -> dict[str, int]:
    """Give versions published before tables existed their Parquet tables (an upgrade step:
    `marketplace jobs make-tables`). Each version's tables are made outside any transaction,
    then its rows and report are updated in one, with an audit event naming each table's
    digest. The manifest does not list them, so its root digest (quoted in citations, BOMs and
    buyers' download records) does not change."""
    ids = missing_tables()
    end_read()
    done = {"versions": 0, "tables": 0, "not_tables": 0}
    for vid in ids:
        files = list(get_session().scalars(select(VersionFile).where(VersionFile.version_id == vid, VersionFile.table_sha256.is_(None),
                                                                     VersionFile.format.in_(["csv", "jsonl", "parquet"]))))
        end_read()
        made = {f.id: as_table(f.format, _stored(f)) for f in files}
        _record_tables(vid, made)
        done["versions"] += 1
        done["tables"] += sum(isinstance(t, TableFile) for t in made.values())
        done["not_tables"] += sum(isinstance(t, str) for t in made.values())
    return done


def index_published() -> dict[str, int]:
    """Index the records of versions published before overlap detection (an upgrade step:
    `marketplace jobs index-overlap`), oldest publication first, so that each is compared with
    those published before it. Findings are recorded; nothing is held or announced (the
    versions are already on sale). Idempotent: an indexed version is skipped."""
    session = get_session()
    rows = session.execute(select(DatasetVersion.id, DatasetVersion.dataset_id, Dataset.organization_id).join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                           .outerjoin(OverlapReport, OverlapReport.version_id == DatasetVersion.id)
                           .where(DatasetVersion.status.in_([VersionStatus.published.value, VersionStatus.deprecated.value]), OverlapReport.computed_at.is_(None))
                           .order_by(DatasetVersion.published_at)).all()
    end_read()
    done = {"versions": 0, "records": 0}
    for vid, dataset_id, org_id in rows:
        files = list(get_session().scalars(select(VersionFile).where(VersionFile.version_id == vid)))
        end_read()
        out = overlap_index.index_version(vid, dataset_id, _overlap_sources(files, {}), org_id=org_id)
        with unit_of_work() as s:
            v = s.get_one(DatasetVersion, vid)
            overlap.conclude(v, s.get_one(Dataset, v.dataset_id), out, backfill=True)
        done["versions"] += 1
        done["records"] += out.records
    return done


def _stored(f: VersionFile) -> Analysis:
    """What `as_table` needs of a stored file: its digest, size and records."""
    return Analysis(size=f.size, sha256=f.sha256, records=f.records)


def _record_tables(vid: uuid.UUID, made: dict[uuid.UUID, TableFile | str | None]) -> None:
    with unit_of_work() as session:
        v = session.get(DatasetVersion, vid, with_for_update=True)
        if v is None:
            return
        ds = session.get_one(Dataset, v.dataset_id)
        files = list(session.scalars(select(VersionFile).where(VersionFile.version_id == vid)))
        report = dict(v.ingest_report or {})
        entries = dict(report.get("files") or {})
        for f in files:
            if f.id not in made:
                continue
            table = made[f.id]
            if isinstance(table, TableFile) and f.table_sha256 is None:
                f.table_sha256, f.table_size, f.table_records, f.table_schema = table.sha256, table.size, table.records, table.schema
                f.table_listed = False
                if table.sha256 != f.sha256:
                    insert_ignore(Blob, sha256=table.sha256, size=table.size, created_at=utcnow())
            entries[f.path] = {**(entries.get(f.path) or {"status": "ok", "records": f.records}), **table_report(table)}
        report["files"] = entries
        v.ingest_report = report
        # The manifest does not list these tables (`table_listed`): its root digest stays.
        audit.record(SYSTEM, CatalogAction.VERSION_TABLES, subject_type="version", subject_id=v.id, subject_org_id=ds.organization_id,
                     details={"manifest_digest": v.manifest_digest, "tables": {f.path: f.table_sha256 for f in files if isinstance(made.get(f.id), TableFile)}})
