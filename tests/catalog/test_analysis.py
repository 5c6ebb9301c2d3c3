"""Streaming analysis: record counting, schema, preview, format checks — at any chunking."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from catalog.analysis import Analysis, analyse_parquet, analyse_stream, format_for_path
from catalog.media import measure_stored
from tests.catalog.helpers import _wav


def chunks(data: bytes, n: int):
    for i in range(0, len(data), n):
        yield data[i:i + n]


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 1 << 20])
def test_csv_counts_rows_with_quoted_newlines_at_any_chunking(chunk):
    data = b'id,text,score\n1,"a ""quoted""\nmultiline, field",1.5\n2,plain,2\n3,"x\n\ny",\n'
    a = analyse_stream(chunks(data, chunk), "csv")
    assert a.records == 3
    assert a.sha256 == hashlib.sha256(data).hexdigest() and a.size == len(data)
    assert {f["name"]: f["type"] for f in a.schema["fields"]} == {"id": "integer", "text": "string", "score": "number"}
    assert a.preview[0]["text"] == 'a "quoted"\nmultiline, field'
    assert a.stats["columns"]["score"]["nulls"] == 1


@pytest.mark.parametrize("data,records", [(b"", 0), (b'{"a":1}', 1), (b'{"a":1}\n', 1), (b'{"a":1}\n{"a":2}', 2), (b'{"a":1}\n\n{"a":2}\n', 2)])
def test_jsonl_counts_lines_with_or_without_final_newline(data, records):
    assert analyse_stream(chunks(data, 4), "jsonl").records == records


def test_jsonl_schema_merges_types_and_reports_bad_lines():
    a = analyse_stream([b'{"x": 1, "y": "a"}\n{"x": 2.5, "y": null}\nnot json\n'], "jsonl")
    assert {f["name"]: f["type"] for f in a.schema["fields"]} == {"x": "number", "y": "string"}
    assert len(a.problems) == 1 and a.problems[0].startswith("line 3 (byte offset 41) is not valid JSON")


def test_preview_is_bounded():
    data = b"".join(b'{"i": %d}\n' % i for i in range(5000))
    a = analyse_stream(chunks(data, 1000), "jsonl", preview_records=5)
    assert a.records == 5000 and [r["i"] for r in a.preview] == [0, 1, 2, 3, 4]
    assert a.stats["sampled_records"] == 1000


def test_parquet_rows_schema_and_preview_from_ranged_reads():
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"patient_id": list(range(1000)), "diagnosis": ["J18.9"] * 1000})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=250)
    data = buf.getvalue()
    reads = []

    def read_range(start, length):
        reads.append(length)
        return data[start:start + length]

    a = analyse_stream(chunks(data, 4096), "parquet")
    analyse_parquet(read_range, len(data), a, preview_records=3)
    assert a.records == 1000 and a.stats["row_groups"] == 4
    assert [f["name"] for f in a.schema["fields"]] == ["patient_id", "diagnosis"]
    assert a.preview == [{"patient_id": 0, "diagnosis": "J18.9"}, {"patient_id": 1, "diagnosis": "J18.9"}, {"patient_id": 2, "diagnosis": "J18.9"}]
    assert sum(reads) < len(data) * 2  # footer and first row group, not repeated whole-file reads


def test_corrupt_parquet_is_a_problem_not_a_crash():
    a = analyse_stream([b"not parquet at all"], "parquet")
    analyse_parquet(lambda s, n: b"not parquet at all"[s:s + n], 18, a)
    assert a.problems and "Parquet" in a.problems[0]


def _measured(fmt: str, data: bytes) -> Analysis:
    """What ingest does with a media file: one streamed pass, then ranged reads of its header."""
    a = analyse_stream(chunks(data, 1000), fmt)
    measure_stored(fmt, lambda start, length: data[start:start + length], len(data), a)
    return a


def test_wav_is_one_record_with_audio_parameters():
    a = _measured("wav", _wav(1.5))
    assert a.records == 1 and not a.problems
    assert a.stats == {"kind": "audio", "codec": "pcm_s16le", "channels": 2, "sample_rate": 48000, "bit_depth": 16, "samples": 72000,
                       "duration_ms": 1500, "duration_seconds": 1.5}


@pytest.mark.parametrize("byte_rate, rate", [(1, 48000), (192000, 1), (96000, 48000)])
def test_a_wav_header_that_lies_about_its_rates_is_refused(byte_rate, rate):
    """Found from outside: a 1 KB file whose header said 1 byte per second counted as 17 minutes
    of "measured" speech in a model's training summary."""
    import struct

    wav = bytearray(_wav(0.01))
    struct.pack_into("<II", wav, 24, rate, byte_rate)  # the fmt chunk's sample rate and byte rate
    a = _measured("wav", bytes(wav))
    assert a.problems and "inconsistent" in a.problems[0] and not a.stats


