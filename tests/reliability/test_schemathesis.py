"""Property-based fuzzing of every API operation from the live OpenAPI document (schemathesis),
with every check it has: no 5xx, responses, status codes, media types and headers as declared,
invalid data rejected, valid data not refused as invalid, unsupported methods answered 405, auth
not ignored. It runs as a vendor's key and as a buyer's key of two organisations, on both
backends, with real ids of the caller's own objects (and others') in half the cases, so requests
reach the services instead of stopping at 404. Bounded here (FUZZ_EXAMPLES per operation and
key); `make fuzz` runs it long.

Hostile input that hypothesis does not generate (lone surrogates, 1,000-level nesting,
5,000-digit numbers) is sent by tests/kernel/test_bad_input.py to every operation.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.catalog.helpers import create_dataset, create_version, declare, published_dataset
from tests.commerce.helpers import order
from tests.factories import bearer, make_tenant

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))

# Valid data may still break a business rule (buying your own offer, an empty version...):
# those are 402/403/404/409/410 here, and a few 400s that name the rule. Everything else is strict.
CONFIG = SchemathesisConfig.from_dict({
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "402", "403", "404", "409", "410", "413", "429"]},
        # Schemathesis may send a body the spec marks as optional with wrong content; we answer 413
        # for oversized bodies and 405 where a method is not allowed.
        "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422"]},
    },
})


def _world(client) -> tuple[dict[str, str], dict[str, Any]]:
    """A vendor with a published dataset, an offer and a draft; a buyer with an order and a
    grant. Returns the keys and a pool of real ids by path-parameter name."""
    vendor, buyer = make_tenant(vendor=True), make_tenant()
    vk, bk = vendor.keys["owner"], buyer.keys["owner"]
    ds, v = published_dataset(client, vk, {"a.jsonl": b'{"t": 1}\n' * 5, "b.csv": b"k,v\n1,2\n"})
    offer = client.post(f"/api/v1/datasets/{ds['id']}/offers", json={"title": "t", "license": "CC-BY-4.0", "pricing_unit": "records",
                                                                   "unit_price_minor": 1, "currency": "EUR"}, headers=bearer(vk)).json
    o = order(client, bk, offer, quantity=50).json
    paid = client.post(f"/api/v1/orders/{o['id']}/mark-paid", headers=bearer(vk)).json
    o2 = order(client, bk, offer, quantity=5).json
    draft_ds = create_dataset(client, vk)
    draft = create_version(client, vk, draft_ds["id"])
    f = declare(client, vk, draft["id"], "x.jsonl", b'{"x": 1}\n').json
    files = client.get(f"/api/v1/versions/{v['id']}/files").json
    ids = {
        "org_id": [str(vendor.org.id), str(buyer.org.id)],
        "dataset_id": [ds["id"], draft_ds["id"]],
        "version_id": [v["id"], draft["id"]],
        "file_id": [f["id"], files[0]["id"]],
        "offer_id": [offer["id"]],
        "order_id": [o["id"], o2["id"]],
        "grant_id": [paid["grant_id"]],
        "user_id": [str(vendor.member.id), str(buyer.member.id)],
        "identifier": ["CC-BY-4.0", "MIT"],
        "event_id": [1, 2],
    }
    return {"vendor": vk, "buyer": bk}, ids


@pytest.mark.parametrize("role", ["vendor", "buyer"])
def test_every_operation_fuzzed_with_all_checks(app, client, backend, role):
    keys, ids = _world(client)
    key = keys[role]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()
        names = re.findall(r"{(\w+)}", op.path)

        cases = st.one_of(op.as_strategy(GenerationMode.POSITIVE), op.as_strategy(GenerationMode.NEGATIVE))

        @given(case=cases, real=st.booleans(), pick=st.integers(min_value=0, max_value=7))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
        def run(case, real, pick):  # type: ignore[no-untyped-def]
            # run() is called within this iteration, so the loop's `names` is the one meant.
            if real and names:  # noqa: B023
                case.path_parameters = {n: (ids[n][pick % len(ids[n])] if n in ids else case.path_parameters[n]) for n in names}  # noqa: B023
            case.call_and_validate(headers=bearer(key))

        try:
            run()
            ran += 1
        except Exception as e:  # collect every operation's failure, then report them together
            text = str(e).strip()
            failures.append(f"{op.method.upper()} {op.path}: {text[:1500] if text else type(e).__name__}")
    assert ran + len(failures) >= 80
    assert failures == [], "\n\n".join(failures)
