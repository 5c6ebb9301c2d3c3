"""The command-line client end to end, as vendors and model builders run it: the real
`marketplace` console script against a live server on PostgreSQL and the S3 server, including a
download killed midway and resumed without a second charge."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from marketplace.sdk.client import MarketplaceClient

BIN = Path(sys.executable).parent / "marketplace"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def live(pg_server_url, s3_endpoint, tmp_path_factory):
    """A real HTTP server on its own fresh PostgreSQL database and S3 bucket."""
    import migrations
    from catalog.storage.s3 import S3ObjectStore
    from marketplace.app import create_app
    from marketplace.kernel.config import Settings
    from tests.conftest import create_pg_database, drop_pg_database

    name = f"mp_e2e_cli_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(pg_server_url, name)
    migrations.upgrade(url)
    bucket = name.replace("_", "-")
    S3ObjectStore(bucket=bucket, endpoint_url=s3_endpoint, create_bucket=True)
    inst = tmp_path_factory.mktemp("cli-server")
    server_holder: dict = {}
    settings = Settings(instance_path=str(inst), database_url=url, storage_url=f"s3://{bucket}?endpoint_url={s3_endpoint}",
                        public_url="http://127.0.0.1:0", log_level="WARNING").resolved()
    app = create_app(settings)
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    server_holder["url"] = f"http://127.0.0.1:{srv.server_port}"
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield app, server_holder["url"]
    srv.shutdown()
    app.extensions["db"].engine.dispose()
    drop_pg_database(pg_server_url, name)


def run(env, *args, check=True, input=None):
    r = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=300, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"marketplace {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def kill_midway(args, env, ready, *, what: str, poll: float = 0.005, seconds: float = 120) -> None:
    """Start `marketplace ARGS` and SIGKILL it as soon as `ready()` says it is part-way through."""
    proc = subprocess.Popen([str(BIN), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, killed = time.time() + seconds, False
    while time.time() < deadline and proc.poll() is None:
        if ready():
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(poll)
    proc.wait(30)
    assert killed, f"the {what} finished before it could be interrupted"


def cli_env(tmp_path, who):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env["MARKETPLACE_CONFIG"] = str(tmp_path / f"{who}-config.json")
    return env


@pytest.mark.postgres_only
def test_vendor_and_buyer_journeys(backend, live, tmp_path):
    app, base = live
    with app.app_context():
        from tests.factories import make_tenant

        vendor, buyer = make_tenant(vendor=True), make_tenant()
        app.extensions["db"].remove()
    v_env, b_env = cli_env(tmp_path, "vendor"), cli_env(tmp_path, "buyer")

    # --- vendor
    r = run(v_env, "login", "--url", base, "--api-key", vendor.keys["owner"])
    assert "logged in" in r.stdout
    assert oct((tmp_path / "vendor-config.json").stat().st_mode)[-3:] == "600"
    ds = json.loads(run(v_env, "datasets", "create", "--slug", "drive-scenes", "--title", "Urban driving scenes", "--domain", "autonomous-driving",
                        "--modality", "video", "--language", "en", "--visibility", "listed", "--json").stdout)
    ver = json.loads(run(v_env, "versions", "create", ds["id"], "1.0.0", "--json").stdout)
    data = tmp_path / "data"
    (data / "scenes").mkdir(parents=True)
    big = os.urandom(1 * MIB) * 200  # 200 MiB, multipart in 16 MiB parts
    (data / "scenes" / "big.bin").write_bytes(big)
    (data / "labels.jsonl").write_bytes(b'{"scene": 1, "label": "pedestrian"}\n' * 100)
    (data / "README.csv").write_bytes(b"k,v\nsensor,lidar\n")
    r = run(v_env, "upload", ver["id"], str(data), "--json")
    up = {f["path"]: f for f in json.loads(r.stdout)}
    assert set(up) == {"scenes/big.bin", "labels.jsonl", "README.csv"}
    assert up["scenes/big.bin"]["sha256"] == hashlib.sha256(big).hexdigest()
    run(v_env, "license", "set", ver["id"], "CC-BY-4.0")
    prov = tmp_path / "provenance.yaml"
    prov.write_text("sources:\n  - kind: first_hand\n    name: Test fleet recordings\npersonal_data:\n  status: anonymised\n  anonymisation_method: face and plate blurring\n")
    assert "revision 1" in run(v_env, "provenance", "set", ver["id"], str(prov)).stdout
    r = run(v_env, "publish", ver["id"])
    assert "published" in r.stdout and "100 records" in r.stdout
    offer = json.loads(run(v_env, "offers", "create", ds["id"], "--title", "Per download", "--license", "CC-BY-4.0", "--unit", "downloads",
                           "--price", "5.00", "--currency", "EUR", "--json").stdout)
    assert offer["unit_price_minor"] == 500

    # --- buyer
    run(b_env, "login", "--url", base, "--api-key", buyer.keys["owner"])
    found = run(b_env, "datasets", "search", "driving").stdout
    assert "Urban driving scenes" in found and "€5.00" in found and "500 EUR" not in found
    # buy shows the licence and its digest and asks; "no" places nothing
    declined = run(b_env, "buy", offer["id"], "--quantity", "10", input="n\n", check=False)
    assert declined.returncode != 0 and offer["license_sha256"] in declined.stderr and "Creative Commons" in declined.stderr
    assert "Do you accept this licence text" in declined.stderr and "No order was placed" in declined.stderr
    assert MarketplaceClient(base, buyer.keys["owner"]).request("GET", f"/orgs/{buyer.org.id}/orders") == []
    accepted = run(b_env, "buy", offer["id"], "--quantity", "10", input="y\n")
    assert "€50.00" in accepted.stdout and "5000 EUR" not in accepted.stdout
    order = json.loads(run(b_env, "buy", offer["id"], "--quantity", "10", "--yes", "--json").stdout)
    assert order["status"] == "pending_payment"
    MarketplaceClient(base, vendor.keys["owner"]).request("POST", f"/orders/{order['id']}/mark-paid")
    grants = json.loads(run(b_env, "grants", "list", "--json").stdout)
    gid = grants[0]["id"]
    assert grants[0]["balance"] == 10

    # a download killed midway, then resumed
    dest = tmp_path / "dl"
    state = dest / "scenes" / "big.bin.part.json"

    def some_ranges_done() -> bool:
        try:
            return 1 <= len(json.loads(state.read_text())["done"]) < 13
        except (OSError, ValueError, KeyError):
            return False

    kill_midway(["download", gid, str(dest), "--workers", "1", "--path", "scenes/big.bin"], b_env, some_ranges_done, what="download")
    assert not (dest / "scenes" / "big.bin").exists() and (dest / "scenes" / "big.bin.part").exists()
    r = run(b_env, "download", gid, str(dest), "--json")
    got = {f["path"]: f for f in json.loads(r.stdout)}
    assert set(got) == {"scenes/big.bin", "labels.jsonl", "README.csv"}
    assert hashlib.sha256((dest / "scenes" / "big.bin").read_bytes()).hexdigest() == hashlib.sha256(big).hexdigest()
    assert (dest / "labels.jsonl").read_bytes() == (data / "labels.jsonl").read_bytes()
    assert not (dest / "scenes" / "big.bin.part").exists()
    # charged once per file, though big.bin was authorised twice
    assert json.loads(run(b_env, "grants", "list", "--json").stdout)[0]["balance"] == 10 - 3
    again = json.loads(run(b_env, "download", gid, str(dest), "--json").stdout)
    assert all(f["skipped"] for f in again)

    # --- audit and bill of materials
    with app.app_context():
        from marketplace.auditlog.services import seal

        seal(grace_seconds=0)
        app.extensions["db"].remove()
    export = tmp_path / "audit.jsonl"
    run(b_env, "audit", "export", "--org", str(buyer.org.id), "-o", str(export))
    refused = run(b_env, "audit", "verify", str(export), check=False)
    assert refused.returncode != 0 and "no pinned key" in refused.stderr  # the key inside the file is never trusted
    assert "trusting audit key" in run(b_env, "audit", "trust", "--from-server").stdout
    r = run(b_env, "audit", "verify", str(export))
    assert r.stdout.startswith("OK") and "verified with key" in r.stdout
    bom = tmp_path / "bom.json"
    run(b_env, "bom", "export", "-o", str(bom))
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom.read_text()) is None

    # --- the model trained on it, attached from the verified download, and its documents
    model = json.loads(run(b_env, "model", "create", "Scene-Net", "--version", "2.1", "--provider", "Buyer Robotics GmbH", "--release-date", "2026-11-01",
                           "--json").stdout)
    attached = json.loads(run(b_env, "model", "attach", model["id"], "--run", "pre-training", "--from-downloads", str(dest), "--json").stdout)
    assert [a["grant_id"] for a in attached] == [gid] and {f["path"] for f in attached[0]["files"]} == {"scenes/big.bin", "labels.jsonl", "README.csv"}
    summary = tmp_path / "summary.docx"
    assert "wrote" in run(b_env, "model", "summary", model["id"], "--format", "docx", "-o", str(summary)).stdout
    from docx import Document

    text = "\n".join(p.text for p in Document(str(summary)).paragraphs)
    assert "Buyer Robotics GmbH" in text and "Urban driving scenes" in text
    filing = json.loads(run(b_env, "model", "filing", model["id"], "--lang", "zh").stdout)
    assert filing["sources"][0]["来源合法性"]["许可"].startswith("CC-BY-4.0")
    # a file changed after its download is not attached as what was trained on
    (dest / "labels.jsonl").write_bytes(b'{"scene": 1, "label": "tampered"}\n')
    refused = run(b_env, "model", "attach", model["id"], "--run", "fine-tuning", "--from-downloads", str(dest), check=False)
    assert refused.returncode == 4 and "labels.jsonl" in refused.stderr
    # a receipt rewritten to match the changed file is refused by the server, and leaves no empty run
    receipt = json.loads((dest / ".marketplace-receipt.json").read_text())
    receipt["grants"][gid]["files"]["labels.jsonl"] = hashlib.sha256((dest / "labels.jsonl").read_bytes()).hexdigest()
    (dest / ".marketplace-receipt.json").write_text(json.dumps(receipt))
    refused = run(b_env, "model", "attach", model["id"], "--run", "fine-tuning", "--from-downloads", str(dest), check=False)
    assert refused.returncode != 0 and "labels.jsonl" in refused.stderr
    assert [r["name"] for r in MarketplaceClient(base, buyer.keys["owner"]).model(model["id"])["runs"]] == ["pre-training"]


@pytest.mark.postgres_only
def test_errors_are_one_line_with_a_hint_and_exit_codes(backend, live, tmp_path):
    app, base = live
    env = cli_env(tmp_path, "nobody")
    r = run(env, "datasets", "search", check=False)
    assert r.returncode == 2 and "not logged in" in r.stderr
    r = run(env, "login", "--url", base, "--api-key", "mk_000000000000.bad", check=False)
    assert r.returncode == 1 and "401" in r.stderr and "hint:" in r.stderr
    env["MARKETPLACE_URL"], env["MARKETPLACE_API_KEY"] = base, "mk_000000000000.bad"
    r = run(env, "grants", "list", check=False)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 2  # the error and its hint
    env["MARKETPLACE_URL"] = "http://127.0.0.1:9"
    r = run(env, "datasets", "search", check=False)
    assert r.returncode == 3 and "cannot reach" in r.stderr


@pytest.mark.postgres_only
def test_upload_killed_midway_resumes_with_the_parts_already_stored(backend, live, tmp_path):
    """`marketplace upload` killed mid-file, then run again: the same multipart upload carries on,
    the parts already stored are not sent again, and the file lands with the right digest."""
    app, base = live
    with app.app_context():
        from tests.factories import make_tenant

        vendor = make_tenant(vendor=True)
        app.extensions["db"].remove()
    env = cli_env(tmp_path, "resumer")
    run(env, "login", "--url", base, "--api-key", vendor.keys["owner"])
    ds = json.loads(run(env, "datasets", "create", "--slug", "resumed-upload", "--title", "Resumed upload", "--domain", "autonomous-driving", "--json").stdout)
    ver = json.loads(run(env, "versions", "create", ds["id"], "1.0.0", "--json").stdout)
    big = tmp_path / "big.bin"
    content = os.urandom(MIB) * 160  # 20 parts of 8 MiB
    big.write_bytes(content)
    from marketplace.sdk.client import MarketplaceClient

    sdk = MarketplaceClient(base, vendor.keys["owner"])
    fid: list[str] = []

    def some_parts_stored() -> bool:
        files = sdk.files(ver["id"])
        if not files or files[0]["status"] != "uploading":
            return False
        fid[:] = [files[0]["id"]]
        return len(sdk.part_urls(fid[0], first=1, count=1)["received"]) >= 2

    kill_midway(["upload", ver["id"], str(big), "--workers", "1", "--part-size-mib", "8"], env, some_parts_stored, what="upload", poll=0.02)
    before = sdk.part_urls(fid[0], first=1, count=1)
    stored = len(before["received"])
    assert 2 <= stored < 20
    r = run(env, "upload", ver["id"], str(big), "--workers", "4", "--part-size-mib", "8", "--json")
    # A part in flight when the client died may still land after the count above: at least those.
    resumed = re.search(r"big\.bin: resuming, (\d+) of 20 parts already stored", r.stderr)
    assert resumed and stored <= int(resumed.group(1)) < 20, r.stderr
    out = json.loads(r.stdout)[0]
    assert out["status"] == "uploaded" and out["sha256"] == hashlib.sha256(content).hexdigest()
    with app.app_context():
        from sqlalchemy import func, select

        from marketplace.kernel.audit import AuditEvent
        from marketplace.kernel.db import get_session

        starts = get_session().scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "version.file.multipart.start",
                                                                                          AuditEvent.subject_id == fid[0]))
        app.extensions["db"].remove()
    assert starts == 1  # one multipart upload, carried on rather than restarted


@pytest.mark.postgres_only
def test_access_requests_from_the_command_line(backend, live, tmp_path):
    app, base = live
    with app.app_context():
        from tests.factories import make_tenant

        vendor, buyer, other = make_tenant(vendor=True), make_tenant(), make_tenant()
        app.extensions["db"].remove()
    v, b = MarketplaceClient(base, vendor.keys["owner"]), MarketplaceClient(base, buyer.keys["owner"])
    ds = v.create_dataset(slug=f"wards-{uuid.uuid4().hex[:6]}", title="Ward notes", domain="healthcare", visibility="listed")
    ver = v.create_version(ds["id"], "1.0.0")
    f = v.declare_file(ver["id"], "notes.jsonl", 9, hashlib.sha256(b'{"n": 1}\n').hexdigest())
    v.put_content(f["id"], b'{"n": 1}\n')
    v.set_license(ver["id"], "CC-BY-4.0")
    v.set_provenance(ver["id"], {"sources": [{"kind": "first_hand", "name": "Collected by the vendor"}], "personal_data": {"status": "none"}, "attest": True})
    assert v.publish(ver["id"])["status"] in ("published", "processing")
    v.request("PUT", f"/datasets/{ds['id']}/access-gate", json={"samples": True, "private_offers": True,
                                                                "questions": [{"name": "purpose", "type": "text"}]})
    first = b.request_access(ds["id"], str(buyer.org.id), {"purpose": "triage models"})
    second = MarketplaceClient(base, other.keys["owner"]).request_access(ds["id"], str(other.org.id), {"purpose": "resale"})
    v_env, b_env = cli_env(tmp_path, "vendor"), cli_env(tmp_path, "buyer")
    run(v_env, "login", "--url", base, "--api-key", vendor.keys["owner"])
    run(b_env, "login", "--url", base, "--api-key", buyer.keys["owner"])
    inbox = run(v_env, "access-requests", "list", "--status", "pending").stdout
    assert first["id"] in inbox and second["id"] in inbox and buyer.org.name in inbox
    r = run(v_env, "access-requests", "approve", first["id"], "--offer-license", "CC-BY-4.0", "--offer-price-minor", "2", "--reason", "welcome")
    assert "approved" in r.stdout and "private offer" in r.stdout
    r = run(v_env, "access-requests", "reject", second["id"], "--reason", "Not for resale.")
    assert "rejected" in r.stdout
    mine = json.loads(run(b_env, "access-requests", "list", "--mine", "--json").stdout)
    assert [(x["status"], x["reason"]) for x in mine] == [("approved", "welcome")] and mine[0]["offer_id"]
    report = run(v_env, "access-requests", "report").stdout
    assert "answer:purpose" in report and "triage models" in report and "Not for resale." in report
    # a reason over 200 characters is refused with a one-line error and exit code 2
    third = MarketplaceClient(base, other.keys["owner"]).request_access(ds["id"], str(other.org.id), {"purpose": "again"})
    r = run(v_env, "access-requests", "reject", third["id"], "--reason", "x" * 201, check=False)
    assert r.returncode != 0 and r.stderr.startswith("error:")
    # the buyer cannot answer requests to someone else's dataset
    r = run(b_env, "access-requests", "approve", third["id"], check=False)
    assert r.returncode != 0 and "error:" in r.stderr


@pytest.mark.postgres_only
def test_a_relisting_is_held_appealed_and_allowed_from_the_command_line(backend, live, tmp_path):
    """The product's default threshold (half of a version found in one other vendor's data)."""
    from tests.catalog.helpers import corpus, jsonl, launder

    app, base = live
    with app.app_context():
        from tests.factories import make_key, make_org, make_tenant, make_user

        a, b = make_tenant(vendor=True), make_tenant(vendor=True)
        officer = make_user(platform_compliance=True)
        officer_key = make_key(officer, make_org(officer))
        app.extensions["db"].remove()
    records = corpus(150, 31)
    a_env, b_env, o_env = cli_env(tmp_path, "a"), cli_env(tmp_path, "b"), cli_env(tmp_path, "officer")
    for env, key in ((a_env, a.keys["owner"]), (b_env, b.keys["owner"]), (o_env, officer_key)):
        run(env, "login", "--url", base, "--api-key", key)
    prov = tmp_path / "provenance.yaml"
    prov.write_text("sources:\n  - kind: first_hand\n    name: Our clinic\npersonal_data:\n  status: none\n")

    def release(env, slug: str, content: bytes) -> tuple[dict, dict]:
        ds = json.loads(run(env, "datasets", "create", "--slug", slug, "--title", slug.title(), "--domain", "healthcare", "--visibility", "listed", "--json").stdout)
        ver = json.loads(run(env, "versions", "create", ds["id"], "1.0.0", "--json").stdout)
        folder = tmp_path / slug
        folder.mkdir()
        (folder / "notes.jsonl").write_bytes(content)
        run(env, "upload", ver["id"], str(folder))
        run(env, "license", "set", ver["id"], "CC-BY-4.0")
        run(env, "provenance", "set", ver["id"], str(prov))
        return ds, ver

    ds_a, ver_a = release(a_env, "cardio-notes", jsonl(records))
    assert "published" in run(a_env, "publish", ver_a["id"]).stdout
    ds_b, ver_b = release(b_env, "heart-texts", jsonl(launder(records, 0.1, 32)))
    r = run(b_env, "publish", ver_b["id"], check=False)
    assert r.returncode != 0 and "held" in r.stderr and "Cardio-Notes" in r.stderr and "Traceback" not in r.stderr
    shown = run(b_env, "overlap", "show", ver_b["id"]).stdout
    assert "HELD:" in shown and "100 % found in Cardio-Notes 1.0.0 (by " in shown and ": 135 exact, 15 near copies" in shown and "notes.jsonl: 100 % contained" in shown
    run(b_env, "overlap", "appeal", ver_b["id"], "--reason", "Licensed from Cardio, contract 7.")
    r = run(b_env, "overlap", "decide", ver_b["id"], "--allow", "--note", "mine", check=False)
    assert r.returncode != 0 and r.stderr.startswith("error:")
    assert "overridden" in run(o_env, "overlap", "decide", ver_b["id"], "--allow", "--note", "Contract 7 seen.").stdout
    assert "published" in run(b_env, "publish", ver_b["id"]).stdout
    mine = run(a_env, "overlap", "dataset", ds_a["id"]).stdout
    assert "its records are in" in mine and "Heart-Texts" in mine  # B's dataset is listed and published now: named
    both = json.loads(run(o_env, "overlap", "dataset", ds_b["id"], "--json").stdout)
    assert both["overlaps"][0]["counterpart_dataset_id"] == ds_a["id"]


@pytest.mark.postgres_only
def test_first_hour_commands(backend, live, tmp_path):
    """What a newcomer reaches for: the valid domains and licences, a provenance file to fill in
    (YAML as people write it: NO is Norway, dates stay dates), records streamed to stdout, grants
    named by their datasets, and errors that are one line, never a dict or a traceback."""
    app, base = live
    with app.app_context():
        from tests.delivery.helpers import FILES, buy
        from tests.factories import make_tenant

        vendor, buyer = make_tenant(vendor=True), make_tenant()
        pub, gid = buy(vendor, buyer, unit="records", quantity=100)
        title = pub.dataset.title
        app.extensions["db"].remove()

    anon = cli_env(tmp_path, "anon")
    anon["MARKETPLACE_URL"] = base
    domains = run(anon, "domains").stdout  # public listings need no key
    assert "SLUG" in domains and "healthcare" in domains and "{" not in domains
    lic = run(anon, "licenses", "--use-class", "commercial").stdout
    assert "CC-BY-4.0" in lic and "CC-BY-NC-4.0" not in lic
    assert "base URL" in run(anon, "login", "--help").stdout

    v_env, b_env = cli_env(tmp_path, "vendor"), cli_env(tmp_path, "buyer")
    run(v_env, "login", "--url", base + "/api/v1/", "--api-key", vendor.keys["owner"])  # the API's path, pasted from the docs, is forgiven
    run(b_env, "login", "--url", base, "--api-key", buyer.keys["owner"])

    # a provenance template, declared as it stands
    prov = tmp_path / "provenance.yaml"
    assert "wrote" in run(v_env, "provenance", "template", str(prov)).stderr
    assert prov.read_text() == (Path(__file__).resolve().parents[2] / "infra" / "examples" / "provenance.yaml").read_text()  # the README's copy
    r = run(v_env, "provenance", "template", str(prov), check=False)
    assert r.returncode == 2 and "--force" in r.stderr
    c = MarketplaceClient(base, vendor.keys["owner"])
    ds = c.create_dataset(slug=f"clinic-{uuid.uuid4().hex[:6]}", title="Clinic notes", domain="healthcare", visibility="draft")
    ver = c.create_version(ds["id"], "1.0.0")
    assert "revision 1" in run(v_env, "provenance", "set", ver["id"], str(prov)).stdout
    body = c.request("GET", f"/versions/{ver['id']}/provenance")[0]["body"]
    assert body["collection"]["geography"] == ["NO", "SE", "DK"] and body["collection"]["period_start"] == "2023-01-01"

    # YAML mistakes: one line naming where
    dup = tmp_path / "dup.yaml"
    dup.write_text("sources: []\npersonal_data:\n  status: none\n  status: contains\n")
    r = run(v_env, "provenance", "set", ver["id"], str(dup), check=False)
    assert r.returncode == 2 and "appears twice" in r.stderr and "line 4" in r.stderr and "Traceback" not in r.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("sources: [\n  - kind: first_hand\n")
    r = run(v_env, "provenance", "set", ver["id"], str(broken), check=False)
    assert r.returncode == 2 and "neither JSON nor YAML" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - kind: first_hand\n    name: x\npersonal_data:\n  status: maybe\n")
    r = run(v_env, "provenance", "set", ver["id"], str(bad), check=False)
    assert r.returncode == 1 and "personal_data.status:" in r.stderr and "{" not in r.stderr  # nested field errors, dotted

    # grants by name, records to stdout
    listed = run(b_env, "grants", "list").stdout
    assert title in listed and "DATASET" in listed
    r = run(b_env, "records", gid)
    lines = r.stdout.splitlines()
    assert len(lines) == 51 and all(json.loads(x) for x in lines[:50])
    assert "51 record(s) from 3 file(s), 51 charged" in r.stderr
    r = run(b_env, "records", gid, "--path", "train/a.jsonl", "--limit", "7", "--page-size", "5")
    assert [json.loads(x) for x in r.stdout.splitlines()] == [{"t": 1}] * 7 and "7 charged" in r.stderr
    assert json.loads(run(b_env, "grants", "list", "--json").stdout)[0]["balance"] == 100 - 51 - 7
    assert set(FILES) == {"train/a.jsonl", "train/b.jsonl", "readme.csv"}
