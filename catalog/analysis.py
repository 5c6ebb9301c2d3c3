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
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

AUDIO_FORMATS = frozenset({"wav", "flac", "mp3", "ogg", "opus"})
IMAGE_FORMATS = frozenset({"jpeg", "png", "webp", "tiff", "dicom"})
VIDEO_FORMATS = frozenset({"mp4", "mkv", "webm"})
MEDIA_FORMATS = AUDIO_FORMATS | IMAGE_FORMATS | VIDEO_FORMATS
FORMATS = ("jsonl", "csv", "parquet", "wav", "flac", "mp3", "ogg", "opus", "mp4", "mkv", "webm", "jpeg", "png", "webp", "tiff", "dicom", "tar", "other")
MEDIA_TYPES = {
    "jsonl": "application/jsonl",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg; codecs=opus",
    "mp4": "video/mp4",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "tiff": "image/tiff",
    "dicom": "application/dicom",
    "tar": "application/x-tar",
    "other": "application/octet-stream",
}
EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".wav": "wav", ".flac": "flac", ".mp3": "mp3",
    ".ogg": "ogg", ".oga": "ogg", ".opus": "opus", ".mp4": "mp4", ".m4v": "mp4", ".mkv": "mkv", ".webm": "webm", ".jpg": "jpeg",
    ".jpeg": "jpeg", ".png": "png", ".webp": "webp", ".tif": "tiff", ".tiff": "tiff", ".dcm": "dicom", ".tar": "tar",
}


def kind_of(fmt: str) -> str | None:
    """audio, image or video; None for a format that is not media."""
    if fmt in AUDIO_FORMATS:
        return "audio"
    if fmt in IMAGE_FORMATS:
        return "image"
    if fmt in VIDEO_FORMATS:
        return "video"
    return None


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


def _finite(v: Any) -> float | None:
    """A number as a float for the statistics, or None past double precision (1e400, a
    400-digit integer, "inf"): JSON has no infinity, and PostgreSQL's JSON columns refuse one."""
    try:
        num = float(v)
    except (OverflowError, ValueError):
        return None
    return num if math.isfinite(num) else None


def _sample_float(text: str) -> float | str:
    """A JSON number for the sample: a float, or its own text when no float holds it."""
    num = float(text)
    return num if math.isfinite(num) else text


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
                num = _finite(v)
                if num is not None:
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
                # The same strictness as the scan: NaN and Infinity are no JSON, and PostgreSQL's
                # JSON columns refuse them (a preview holding one wedged the version in processing).
                rec = json.loads(line, parse_constant=_no_constant, parse_float=_sample_float)
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
    """One record per media file; its figures come from ranged reads afterwards
    (`catalog.media.measure`), since headers and indexes sit anywhere in the file."""

    def finish(self, a: Analysis, preview_records: int) -> None:
        a.records = 1


def scanner_for(fmt: str) -> Scanner:
    if fmt == "jsonl":
        return JsonlScanner()
    if fmt == "csv":
        return CsvScanner()
    if fmt in MEDIA_FORMATS:
        return MediaScanner()
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

    name = "<stored object>"  # some readers (pydicom) ask a file for its name

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


# --------------------------------------------------------------------------- media figures

def _media_items(stats: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    """The measured media of one file: itself, or a shard's measured members."""
    if not stats:
        return ()
    if stats.get("kind") == "shard":
        return (m for m in stats.get("member_list") or () if m.get("kind"))
    return (stats,) if stats.get("kind") in ("audio", "image", "video") else ()


def media_ms(stats: dict[str, Any] | None) -> int | None:
    """Milliseconds of audio and video in one file (a shard: in its members); None for a file
    without any (what per-hour offers debit for it)."""
    items = [i for i in _media_items(stats) if i["kind"] in ("audio", "video")]
    return sum(int(i.get("duration_ms") or 0) for i in items) if items else None


def media_figures(stats: Iterable[dict[str, Any] | None], segments: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A version's media figures from its files' measurements: hours of audio and video, the
    sample-rate, resolution and codec distributions (counted in files), images, and from a
    segment manifest the speakers and segments. None when the version holds no media."""
    audio_ms = video_ms = audio_files = video_files = images = 0
    rates: dict[str, int] = {}
    resolutions: dict[str, int] = {}
    codecs: dict[str, int] = {}
    for s in stats:
        for item in _media_items(s):
            kind = item["kind"]
            codecs[item.get("codec") or "?"] = codecs.get(item.get("codec") or "?", 0) + 1
            if kind == "audio":
                audio_files += 1
                audio_ms += int(item.get("duration_ms") or 0)
                rates[str(item["sample_rate"])] = rates.get(str(item["sample_rate"]), 0) + 1
            elif kind == "video":
                video_files += 1
                video_ms += int(item.get("duration_ms") or 0)
                res = f"{item['width']}x{item['height']}"
                resolutions[res] = resolutions.get(res, 0) + 1
            else:
                images += 1
                res = f"{item['width']}x{item['height']}"
                resolutions[res] = resolutions.get(res, 0) + 1
    if not (audio_files or video_files or images):
        return None
    out: dict[str, Any] = {"audio_files": audio_files, "audio_ms": audio_ms, "audio_hours": round(audio_ms / 3_600_000, 4),
                           "video_files": video_files, "video_ms": video_ms, "video_hours": round(video_ms / 3_600_000, 4), "images": images,
                           "media_ms": audio_ms + video_ms, "sample_rates": dict(sorted(rates.items(), key=lambda kv: int(kv[0]))),
                           "resolutions": dict(sorted(resolutions.items(), key=lambda kv: -kv[1])), "codecs": dict(sorted(codecs.items()))}
    if segments:
        out.update(segments)
    return out


# Search facets measured from the media (values are what the API's filters take).
SAMPLE_RATE_FACETS = (("16k", 16_000), ("44.1k", 44_100), ("48k", 48_000))  # every recording at least this rate
RESOLUTION_FACETS = (("720p", 720), ("1080p", 1080), ("2160p", 2160))  # every image or video frame at least this tall
HOURS_FACETS = (("<1", 0), ("1-10", 1), ("10-100", 10), ("100-1000", 100), ("1000+", 1000))  # hours of audio and video
SPEAKER_FACETS = (("1-9", 1), ("10-99", 10), ("100-999", 100), ("1000+", 1000))
MEDIA_FACET_KINDS = ("sample_rate", "resolution", "hours", "speakers")


def _bucket(value: float, buckets: tuple[tuple[str, int], ...]) -> str:
    return [name for name, low in buckets if value >= low][-1]


def media_facets(media: dict[str, Any] | None) -> dict[str, list[str]]:
    """A dataset's measured media as search facet values, one list per kind (empty when it has
    no such media): sample-rate and resolution thresholds every file meets, and buckets of hours
    and speakers."""
    out: dict[str, list[str]] = {k: [] for k in MEDIA_FACET_KINDS}
    if not media:
        return out
    rates = [int(r) for r in (media.get("sample_rates") or {})]
    if rates:
        out["sample_rate"] = [name for name, low in SAMPLE_RATE_FACETS if min(rates) >= low]
    heights = [int(r.split("x")[1]) for r in (media.get("resolutions") or {}) if "x" in r]
    if heights:
        out["resolution"] = [name for name, low in RESOLUTION_FACETS if min(heights) >= low]
    if media.get("media_ms"):
        out["hours"] = [_bucket(media["media_ms"] / 3_600_000, HOURS_FACETS)]
    if media.get("speakers"):
        out["speakers"] = [_bucket(media["speakers"], SPEAKER_FACETS)]
    return out
