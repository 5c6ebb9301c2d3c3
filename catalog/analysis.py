"""Streaming analysis of one stored object: size, SHA-256, records, schema, statistics, preview.

Everything is computed in one pass over the bytes, chunk by chunk, so memory stays flat whatever
the object's size. The digest and the size are the verification; counting records is kept to
byte-level scans (newline counts, quote-aware for CSV) so the pass runs near hashlib's speed.
Schema, statistics and the preview come from a bounded sample at the start of the object.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

FORMATS = ("jsonl", "csv", "parquet", "wav", "flac", "mp4", "jpeg", "png", "tar", "other")
MEDIA_FORMATS = {"wav", "flac", "mp4", "jpeg", "png"}
MEDIA_TYPES = {
    "jsonl": "application/jsonl",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp4": "video/mp4",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tar": "application/x-tar",
    "other": "application/octet-stream",
}
EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".wav": "wav", ".flac": "flac",
    ".mp4": "mp4", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".tar": "tar",
}
SAMPLE_BYTES = 4 * 1024 * 1024  # at most this much of the head is parsed for schema and preview
SAMPLE_RECORDS = 1000


def format_for_path(path: str) -> str:
    lower = path.lower()
    for ext, fmt in EXTENSIONS.items():
        if lower.endswith(ext):
            return fmt
    return "other"


@dataclass
class Analysis:
    size: int = 0
    sha256: str = ""
    records: int | None = None
    schema: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    preview: list[Any] | None = None
    problems: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- type inference


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _merge(a: str | None, b: str) -> str:
    if a is None or a == b or b == "null":
        return a or b
    if a == "null":
        return b
    if {a, b} == {"integer", "number"}:
        return "number"
    return "mixed"


def _csv_type(v: str) -> str:
    if v == "":
        return "null"
    for t, conv in (("integer", int), ("number", float)):
        try:
            conv(v)
            return t
        except ValueError:
            pass
    if v.lower() in ("true", "false"):
        return "boolean"
    return "string"


def infer(records: list[dict[str, Any]], typer: Callable[[Any], str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A column → type schema, and per-column statistics over the sample."""
    types: dict[str, str | None] = {}
    stats: dict[str, dict[str, Any]] = {}
    for rec in records:
        for k, v in rec.items():
            t = typer(v)
            types[k] = _merge(types.get(k), t)
            s = stats.setdefault(k, {"nulls": 0, "count": 0})
            s["count"] += 1
            if t == "null":
                s["nulls"] += 1
            elif t in ("integer", "number"):
                num = float(v)
                s["min"] = num if "min" not in s else min(s["min"], num)
                s["max"] = num if "max" not in s else max(s["max"], num)
            elif t == "string":
                s["max_length"] = max(s.get("max_length", 0), len(v))
    schema = {"fields": [{"name": k, "type": t or "null"} for k, t in types.items()]}
    return schema, {"sampled_records": len(records), "columns": stats}


# --------------------------------------------------------------------------- per-format scanners


PREVIEW_DEPTH = 64


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests containers more than `limit` levels (iteratively)."""
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            if d >= limit:
                return True
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return False


class Scanner:
    """Sees every chunk once; keeps at most SAMPLE_BYTES of the head."""

    def __init__(self) -> None:
        self.head = bytearray()

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < SAMPLE_BYTES:
            self.head += chunk[: SAMPLE_BYTES - len(self.head)]

    def finish(self, a: Analysis, preview_records: int) -> None:
        return None


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    """NaN and Infinity are Python's extensions, not JSON (RFC 8259)."""
    raise _NotJson(f"{name} is not a JSON value")


