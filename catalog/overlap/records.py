"""The text of each record of a stored file, for signing: JSONL lines, CSV rows, Parquet rows.

A record's text is the values of its text-bearing fields. The vendor may name the fields (a
top-level key or column, or a dotted path into nested JSON such as `messages.content`); by
default every string value that reads as text is taken: three or more words, or four or more
CJK characters. Identifiers, codes, dates and labels are left out, so a relisting that renumbers
its records still matches. Records are yielded in file order; the position is the record's
ordinal (blank JSONL lines are not records).

Memory stays flat: files are read in blocks of whole records (`catalog.tables.record_blocks`),
Parquet a batch of rows at a time.
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any, Callable, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.analysis import RangeReader
from catalog.tables import MAX_RECORD, record_blocks

TEXT_FORMATS = ("jsonl", "csv", "parquet")
# Ingest accepts CSV records up to tables.MAX_RECORD; the csv module's default field limit
# (128 KiB) would refuse a long field that ingest had already verified.
csv.field_size_limit(MAX_RECORD)
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
MAX_WALK = 100_000  # string leaves taken from one record at most (a hostile record is not a denial of service)


def carries_text(s: str) -> bool:
    """A value that reads as text rather than as an identifier, code or label: three or more
    words (split at any Unicode space: no-break spaces and tabs too), or four CJK characters
    among its first 4,096. Counting spaces first is C-speed; this runs on every string of every
    record."""
    if len(s) < 4:
        return False
    if s.count(" ") + s.count("\n") >= 2 or len(s.split(None, 2)) >= 3:
        return True
    head = s[:4096]
    return max(head) >= "\u3040" and len(_CJK_CHAR.findall(head)) >= 4


def _leaves(obj: Any, fields: Sequence[str] | None) -> list[str]:
    """The record's text values: its string leaves (iteratively: nesting depth is the input's
    choice), filtered by the vendor's field paths or by `carries_text`. When the vendor's fields
    hold no text in a record (an id, a label, a field it does not have), its text-bearing
    fields are taken: choosing fields narrows what is compared, it cannot switch it off."""
    if not fields:
        return _texts(obj)
    chosen = _chosen(obj, fields)
    return chosen if any(carries_text(v) for v in chosen) else _texts(obj)


def _chosen(obj: Any, fields: Sequence[str]) -> list[str]:
    out: list[str] = []
    stack: list[tuple[str, Any]] = [("", obj)]
    wanted = set(fields)
    while stack and len(out) < MAX_WALK:
        path, v = stack.pop()
        if isinstance(v, bytes):
            v = _utf8(v)
        if isinstance(v, str):
            if path in wanted:
                out.append(v)
        elif isinstance(v, dict):
            stack.extend((f"{path}.{k}" if path else str(k), x) for k, x in reversed(list(v.items())))
        elif isinstance(v, (list, tuple)):  # tuples: a Parquet map's (key, value) pairs
            stack.extend((path, x) for x in reversed(v))
    return out


def _utf8(b: bytes) -> str | None:
    """A Parquet binary value that is UTF-8 text is text (a cast to binary hides nothing)."""
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _texts(obj: Any) -> list[str]:
    """Every string leaf that reads as text, in document order (no paths: the common case, kept lean)."""
    if isinstance(obj, dict) and all(type(v) is str or type(v) is int or type(v) is float or type(v) is bool or v is None for v in obj.values()):
        return [v for v in obj.values() if type(v) is str and carries_text(v)]  # a flat record: most are
    out: list[str] = []
    stack: list[Any] = [obj]
    while stack and len(out) < MAX_WALK:
        v = stack.pop()
        if isinstance(v, bytes):
            v = _utf8(v)
        if isinstance(v, str):
            if carries_text(v):
                out.append(v)
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
    return out


Located = tuple[list[str], int, int]  # (text values, offset, length): a byte range; for Parquet (row group, row)


def text_records(fmt: str, open_chunks: Callable[[], Iterator[bytes]], read_range: Callable[[int, int], bytes], size: int,
                 fields: Sequence[str] | None = None) -> Iterator[Located]:
    """Each record's text values with where it is, in file order."""
    if fmt == "jsonl":
        yield from _jsonl(open_chunks(), fields)
    elif fmt == "csv":
        header: list[str] | None = None
        for row, offset, length in _csv_rows(open_chunks()):
            if header is None:
                header = row
                continue
            if row:
                yield _csv_values(header, row, fields), offset, length
    elif fmt == "parquet":
        yield from _parquet(read_range, size, fields)


def _jsonl_values(line: bytes, fields: Sequence[str] | None) -> list[str]:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        obj = None  # ingest verified the file; a record past Python's nesting limit has no text here
    return _leaves(obj, fields)


def _jsonl(chunks: Iterator[bytes], fields: Sequence[str] | None) -> Iterator[Located]:
    base = 0
    for block in record_blocks(chunks, csv=False):
        pos = 0
        for line in block.split(b"\n"):
            if line.strip():
                yield _jsonl_values(line, fields), base + pos, len(line)
            pos += len(line) + 1
        base += len(block)


class _Lines:
    """A block's lines, decoded one at a time for the csv module, counting the bytes it took."""

    def __init__(self, block: bytes) -> None:
        self._it = iter(block.splitlines(keepends=True))
        self.pos = 0

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.pos += len(line)
        return line.decode("utf-8", "replace")


