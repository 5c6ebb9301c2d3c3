"""Delta Sharing through the unmodified `delta-sharing` client from PyPI, against a live server
(PostgreSQL and the S3 server; SQLite and the filesystem store): listing, reading whole and
limited tables, metering, the resume window, and every refusal in the protocol's error format."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import delta_sharing
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
import requests
from delta_sharing.protocol import DeltaSharingProfile, Table
from delta_sharing.rest_client import DataSharingRestClient
from sqlalchemy import select, update

from catalog.models import DatasetVersion
from marketplace.commerce.models import Grant, QuotaEntry
from marketplace.delivery.actions import DeliveryAction
from marketplace.identity.models import Membership
from marketplace.kernel.audit import AuditEvent
from marketplace.kernel.db import get_session, utcnow
from marketplace.kernel.principal import OrgRole
from marketplace.sharing.models import ShareToken
from tests.catalog.helpers import create_version, publish, upload_small
from tests.concurrency import race
from tests.factories import PASSWORD, add_member, bearer, make_key, make_tenant, make_user
from tests.sharing.helpers import CSV, JSONL_A, JSONL_B, balance, bought, call, make_profile
from tests.web.helpers import sign_in


def _read(stmt) -> list:
    """Read, then end the transaction (on SQLite an open reader would stall the server's writers).
    A commit, not a rollback: a rollback expires the test's rows, and reading one again would
    open a transaction of its own."""
    try:
        return list(get_session().scalars(stmt))
    finally:
        get_session().commit()


def _records(*blobs: bytes) -> list[dict]:
    return [json.loads(line) for b in blobs for line in b.splitlines() if line.strip()]


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).sort_values("id").reset_index(drop=True)


def _norm(df: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values (arrays from Parquet come back as numpy arrays)."""
    out = []
    for rec in df.sort_values(df.columns[0]).to_dict("records"):
        out.append({k: (list(v) if hasattr(v, "tolist") and not isinstance(v, (str, bytes)) else v) for k, v in rec.items()})
    return out


def test_the_client_lists_and_reads_the_licensed_tables(site, tmp_path):
    vendor, buyer, pub, gid = bought(quantity=1000)
    profile, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path, name="training cluster")
    assert made["profile"]["endpoint"] == site.base + "/delta-sharing/" and made["profile"]["shareCredentialsVersion"] == 1
    client = delta_sharing.SharingClient(str(profile))
    tables = sorted((t.share, t.schema, t.name) for t in client.list_all_tables())
    assert tables == [(buyer.org.slug, pub.dataset.slug, "codes"), (buyer.org.slug, pub.dataset.slug, "data")]
    assert [s.name for s in client.list_shares()] == [buyer.org.slug]

    url = f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.data"
    df = delta_sharing.load_as_pandas(url)
    assert _norm(df) == _norm(_frame(_records(JSONL_A, JSONL_B)))
    assert balance(site.base, buyer.keys["member"], gid) == 1000 - 65  # a record is a record, as a file or as a table

    codes = delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.codes")
    # Exactly the vendor's cells: "NA" is a label here, not a missing value.
    assert codes.to_dict("records") == [{"code": "A01", "label": "cholera"}, {"code": "B20", "label": "HIV, disease"}, {"code": "C00", "label": "NA"}]
    assert balance(site.base, buyer.keys["member"], gid) == 1000 - 68

    # Within the resume window, the same files are not charged again, whichever channel.
    again = delta_sharing.load_as_pandas(url)
    assert len(again) == 65 and balance(site.base, buyer.keys["member"], gid) == 1000 - 68
    r = requests.post(f"{site.base}/api/v1/grants/{gid}/downloads", json={"paths": ["data/train.jsonl"]}, headers=bearer(buyer.keys["member"]), timeout=30)
    assert r.status_code == 200 and r.json()["charged"] == 0

    # Each query is audited as a delivery, with the grant and what it charged.
    events = _read(select(AuditEvent).where(AuditEvent.action == DeliveryAction.DELIVERY_SHARE.value, AuditEvent.actor_org_id == buyer.org.id)
                   .order_by(AuditEvent.id))
    assert [e.quantities["records"] for e in events] == [65, 3, 0]
    assert all(e.details["grant_id"] == gid and e.outcome == "success" for e in events)


