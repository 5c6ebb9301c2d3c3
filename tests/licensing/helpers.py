"""Helpers for licensing tests: released and draft versions with provenance."""

from __future__ import annotations

from tests.catalog.helpers import create_dataset, create_version, publish, upload_small
from tests.factories import bearer

FIRST_HAND = {"kind": "first_hand", "name": "Recorded in our clinics"}


def declare(client, key, vid, sources, **extra):
    body = {"sources": sources, "personal_data": extra.pop("personal_data", PD_NONE), "attest": extra.pop("attest", True), **extra}
    return client.put(f"/api/v1/versions/{vid}/provenance", json=body, headers=bearer(key))


def released(client, key, *, license: str, sources: list, slug: str | None = None, visibility: str = "listed") -> dict:
    """A published version with a licence and provenance, as a vendor makes one."""
    ds = create_dataset(client, key, **({"slug": slug} if slug else {}), visibility=visibility)
    v = create_version(client, key, ds["id"])
    upload_small(client, key, v["id"], "data.jsonl", b'{"a": 1}\n')
    assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": license}, headers=bearer(key)).status_code == 200
    r = declare(client, key, v["id"], sources)
    assert r.status_code == 201, r.json
    v = publish(client, key, v["id"])
    assert v["status"] == "published"
    return dict(v, slug=ds["slug"], dataset_id=ds["id"])


def draft(client, key, license: str | None = None) -> dict:
    ds = create_dataset(client, key)
    v = create_version(client, key, ds["id"])
    if license:
        assert client.put(f"/api/v1/versions/{v['id']}/license", json={"identifier": license}, headers=bearer(key)).status_code == 200
    return dict(v, slug=ds["slug"])


PD_NONE = {"status": "none"}
