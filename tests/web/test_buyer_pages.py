"""Checkout, order confirmation, the buyer dashboard, downloads and API keys, through the pages."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from marketplace.commerce.models import Grant, Order
from marketplace.kernel.db import get_session
from tests.commerce.helpers import market, offer_for, order
from tests.factories import bearer
from tests.web.helpers import csrf_from, sign_in


def _checkout_form(client, offer_id: str) -> dict:
    html = client.get(f"/offers/{offer_id}/checkout").get_data(as_text=True)
    return {"csrf_token": csrf_from(html),
            "license_sha256": re.search(r'name="license_sha256" value="([0-9a-f]{64})"', html).group(1)}


def _orders(buyer) -> int:
    return get_session().scalar(select(func.count()).select_from(Order).where(Order.buyer_org_id == buyer.org.id))


def test_checkout_by_invoice_needs_acceptance_and_a_double_submit_orders_once(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], pricing_unit="records", unit_price_minor=3, tiers=[{"from": 1000, "unit_price_minor": 2}])
    assert client.get(f"/offers/{offer['id']}/checkout").status_code == 302  # anonymous: to the sign-in page
    sign_in(client, buyer.owner)
    form = _checkout_form(client, offer["id"])
    page = client.get(f"/offers/{offer['id']}/checkout").get_data(as_text=True)
    assert offer["license"] in page and "you may" in page
    r = client.post(f"/offers/{offer['id']}/checkout", data=dict(form, quantity="1500", payment_method="invoice"))
    assert r.status_code == 400 and "Tick the box to accept the licence" in r.get_data(as_text=True) and _orders(buyer) == 0
    for odd in ("many", "1_500", "١٥٠٠", "+1500", "１５００"):  # only plain ASCII digits are a quantity
        r = client.post(f"/offers/{offer['id']}/checkout", data=dict(form, quantity=odd, payment_method="invoice", accept="yes"))
        assert r.status_code == 400 and "Enter a whole number" in r.get_data(as_text=True), odd
    assert _orders(buyer) == 0
    r = client.post(f"/offers/{offer['id']}/checkout", data=dict(form, quantity="1500", payment_method="invoice", accept="yes", license_sha256="0" * 64))
    assert r.status_code == 400 and "Accept the exact text" in r.get_data(as_text=True) and _orders(buyer) == 0
    r = client.post(f"/offers/{offer['id']}/checkout", data=dict(form, quantity="1500", payment_method="invoice", accept="yes"))
    assert r.status_code == 302 and r.headers["Location"].startswith("/orders/")
    again = client.post(f"/offers/{offer['id']}/checkout", data=dict(form, quantity="1500", payment_method="invoice", accept="yes"))
    assert again.headers["Location"] == r.headers["Location"] and _orders(buyer) == 1
    conf = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "pending payment" in conf and "€30.00" in conf  # the volume tier: 1500 × 0.02
    assert form["license_sha256"] in conf


def test_back_button_and_reload_then_placing_the_order_again_is_still_one_order(app, client):
    """Back to the checkout page (which the browser fetches again: pages are no-store) and
    "Place order" once more answers with the order already placed. Other choices, a finished
    order, or "Buy again" make a new order; the key is the session's, never the page's."""
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"])
    sign_in(client, buyer.owner)
    first = _checkout_form(client, offer["id"])
    assert "idempotency_key" not in client.get(f"/offers/{offer['id']}/checkout").get_data(as_text=True)
    r = client.post(f"/offers/{offer['id']}/checkout", data=dict(first, quantity="10", payment_method="invoice", accept="yes"))
    assert r.status_code == 302
    back = _checkout_form(client, offer["id"])  # the Back button: a fresh GET of the form
    again = client.post(f"/offers/{offer['id']}/checkout", data=dict(back, quantity="10", payment_method="invoice", accept="yes"))
    assert again.headers["Location"] == r.headers["Location"] and _orders(buyer) == 1
    # a key sent in the form is ignored
    forged = client.post(f"/offers/{offer['id']}/checkout", data=dict(back, quantity="10", payment_method="invoice", accept="yes", idempotency_key="mine"))
    assert forged.headers["Location"] == r.headers["Location"] and _orders(buyer) == 1
    # Back, another quantity: a second order beside the pending one, not an error
    other = client.post(f"/offers/{offer['id']}/checkout", data=dict(back, quantity="20", payment_method="invoice", accept="yes"))
    assert other.status_code == 302 and other.headers["Location"] != r.headers["Location"] and _orders(buyer) == 2
    # once the order is cancelled, the plain checkout link starts a new order
    token = csrf_from(client.get(r.headers["Location"]).get_data(as_text=True))
    client.post(r.headers["Location"] + "/cancel", data={"csrf_token": token})
    client.post(other.headers["Location"] + "/cancel", data={"csrf_token": token})
    fresh = _checkout_form(client, offer["id"])
    third = client.post(f"/offers/{offer['id']}/checkout", data=dict(fresh, quantity="10", payment_method="invoice", accept="yes"))
    assert third.status_code == 302 and third.headers["Location"] not in (r.headers["Location"], other.headers["Location"]) and _orders(buyer) == 3
    # "Buy again" starts anew even while an order is pending
    client.get(f"/offers/{offer['id']}/checkout?new=1")
    fourth = client.post(f"/offers/{offer['id']}/checkout", data=dict(fresh, quantity="10", payment_method="invoice", accept="yes"))
    assert fourth.headers["Location"] != third.headers["Location"] and _orders(buyer) == 4


def test_card_checkout_redirects_to_stripe_and_an_outage_leaves_it_retryable(stripe_app, fake_stripe):
    client = stripe_app.test_client()
    vendor, buyer = market()
    client.put(f"/api/v1/orgs/{vendor.org.id}/payout-account", json={"stripe_account_id": "acct_1WebVendor"}, headers=bearer(vendor.keys["owner"]))
    offer = offer_for(client, vendor.keys["owner"], unit_price_minor=250)
    sign_in(client, buyer.owner)
    form = dict(_checkout_form(client, offer["id"]), quantity="4", payment_method="stripe", accept="yes")
    fake_stripe.fail_next = 10
    r = client.post(f"/offers/{offer['id']}/checkout", data=form)
    assert r.status_code == 503 and "nothing was charged" in r.get_data(as_text=True)
    fake_stripe.fail_next = 0
    r = client.post(f"/offers/{offer['id']}/checkout", data=form)
    assert r.status_code == 302 and r.headers["Location"].startswith("https://checkout.stripe.test/")
    assert _orders(buyer) == 1
    o = get_session().scalar(select(Order).where(Order.buyer_org_id == buyer.org.id))
    page = client.get(f"/orders/{o.id}?cancelled=1").get_data(as_text=True)
    assert "cancelled" in page and "Continue to payment" in page


def test_dashboard_quota_bars_download_and_exhausted_quota(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], pricing_unit="downloads", unit_price_minor=100)
    r = order(client, buyer.keys["owner"], offer, quantity=1)
    client.post(f"/api/v1/orders/{r.json['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    grant = get_session().scalar(select(Grant).where(Grant.buyer_org_id == buyer.org.id))
    assert grant is not None
    token = sign_in(client, buyer.owner)
    dash = client.get("/dashboard").get_data(as_text=True)
    assert "<strong>1 download</strong> left" in dash and '<progress max="100" value="0"' in dash
    r = client.post(f"/grants/{grant.id}/download", data={"csrf_token": token})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "part-0.jsonl" in page and "1 download charged" in page
    assert "100% used" in client.get("/dashboard").get_data(as_text=True)
    again = client.post(f"/grants/{grant.id}/download", data={"csrf_token": token}).get_data(as_text=True)
    assert "0 downloads charged" in again  # within the resume window: free
    # a grant with nothing left: a clear refusal that names the balance, nothing charged
    offer2 = offer_for(client, vendor.keys["owner"], pricing_unit="downloads", unit_price_minor=100)
    r2 = order(client, buyer.keys["owner"], offer2, quantity=1)
    assert r2.status_code == 201, r2.json
    m = client.post(f"/api/v1/orders/{r2.json['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    assert m.status_code == 200, m.json
    empty = get_session().scalar(select(Grant).where(Grant.buyer_org_id == buyer.org.id, Grant.id != grant.id))
    empty.balance = 0
    get_session().flush()
    r = client.post(f"/grants/{empty.id}/download", data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "The grant has 0 downloads left" in r.get_data(as_text=True)
    # another tenant's grant: 404, as in the API
    _v2, other = market()
    sign_in(client, other.owner)
    assert client.post(f"/grants/{grant.id}/download", data={"csrf_token": csrf_from(client.get('/dashboard').get_data(as_text=True))}).status_code == 404
    assert client.get(f"/orders/{grant.id}").status_code == 404


def test_api_key_from_the_dashboard_is_shown_once_works_and_can_be_revoked(app, client):
    _vendor, buyer = market()
    token = sign_in(client, buyer.owner)
    r = client.post("/dashboard/api-keys", data={"csrf_token": token, "name": "cluster", "scopes": ["catalog:read", "delivery"], "expires_days": "30"})
    page = r.get_data(as_text=True)
    secret = re.search(r'id="secret" readonly value="([^"]+)"', page).group(1)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    dash = client.get("/dashboard").get_data(as_text=True)
    assert "cluster" in dash and secret not in dash  # stored hashed: never shown again
    key_id = re.search(r'/dashboard/api-keys/([0-9a-f-]{36})/revoke', dash).group(1)
    assert client.post(f"/dashboard/api-keys/{key_id}/revoke", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    r = client.post("/dashboard/api-keys", data={"csrf_token": token, "name": "x", "expires_days": "0"}, follow_redirects=True)
    assert "between 1 and 3650" in r.get_data(as_text=True)
    assert client.post(f"/dashboard/api-keys/{uuid.uuid4()}/revoke", data={"csrf_token": token}).status_code == 404


def test_the_search_page_offers_the_spelling_the_catalogue_knows(app, client):
    vendor, _buyer = market()
    offer_for(client, vendor.keys["owner"], pricing_unit="records", unit_price_minor=3)
    page = client.get("/datasets", query_string={"q": "clinicl"}).get_data(as_text=True)
    assert "Showing results for <strong>clinical</strong>" in page and "Clinical dialogue corpus" in page
    page = client.get("/datasets", query_string={"q": "clinicl", "domain": "legal"}).get_data(as_text=True)
    assert "Did you mean" in page and "clinical" in page


def test_a_delta_sharing_profile_from_the_dashboard_is_shown_once_and_revocable(app, client):
    vendor, buyer = market()
    offer = offer_for(client, vendor.keys["owner"], pricing_unit="records", unit_price_minor=1)
    r = order(client, buyer.keys["owner"], offer, quantity=100)
    client.post(f"/api/v1/orders/{r.json['id']}/mark-paid", headers=bearer(vendor.keys["owner"]))
    grant = get_session().scalar(select(Grant).where(Grant.buyer_org_id == buyer.org.id))
    token = sign_in(client, buyer.member)
    dash = client.get("/dashboard").get_data(as_text=True)
    assert "Create a sharing profile" in dash and f"marketplace share-profile {grant.id}" in dash
    assert client.post(f"/grants/{grant.id}/share-profile", data={"name": "cluster"}).status_code == 400  # no CSRF token
    page = client.post(f"/grants/{grant.id}/share-profile", data={"csrf_token": token, "name": "cluster"}).get_data(as_text=True)
    bearer_token = re.search(r"&#34;bearerToken&#34;: &#34;(dst_[^&]+)&#34;", page).group(1)
    assert "cannot be shown again" in page and "/delta-sharing/" in page
    listed = client.get(f"/api/v1/grants/{grant.id}/share-tokens").json
    assert [t["name"] for t in listed] == ["cluster"]
    dash = client.get("/dashboard").get_data(as_text=True)
    assert "cluster" in dash and bearer_token not in dash
    assert client.get("/delta-sharing/shares", headers=bearer(bearer_token)).status_code == 200
    r = client.post(f"/grants/{grant.id}/share-tokens/{listed[0]['id']}/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert "revoked" in r.get_data(as_text=True)
    assert client.get("/delta-sharing/shares", headers=bearer(bearer_token)).status_code == 401
    # an auditor sees no sharing controls; another tenant gets 404
    sign_in(client, buyer.auditor)
    assert "Create a sharing profile" not in client.get("/dashboard").get_data(as_text=True)
    _v2, other = market()
    other_token = sign_in(client, other.owner)
    assert client.post(f"/grants/{grant.id}/share-profile", data={"csrf_token": other_token}).status_code == 404
    assert client.post(f"/grants/{grant.id}/share-tokens/{listed[0]['id']}/revoke", data={"csrf_token": other_token}).status_code == 404


def test_the_dashboard_says_what_a_download_charges_and_auditors_get_no_button(app, client):
    from tests.delivery.helpers import buy
    from tests.factories import make_tenant_rows

    vendor, buyer = make_tenant_rows(vendor=True), make_tenant_rows()
    pub, gid = buy(vendor, buyer, quantity=100)
    sign_in(client, buyer.member)
    dash = client.get("/dashboard").get_data(as_text=True)
    card = dash[dash.index(f'id="grant-{gid}"'):]
    assert "Download files" in card and "charges 51 records for 3 file(s)" in card  # before the click
    token = csrf_from(dash)
    assert client.post(f"/grants/{gid}/download", data={"csrf_token": token}).status_code == 200
    dash = client.get("/dashboard").get_data(as_text=True)
    assert "nothing to charge: all were downloaded in this resume window" in dash  # what a second click costs
    # an auditor sees the grant, its quota, and why there is no button
    sign_in(client, buyer.auditor)
    seen = client.get("/dashboard").get_data(as_text=True)
    assert pub.dataset.title in seen and "Download files" not in seen and "members of your organisation download the data" in seen


def test_catalogue_pages_speak_in_units_people_use(app, client):
    from catalog.models import DatasetFacet
    from tests.factories import OfferFactory, make_tenant_rows, published_version

    vendor = make_tenant_rows(vendor=True)
    pub = published_version({"a.jsonl": b'{"t": 1}\n' * 3}, organization=vendor.org)
    for i, code in enumerate(["nb", "pt-BR", "xx-klingon"], start=1):  # the factory's dataset is in English
        get_session().add(DatasetFacet(dataset_id=pub.dataset.id, kind="language", value=code, position=i))
    get_session().flush()
    OfferFactory(dataset=pub.dataset, title="Per GiB", pricing_unit="gib", unit_price_minor=2500, currency="EUR")
    page = client.get(f"/datasets/{pub.dataset.id}").get_data(as_text=True)
    assert "€25.00 per GiB" in page
    assert "English, Norwegian Bokmål, Portuguese (BR), xx-klingon" in page  # names; an unknown code as given
    assert client.get("/favicon.ico").status_code == 301 and client.get("/static/favicon.svg").status_code == 200


def test_the_dataset_page_picks_versions_and_shows_the_sample_as_a_typed_table(app, client):
    from tests.factories import make_tenant_rows, published_version

    vendor = make_tenant_rows(vendor=True)
    old = published_version({"notes.jsonl": b'{"id": 1, "text": "first"}\n'}, organization=vendor.org, version="1.0.0")
    rows = b"".join(b'{"id": %d, "text": "note %d", "tags": ["a", "b"], "empty": ""}\n' % (i, i % 3) for i in range(12))
    new = published_version({"notes.jsonl": rows, "labels.csv": b"id,label\n1,x\n2,y\n"}, dataset=old.dataset, version="2.0.0")
    old.dataset.latest_version_id = new.version.id
    get_session().flush()
    page = client.get(f"/datasets/{old.dataset.id}").get_data(as_text=True)
    assert "Version 2.0.0" in page and 'id="version-pick"' in page and f'value="{old.version.id}"' in page
    assert "Data viewer: labels.csv" in page  # the first file with a sample
    page = client.get(f"/datasets/{old.dataset.id}?file=notes.jsonl").get_data(as_text=True)
    viewer = page[page.index("Data viewer"):page.index("</table>", page.index("Data viewer"))]
    assert "<th scope=\"col\">id<br>" in viewer and "<th scope=\"col\">text<br>" in viewer
    assert "note 2" in viewer and "[&#34;a&#34;, &#34;b&#34;]" in viewer  # nested values as JSON, escaped
    assert "3 distinct" in viewer  # "note 0", "note 1", "note 2" over the sample
    assert "12 empty" in viewer
    assert 'id="file-pick"' in page  # two files with samples: pick one
    older = client.get(f"/datasets/{old.dataset.id}?version={old.version.id}").get_data(as_text=True)
    assert "Version 1.0.0" in older and "first" in older and "KiB" not in older.split("Version 1.0.0")[0][-10:]
    assert " B</td>" in older  # sizes in units, not raw byte counts


def test_the_lineage_picture_keeps_full_labels_and_opens_full_size(app, client):
    from marketplace.web.catalog_views import _wrap, lineage_svg
    from tests.factories import make_tenant_rows, published_version

    long = "Annotated discharge summaries from twelve teaching hospitals, 2015-2023, de-identified"
    graph = {"nodes": [{"id": "v", "kind": "version", "label": long, "license": "CC-BY-4.0"},
                       {"id": "s", "kind": "source", "label": "Supercalifragilisticexpialidocious-source-name-without-spaces", "license": None}],
             "edges": [{"from": "v", "to": "s", "relation": "derived"}]}
    svg = lineage_svg(graph)
    assert f"<title>{long} — CC-BY-4.0</title>" in svg  # the whole label, for a pointer and a screen reader
    shown = " ".join(_wrap(long))
    assert shown == long and all(len(x) <= 30 for x in _wrap(long))  # wrapped, not cut
    assert all(part in svg for part in _wrap(long))
    assert all(len(x) <= 30 for x in _wrap("x" * 100)) and _wrap("") == [""]
    assert len(_wrap("word " * 100)) == 4 and _wrap("word " * 100)[-1].endswith("…")
    vendor = make_tenant_rows(vendor=True)
    pub = published_version({"a.jsonl": b'{"t": 1}\n'}, organization=vendor.org)
    page = client.get(f"/datasets/{pub.dataset.id}").get_data(as_text=True)
    assert "Open full size" in page and 'class="lineage-scroll"' in page
    r = client.get(f"/datasets/{pub.dataset.id}/lineage.svg?version={pub.version.id}")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml" and r.headers["Content-Security-Policy"] == "default-src 'none'"
    assert r.get_data(as_text=True).startswith("<svg") and "<title>" in r.get_data(as_text=True)
    pub.dataset.visibility = "draft"
    get_session().flush()
    assert client.get(f"/datasets/{pub.dataset.id}/lineage.svg").status_code == 404  # a draft is not shown to strangers
