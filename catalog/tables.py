"""Tabular files as Parquet tables: what Delta Sharing serves and data engines read.

At ingest every CSV and JSONL file is also written as Parquet (content-addressed like any blob,
and listed beside its source in the manifest), so every tabular dataset can be shared as a table
without the service ever being in the data path. A Parquet file is its own table.

Conversion streams: the source is read in blocks by pyarrow's streaming CSV and JSON readers
and written row group by row group to a spooled temporary file, so memory stays flat whatever the
file's size. Types are inferred from the first block. Real files drift (a column of integers
that later holds "n/a", a field that appears half-way), so when a later block does not fit,
conversion starts again with every column as text: a table whose types are less precise is
still the vendor's data, exactly; a guessed cast is not. The representation chosen is reported.

The table schema is given to clients in Delta's (Spark's) JSON form, derived from the Arrow
schema of the Parquet file.
"""

from __future__ import annotations

import decimal
import hashlib
import io
import json
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from catalog.analysis import RangeReader

TABULAR = ("csv", "jsonl")
BLOCK = 1024 * 1024  # records are parsed a block at a time (see record_blocks)
MAX_COLUMNS = 10_000  # a table's readers parse its schema whole; 200,000 columns took a client minutes
MAX_DEPTH = 16  # nested types deeper than this make Parquet footers Arrow cannot read back (200 levels did)
# Numbers a double cannot hold exactly: 16+ significant digits, or an exponent past ±308, and in
# CSV the words NaN and Infinity. A block typed with a floating column that holds one is kept as
# text instead (the exact literal), e.g. 99999999999999999999999 would become 1e+23.
_LOSSY_NUMBER = re.compile(rb"(?<![\w.])[-+]?(?:\d{16,}|\d*\.\d{16,}|\d+\.?\d*[eE][-+]?\d{3,})")
_CSV_SPECIAL = re.compile(rb"(?im)(?:^|,)\s*[-+]?(?:nan|inf|infinity)\s*(?:,|\r?$)")
ROW_GROUP = 128 * 1024


class ConversionFailed(Exception):
    """The file cannot be read as a table (the reason is for the vendor's ingest report)."""


class _NotATable(ConversionFailed):
    """Not a table whatever the columns' types: no second attempt as text."""


@dataclass(frozen=True)
class TableFile:
    """A Parquet rendering of one file: where its bytes are and what it holds."""

    sha256: str
    size: int
    records: int
    schema: dict[str, Any]  # Delta's StructType JSON
    typed: bool  # False when every column had to be kept as text


def _text(v: Any) -> str | None:
    """A JSON value as text: strings as they are, numbers as written (decimals are parsed as
    Decimal, so 0.1000000000000000055 stays so), objects and arrays as compact JSON."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, decimal.Decimal)) and not isinstance(v, bool):
        return str(v)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=_json_number)


def _json_number(v: Any) -> Any:
    if isinstance(v, decimal.Decimal):
        f = float(v)
        return f if decimal.Decimal(repr(f)) == v else str(v)  # exact as a number, else the literal as text
    raise TypeError(type(v).__name__)


def _exact(**types: Any) -> pa_csv.ConvertOptions:
    """Only an empty cell is missing, and an empty text is kept as such: pyarrow's defaults
    would read "NA", "n/a" or "null" as missing, which changes the vendor's data."""
    return pa_csv.ConvertOptions(null_values=[""], strings_can_be_null=False, quoted_strings_can_be_null=False, **types)


# Outside a quoted field, a quote opens one only at the start of a field (after a comma, a
# newline or the start of the file), as pyarrow and Python's csv module read it: `5" wide` is a
# literal quote. Inside one, "" is an escaped quote and a lone " closes it.
_OPENING_QUOTE = re.compile(rb'(?:(?<=[,\n])|\A)"')
MAX_RECORD = 64 * 1024 * 1024