def test_a_limited_read_takes_and_charges_only_the_files_it_needs(site, tmp_path):
    vendor, buyer, pub, gid = bought(quantity=1000)
    profile, _ = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    df = delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.data", limit=10)
    assert len(df) == 10
    # data/test.jsonl (25 records) comes first and covers the limit: train.jsonl is neither sent nor charged.
    assert balance(site.base, buyer.keys["member"], gid) == 1000 - 25
    assert delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.data", limit=0).empty
    assert balance(site.base, buyer.keys["member"], gid) == 1000 - 25


def test_the_files_served_are_the_manifests_tables_and_polars_reads_them(site, tmp_path):
    vendor, buyer, pub, gid = bought(quantity=1000)
    profile, _ = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    rest = DataSharingRestClient(DeltaSharingProfile.read_from_file(str(profile)))
    listing = rest.list_files_in_table(Table(name="data", share=buyer.org.slug, schema=pub.dataset.slug))
    manifest = requests.get(f"{site.base}/api/v1/versions/{pub.version.id}/manifest", headers=bearer(buyer.keys["member"]), timeout=30).json()
    tables = {e["table"]["sha256"]: e for e in manifest["files"] if "table" in e}
    assert sorted(tables[f.id]["path"] for f in listing.add_files) == ["data/test.jsonl", "data/train.jsonl"]
    assert json.loads(listing.metadata.schema_string)["fields"][0] == {"name": "id", "type": "long", "nullable": True, "metadata": {}}
    frames = []
    for f in listing.add_files:
        body = requests.get(f.url, timeout=30).content
        assert len(body) == f.size == tables[f.id]["table"]["size"] and pq.ParquetFile(io.BytesIO(body)).metadata.num_rows == json.loads(f.stats)["numRecords"]
        frames.append(pl.read_parquet(f.url))
    assert sorted(pl.concat(frames)["id"].to_list()) == sorted(r["id"] for r in _records(JSONL_A, JSONL_B))
    assert listing.delta_table_version == 1


def test_change_data_feed_and_time_travel_are_refused_clearly(site, tmp_path):
    vendor, buyer, pub, gid = bought(quantity=1000)
    profile, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    url = f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.data"
    with pytest.raises(requests.HTTPError) as exc:
        delta_sharing.load_table_changes_as_pandas(url, starting_version=0)
    assert exc.value.response.status_code == 400 and "change data feed is not supported" in exc.value.response.json()["message"]
    with pytest.raises(requests.HTTPError) as exc:
        delta_sharing.load_as_pandas(url, version=7)
    assert exc.value.response.json()["errorCode"] == "INVALID_PARAMETER_VALUE" and "current version (1)" in exc.value.response.json()["message"]
    assert balance(site.base, buyer.keys["member"], gid) == 1000
    token = made["profile"]["bearerToken"]
    path = f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data"
    r = call(site.base, token, path + "/version", "HEAD")
    assert r.status_code == 200 and r.headers["delta-table-version"] == "1"
    meta = [json.loads(x) for x in call(site.base, token, path + "/metadata").text.splitlines()]
    assert meta[0] == {"protocol": {"minReaderVersion": 1}} and meta[1]["metaData"]["numFiles"] == 2