def _csv_rows(chunks: Iterator[bytes]) -> Iterator[tuple[list[str], int, int]]:
    """Every CSV record (the header first) with its byte range: the csv module reads a line at a
    time, so the bytes it has taken after a row are where the row ends."""
    base = 0
    first = True
    for block in record_blocks(chunks, csv=True):
        if first and block.startswith(b"\xef\xbb\xbf"):
            block, base = block[3:], 3
        first = False
        lines = _Lines(block)
        start = 0
        for row in csv.reader(lines):
            yield row, base + start, lines.pos - start
            start = lines.pos
        base += len(block)


def _csv_values(header: list[str], row: list[str], fields: Sequence[str] | None) -> list[str]:
    if fields:
        wanted = set(fields)
        chosen = [v for name, v in zip(header, row, strict=False) if name in wanted and v]
        if any(carries_text(v) for v in chosen):
            return chosen
    return [v for v in row if carries_text(v)]


def _string_columns(pf: pq.ParquetFile, fields: Sequence[str] | None) -> list[str]:
    columns = [f.name for f in pf.schema_arrow if _has_strings(f.type)]
    if fields:
        tops = {f.split(".", 1)[0] for f in fields}
        columns = [c for c in columns if c in tops]
    return columns


def _parquet(read_range: Callable[[int, int], bytes], size: int, fields: Sequence[str] | None) -> Iterator[Located]:
    pf = pq.ParquetFile(RangeReader(read_range, size))
    columns = _string_columns(pf, fields)
    for g in range(pf.metadata.num_row_groups):
        if not columns:
            for row in range(pf.metadata.row_group(g).num_rows):
                yield [], g, row
            continue
        row = 0
        for batch in pf.iter_batches(batch_size=2048, row_groups=[g], columns=columns):
            for values in batch.to_pylist():
                yield _leaves(values, fields), g, row
                row += 1


class Fetcher:
    """Reads given records of one stored file again, for the exact check of near-duplicate
    candidates: byte ranges close together are read in one request; Parquet row groups are
    kept while they are asked for."""

    GAP = 1024 * 1024  # one request per MiB of candidates: an S3 GET costs more than reading past a gap

    def __init__(self, fmt: str, open_chunks: Callable[[], Iterator[bytes]], read_range: Callable[[int, int], bytes], size: int,
                 fields: Sequence[str] | None) -> None:
        self.fmt, self.open_chunks, self.read_range, self.size, self.fields = fmt, open_chunks, read_range, size, fields
        self._header: list[str] | None = None

    def values(self, where: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
        """The text values of the records at these (offset, length) locations."""
        if self.fmt == "parquet":
            return self._parquet_rows(where)
        out: dict[tuple[int, int], list[str]] = {}
        todo = sorted(set(where))
        i = 0
        while i < len(todo):
            j = i
            start, end = todo[i][0], todo[i][0] + todo[i][1]
            while j + 1 < len(todo) and todo[j + 1][0] <= end + self.GAP:
                j += 1
                end = max(end, todo[j][0] + todo[j][1])
            data = self.read_range(start, end - start)
            for off, length in todo[i:j + 1]:
                out[(off, length)] = self._parse(data[off - start: off - start + length])
            i = j + 1
        return out

    def _parse(self, raw: bytes) -> list[str]:
        if self.fmt == "jsonl":
            return _jsonl_values(raw, self.fields)
        if self._header is None:
            self._header = next(_csv_rows(self.open_chunks()))[0]
        rows = list(csv.reader(_Lines(raw)))
        return _csv_values(self._header, rows[0], self.fields) if rows else []

    def _parquet_rows(self, where: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
        """The asked rows, streamed a batch at a time through their row groups: a row group of
        400 MB decoded is never held whole (one was, and took a gigabyte to check one row)."""
        pf = pq.ParquetFile(RangeReader(self.read_range, self.size))
        columns = _string_columns(pf, self.fields)
        out: dict[tuple[int, int], list[str]] = {loc: [] for loc in where}
        if not columns:
            return out
        by_group: dict[int, set[int]] = {}
        for g, r in where:
            by_group.setdefault(g, set()).add(r)
        for g, rows in sorted(by_group.items()):
            if not 0 <= g < pf.metadata.num_row_groups:
                continue
            seen, last = 0, max(rows)
            for batch in pf.iter_batches(batch_size=1024, row_groups=[g], columns=columns):
                for r in sorted(x for x in rows if seen <= x < seen + batch.num_rows):
                    out[(g, r)] = _leaves(batch.slice(r - seen, 1).to_pylist()[0], self.fields)
                seen += batch.num_rows
                if seen > last:
                    break
        return out


def _has_strings(t: Any) -> bool:
    """Whether a Parquet column holds text anywhere inside it: strings in any Arrow form
    (plain, large, view, dictionary-encoded, or as binary), or inside structs, lists and maps."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(t)):
        return True
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return True
    if pa.types.is_dictionary(t):
        return _has_strings(t.value_type)
    if pa.types.is_struct(t):
        return any(_has_strings(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_map(t):
        return _has_strings(t.key_type) or _has_strings(t.item_type)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or (hasattr(pa.types, "is_list_view") and pa.types.is_list_view(t)):
        return _has_strings(t.value_type)
    return False