class _CsvScanner:
    """Finds CSV record ends in a growing buffer, keeping its quote state between calls, so each
    byte is looked at once (the Python loop runs per quoted field, not per byte or record)."""

    def __init__(self) -> None:
        self.pos = 0
        self.quoted = False

    def end_after(self, buf: bytearray, start: int) -> int:
        """The end (past its newline) of the first record ending at or after `start`, or 0 when
        the buffer does not hold one yet."""
        while True:
            if self.quoted:
                q = buf.find(b'"', self.pos)
                if q < 0 or q + 1 >= len(buf):
                    self.pos = len(buf) if q < 0 else q  # a quote at the end: the next byte decides
                    return 0
                if buf[q + 1] == 0x22:  # ""
                    self.pos = q + 2
                    continue
                self.quoted, self.pos = False, q + 1
                continue
            opening = _OPENING_QUOTE.search(buf, self.pos)
            newline = buf.find(b"\n", max(self.pos, start))
            if opening is not None and (newline < 0 or opening.start() < newline):
                self.quoted, self.pos = True, opening.end()
                continue
            if newline < 0:
                self.pos = max(self.pos, len(buf) - 1)  # the last byte may be the comma before a quote
                return 0
            end = newline + 1
            self.pos = end
            return end

    def cut(self, end: int) -> None:
        """The buffer lost its first `end` bytes (a record boundary: outside quotes)."""
        self.pos = max(0, self.pos - end)


def record_blocks(chunks: Iterator[bytes], *, csv: bool) -> Iterator[bytes]:
    """The stream cut into blocks of whole records of about BLOCK bytes.

    pyarrow's streaming readers read dozens of blocks ahead whatever one asks, so memory grew
    with the block size (150 MiB for 4 MiB blocks), and they refuse a record longer than a
    block; cutting the blocks here and parsing each alone keeps one block, and its columns, in
    memory. A record longer than a block makes the block longer, up to MAX_RECORD."""
    buf = bytearray()
    scanner = _CsvScanner() if csv else None
    for chunk in chunks:
        buf += chunk
        while len(buf) > BLOCK:
            if scanner is not None:
                end = scanner.end_after(buf, BLOCK - 1)
            else:
                nl = buf.find(b"\n", BLOCK - 1)
                end = nl + 1 if nl >= 0 else 0
            if not end:
                if len(buf) > MAX_RECORD:
                    raise ConversionFailed(f"a record longer than {MAX_RECORD >> 20} MiB")
                break
            yield bytes(buf[:end])
            del buf[:end]
            if scanner is not None:
                scanner.cut(end)
    if buf.strip():
        yield bytes(buf if buf.endswith(b"\n") else buf + b"\n")


def _one_block(data: bytes) -> pa_csv.ReadOptions:
    return pa_csv.ReadOptions(block_size=len(data) + 1, use_threads=False)


def _csv_blocks(chunks: Iterator[bytes], types: dict[str, pa.DataType] | None) -> Iterator[pa.RecordBatch]:
    """CSV blocks parsed one at a time with the first block's header; column types inferred from
    the first block (or `types`) and required of every later block."""
    header = b""
    columns: dict[str, pa.DataType] | pa.Schema | None = types
    for block in record_blocks(chunks, csv=True):
        if not header:
            cut = _first_record_end(block)  # the header is the first record
            header, block = block[:cut], block[cut:]
            if not block.strip():
                continue
        data = header + block
        opts = _exact(column_types=columns) if columns is not None else _exact()
        table = pa_csv.read_csv(io.BytesIO(data), read_options=_one_block(data), convert_options=opts)
        _exact_numbers(table, block, csv=True)
        if columns is None:
            columns = table.schema
        yield from table.to_batches(max_chunksize=ROW_GROUP)
    if not header:
        raise ConversionFailed("the file holds no records")


def _first_record_end(block: bytes) -> int:
    end = _CsvScanner().end_after(bytearray(block), 0)
    return end or len(block)