def test_media_type_mismatch_is_reported():
    assert _measured("png", b"GIF89a...").problems == ["not a PNG file"]
    assert _measured("jpeg", b"\xff\xd8\xff\xe0").problems == ["not a JPEG file"]  # a marker and nothing else


def test_format_from_extension():
    assert format_for_path("a/b.JSONL") == "jsonl" and format_for_path("x.ndjson") == "jsonl"
    assert format_for_path("img.JPG") == "jpeg" and format_for_path("README") == "other"


# --------------------------------------------------------------------------- format-breaking files


@pytest.mark.parametrize("size", [1, 3, 64 * 1024])
def test_csv_with_an_unterminated_quote_fails_naming_where_it_opened(size):
    data = b'id,text\n1,fine\n2,"never closed\n3,more\n' + b"4,x\n" * 10
    a = analyse_stream(chunks(data, size), "csv")
    assert len(a.problems) == 1 and "unterminated quoted field opened on line 3 (byte offset 17)" in a.problems[0]
    assert a.preview == []


def test_csv_header_only_or_ragged_rows_fail():
    assert "header but no records" in analyse_stream([b"id,text\n"], "csv").problems[0]
    a = analyse_stream([b'id,text\n1,a\n2,b,extra\n'], "csv")
    assert a.problems == ["record 2 has 3 fields; the header has 2"]
    assert "not valid UTF-8 at byte offset 12" in analyse_stream([b"id,text\n1,ab\xff\xfe\n"], "csv").problems[0]


def test_a_bad_jsonl_line_far_past_the_sample_is_still_found():
    good = b'{"i": 1}\n' * 600_000  # 5.4 MB: past the 4 MiB sample
    a = analyse_stream(chunks(good + b'{"i": 2,}\n' + good, 1 << 20), "jsonl")
    assert len(a.problems) == 1 and a.problems[0].startswith(f"line 600001 (byte offset {len(good)}) is not valid JSON")
    assert a.records == 1_200_001


@pytest.mark.parametrize("bad,why", [(b"[" * 100_000 + b"]" * 100_000, "nested too deeply"), (b'{"a": "\xff"}', "not valid UTF-8"),
                                     (b"\n\n  \n", "no records")])
def test_hostile_jsonl_fails_cleanly(bad, why):
    a = analyse_stream([bad + b"\n"], "jsonl")
    assert a.problems and why in a.problems[0]


@pytest.mark.parametrize("bad,why", [(b'{"a": NaN}', "NaN is not a JSON value"), (b'{"a": -Infinity}', "Infinity is not a JSON value"),
                                     (b'{"a": "\\ud800"}', "lone surrogate"), (b'{"a": ' + b"9" * 5000 + b"}", "a number too long to read")])
def test_jsonl_that_only_python_would_read_fails(bad, why):
    a = analyse_stream([b'{"ok": 1}\n' + bad + b"\n"], "jsonl")
    assert a.problems and why in a.problems[0] and a.problems[0].startswith("line 2 (byte offset 10)")
    assert "sys.set_int_max_str_digits" not in a.problems[0]


def test_a_jsonl_file_without_newlines_fails_in_flat_memory():
    """A 64 MiB "JSONL" file with no newline (a JSON array, or a hostile file) is refused
    without buffering it: the scanner stops at 16 MiB for one line."""
    import tracemalloc

    chunk = b'{"a": 1},' * (1024 * 1024 // 9 + 1)
    tracemalloc.start()
    a = analyse_stream((chunk for _ in range(64)), "jsonl")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert a.problems and "longer than 16 MiB" in a.problems[0] and a.problems[0].startswith("line 1 (byte offset 0)")
    assert peak < 48 * 1024 * 1024, peak


def test_after_an_overlong_line_counting_carries_on():
    from catalog.analysis import JsonlScanner

    big = b"x" * (JsonlScanner.MAX_LINE_BYTES + 10)
    a = analyse_stream([big[: len(big) // 2], big[len(big) // 2:] + b'\n{"ok": 1}\n'], "jsonl")
    assert a.records == 2 and a.problems[0].startswith("line 1 (byte offset 0)")


@pytest.mark.parametrize(("fmt", "data"), [("jsonl", b'{"x": 1e400}\n{"x": -1e999, "y": 2}\n'), ("jsonl", b'{"x": ' + b"9" * 400 + b"}\n"),
                                           ("csv", b"x,y\ninf,1e400\nnan,-Infinity\n" + b"9" * 500 + b",1\n")])
def test_numbers_past_double_precision_leave_statistics_json_can_store(fmt, data):
    a = analyse_stream([data], fmt)
    assert not a.problems
    json.dumps(a.stats, allow_nan=False)  # PostgreSQL's JSON refuses NaN and Infinity: a sample holding one wedged ingest
    json.dumps(a.preview, allow_nan=False)