def test_a_query_beyond_the_quota_fails_before_anything_is_charged(site, tmp_path):
    vendor, buyer, pub, gid = bought(quantity=50)  # the data table holds 65 records
    profile, _ = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    with pytest.raises(requests.HTTPError) as exc:
        delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.data")
    body = exc.value.response.json()
    assert exc.value.response.status_code == 402 and body["errorCode"] == "QUOTA_EXCEEDED" and "50 records left" in body["message"]
    assert balance(site.base, buyer.keys["member"], gid) == 50
    assert _read(select(QuotaEntry.id).where(QuotaEntry.grant_id == uuid.UUID(gid), QuotaEntry.request_id.like("dl:%"))) == []
    # The smaller table still fits.
    assert len(delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.codes")) == 3
    assert balance(site.base, buyer.keys["member"], gid) == 47


def test_bytes_and_downloads_are_metered_in_the_offers_unit(site, tmp_path):
    vendor, buyer, pub, gid = bought(quantity=1, unit="gib")
    profile, _ = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.data")
    # A byte quota counts the files as published, whichever rendering is delivered: the table is
    # no cheaper way to the file (the download within the window is then free, not a bargain).
    sizes = sum(f.size for f in pub.files if f.path.startswith("data/"))
    assert balance(site.base, buyer.keys["member"], gid) == 2**30 - sizes
    r = requests.post(f"{site.base}/api/v1/grants/{gid}/downloads", json={"paths": ["data/train.jsonl", "codes.csv"]}, headers=bearer(buyer.keys["member"]), timeout=30)
    assert r.json()["charged"] == len(CSV) and balance(site.base, buyer.keys["member"], gid) == 2**30 - sizes - len(CSV)
    vendor2, buyer2, pub2, gid2 = bought(quantity=5, unit="downloads")
    profile2, _ = make_profile(site.base, buyer2.keys["member"], gid2, tmp_path)
    delta_sharing.load_as_pandas(f"{profile2}#{buyer2.org.slug}.{pub2.dataset.slug}.data")
    assert balance(site.base, buyer2.keys["member"], gid2) == 3


def _token_error(site, token: str) -> tuple[int, str]:
    r = call(site.base, token, "/shares")
    return r.status_code, r.json()["errorCode"]


def test_expired_revoked_and_tampered_tokens_get_401(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    token = made["profile"]["bearerToken"]
    assert call(site.base, token, "/shares").status_code == 200
    assert _token_error(site, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) == (401, "UNAUTHENTICATED")
    assert _token_error(site, "dst_" + "0" * 32 + ".x" * 12) == (401, "UNAUTHENTICATED")
    assert _token_error(site, buyer.keys["member"]) == (401, "UNAUTHENTICATED")  # an API key is not a share token
    r = requests.get(f"{site.base}/delta-sharing/shares", timeout=30)
    assert r.status_code == 401 and r.json()["errorCode"] == "UNAUTHENTICATED"

    get_session().execute(update(ShareToken).where(ShareToken.id == uuid.UUID(made["id"])).values(expires_at=utcnow() - timedelta(seconds=1)))
    get_session().commit()
    assert _token_error(site, token) == (401, "UNAUTHENTICATED")

    _, made2 = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    r = requests.delete(f"{site.base}/api/v1/grants/{gid}/share-tokens/{made2['id']}", headers=bearer(buyer.keys["admin"]), timeout=30)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert _token_error(site, made2["profile"]["bearerToken"]) == (401, "UNAUTHENTICATED")
    listed = requests.get(f"{site.base}/api/v1/grants/{gid}/share-tokens", headers=bearer(buyer.keys["owner"]), timeout=30).json()
    assert {t["id"] for t in listed} == {made["id"], made2["id"]} and all("profile" not in t and "secret_hash" not in t for t in listed)


def test_a_revoked_grant_gets_403_and_a_withdrawn_version_410(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    token = made["profile"]["bearerToken"]
    get_session().execute(update(Grant).where(Grant.id == uuid.UUID(gid)).values(status="revoked"))
    get_session().commit()
    r = call(site.base, token, f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data/query", "POST", json={})
    assert r.status_code == 403 and r.json()["errorCode"] == "PERMISSION_DENIED" and "revoked" in r.json()["message"]
    assert call(site.base, token, "/shares").status_code == 403
    # No new profile for a grant that delivers nothing.
    r = requests.post(f"{site.base}/api/v1/grants/{gid}/share-tokens", json={}, headers=bearer(buyer.keys["member"]), timeout=30)
    assert r.status_code == 403

    vendor2, buyer2, pub2, gid2 = bought()
    _, made2 = make_profile(site.base, buyer2.keys["member"], gid2, tmp_path)
    r = requests.post(f"{site.base}/api/v1/versions/{pub2.version.id}/withdraw", json={"reason": "consent withdrawn"}, headers=bearer(vendor2.keys["owner"]), timeout=30)
    assert r.status_code == 200, r.text
    r = call(site.base, made2["profile"]["bearerToken"], f"/shares/{buyer2.org.slug}/schemas/{pub2.dataset.slug}/tables/data/query", "POST", json={})
    assert r.status_code == 410 and "consent withdrawn" in r.json()["message"]


def test_a_token_acts_for_its_member_only_while_they_belong(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    get_session().execute(Membership.__table__.delete().where(Membership.user_id == buyer.member.id, Membership.organization_id == buyer.org.id))
    get_session().commit()
    assert _token_error(site, made["profile"]["bearerToken"]) == (401, "UNAUTHENTICATED")


def test_other_tenants_and_roles(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    other = make_tenant()
    url = f"{site.base}/api/v1/grants/{gid}/share-tokens"
    assert requests.post(url, json={}, headers=bearer(other.keys["owner"]), timeout=30).status_code == 404
    assert requests.get(url, headers=bearer(other.keys["owner"]), timeout=30).status_code == 404
    assert requests.post(url, json={}, headers=bearer(vendor.keys["owner"]), timeout=30).status_code == 403  # the seller takes no data
    assert requests.post(url, json={}, headers=bearer(buyer.keys["auditor"]), timeout=30).status_code == 403  # auditors read, never take
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    assert requests.delete(f"{url}/{made['id']}", headers=bearer(other.keys["owner"]), timeout=30).status_code == 404

    # A token sees its own share, schema and tables only; other names do not exist for it.
    vendor2, buyer2, pub2, gid2 = bought()
    token = made["profile"]["bearerToken"]
    for path in (f"/shares/{buyer2.org.slug}", f"/shares/{buyer2.org.slug}/schemas", f"/shares/{buyer.org.slug}/schemas/{pub2.dataset.slug}/tables",
                 f"/shares/{buyer2.org.slug}/schemas/{pub2.dataset.slug}/tables/data/metadata", f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/nope/version"):
        r = call(site.base, token, path)
        assert r.status_code == 404 and r.json()["errorCode"] == "RESOURCE_DOES_NOT_EXIST", path
    r = call(site.base, token, f"/shares/{buyer2.org.slug}/schemas/{pub2.dataset.slug}/tables/data/query", "POST", json={})
    assert r.status_code == 404
    assert balance(site.base, buyer2.keys["member"], gid2) == 1000


@pytest.mark.parametrize("body", [
    "[" * 5000 + "]" * 5000,
    '{"limitHint": "\\ud800"}',
    '{"limitHint": 1' + "0" * 5000 + "}",
    '{"limitHint": 99999999999999999999}',
    '{"limitHint": -1}',
    '{"limitHint": true}',
    '{"predicateHints": [1, 2]}',
    '{"jsonPredicateHints": {"op": "equal"}}',
    "[]",
    "not json",
    '{"timestamp": "2020-01-01T00:00:00Z"}',
    '{"startingVersion": 1}',
])
def test_hostile_query_bodies_get_400_in_the_protocols_format(site, tmp_path, body):
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    r = call(site.base, made["profile"]["bearerToken"], f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data/query", "POST",
             data=body.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == "INVALID_PARAMETER_VALUE" and r.json()["message"]
    assert balance(site.base, buyer.keys["member"], gid) == 1000


def test_hostile_paths_and_parameters(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    token = made["profile"]["bearerToken"]
    for path, status in (("/shares?maxResults=-1", 400), ("/shares?maxResults=%D9%A1", 400), ("/shares?pageToken=abc", 400), ("/shares?other=1", 400),
                         ("/shares/%F0%9F%92%A5", 404), ("/shares/" + "x" * 5000, 404),
                         (f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data/version?startingTimestamp=2020", 400)):
        r = call(site.base, token, path)
        assert r.status_code == status and r.json()["errorCode"], (path, r.text)
    r = call(site.base, token, f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data/query", "POST", data=b"x" * 70_000)
    assert r.status_code == 413 and r.json()["errorCode"] == "INVALID_PARAMETER_VALUE"
    r = call(site.base, token, f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data/query", "PUT", json={})
    assert r.status_code == 405


def test_profiles_expire_with_the_grant_and_ask_a_sane_lifetime(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    end = utcnow() + timedelta(days=3)
    get_session().execute(update(Grant).where(Grant.id == uuid.UUID(gid)).values(expires_at=end))
    get_session().commit()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path, days=30)
    assert made["expires_at"][:16] == end.isoformat()[:16]
    assert made["profile"]["expirationTime"].startswith(end.strftime("%Y-%m-%dT%H:%M"))
    for bad in ({"days": 0}, {"days": 366}, {"days": "x"}, {"name": "\u202eevil"}, {"extra": 1}):
        r = requests.post(f"{site.base}/api/v1/grants/{gid}/share-tokens", json=bad, headers=bearer(buyer.keys["member"]), timeout=30)
        assert r.status_code == 400, (bad, r.text)
    # The secret is shown once and stored hashed.
    [digest] = _read(select(ShareToken.secret_hash).where(ShareToken.id == uuid.UUID(made["id"])))
    secret = made["profile"]["bearerToken"].split(".", 1)[1]
    assert secret not in digest and len(digest) == 64


@pytest.mark.postgres_only
def test_racing_queries_charge_each_file_once_and_never_overspend(site, tmp_path):
    vendor, buyer, pub, gid = bought(quantity=65)  # exactly the data table
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    headers = {"Authorization": f"Bearer {made['profile']['bearerToken']}"}
    base = f"/delta-sharing/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables"
    codes = race(site.app, 24, lambda c, i: c.post(f"{base}/data/query", json={}, headers=headers).status_code)
    assert codes == [200] * 24
    assert balance(site.base, buyer.keys["member"], gid) == 0
    debits = _read(select(QuotaEntry.amount).where(QuotaEntry.grant_id == uuid.UUID(gid), QuotaEntry.request_id.like("dl:%")))
    assert sorted(debits) == [25, 40]

    # Two tables competing for a quota that covers one of them: one is served, never both.
    vendor, buyer, pub, gid = bought(quantity=66)
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    headers = {"Authorization": f"Bearer {made['profile']['bearerToken']}"}
    base = f"/delta-sharing/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables"
    codes = race(site.app, 24, lambda c, i: (i % 2, c.post(f"{base}/{('data', 'codes')[i % 2]}/query", json={}, headers=headers).status_code))
    served = {table for table, status in codes if status == 200}
    assert {status for _, status in codes} <= {200, 402} and len(served) == 1
    left = balance(site.base, buyer.keys["member"], gid)
    assert left == (1 if served == {0} else 63)
    entries = get_session().execute(select(QuotaEntry.kind, QuotaEntry.amount).where(QuotaEntry.grant_id == uuid.UUID(gid))).all()
    get_session().commit()
    assert sum(a if k == "credit" else -a for k, a in entries) == left


def test_the_command_line_writes_a_profile_the_client_reads_and_revokes_it(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env["MARKETPLACE_CONFIG"] = str(tmp_path / "config.json")
    cli = str(Path(sys.executable).parent / "marketplace")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("login", "--url", site.base, "--api-key", buyer.keys["member"]).returncode == 0
    r = run("share-profile", gid, "--name", "spark cluster", "--days", "7")
    assert r.returncode == 0 and "keep the file private" in r.stderr
    profile = tmp_path / "grant.share"
    profile.write_text(r.stdout)
    assert len(delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.codes")) == 3
    listed = run("share-tokens", "list", gid)
    assert "spark cluster" in listed.stdout and json.loads(r.stdout)["bearerToken"] not in listed.stdout
    token_id = json.loads(run("share-tokens", "list", gid, "--json").stdout)[0]["id"]
    assert "revoked" in run("share-tokens", "revoke", gid, token_id).stdout
    with pytest.raises(requests.HTTPError) as exc:
        delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.codes")
    assert exc.value.response.status_code == 401
    r = run("share-profile", gid, "--days", "400")
    assert r.returncode != 0 and r.stderr.startswith("error:") and "Traceback" not in r.stderr


def test_both_response_formats_give_the_same_rows(site, tmp_path, backend):
    vendor, buyer, pub, gid = bought(quantity=1000)
    profile, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    url = f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.data"
    path = f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data/metadata"
    both = call(site.base, made["profile"]["bearerToken"], path, headers={"delta-sharing-capabilities": "responseformat=delta,parquet;readerfeatures=x"})
    assert both.headers["delta-sharing-capabilities"] == "responseformat=parquet"  # the faster path when the client reads both
    only = call(site.base, made["profile"]["bearerToken"], path, headers={"delta-sharing-capabilities": "responseformat=delta;readerfeatures=x"})
    # delta-kernel-rs reads S3's presigned URLs; the filesystem store's URLs are the app's, so parquet there.
    assert only.headers["delta-sharing-capabilities"] == ("responseformat=delta" if backend == "postgresql" else "responseformat=parquet")
    lines = [json.loads(x) for x in only.text.splitlines()]
    assert ("deltaProtocol" in lines[0]["protocol"]) == (backend == "postgresql")
    plain = call(site.base, made["profile"]["bearerToken"], path)
    assert plain.headers["delta-sharing-capabilities"] == "responseformat=parquet" and json.loads(plain.text.splitlines()[0]) == {"protocol": {"minReaderVersion": 1}}
    expected = _norm(_frame(_records(JSONL_A, JSONL_B)))
    assert _norm(delta_sharing.load_as_pandas(url, use_delta_format=False)) == expected
    if backend == "postgresql":
        assert _norm(delta_sharing.load_as_pandas(url, use_delta_format=True)) == expected
        assert len(delta_sharing.load_as_pandas(url, use_delta_format=True, limit=7)) == 7
    assert balance(site.base, buyer.keys["member"], gid) == 1000 - 65


def test_a_token_never_outlives_the_key_that_made_it(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    key_row_secret = make_key(buyer.member, buyer.org, scopes=["delivery", "commerce:read"], expires_at=utcnow() + timedelta(days=2))
    _, made = make_profile(site.base, key_row_secret, gid, tmp_path, days=365)
    assert made["expires_at"][:10] == (utcnow() + timedelta(days=2)).date().isoformat()
    token = made["profile"]["bearerToken"]
    assert call(site.base, token, "/shares").status_code == 200
    me = requests.get(f"{site.base}/api/v1/me", headers=bearer(key_row_secret), timeout=30).json()
    key_id = next(k["id"] for k in requests.get(f"{site.base}/api/v1/orgs/{buyer.org.id}/api-keys", headers=bearer(buyer.keys["owner"]), timeout=30).json()
                  if k["prefix"] == key_row_secret.split(".")[0])
    assert me["user"]["id"] == str(buyer.member.id)
    r = requests.delete(f"{site.base}/api/v1/orgs/{buyer.org.id}/api-keys/{key_id}", headers=bearer(buyer.keys["owner"]), timeout=30)
    assert r.status_code in (200, 204), r.text
    assert _token_error(site, token) == (401, "UNAUTHENTICATED")
    denied = _read(select(AuditEvent).where(AuditEvent.action == "auth.share_token", AuditEvent.subject_id == made["id"]))
    assert denied and denied[-1].details["reason"] == "the API key that made it was revoked or expired"


def test_a_removed_member_s_tokens_stay_dead_when_they_rejoin(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["owner"], gid, tmp_path)
    u = make_user()
    add_member(buyer.org, buyer.owner, OrgRole.member, u)
    key = make_key(u, buyer.org)
    _, theirs = make_profile(site.base, key, gid, tmp_path)
    assert call(site.base, theirs["profile"]["bearerToken"], "/shares").status_code == 200
    r = requests.delete(f"{site.base}/api/v1/orgs/{buyer.org.id}/members/{u.id}", headers=bearer(buyer.keys["owner"]), timeout=30)
    assert r.status_code in (200, 204), r.text
    assert _token_error(site, theirs["profile"]["bearerToken"]) == (401, "UNAUTHENTICATED")
    listed = requests.get(f"{site.base}/api/v1/grants/{gid}/share-tokens", headers=bearer(buyer.keys["owner"]), timeout=30).json()
    assert next(t for t in listed if t["id"] == theirs["id"])["revoked_at"]  # revoked, no longer counted or shown as live
    add_member(buyer.org, buyer.owner, OrgRole.member, u)
    assert _token_error(site, theirs["profile"]["bearerToken"]) == (401, "UNAUTHENTICATED")
    assert call(site.base, made["profile"]["bearerToken"], "/shares").status_code == 200  # the others' are unaffected


def test_browser_made_tokens_end_when_the_user_signs_out_everywhere_or_changes_password(site):
    vendor, buyer, pub, gid = bought()
    client = site.app.test_client()
    csrf = sign_in(client, buyer.member)
    made = client.post(f"/api/v1/grants/{gid}/share-tokens", json={"name": "browser"}, headers={"X-CSRFToken": csrf}).json
    keyed = requests.post(f"{site.base}/api/v1/grants/{gid}/share-tokens", json={}, headers=bearer(buyer.keys["member"]), timeout=30).json()
    token, other = made["profile"]["bearerToken"], keyed["profile"]["bearerToken"]
    assert call(site.base, token, "/shares").status_code == 200
    r = client.post("/api/v1/me/sessions/revoke-all", headers={"X-CSRFToken": csrf})
    assert r.status_code == 200, r.json
    assert _token_error(site, token) == (401, "UNAUTHENTICATED")
    assert call(site.base, other, "/shares").status_code == 200  # made with an API key: it ends with the key
    csrf = sign_in(client, buyer.member)
    again = client.post(f"/api/v1/grants/{gid}/share-tokens", json={}, headers={"X-CSRFToken": csrf}).json
    r = client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD + "-new-and-long"}, headers={"X-CSRFToken": csrf})
    assert r.status_code in (200, 204), r.json
    assert _token_error(site, again["profile"]["bearerToken"]) == (401, "UNAUTHENTICATED")
    revoked = _read(select(AuditEvent).where(AuditEvent.action == "share_token.revoke", AuditEvent.subject_id == again["id"]))
    assert revoked[0].details["reason"] == "password changed"


def test_each_query_names_its_token_in_the_audit_log(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    profile, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    delta_sharing.load_as_pandas(f"{profile}#{buyer.org.slug}.{pub.dataset.slug}.codes")
    [event] = _read(select(AuditEvent).where(AuditEvent.action == DeliveryAction.DELIVERY_SHARE.value, AuditEvent.actor_org_id == buyer.org.id))
    assert event.details["share_token_id"] == made["id"] and event.details["table"] == "codes"


def test_routing_errors_and_strict_numbers_speak_the_protocol(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    token = made["profile"]["bearerToken"]
    base = f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data"
    for path, method, status in (("/", "GET", 404), ("/shares/x/nothing", "GET", 404), (base + "/query", "GET", 405), ("/shares/a%2Fb", "GET", 404)):
        r = call(site.base, token, path, method)
        assert r.status_code == status and r.headers["Content-Type"] == "application/json" and r.json()["errorCode"], (path, r.text)
    r = call(site.base, token, "/shares/" + "y" * 20_000)
    assert r.status_code == 404 and len(r.json()["message"]) < 200
    for body in ('{"limitHint": "5"}', '{"limitHint": 1.5}', '{"version": "1"}'):
        r = call(site.base, token, base + "/query", "POST", data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_PARAMETER_VALUE", (body, r.text)
        assert ("limitHint" in r.json()["message"]) or ("version" in r.json()["message"]), (body, r.text)
    r = call(site.base, token, base + "/query", "POST", data='{"limitHint": 1' + "0" * 5000 + "}", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["message"] == "The body holds a number too long to read."
    for days in ("5", 1.5):
        r = requests.post(f"{site.base}/api/v1/grants/{gid}/share-tokens", json={"days": days}, headers=bearer(buyer.keys["member"]), timeout=30)
        assert r.status_code == 400, (days, r.text)


def test_live_profiles_per_grant_are_capped(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    url = f"{site.base}/api/v1/grants/{gid}/share-tokens"
    made = [requests.post(url, json={}, headers=bearer(buyer.keys["member"]), timeout=30) for _ in range(20)]
    assert all(r.status_code == 201 for r in made)
    r = requests.post(url, json={}, headers=bearer(buyer.keys["member"]), timeout=30)
    assert r.status_code == 409 and "revoke one first" in r.json()["detail"]
    requests.delete(f"{url}/{made[0].json()['id']}", headers=bearer(buyer.keys["member"]), timeout=30)
    assert requests.post(url, json={}, headers=bearer(buyer.keys["member"]), timeout=30).status_code == 201


def test_the_table_version_never_goes_back_and_a_version_without_tables_lists_none(site, tmp_path):
    vendor, buyer, pub, gid = bought()
    client = site.app.test_client()
    v2 = create_version(client, vendor.keys["owner"], str(pub.dataset.id), "2.0.0")
    upload_small(client, vendor.keys["owner"], v2["id"], "more.jsonl", JSONL_B)
    assert publish(client, vendor.keys["owner"], v2["id"])["status"] == "published"
    profile, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    token = made["profile"]["bearerToken"]
    version = f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/records/version"
    assert call(site.base, token, version).headers["delta-table-version"] == "2"
    get_session().execute(update(DatasetVersion).where(DatasetVersion.id == pub.version.id).values(status="deprecated"))
    get_session().commit()
    assert call(site.base, token, version).headers["delta-table-version"] == "2"  # deprecating 1.0.0 renumbers nothing
    # A version with no tabular file: no tables, and a query names the table that is not there.
    vendor2, buyer2, pub2, gid2 = bought(files={"notes.txt": b"plain text"})
    _, made2 = make_profile(site.base, buyer2.keys["member"], gid2, tmp_path)
    r = call(site.base, made2["profile"]["bearerToken"], f"/shares/{buyer2.org.slug}/all-tables")
    assert r.status_code == 200 and r.json() == {"items": []}
    r = call(site.base, made2["profile"]["bearerToken"], f"/shares/{buyer2.org.slug}/schemas/{pub2.dataset.slug}/tables/records/query", "POST", json={})
    assert r.status_code == 404 and r.json()["errorCode"] == "RESOURCE_DOES_NOT_EXIST"


def test_parameters_are_checked_after_the_token_and_never_500(site, tmp_path):
    r = requests.get(f"{site.base}/delta-sharing/shares?maxResults=" + "9" * 5000, timeout=30)
    assert r.status_code == 401 and r.json()["errorCode"] == "UNAUTHENTICATED"
    vendor, buyer, pub, gid = bought()
    _, made = make_profile(site.base, buyer.keys["member"], gid, tmp_path)
    r = call(site.base, made["profile"]["bearerToken"], "/shares?maxResults=" + "9" * 5000)
    assert r.status_code == 400 and r.json()["errorCode"] == "INVALID_PARAMETER_VALUE"
    for body in ({"maxFiles": 10}, {"pageToken": "abc"}):
        r = call(site.base, made["profile"]["bearerToken"], f"/shares/{buyer.org.slug}/schemas/{pub.dataset.slug}/tables/data/query", "POST", json=body)
        assert r.status_code == 400 and "Paging" in r.json()["message"]
    assert balance(site.base, buyer.keys["member"], gid) == 1000