def _jsonl_blocks(chunks: Iterator[bytes]) -> Iterator[pa.RecordBatch]:
    """JSONL blocks parsed one at a time; the first block's types are required of every later
    one, and a field that appears later is refused (the text path then keeps it)."""
    schema: pa.Schema | None = None
    for block in record_blocks(chunks, csv=False):
        if schema is None:
            parse = pa_json.ParseOptions(newlines_in_values=False)
        else:
            parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
        table = pa_json.read_json(io.BytesIO(block), read_options=pa_json.ReadOptions(block_size=len(block) + 1, use_threads=False), parse_options=parse)
        _exact_numbers(table, block, csv=False)
        if schema is None:
            schema = table.schema
        yield from table.to_batches(max_chunksize=ROW_GROUP)


def _typed_batches(fmt: str, chunks: Iterator[bytes]) -> Iterator[pa.RecordBatch]:
    return _csv_blocks(chunks, None) if fmt == "csv" else _jsonl_blocks(chunks)


def _text_batches(fmt: str, chunks: Iterator[bytes], columns: list[str]) -> Iterator[pa.RecordBatch]:
    """Every column as text. CSV: pyarrow with string column types. JSONL: parsed line by line,
    each top-level value kept as a string (objects and arrays as compact JSON). `columns` grows
    when a JSONL record brings a field not seen before; the caller then starts again."""
    if fmt == "csv":
        for block in record_blocks(chunks, csv=True):
            head = pa_csv.read_csv(io.BytesIO(block[:_first_record_end(block)]), read_options=_one_block(block), convert_options=_exact())
            raise _Columns(list(head.schema.names))
        raise ConversionFailed("the file holds no records")
    rows: list[dict[str, Any]] = []
    schema = pa.schema([(c, pa.string()) for c in columns])
    for block in record_blocks(chunks, csv=False):
        for line in block.split(b"\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line.decode("utf-8"), parse_float=decimal.Decimal)
            except UnicodeDecodeError:
                raise ConversionFailed("a line is not UTF-8 text") from None
            except ValueError as exc:
                raise ConversionFailed(f"a line is not JSON: {exc}") from None
            if not isinstance(rec, dict):
                raise ConversionFailed("a line is not a JSON object")
            new = [k for k in rec if k not in schema.names]
            if new:
                raise _Columns(columns + new)
            rows.append({k: _text(v) for k, v in rec.items()})
            if len(rows) >= ROW_GROUP:
                yield pa.RecordBatch.from_pylist(rows, schema=schema)
                rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


class _Columns(Exception):
    def __init__(self, names: list[str]) -> None:
        self.names = names


def _csv_text_batches(chunks: Iterator[bytes], names: list[str]) -> Iterator[pa.RecordBatch]:
    return _csv_blocks(chunks, {n: pa.string() for n in names})


def _depth(t: pa.DataType) -> int:
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return 1 + _depth(t.value_type)
    if pa.types.is_struct(t):
        return 1 + max((_depth(t.field(i).type) for i in range(t.num_fields)), default=0)
    if pa.types.is_map(t):
        return 1 + max(_depth(t.key_type), _depth(t.item_type))
    return 0


def _temporal(t: pa.DataType) -> bool:
    if pa.types.is_timestamp(t) or pa.types.is_time(t) or pa.types.is_duration(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _temporal(t.value_type)
    if pa.types.is_struct(t):
        return any(_temporal(t.field(i).type) for i in range(t.num_fields))
    return False


def _floating(t: pa.DataType) -> bool:
    if pa.types.is_floating(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _floating(t.value_type)
    if pa.types.is_struct(t):
        return any(_floating(t.field(i).type) for i in range(t.num_fields))
    return False


def _exact_numbers(table: pa.Table, block: bytes, *, csv: bool) -> None:
    """Refuse a typed block whose floating columns would not hold its numbers exactly."""
    if any(_floating(f.type) for f in table.schema) and (_LOSSY_NUMBER.search(block) or (csv and _CSV_SPECIAL.search(block))):
        raise ConversionFailed("numbers a double cannot hold exactly")


def _no_null(t: pa.DataType) -> pa.DataType:
    """A column with no value in the first block has no type yet: it is written as text, so that
    every file of a table has one Parquet type per column (a reader concatenating a file where
    the column is null-typed with one where it is text fails)."""
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_no_null(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _no_null(f.type)) for f in t])
    return t


def _write(batches: Iterator[pa.RecordBatch], out: Any) -> tuple[int, pa.Schema]:
    writer: pq.ParquetWriter | None = None
    records = 0
    schema: pa.Schema | None = None
    try:
        for batch in batches:
            # pyarrow's JSON reader lets bytes that are not UTF-8 into text columns: refuse them
            # here (the text path then names the line's problem) rather than write a broken file.
            batch.validate(full=True)
            wanted = pa.schema([pa.field(f.name, _no_null(f.type)) for f in batch.schema])
            if not wanted.equals(batch.schema):
                batch = batch.cast(wanted)
            if writer is None:
                names = batch.schema.names
                # Delta's column names are case-insensitive ("A" and "a" are one column to Spark,
                # and the pandas client folds them).
                if "" in names or len({n.lower() for n in names}) != len(names):
                    raise _NotATable("the columns need distinct, non-empty names, also ignoring case (a table's readers address them by name)")
                if len(names) > MAX_COLUMNS:
                    raise _NotATable(f"more than {MAX_COLUMNS:,} columns")
                if any(_temporal(f.type) for f in batch.schema):
                    # Inferred times and timestamps would be declared and stored in ways readers
                    # disagree on (nanoseconds, zones): kept as text, they are exactly as written.
                    raise ConversionFailed("times or timestamps")
                if max(_depth(f.type) for f in batch.schema) > MAX_DEPTH:
                    raise ConversionFailed(f"values nested deeper than {MAX_DEPTH} levels")  # as text, they are kept
                schema = batch.schema
                writer = pq.ParquetWriter(out, schema, compression="zstd")
            elif not batch.schema.equals(schema):
                # A later block inferred other types than the first: the typed attempt fails.
                raise ConversionFailed("the columns' types change inside the file")
            writer.write_batch(batch, row_group_size=ROW_GROUP)
            records += batch.num_rows
        if writer is None:
            raise ConversionFailed("the file holds no records")
    finally:
        if writer is not None:
            writer.close()
    assert schema is not None
    return records, schema


def convert(fmt: str, open_chunks: Callable[[], Iterator[bytes]], put: Callable[[str, Any], None]) -> TableFile:
    """Write a CSV or JSONL file (streamed afresh by each call of `open_chunks`) as Parquet and
    store it with `put(sha256, file)`; return what it holds. Raises ConversionFailed."""
    if fmt not in TABULAR:
        raise ConversionFailed(f"{fmt} files are not tables")
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        typed = True
        try:
            records, schema = _write(_typed_batches(fmt, open_chunks()), out)
        except _NotATable:
            raise
        except (pa.ArrowException, ConversionFailed, UnicodeDecodeError, ValueError, RecursionError):
            typed = False
            try:
                records, schema = _as_text(fmt, open_chunks, out)
            except RecursionError:  # a JSON value nested past Python's stack (~1,000 levels)
                raise ConversionFailed("values nested too deeply to read") from None
        out.seek(0)
        try:
            # What a reader will do first: a footer Arrow cannot read back is no table.
            pq.read_schema(out)
        except (pa.ArrowException, OSError) as exc:
            raise ConversionFailed(f"the Parquet rendering does not read back: {str(exc).splitlines()[0][:200]}") from None
        out.seek(0)
        digest, size = hashlib.sha256(), 0
        for block in iter(lambda: out.read(BLOCK), b""):
            digest.update(block)
            size += len(block)
        out.seek(0)
        sha = digest.hexdigest()
        put(sha, out)
    # Arrow's allocator keeps freed blocks for reuse; give them back, or each ingest leaves the
    # worker larger by a few blocks' worth.
    pa.default_memory_pool().release_unused()
    return TableFile(sha256=sha, size=size, records=records, schema=delta_schema(schema), typed=typed)


def _as_text(fmt: str, open_chunks: Callable[[], Iterator[bytes]], out: Any) -> tuple[int, pa.Schema]:
    columns: list[str] = []
    for _ in range(10_000):  # each round learns at least one new column name
        out.seek(0)
        out.truncate()
        try:
            if fmt == "csv" and columns:
                return _write(_csv_text_batches(open_chunks(), columns), out)
            return _write(_text_batches(fmt, open_chunks(), columns), out)
        except _Columns as more:
            if more.names == columns:
                break
            columns = more.names
        except (pa.ArrowException, UnicodeDecodeError) as exc:
            raise ConversionFailed(f"not readable as a table: {str(exc).splitlines()[0][:300]}") from None
    raise ConversionFailed("too many distinct columns")


def parquet_schema(read: Callable[[int, int], bytes], size: int) -> dict[str, Any]:
    """The Delta schema of a stored Parquet file, from its footer alone. A vendor's Parquet file
    is served as it is, so it is a table only when Delta readers can read every column as
    declared: names distinct also ignoring case, at most MAX_COLUMNS, and types Delta has."""
    try:
        schema = pq.ParquetFile(io.BufferedReader(RangeReader(read, size), buffer_size=64 * 1024)).schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ConversionFailed(f"not readable as Parquet: {str(exc).splitlines()[0][:300]}") from None
    names = schema.names
    if "" in names or len({n.lower() for n in names}) != len(names):
        raise ConversionFailed("the columns need distinct, non-empty names, also ignoring case (a table's readers address them by name)")
    if len(names) > MAX_COLUMNS:
        raise ConversionFailed(f"more than {MAX_COLUMNS:,} columns")
    for f in schema:
        why = _unshareable(f.type)
        if why:
            raise ConversionFailed(f"column {f.name[:100]!r} is {why}, which Delta readers do not read")
    return delta_schema(schema)


def _unshareable(t: pa.DataType) -> str | None:
    if pa.types.is_uint64(t):
        return "an unsigned 64-bit integer"
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return f"of type {t}"
    if pa.types.is_timestamp(t) and t.unit == "ns":
        return "a nanosecond timestamp"
    if pa.types.is_decimal(t) and t.precision > 38:
        return "a decimal wider than 38 digits"
    for child in ([t.value_type] if pa.types.is_list(t) or pa.types.is_large_list(t) else
                  [t.field(i).type for i in range(t.num_fields)] if pa.types.is_struct(t) else
                  [t.key_type, t.item_type] if pa.types.is_map(t) else []):
        why = _unshareable(child)
        if why:
            return why
    return None


# --------------------------------------------------------------------------- Delta's schema JSON


def _delta_type(t: pa.DataType) -> Any:
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t) or pa.types.is_uint8(t):
        return "byte" if pa.types.is_int8(t) else "short"
    if pa.types.is_int16(t) or pa.types.is_uint16(t):
        return "short" if pa.types.is_int16(t) else "integer"
    if pa.types.is_int32(t) or pa.types.is_uint32(t):
        return "integer" if pa.types.is_int32(t) else "long"
    if pa.types.is_integer(t):
        return "long"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "float"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t) or pa.types.is_dictionary(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return {"type": "array", "elementType": _delta_type(t.value_type), "containsNull": True}
    if pa.types.is_map(t):
        return {"type": "map", "keyType": _delta_type(t.key_type), "valueType": _delta_type(t.item_type), "valueContainsNull": True}
    if pa.types.is_struct(t):
        return _struct([t.field(i) for i in range(t.num_fields)])
    return "string"


def _struct(fields: list[pa.Field]) -> dict[str, Any]:
    return {"type": "struct", "fields": [{"name": f.name, "type": _delta_type(f.type), "nullable": True, "metadata": {}} for f in fields]}


def delta_schema(schema: pa.Schema) -> dict[str, Any]:
    """Delta's (Spark's) StructType JSON for an Arrow schema."""
    return _struct(list(schema))
