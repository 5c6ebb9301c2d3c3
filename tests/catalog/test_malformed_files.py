"""A file that does not parse as its declared format fails ingest, naming the line or byte
offset; the version stays unpublished, and the vendor reads the reason in the API, the page and
the CLI. (An unterminated CSV quote was once published as "verified" with 0 records.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from marketplace.app.cli import main
from tests.catalog.helpers import create_dataset, create_version, ensure_licensed, upload_small
from tests.factories import bearer, make_tenant
from tests.web.helpers import sign_in

BROKEN = {
    "bad.csv": (b'id,text\n1,fine\n2,"never closed\n3,more\n', "unterminated quoted field opened on line 3 (byte offset 17)"),
    "header.csv": (b"id,text\n", "header but no records"),
    "bad.jsonl": (b'{"a": 1}\n{"a": 2,}\n', "line 2 (byte offset 9) is not valid JSON"),
}


@pytest.mark.parametrize("path", sorted(BROKEN))
def test_malformed_file_fails_ingest_with_a_reason_everywhere(app, client, path):
    data, reason = BROKEN[path]
    vendor = make_tenant(vendor=True)
    key = vendor.keys["owner"]
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], path, data)
    upload_small(client, key, v["id"], "good.jsonl", b'{"ok": true}\n')
    ensure_licensed(client, key, v["id"])
    r = client.post(f"/api/v1/versions/{v['id']}/publish", headers=bearer(key))
    assert r.status_code == 202 and r.json["status"] == "draft" and r.json["manifest_digest"] is None
    assert reason in r.json["ingest_report"]["files"][path]["reason"]
    files = {f["path"]: f for f in client.get(f"/api/v1/versions/{v['id']}/files", headers=bearer(key)).json}
    assert files[path]["status"] == "failed" and reason in files[path]["failure_reason"]
    sign_in(client, vendor.owner)
    page = client.get(f"/vendor/versions/{v['id']}").get_data(as_text=True)
    assert reason in page.replace("&#34;", '"').replace("&#39;", "'")


def test_cli_publish_prints_the_reason(fs_site, tmp_path):
    vendor_client, version_id, _org = fs_site
    data, reason = BROKEN["bad.csv"]
    vendor_client.request("POST", f"/versions/{version_id}/files", json={"path": "bad.csv", "size": len(data),
                                                                         "sha256": __import__("hashlib").sha256(data).hexdigest()})
    fid = vendor_client.request("GET", f"/versions/{version_id}/files")[0]["id"]
    vendor_client.session.put(f"{vendor_client.base_url}/api/v1/files/{fid}/content", data=data, headers={"Content-Type": "application/octet-stream"})
    vendor_client.request("PUT", f"/versions/{version_id}/license", json={"identifier": "CC-BY-4.0"})
    vendor_client.request("PUT", f"/versions/{version_id}/provenance", json={"sources": [{"kind": "first_hand", "name": "Ours"}],
                                                                               "personal_data": {"status": "none"}, "attest": True})
    env = {"MARKETPLACE_URL": vendor_client.base_url, "MARKETPLACE_API_KEY": vendor_client.session.headers["Authorization"].split(" ", 1)[1], "HOME": str(tmp_path)}
    r = CliRunner().invoke(main, ["publish", version_id], env=env)
    assert r.exit_code == 4 and reason in r.output and "failed" in r.output