class JsonlScanner(Scanner):
    """Every line of the file must be one JSON value: the whole file is parsed as it streams
    (not only the sampled head), and the first bad line is named with its byte offset."""

    MAX_PROBLEM_LINES = 1

    def __init__(self) -> None:
        super().__init__()
        self.pending = b""  # the incomplete last line of the chunks seen so far
        self.line = 0  # lines completed so far
        self.offset = 0  # byte offset of `pending`
        self.records = 0
        self.problem: str | None = None
        self.overlong = False  # inside a line past MAX_LINE_BYTES: skipping to its end

    # A record longer than this is no JSON Lines record (the records endpoint pages at 16 MiB):
    # past it the scanner stops buffering, so a file without newlines cannot exhaust memory.
    MAX_LINE_BYTES = 16 * 1024 * 1024

    def feed(self, chunk: bytes) -> None:
        super().feed(chunk)
        if not chunk:
            return
        if self.overlong:
            cut = chunk.find(b"\n")
            if cut < 0:
                self.offset += len(chunk)
                return
            self.offset += cut + 1
            chunk, self.overlong = chunk[cut + 1:], False
            if not chunk:
                return
        data = self.pending + chunk if self.pending else chunk
        lines = data.split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            self._line(line)
            self.offset += len(line) + 1
        if len(self.pending) > self.MAX_LINE_BYTES:
            self.line += 1
            self.records += 1
            if self.problem is None:
                self.problem = f"line {self.line} (byte offset {self.offset}) is longer than {self.MAX_LINE_BYTES // (1024 * 1024)} MiB: not a JSON Lines record"
            self.offset += len(self.pending)
            self.pending, self.overlong = b"", True

    def _line(self, line: bytes) -> None:
        self.line += 1
        if not line.strip():
            return
        self.records += 1
        if self.problem is not None:
            return
        where = f"line {self.line} (byte offset {self.offset})"
        try:
            value = json.loads(line, parse_constant=_no_constant)
            if b"\\u" in line:  # an escaped lone surrogate decodes, but is no text: refuse it as the API does
                json.dumps(value, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            self.problem = f"{where} is nested too deeply to be read as JSON"
        except UnicodeDecodeError as e:
            self.problem = f"line {self.line} (byte offset {self.offset + e.start}) is not valid UTF-8"
        except UnicodeEncodeError:
            self.problem = f"{where} holds text that is not valid Unicode (a lone surrogate)"
        except _NotJson as e:
            self.problem = f"{where} is not valid JSON: {e}"
        except json.JSONDecodeError as e:
            self.problem = f"{where} is not valid JSON: {str(e)[:120]}"
        except ValueError:  # Python's limit on integer digits
            self.problem = f"{where} holds a number too long to read"

    def finish(self, a: Analysis, preview_records: int) -> None:
        if self.pending:
            self._line(self.pending)  # a last line without its newline is still a record
            self.pending = b""
        a.records = self.records
        if self.problem:
            a.problems.append(self.problem)
        elif a.size > 0 and self.records == 0:
            a.problems.append("the file has no records (only blank lines)")
        lines = bytes(self.head).split(b"\n")
        if len(self.head) >= SAMPLE_BYTES and a.size > SAMPLE_BYTES:
            lines = lines[:-1]  # the cut line is incomplete
        sample = []
        for line in lines[:SAMPLE_RECORDS]:
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except (ValueError, RecursionError):
                break
            if _deeper_than(rec, PREVIEW_DEPTH):
                # Stored as JSON and rendered on pages, whose encoders recurse per level: 900
                # levels read here but crashed the job when the preview was saved.
                rec = {"_preview": f"This record is nested more than {PREVIEW_DEPTH} levels deep and is not shown."}
            sample.append(rec if isinstance(rec, dict) else {"value": rec})
        if sample:
            a.schema, a.stats = infer(sample, _json_type)
        a.preview = sample[:preview_records]


class CsvScanner(Scanner):
    """Counts rows with quote-aware newline counting: a newline inside a quoted field is data.
    The whole file must be UTF-8 and every quoted field must be closed; an unterminated quote is
    named with the line and byte offset where it opened."""

    def __init__(self) -> None:
        super().__init__()
        self.in_quotes = False
        self.rows = 0
        self.last = b"\n"
        self.offset = 0
        self.newlines = 0  # every newline, quoted or not: physical lines
        self.quote_opened: tuple[int, int] | None = None  # (line, byte offset) of the open quote
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.bad_utf8: int | None = None

    def feed(self, chunk: bytes) -> None:
        super().feed(chunk)
        if not chunk:
            return
        if self.bad_utf8 is None:
            try:
                self.decoder.decode(chunk)
            except UnicodeDecodeError as e:
                self.bad_utf8 = self.offset + e.start
        self.last = chunk[-1:]
        if b'"' not in chunk:
            if not self.in_quotes:
                self.rows += chunk.count(b"\n")
            self.newlines += chunk.count(b"\n")
            self.offset += len(chunk)
            return
        # Quotes toggle the state; a doubled quote ("") toggles twice and so changes nothing.
        pos = self.offset
        for i, part in enumerate(chunk.split(b'"')):
            if i:
                self.in_quotes = not self.in_quotes
                if self.in_quotes:
                    self.quote_opened = (self.newlines + 1, pos - 1)
            if not self.in_quotes:
                self.rows += part.count(b"\n")
            self.newlines += part.count(b"\n")
            pos += len(part) + 1
        self.offset += len(chunk)

    def finish(self, a: Analysis, preview_records: int) -> None:
        lines = self.rows + (0 if self.last == b"\n" or a.size == 0 else 1)
        a.records = max(lines - 1, 0)  # minus the header
        if self.bad_utf8 is None:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.bad_utf8 = self.offset
        if self.bad_utf8 is not None:
            a.problems.append(f"not valid UTF-8 at byte offset {self.bad_utf8}")
        if self.in_quotes and self.quote_opened:
            line, offset = self.quote_opened
            a.problems.append(f"unterminated quoted field opened on line {line} (byte offset {offset}); the rest of the file is inside it")
        if a.problems:
            a.preview = []
            return
        text = bytes(self.head).decode("utf-8", errors="replace")
        if len(self.head) >= SAMPLE_BYTES and a.size > SAMPLE_BYTES:
            text = text[: text.rfind("\n") + 1]
        try:
            rows = list(zip(range(SAMPLE_RECORDS + 1), csv.reader(io.StringIO(text, newline=""), strict=True), strict=False))  # the first records only
        except csv.Error as e:
            a.problems.append(f"not valid CSV: {e}")
            return
        header = rows[0][1] if rows else []
        if not a.problems and a.size > 0 and a.records == 0:
            a.problems.append("the file has a header but no records" if header else "the file has no records")
        if not a.problems:
            # Line numbers here count records (a quoted newline stays inside its record).
            for n, row in rows[1:]:
                if row and len(row) != len(header):
                    a.problems.append(f"record {n} has {len(row)} fields; the header has {len(header)}")
                    break
        sample = [dict(zip(header, r, strict=False)) for _, r in rows[1:] if r]  # ragged rows were refused above
        if sample and not a.problems:
            a.schema, a.stats = infer(sample, lambda v: _csv_type(v) if isinstance(v, str) else "null")
        a.preview = sample[:preview_records] if not a.problems else []


class MediaScanner(Scanner):
    """One record per media file; WAV headers also give the audio parameters."""

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.fmt = fmt

    def finish(self, a: Analysis, preview_records: int) -> None:
        a.records = 1
        head = bytes(self.head[:4096])
        if self.fmt == "wav":
            info = _wav_info(head, a.size)
            if info is None:
                a.problems.append("not a RIFF/WAVE file")
            elif not _wav_consistent(info):
                # A header that lies about its rates would make "measured" hours say anything.
                a.problems.append(f"WAV header inconsistent: {info.get('sample_rate')} Hz × {info.get('channels')} channel(s) × "
                                  f"{info.get('bits_per_sample')} bits is not its byte rate {info.get('byte_rate')}")
            else:
                a.stats = info
        elif self.fmt == "png" and not head.startswith(b"\x89PNG\r\n\x1a\n"):
            a.problems.append("not a PNG file")
        elif self.fmt == "jpeg" and not head.startswith(b"\xff\xd8"):
            a.problems.append("not a JPEG file")
        elif self.fmt == "flac" and not head.startswith(b"fLaC"):
            a.problems.append("not a FLAC file")


def _wav_consistent(info: dict[str, Any]) -> bool:
    """A PCM header whose byte rate is its sample rate × channels × bytes per sample, at a sample
    rate audio uses (1 kHz to 768 kHz)."""
    values = [info.get(k) for k in ("sample_rate", "channels", "bits_per_sample", "byte_rate")]
    if not all(isinstance(x, int) and x > 0 for x in values):
        return False
    rate, channels, bits, byte_rate = (int(x or 0) for x in values)
    return 1000 <= rate <= 768_000 and byte_rate == rate * channels * ((bits + 7) // 8)


def _wav_info(head: bytes, size: int) -> dict[str, Any] | None:
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    fmt = None
    while pos + 8 <= len(head):
        cid, clen = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt " and pos + 24 <= len(head):
            _, channels, rate, byte_rate, _, bits = struct.unpack("<HHIIHH", head[pos + 8:pos + 24])
            fmt = {"channels": channels, "sample_rate": rate, "bits_per_sample": bits, "byte_rate": byte_rate}
        if cid == b"data" and fmt:
            data_len = min(clen, size - pos - 8)
            fmt["duration_seconds"] = round(data_len / fmt["byte_rate"], 3) if fmt["byte_rate"] else None
            return fmt
        pos += 8 + clen + (clen & 1)
    return fmt


def scanner_for(fmt: str) -> Scanner:
    if fmt == "jsonl":
        return JsonlScanner()
    if fmt == "csv":
        return CsvScanner()
    if fmt in MEDIA_FORMATS:
        return MediaScanner(fmt)
    return Scanner()  # parquet is read from its footer afterwards; tar/other: bytes only


def analyse_stream(chunks: Iterable[bytes], fmt: str, *, preview_records: int = 20) -> Analysis:
    """One pass: digest and size of every byte, plus the format's records and sample."""
    a = Analysis()
    h = hashlib.sha256()
    scanner = scanner_for(fmt)
    size = 0
    # hashlib releases the GIL on large buffers, so chunk i is hashed on a helper thread while
    # this thread scans it and fetches chunk i+1. Updates stay in order (we wait for the previous
    # one before submitting the next); at most two chunks are alive at once.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        pending = None
        for chunk in chunks:
            size += len(chunk)
            scanner.feed(chunk)
            if pending is not None:
                pending.result()
            pending = pool.submit(h.update, chunk)
        if pending is not None:
            pending.result()
    a.size = size
    a.sha256 = h.hexdigest()
    scanner.finish(a, preview_records)
    return a


def analyse_parquet(read_range: Callable[[int, int], bytes], size: int, a: Analysis, *, preview_records: int = 20) -> None:
    """Rows and schema from the Parquet footer, preview from the first row group, via ranged reads
    (a few small requests, never the whole object)."""
    import pyarrow.parquet as pq  # deferred: pyarrow is heavy and only Parquet files need it

    try:
        pf = pq.ParquetFile(RangeReader(read_range, size))
    except Exception as e:  # pyarrow raises several types for a corrupt footer
        a.problems.append(f"not a Parquet file ({type(e).__name__})")
        return
    md = pf.metadata
    a.records = md.num_rows
    a.schema = {"fields": [{"name": f.name, "type": str(f.type)} for f in pf.schema_arrow]}
    a.stats = {"row_groups": md.num_row_groups, "columns": md.num_columns}
    if md.num_row_groups and _compressed_size(md.row_group(0)) <= 64 * 1024 * 1024:
        # Decode only the first rows, batch by batch: dictionary and run-length encoding let a
        # few kilobytes stand for gigabytes of values (a decompression bomb), and the
        # metadata's "uncompressed" sizes are the encoded ones, so they cannot be trusted to
        # bound memory. Reading one small batch can.
        try:
            batch = next(pf.iter_batches(batch_size=max(preview_records, 1), row_groups=[0], use_threads=False), None)
            a.preview = json.loads(json.dumps(batch.slice(0, preview_records).to_pylist(), default=str)) if batch is not None else []
        except Exception as e:
            a.problems.append(f"first row group unreadable ({type(e).__name__})")


def _compressed_size(rg: Any) -> int:
    """Bytes stored for a row group (what must be fetched to start decoding it)."""
    return sum(rg.column(i).total_compressed_size for i in range(rg.num_columns))


class RangeReader(io.RawIOBase):
    """A seekable, read-only file over ranged reads of a stored object."""

    def __init__(self, read_range: Callable[[int, int], bytes], size: int):
        self._read_range = read_range
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: Any) -> int:
        n = min(len(b), self._size - self._pos)
        if n <= 0:
            return 0
        data = self._read_range(self._pos, n)
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def size(self) -> int:
        return self._size
