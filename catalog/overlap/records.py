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
from catalog.tables import record_blocks

TEXT_FORMATS = ("jsonl", "csv", "parquet")
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
MAX_WALK = 100_000  # string leaves taken from one record at most (a hostile record is not a denial of service)


def carries_text(s: str) -> bool:
    """A value that reads as text rather than as an identifier, code or label: two or more
    spaces (three words), or four CJK characters among its first 64. Counting is C-speed; this
    runs on every string of every record."""
    if len(s) < 4:
        return False
    if s.count(" ") + s.count("\n") >= 2:
        return True
    head = s[:64]
    return max(head) >= "\u3040" and len(_CJK_CHAR.findall(head)) >= 4


def _leaves(obj: Any, fields: Sequence[str] | None) -> list[str]:
    """The record's text values: its string leaves (iteratively: nesting depth is the input's
    choice), filtered by the vendor's field paths or by `carries_text`."""
    if not fields:
        return _texts(obj)
    out: list[str] = []
    stack: list[tuple[str, Any]] = [("", obj)]
    wanted = set(fields)
    while stack and len(out) < MAX_WALK:
        path, v = stack.pop()
        if isinstance(v, str):
            if path in wanted:
                out.append(v)
        elif isinstance(v, dict):
            stack.extend((f"{path}.{k}" if path else str(k), x) for k, x in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend((path, x) for x in reversed(v))
    return out


def _texts(obj: Any) -> list[str]:
    """Every string leaf that reads as text, in document order (no paths: the common case, kept lean)."""
    if isinstance(obj, dict) and all(type(v) is not dict and type(v) is not list for v in obj.values()):
        return [v for v in obj.values() if type(v) is str and carries_text(v)]  # a flat record: most are
    out: list[str] = []
    stack: list[Any] = [obj]
    while stack and len(out) < MAX_WALK:
        v = stack.pop()
        if isinstance(v, str):
            if carries_text(v):
                out.append(v)
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
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
        return [v for name, v in zip(header, row, strict=False) if name in wanted and v]
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

    GAP = 64 * 1024

    def __init__(self, fmt: str, open_chunks: Callable[[], Iterator[bytes]], read_range: Callable[[int, int], bytes], size: int,
                 fields: Sequence[str] | None) -> None:
        self.fmt, self.open_chunks, self.read_range, self.size, self.fields = fmt, open_chunks, read_range, size, fields
        self._header: list[str] | None = None
        self._pf: pq.ParquetFile | None = None
        self._groups: dict[int, Any] = {}

    def values(self, where: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
        """The text values of the records at these (offset, length) locations."""
        if self.fmt == "parquet":
            return {loc: self._parquet_row(*loc) for loc in where}
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

    def _parquet_row(self, group: int, row: int) -> list[str]:
        if self._pf is None:
            self._pf = pq.ParquetFile(RangeReader(self.read_range, self.size))
        if group not in self._groups:
            if len(self._groups) >= 2:  # kept as Arrow (columnar): a row becomes Python only when asked for
                self._groups.pop(next(iter(self._groups)))
            columns = _string_columns(self._pf, self.fields)
            self._groups[group] = self._pf.read_row_group(group, columns=columns) if columns else None
        table = self._groups[group]
        if table is None or row >= table.num_rows:
            return []
        return _leaves(table.slice(row, 1).to_pylist()[0], self.fields)


def _has_strings(t: Any) -> bool:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return True
    if pa.types.is_struct(t):
        return any(_has_strings(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_strings(t.value_type)
    return False
