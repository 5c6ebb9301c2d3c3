"""Record-level access: records of a JSONL, CSV or Parquet file as JSON Lines, page by page,
with a signed cursor; each record delivered is debited (a repeated page is not charged again).

Only the bytes of the requested page are read from the object store (ranged reads), so a page
costs the same at the start or the end of a terabyte file.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

from sqlalchemy import select

from catalog.analysis import RangeReader
from catalog.models import VersionFile, blob_key
from catalog.storage import object_store
from marketplace.commerce import metering
from marketplace.commerce.models import PricingUnit
from marketplace.delivery import entitlement
from marketplace.delivery.actions import DeliveryAction
from marketplace.kernel import audit, metrics
from marketplace.kernel.cursors import SignedCursor
from marketplace.kernel.db import unit_of_work
from marketplace.kernel.errors import Conflict, ValidationFailed
from marketplace.kernel.principal import Principal

CHUNK = 256 * 1024
MAX_PAGE_BYTES = 16 * 1024 * 1024


CURSOR = SignedCursor("delivery.records-cursor", invalid="The cursor is not valid for this grant and file.")


_store = object_store


def read_records(principal: Principal, grant_id: uuid.UUID, *, path: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """One page of records and the cursor for the next (None at the end of the file)."""
    with metrics.authorisation("records"):
        return _read_records(principal, grant_id, path=path, cursor=cursor, limit=limit)


def _read_records(principal: Principal, grant_id: uuid.UUID, *, path: str, cursor: str | None, limit: int) -> dict[str, Any]:
    with unit_of_work() as session:
        ent = entitlement.decide(principal, grant_id, channel="records")
        grant, version = ent.grant, ent.version
        if grant.unit not in (PricingUnit.records.value, PricingUnit.term.value):
            raise Conflict(f"Record access needs a grant metered in records (this one is in {grant.unit}); download the files instead.")
        f = session.scalar(select(VersionFile).where(VersionFile.version_id == version.id, VersionFile.path == path))
        if f is None:
            raise ValidationFailed("No such file in the version this grant covers.", errors={"path": [f"Not in version {version.version}: {path}"]})
        if f.format not in ("jsonl", "csv", "parquet"):
            raise ValidationFailed("Records can be read from JSONL, CSV and Parquet files.", errors={"path": [f"{path} is {f.format}."]})
    pos = _cursor(cursor, grant.id, f.id)
    records, next_pos = _page(f, pos, limit)
    charged = 0
    if records and grant.unit == PricingUnit.records.value:
        res = metering.debit(principal, grant.id, grant.unit, len(records), f"rec:{f.sha256}:{pos['index']}:{len(records)}",
                             details={"file": f.path, "purpose": "records"})
        charged = 0 if res.duplicate else len(records)
    with unit_of_work():
        audit.record(principal, DeliveryAction.DELIVERY_RECORDS, subject_type="file", subject_id=f.id, subject_org_id=grant.vendor_org_id, actor_org_id=grant.buyer_org_id,
                     quantities={"records": len(records), "charged": charged}, details={"grant_id": str(grant.id), "start": pos["index"]})
    nxt = CURSOR.dump(next_pos, bound=[str(grant.id), str(f.id)]) if next_pos else None
    return {"records": records, "next_cursor": nxt, "start": pos["index"], "charged": charged}


def _cursor(cursor: str | None, grant_id: uuid.UUID, file_id: uuid.UUID) -> dict[str, int]:
    if not cursor:
        return {"index": 0, "offset": 0}
    data = CURSOR.load(cursor, bound=[str(grant_id), str(file_id)])
    try:
        return {"index": int(data["index"]), "offset": int(data["offset"])}
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed("The cursor is not valid for this grant and file.", errors={"cursor": ["Invalid or tampered cursor."]}) from None


def _page(f: VersionFile, pos: dict[str, int], limit: int) -> tuple[list[Any], dict[str, int] | None]:
    key = blob_key(f.sha256)
    if f.format == "parquet":
        return _parquet_page(key, f.size, pos, limit)
    header = None
    offset = pos["offset"]
    if f.format == "csv":
        header_bytes, first_row_offset = _csv_header(key)
        header = next(csv.reader(io.StringIO(header_bytes.decode("utf-8", "replace"))))
        offset = max(offset, first_row_offset)
    raw_records, end = _split_records(key, f.size, offset, limit, quoted=f.format == "csv")
    out: list[Any] = []
    for raw in raw_records:
        text = raw.decode("utf-8", "replace")
        if f.format == "jsonl":
            try:
                out.append(json.loads(text))
            except ValueError:
                out.append({"_unparsed": text})
        else:
            row = next(csv.reader(io.StringIO(text)), [])
            out.append(dict(zip(header or [], row, strict=False)))  # a short row keeps the fields it has
    nxt = {"index": pos["index"] + len(out), "offset": end} if end < f.size and out else None
    return out, nxt


def _csv_header(key: str) -> tuple[bytes, int]:
    recs, end = _split_records(key, None, 0, 1, quoted=True)
    return (recs[0] if recs else b""), end


def _split_records(key: str, size: int | None, offset: int, limit: int, *, quoted: bool) -> tuple[list[bytes], int]:
    """Up to `limit` newline-terminated records from `offset` (quote-aware for CSV), reading
    only as many bytes as they need. Returns the records and the offset after the last one."""
    store = _store()
    records: list[bytes] = []
    buf = b""
    pos = offset
    start = offset
    in_quotes = False
    scan_from = 0
    while len(records) < limit:
        chunk = store.read(key, start=pos, length=CHUNK)
        if not chunk:
            if buf.strip():
                records.append(buf)
                start += len(buf)
            break
        pos += len(chunk)
        buf += chunk
        if len(buf) > MAX_PAGE_BYTES:
            raise ValidationFailed("A record is larger than the page limit.", errors={"limit": ["Records over 16 MiB cannot be paged."]})
        i = scan_from
        while i < len(buf) and len(records) < limit:
            c = buf[i]
            if quoted and c == 0x22:
                in_quotes = not in_quotes
            elif c == 0x0A and not in_quotes:
                rec = buf[:i]
                if rec.strip():
                    records.append(rec.rstrip(b"\r"))
                start += i + 1
                buf = buf[i + 1:]
                i = 0
                continue
            i += 1
        scan_from = i
    return records, start


def _parquet_page(key: str, size: int, pos: dict[str, int], limit: int) -> tuple[list[Any], dict[str, int] | None]:
    import pyarrow.parquet as pq  # deferred: pyarrow is heavy and only Parquet files need it

    store = _store()
    pf = pq.ParquetFile(RangeReader(lambda s, n: store.read(key, start=s, length=n), size))
    total = pf.metadata.num_rows
    start = pos["index"]
    rows: list[Any] = []
    seen = 0
    for rg in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(rg).num_rows
        if seen + n <= start:
            seen += n
            continue
        table = pf.read_row_group(rg)
        lo = max(0, start - seen)
        rows += table.slice(lo, limit - len(rows)).to_pylist()
        seen += n
        if len(rows) >= limit:
            break
    rows = json.loads(json.dumps(rows, default=str))
    nxt_index = start + len(rows)
    return rows, ({"index": nxt_index, "offset": 0} if nxt_index < total and rows else None)
