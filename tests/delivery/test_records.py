"""Record access: JSON Lines pages with a signed cursor, one debit per record delivered."""

from __future__ import annotations

import io
import json

import pytest

from tests.delivery.helpers import buy
from tests.factories import bearer, make_tenant_rows

JSONL = b"".join(b'{"i": %d, "text": "turn %d"}\n' % (i, i) for i in range(25))
CSV = b'id,note\n1,"multi\nline"\n2,plain\n3,"with ""quotes"""\n'


def parquet_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"i": list(range(30)), "label": ["a", "b", "c"] * 10}), buf, row_group_size=7)
    return buf.getvalue()


@pytest.fixture
def grant(app):
    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    _, gid = buy(vendor, buyer, files={"d.jsonl": JSONL, "t.csv": CSV, "p.parquet": parquet_bytes()}, quantity=40)
    return buyer, gid


def page(client, key, gid, path, limit, cursor=None):
    q = f"path={path}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    return client.get(f"/api/v1/grants/{gid}/records?{q}", headers=bearer(key))


def lines(r):
    return [json.loads(x) for x in r.get_data(as_text=True).splitlines()]


def test_jsonl_pages_and_debits(client, grant):
    buyer, gid = grant
    r1 = page(client, buyer.keys["member"], gid, "d.jsonl", 10)
    assert r1.status_code == 200 and r1.mimetype == "application/x-ndjson"
    assert [x["i"] for x in lines(r1)] == list(range(10)) and r1.headers["X-Records-Charged"] == "10"
    r2 = page(client, buyer.keys["member"], gid, "d.jsonl", 10, r1.headers["X-Next-Cursor"])
    assert [x["i"] for x in lines(r2)] == list(range(10, 20))
    again = page(client, buyer.keys["member"], gid, "d.jsonl", 10, r1.headers["X-Next-Cursor"])  # a retried page is not charged again
    assert again.headers["X-Records-Charged"] == "0"
    balance = client.get(f"/api/v1/grants/{gid}", headers=bearer(buyer.keys["owner"])).json["balance"]
    assert balance == 40 - 20
    r3 = page(client, buyer.keys["member"], gid, "d.jsonl", 10, r2.headers["X-Next-Cursor"])
    assert [x["i"] for x in lines(r3)] == list(range(20, 25)) and "X-Next-Cursor" not in r3.headers


def test_csv_records_keep_quoted_newlines(client, grant):
    buyer, gid = grant
    r = page(client, buyer.keys["member"], gid, "t.csv", 2)
    assert lines(r) == [{"id": "1", "note": "multi\nline"}, {"id": "2", "note": "plain"}]
    r2 = page(client, buyer.keys["member"], gid, "t.csv", 5, r.headers["X-Next-Cursor"])
    assert lines(r2) == [{"id": "3", "note": 'with "quotes"'}]


def test_parquet_rows_across_row_groups(client, grant):
    buyer, gid = grant
    r = page(client, buyer.keys["member"], gid, "p.parquet", 9)
    assert [x["i"] for x in lines(r)] == list(range(9))
    r2 = page(client, buyer.keys["member"], gid, "p.parquet", 9, r.headers["X-Next-Cursor"])
    assert [x["i"] for x in lines(r2)] == list(range(9, 18))


def test_quota_and_cursor_rules(client, grant):
    buyer, gid = grant
    assert page(client, buyer.keys["member"], gid, "d.jsonl", 25).status_code == 200  # 15 left
    r = page(client, buyer.keys["member"], gid, "p.parquet", 20)
    assert r.status_code == 402 and r.json["balance"] == 15
    first = page(client, buyer.keys["member"], gid, "d.jsonl", 2)
    cur = first.headers["X-Next-Cursor"]
    assert page(client, buyer.keys["member"], gid, "d.jsonl", 2, cur[:-2] + "zz").status_code == 400
    assert page(client, buyer.keys["member"], gid, "t.csv", 2, cur).status_code == 400  # cursor of another file
    assert page(client, buyer.keys["member"], gid, "nope.jsonl", 2).status_code == 400
    stranger = make_tenant_rows()
    assert page(client, stranger.keys["owner"], gid, "d.jsonl", 2).status_code == 404
