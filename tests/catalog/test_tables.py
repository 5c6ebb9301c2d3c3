"""Tabular files as Parquet tables (`catalog.tables`): exact conversion of CSV and JSONL, types that
drift inside a file, files that are not tables, Parquet schemas read from the footer alone, and
ingest publishing the tables content-addressed and listed in the manifest."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from catalog import tables
from catalog.models import DatasetVersion, VersionFile, blob_key
from catalog.services.datasets import manifest_entries, root_digest
from catalog.services.ingest import make_missing_tables, missing_tables
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session
from tests.catalog.helpers import published_dataset
from tests.factories import make_tenant, published_version


def _convert(fmt: str, data: bytes, chunk: int = 5) -> tuple[tables.TableFile, list[dict]]:
    stored: dict[str, bytes] = {}

    def chunks() -> Iterator[bytes]:
        return iter([data[i:i + chunk] for i in range(0, len(data), chunk)])

    t = tables.convert(fmt, chunks, lambda sha, f: stored.__setitem__(sha, f.read()))
    body = stored[t.sha256]
    assert hashlib.sha256(body).hexdigest() == t.sha256 and len(body) == t.size
    return t, pq.read_table(io.BytesIO(body)).to_pylist()


def test_csv_cells_are_kept_exactly():
    t, rows = _convert("csv", b'id,text,score,flag\n1,"multi\nline, quoted",0.5,NA\n2,n/a,,null\n3,\xe5\x8c\xbb\xe7\x96\x97,2,\n')
    assert t.typed and t.records == 3
    assert rows == [{"id": 1, "text": "multi\nline, quoted", "score": 0.5, "flag": "NA"}, {"id": 2, "text": "n/a", "score": None, "flag": "null"},
                    {"id": 3, "text": "医疗", "score": 2.0, "flag": ""}]
    assert [f["type"] for f in t.schema["fields"]] == ["long", "string", "double", "string"]


def test_jsonl_keeps_nesting_and_unicode():
    recs = [{"id": 1, "turns": [{"speaker": "医生", "text": "您好"}], "meta": {"lang": "zh"}}, {"id": 2, "turns": [], "meta": {"lang": "en"}}]
    t, rows = _convert("jsonl", b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in recs))
    assert t.typed and rows == recs
    assert t.schema["fields"][1]["type"] == {"type": "array", "elementType": {"type": "struct", "fields": [
        {"name": "speaker", "type": "string", "nullable": True, "metadata": {}}, {"name": "text", "type": "string", "nullable": True, "metadata": {}}]},
        "containsNull": True}


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(tables, "BLOCK", 256)


def test_types_that_drift_after_the_first_block_keep_every_value_as_text(small_blocks):
    recs = [{"id": i, "code": i} for i in range(100)] + [{"id": 100, "code": "n/a", "late": {"x": [1]}}]
    t, rows = _convert("jsonl", b"".join(json.dumps(r).encode() + b"\n" for r in recs), chunk=1000)
    assert not t.typed and t.records == 101
    assert rows[0] == {"id": "0", "code": "0", "late": None} and rows[-1] == {"id": "100", "code": "n/a", "late": '{"x":[1]}'}
    csv = b"a,b\n" + b"".join(f"{i},x\n".encode() for i in range(200)) + b"1.5e3,y\n"
    t, rows = _convert("csv", csv, chunk=1000)
    assert not t.typed and rows[-1] == {"a": "1.5e3", "b": "y"} and rows[0] == {"a": "0", "b": "x"}


def test_a_column_without_values_is_text_so_a_tables_files_agree():
    t, rows = _convert("jsonl", b'{"id": 1, "tags": [], "note": null}\n')
    assert [f["type"] for f in t.schema["fields"]] == ["long", {"type": "array", "elementType": "string", "containsNull": True}, "string"]


@pytest.mark.parametrize("fmt,data,reason", [
    ("jsonl", b"", "no records"),
    ("jsonl", b"not json\n", "not JSON"),
    ("jsonl", b"[1, 2]\n", "not a JSON object"),
    ("jsonl", b'{"a": "\xff"}\n', "not UTF-8"),
    ("csv", b"a,b\n1,2,3\n", "not readable as a table"),
    ("csv", b"", "no records"),
    ("csv", b"a,b\n", "no records"),
    ("wav", b"RIFF", "not tables"),
    ("csv", b"a,a\n1,2\n", "distinct, non-empty names"),
    ("csv", b",b\n1,2\n", "distinct, non-empty names"),
])
def test_files_that_are_not_tables_say_why(fmt, data, reason):
    with pytest.raises(tables.ConversionFailed, match=reason):
        _convert(fmt, data)


def test_a_parquet_schema_comes_from_the_footer_alone():
    buf = io.BytesIO()
    pq.write_table(pa.table({"i8": pa.array([1], pa.int8()), "u32": pa.array([1], pa.uint32()), "f": pa.array([1.0], pa.float32()),
                             "d": pa.array([1], pa.decimal128(10, 2)), "ts": pa.array([0], pa.timestamp("ms")), "b": pa.array([b"x"]),
                             "m": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())), "day": pa.array([0], pa.date32())}), buf)
    data = buf.getvalue()
    reads: list[tuple[int, int]] = []

    def read(start: int, length: int) -> bytes:
        reads.append((start, length))
        return data[start:start + length]

    schema = tables.parquet_schema(read, len(data))
    assert [f["type"] for f in schema["fields"]] == ["byte", "long", "float", "decimal(10,2)", "timestamp", "binary",
                                                    {"type": "map", "keyType": "string", "valueType": "long", "valueContainsNull": True}, "date"]
    with pytest.raises(tables.ConversionFailed):
        tables.parquet_schema(lambda s, n: b"\0" * n, 100)


def test_ingest_publishes_each_tabular_file_as_a_table_in_the_manifest(app, client, store):
    vendor = make_tenant(vendor=True)
    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 2, 3]}), buf)
    files = {"a.jsonl": b'{"t": "\xe5\xbd\xb1\xe5\x83\x8f", "n": 1}\n{"t": "b", "n": 2}\n', "b.csv": b"k,v\n1,NA\n", "c.parquet": buf.getvalue(),
             "dup.csv": b"a,a\n1,2\n", "notes.txt": b"hello"}
    ds, v = published_dataset(client, vendor.keys["owner"], files)
    m = client.get(f"/api/v1/versions/{v['id']}/manifest").json
    entries = {e["path"]: e for e in m["files"]}
    canonical = json.dumps({"files": m["files"]}, sort_keys=True, separators=(",", ":")).encode()
    assert m["root_digest"] == hashlib.sha256(canonical).hexdigest() == v["manifest_digest"]
    assert set(k for k, e in entries.items() if "table" in e) == {"a.jsonl", "b.csv"}  # a Parquet file is its own table
    rows = pq.read_table(io.BytesIO(store.read(blob_key(entries["a.jsonl"]["table"]["sha256"])))).to_pylist()
    assert rows == [{"t": "影像", "n": 1}, {"t": "b", "n": 2}]
    assert entries["a.jsonl"]["table"]["size"] == len(store.read(blob_key(entries["a.jsonl"]["table"]["sha256"])))
    report = client.get(f"/api/v1/versions/{v['id']}", headers={"Authorization": f"Bearer {vendor.keys['owner']}"}).json["ingest_report"]["files"]
    assert report["a.jsonl"]["table"] == "typed" and report["c.parquet"]["table"] == "typed"
    assert report["dup.csv"]["table"].startswith("not shared as a table: the columns need distinct, non-empty names")
    assert report["dup.csv"]["status"] == "ok" and "table" not in entries["dup.csv"]
    assert "table" not in report["notes.txt"]


def test_blocks_are_cut_between_records_never_inside_one(small_blocks):
    # Quoted newlines and quotes straddle the block edges; a record longer than a block stays whole.
    rows = [{"id": i, "text": f'line "{i}"\nnext, and more' * (40 if i == 7 else 1)} for i in range(60)]
    csv = b"id,text\n" + b"".join(f'{r["id"]},"{r["text"].replace(chr(34), chr(34) * 2)}"\n'.encode() for r in rows)
    for chunk in (1, 7, 1000):
        t, got = _convert("csv", csv, chunk=chunk)
        assert t.typed and got == rows
    jl = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    t, got = _convert("jsonl", jl, chunk=13)
    assert t.typed and got == rows


def test_converting_a_large_file_keeps_memory_flat():
    line = b'{"scene": "intersection", "points": 120000, "pad": "' + b"p" * 900 + b'"}\n'
    chunk = line * ((8 << 20) // len(line))

    def chunks() -> Iterator[bytes]:
        return iter([chunk] * 48)  # 384 MiB

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    tables.convert("jsonl", lambda: iter([chunk]), lambda sha, f: None)  # the libraries' one-time set-up
    peak, stop = [rss()], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.005)

    before = rss()
    w = threading.Thread(target=watch)
    w.start()
    try:
        t = tables.convert("jsonl", chunks, lambda sha, f: None)
    finally:
        stop.set()
        w.join()
    assert t.records == 48 * (len(chunk) // len(line))
    assert peak[0] - before < 64 * 2**20, f"converting 384 MiB grew memory by {(peak[0] - before) >> 20} MiB"


def test_versions_published_before_tables_get_them_once(app):
    pub = published_version({"a.jsonl": b'{"n": 1}\n{"n": 2}\n', "b.csv": b"a,a\n1,2\n", "c.txt": b"x"})
    made_at_ingest = {f.path: f.table_sha256 for f in pub.files}
    # As a version ingested before this release: no tables, and a report that never mentions them.
    session = get_session()
    session.execute(update(VersionFile).where(VersionFile.version_id == pub.version.id).values(table_sha256=None, table_size=None, table_schema=None,
                                                                                                 table_records=None))
    v = session.get(DatasetVersion, pub.version.id)
    v.ingest_report = {"files": {p: {"status": "ok"} for p in made_at_ingest}}
    session.flush()
    session.expire_all()
    old_rows = list(session.scalars(select(VersionFile).where(VersionFile.version_id == pub.version.id)))
    v = session.get(DatasetVersion, pub.version.id)
    v.manifest_digest = digest = root_digest(manifest_entries(old_rows))  # as it was published: no tables
    session.flush()
    assert make_missing_tables()["versions"] >= 1
    session.expire_all()
    rows = {f.path: f for f in session.scalars(select(VersionFile).where(VersionFile.version_id == pub.version.id))}
    assert rows["a.jsonl"].table_sha256 == made_at_ingest["a.jsonl"] and rows["b.csv"].table_sha256 is None
    v = session.get(DatasetVersion, pub.version.id)
    # The same tables as ingest makes, but not listed: the published root digest stays as it was.
    assert v.manifest_digest == digest == root_digest(manifest_entries(list(rows.values())))
    assert rows["a.jsonl"].table_listed is False and rows["a.jsonl"].table_records == 2
    assert v.ingest_report["files"]["b.csv"]["table"].startswith("not shared as a table")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "version.tables", AuditEvent.subject_id == str(pub.version.id)))
    assert event is not None and event.details["tables"] == {"a.jsonl": made_at_ingest["a.jsonl"]}
    # Done once: a second run neither finds nor touches this version.
    assert pub.version.id not in missing_tables()
    make_missing_tables()
    assert len(list(session.scalars(select(AuditEvent).where(AuditEvent.action == "version.tables", AuditEvent.subject_id == str(pub.version.id))))) == 1


@pytest.mark.parametrize("fmt,data,cell", [
    ("jsonl", b'{"a": 99999999999999999999999}\n{"a": 1.5}\n', "99999999999999999999999"),  # a double would read 1e+23
    ("jsonl", b'{"a": 0.1000000000000000055}\n{"a": 2}\n', "0.1000000000000000055"),
    ("csv", b"a\n1e400\n2.5\n", "1e400"),  # a double would read inf
    ("csv", b"a\nNaN\n2.5\n", "NaN"),
    ("csv", b"a\n2.5\n-Infinity\n", "-Infinity"),
])
def test_numbers_a_double_cannot_hold_are_kept_as_written(fmt, data, cell):
    t, rows = _convert(fmt, data, chunk=1000)
    assert not t.typed and cell in [r["a"] for r in rows]


def test_deep_nesting_is_kept_as_text_and_the_table_reads_back():
    deep = b'{"a": ' * 200 + b"1" + b"}" * 200
    t, rows = _convert("jsonl", b'{"id": 1, "v": ' + deep + b"}\n", chunk=1000)
    assert not t.typed and rows[0]["id"] == "1" and json.loads(rows[0]["v"]) == json.loads(deep)


@pytest.mark.parametrize("data,reason", [(b"A,a\n1,2\n", "also ignoring case"), (b",".join(b"c%d" % i for i in range(10_001)) + b"\n" + b",".join([b"1"] * 10_001) + b"\n",
                                                                                 "more than 10,000 columns")])
def test_columns_readers_cannot_address_are_not_a_table(data, reason):
    with pytest.raises(tables.ConversionFailed, match=reason):
        _convert("csv", data, chunk=100_000)


def test_csv_blocks_follow_the_parsers_quoting(small_blocks):
    # A quote opens a field only at its start: `5" wide` is literal, and must not make the cutter
    # wait for a closing quote (it once buffered the whole file and took quadratic time).
    rows = b"".join(b'%d,5" wide and 7" long,"q""uote"\n' % i for i in range(3000))
    t, got = _convert("csv", b"a,b,c\n" + rows, chunk=4096)
    assert t.typed and t.records == 3000 and got[-1] == {"a": 2999, "b": '5" wide and 7" long', "c": 'q"uote'}
    long_field = b"x" * 5000  # longer than a block: the block grows, the record stays whole
    t, got = _convert("csv", b"a,b\n1," + long_field + b'\n2,"multi\nline"\n', chunk=999)
    assert [r["b"] for r in got] == [long_field.decode(), "multi\nline"]


def test_times_and_timestamps_are_kept_as_written():
    t, rows = _convert("csv", b"when,at,day\n2024-01-02 03:04:05.123456789,10:11:12,2024-01-02\n", chunk=1000)
    assert not t.typed and rows == [{"when": "2024-01-02 03:04:05.123456789", "at": "10:11:12", "day": "2024-01-02"}]


@pytest.mark.parametrize("table,why", [
    (pa.table({"n": pa.array([1], pa.uint64())}), "unsigned 64-bit"),
    (pa.table({"t": pa.array([1], pa.timestamp("ns"))}), "nanosecond timestamp"),
    (pa.table({"Id": [1], "id": [2]}), "also ignoring case"),
])
def test_a_vendors_parquet_file_is_a_table_only_if_delta_readers_read_it(table, why):
    buf = io.BytesIO()
    pq.write_table(table, buf)
    data = buf.getvalue()
    with pytest.raises(tables.ConversionFailed, match=why):
        tables.parquet_schema(lambda s, n: data[s:s + n], len(data))


def test_nesting_past_pythons_stack_is_not_a_table_and_does_not_crash():
    deep = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"
    with pytest.raises(tables.ConversionFailed, match="nested too deeply"):
        _convert("jsonl", deep, chunk=100_000)
