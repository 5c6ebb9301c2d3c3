"""Buyer pages: checkout (offer → quantity → licence → payment → confirmation), the order page,
and the dashboard with grants, quota bars, downloads, orders and API keys.

Every page calls the same services as the API, with the signed-in user's identity."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pycountry
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from catalog.models import Dataset
from catalog.services import datasets as catalog
from licensing.models import License
from licensing.services import OfferVerdict, get_license_by_id, offer_verdict
from marketplace.commerce import services as commerce
from marketplace.commerce.models import Offer, Order
from marketplace.commerce.policy import POLICY as COMMERCE_POLICY
from marketplace.commerce.policy import CommercePermission
from marketplace.delivery import services as delivery
from marketplace.formats.money import format_money, price_label
from marketplace.identity import services as identity
from marketplace.identity.auth import current_principal
from marketplace.kernel.db import utcnow
from marketplace.kernel.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.kernel.principal import SCOPES, Principal
from marketplace.sharing import services as sharing
from marketplace.web.catalog_views import terms_table
from marketplace.web.common import active_org_id, flash_error, form_int, signed_in

bp = Blueprint("buyer_web", __name__)

UNIT_WORDS = {"records": ("record", "records"), "downloads": ("download", "downloads"), "term": ("term", "terms")}


def human_hours(ms: int) -> str:
    """Hours of audio or video as people read them: 1 h 30 min, 42 s."""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:g} s"
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours:,} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


def human_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@bp.app_template_filter("bytes")
def _bytes_filter(n: int | None) -> str:
    return human_bytes(n)


@bp.app_template_filter("hours")
def _hours_filter(ms: int | None) -> str:
    return human_hours(ms) if ms is not None else "–"


@bp.app_template_filter("uuid")
def _uuid_filter(value: str) -> uuid.UUID | str:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return value


@bp.app_template_filter("money")
def _money_filter(minor: int | None, currency: str | None) -> str:
    return format_money(minor, currency)


@bp.app_template_filter("languages")
def _languages_filter(codes: list[str] | None) -> str:
    """Language codes as names ("en, nb" -> "English, Norwegian Bokmål"); a code not in ISO 639
    is shown as given."""
    return ", ".join(language_name(c) for c in codes or [])


def language_name(code: str) -> str:
    base, _, region = code.partition("-")
    lang = pycountry.languages.get(alpha_2=base.lower()) if len(base) == 2 else pycountry.languages.get(alpha_3=base.lower())
    if lang is None:
        return code
    return f"{lang.name} ({region.upper()})" if region else lang.name


@bp.app_template_filter("price")
def _price_filter(minor: int | None, currency: str | None, unit: str | None) -> str:
    return price_label(minor, currency, unit)


def quantity_label(unit: str, amount: int) -> str:
    """Quota in the words people use: GiB grants are metered in bytes."""
    if unit == "gib":
        return human_bytes(amount)
    if unit == "hours":
        return human_hours(amount)
    one, many = UNIT_WORDS.get(unit, (unit, unit))
    return f"{amount:,} {one if amount == 1 else many}"


# --------------------------------------------------------------------------- checkout


def _checkout_context(offer_id: uuid.UUID) -> tuple[Principal, Offer, Dataset, License, OfferVerdict | None]:
    p = current_principal()
    try:
        offer = commerce.get_offer(p, offer_id)
        ds = catalog.get_dataset(p, offer.dataset_id)
    except NotFound:
        abort(404)
    lic = get_license_by_id(offer.license_id)
    version_id = offer.version_id or ds.latest_version_id
    return p, offer, ds, lic, offer_verdict(version_id, lic) if version_id else None


def _checkout_key(p: Principal, buyer: uuid.UUID | None, offer_id: uuid.UUID, *, fresh: bool = False) -> str:
    """The idempotency key of this browser's checkout of an offer. It lives in the session, not
    in the page, so reloading the form, or coming Back to it, and placing the order again answers
    with the order already placed. Once that order is no longer awaiting payment (paid,
    cancelled, rejected, failed), or with "buy again" (?new=1), the next checkout is a new order."""
    keys = dict(session.get("checkout_keys") or {})
    key = keys.get(str(offer_id))
    if key and not fresh and buyer is not None:
        placed = commerce.order_for_key(p, buyer, key)
        fresh = placed is not None and placed.status != "pending_payment"
    if fresh or not key:
        key = uuid.uuid4().hex
        keys = dict(list(keys.items())[-19:])  # a few recent offers are enough
        keys[str(offer_id)] = key
        session["checkout_keys"] = keys
    return key


@bp.route("/offers/<uuid:offer_id>/checkout", methods=["GET", "POST"])
@signed_in
def checkout(offer_id: uuid.UUID):
    """Choose a quantity, read and accept the licence, and pay by card (Stripe) or invoice."""
    p, offer, ds, lic, verdict = _checkout_context(offer_id)
    terms = terms_table(verdict.effective_terms) if verdict else []
    model_terms, model_digest = (verdict.model_terms, verdict.model_terms_sha256) if verdict else ([], None)
    buyer = active_org_id(p)
    card_ok = commerce.takes_cards_for(offer)
    errors: dict[str, str] = {}
    form = {"quantity": str(max(offer.min_quantity, 1)), "payment_method": "stripe" if card_ok else "invoice"}
    key = _checkout_key(p, buyer, offer.id, fresh=request.method == "GET" and request.args.get("new") == "1")
    status = 200
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("quantity", "payment_method", "license_sha256", "accept_model_terms")}
        try:
            quantity = form_int("quantity")
        except ValueError:
            quantity = None
            errors["quantity"] = "Enter a whole number."
        if quantity is None and "quantity" not in errors:
            errors["quantity"] = "Say how many units you buy."
        if request.form.get("accept") != "yes":
            errors["accept"] = "Tick the box to accept the licence; no order is placed without it."
        if model_digest and form["accept_model_terms"] != model_digest:
            errors["accept_model_terms"] = "Tick the box to accept the model-output terms; no order is placed without it."
        if form["payment_method"] not in ("stripe", "invoice"):
            errors["payment_method"] = "Choose card or invoice."
        if buyer is None:
            flash("You need an organisation to buy for: create one when you register.", "error")
            status = 400
        elif errors:
            flash("The order is not complete yet: see the marked fields.", "error")
            status = 400
        else:
            assert quantity is not None  # no errors: the form gave a number

            def place(k: str) -> tuple[Order, bool]:
                return commerce.create_order(p, offer_id=offer.id, quantity=quantity, currency=offer.currency,
                                             license_sha256=form["license_sha256"], payment_method=form["payment_method"],
                                             idempotency_key=k, buyer_org_id=buyer, accept_model_terms=form["accept_model_terms"] or None)

            try:
                try:
                    order, _created = place(key)
                except Conflict as e:
                    if "Idempotency-Key" not in (e.errors or {}):
                        raise
                    # The same checkout, other choices (Back, then a new quantity): that is a
                    # new order, placed beside the one still awaiting payment.
                    order, _created = place(_checkout_key(p, buyer, offer.id, fresh=True))
                    flash("You have another order for this offer awaiting payment; see your dashboard.", "ok")
            except DomainError as e:
                errors = flash_error(e)
                status = e.status
            else:
                if order.payment_method == "stripe" and order.checkout_url and order.status == "pending_payment":
                    return redirect(order.checkout_url)
                return redirect(url_for("buyer_web.order_page", order_id=order.id))
    tiers = [(max(offer.min_quantity, 1), offer.unit_price_minor)] + [(t["from"], t["unit_price_minor"]) for t in offer.tiers or []]
    return render_template("buyer/checkout.html", offer=offer, ds=ds, lic=lic, terms=terms, form=form, errors=errors, card_ok=card_ok,
                           tiers=tiers, buyer_org=buyer, model_terms=model_terms, model_digest=model_digest), status


@bp.get("/orders/<uuid:order_id>")
@signed_in
def order_page(order_id: uuid.UUID):
    """The confirmation: what was bought, under which licence text, and how payment stands."""
    p = current_principal()
    try:
        order = commerce.get_order(p, order_id)
        offer = commerce.get_offer(p, order.offer_id)
        ds = catalog.get_dataset(p, offer.dataset_id)
    except NotFound:
        abort(404)
    return render_template("buyer/order.html", order=order, offer=offer, ds=ds, lic=get_license_by_id(order.license_id),
                           may_cancel=COMMERCE_POLICY.allows(p, CommercePermission.ORDER_CANCEL, buyer=order.buyer_org_id, vendor=order.vendor_org_id),
                           is_buyer=p.role_in(order.buyer_org_id) is not None, returned=request.args.get("paid") == "1",
                           cancelled=request.args.get("cancelled") == "1")


@bp.post("/orders/<uuid:order_id>/cancel")
@signed_in
def cancel_order(order_id: uuid.UUID):
    """The buyer withdraws an unpaid invoice order."""
    try:
        commerce.cancel_order(current_principal(), order_id, reason=(request.form.get("reason") or "").strip()[:500] or None)
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
    else:
        flash("The order is cancelled; nothing is owed.", "ok")
    return redirect(url_for("buyer_web.order_page", order_id=order_id))


# --------------------------------------------------------------------------- dashboard


@bp.get("/dashboard")
@signed_in
def dashboard():
    """Grants with quota bars and expiry, download buttons, orders and API keys of the active organisation."""
    p = current_principal()
    org = active_org_id(p)
    if org is None:
        return render_template("buyer/dashboard.html", org=None, grants=[], orders=[], keys=None, titles={}, new_key=None)
    grants = commerce.list_grants(p, org)
    orders = commerce.list_orders(p, org, as_vendor=False)
    offers = {o.id: o for o in commerce.offers_by_id({o.offer_id for o in orders})}
    titles = catalog.titles_of({g.dataset_id for g in grants} | {o.dataset_id for o in offers.values()})
    try:
        keys = identity.list_api_keys(p, org)
    except (Forbidden, NotFound):
        keys = None  # members create keys; only admins see the organisation's list
    rows = []
    now = utcnow()
    for g in grants:
        used = max(g.credited - g.balance, 0)
        pct = 100 if g.unit == "term" else (round(used * 100 / g.credited) if g.credited else 100)
        expires = g.expires_at
        rows.append({"grant": g, "title": titles.get(g.dataset_id, "?"), "used": quantity_label(g.unit, used), "left": quantity_label(g.unit, g.balance),
                     "pct": min(pct, 100), "unit": g.unit, "expiring": bool(expires and expires - now.replace(tzinfo=expires.tzinfo) < timedelta(days=14))})
    for r, g in zip(rows, grants, strict=True):
        # Auditors see grants, never a button that would refuse them; members see what a click costs.
        r["may_download"] = g.status == "active" and delivery.may_take_data(p, g.buyer_org_id, g.vendor_org_id)
        r["charge"] = _download_charge(p, g.id) if r["may_download"] else None
        # Auditors (and keys without the delivery scope) make no profiles: no controls for them.
        r["share_tokens"] = ([t for t in sharing.list_tokens(p, g.id) if t.revoked_at is None and t.expires_at > now]
                             if sharing.may_manage(p, g.buyer_org_id, g.vendor_org_id) else None)
    return render_template("buyer/dashboard.html", org=org, grants=rows, orders=orders, offers=offers, keys=keys, titles=titles, scopes=SCOPES,
                           new_key=None)


def _download_charge(p: Principal, grant_id: uuid.UUID) -> str | None:
    """What "Download files" would charge now, in words ("charges 51 records for 3 files"), or
    None when the grant cannot deliver (withdrawn, term over: the click then says why)."""
    try:
        listed = delivery.grant_files(p, grant_id, audit_refusal=False)
    except DomainError:
        return None
    files = len(listed["files"])
    if not listed["would_charge"]:
        return f"{files} file(s), nothing to charge: all were downloaded in this resume window" if files else "no files"
    return f"charges {quantity_label(listed['unit'], listed['would_charge'])} for {files} file(s)"


def _grant_and_title(p: Principal, grant_id: uuid.UUID) -> tuple[dict, str]:
    """The grant as its page shows it, and its dataset's title."""
    grant = commerce.grant_view(p, grant_id)
    return grant, catalog.titles_of({grant["dataset_id"]}).get(grant["dataset_id"], "")


@bp.post("/grants/<uuid:grant_id>/share-profile")
@signed_in
def share_profile(grant_id: uuid.UUID):
    """A Delta Sharing profile for the grant: its token is shown once, on this page."""
    p = current_principal()
    try:
        tok, prof = sharing.create_token(p, grant_id, name=(request.form.get("name") or "").strip()[:100] or None)
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("buyer_web.dashboard"))
    _grant, title = _grant_and_title(p, grant_id)
    return render_template("buyer/share_profile.html", tok=tok, profile=json.dumps(prof, indent=2), title=title, grant_id=grant_id)


@bp.post("/grants/<uuid:grant_id>/share-tokens/<uuid:token_id>/revoke")
@signed_in
def revoke_share_token(grant_id: uuid.UUID, token_id: uuid.UUID):
    try:
        sharing.revoke_token(current_principal(), grant_id, token_id)
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
    else:
        flash("The Delta Sharing profile is revoked; readers using it now fail.", "ok")
    return redirect(url_for("buyer_web.dashboard"))


@bp.post("/grants/<uuid:grant_id>/download")
@signed_in
def download(grant_id: uuid.UUID):
    """Authorise every file of the grant's version (all or none) and list short-lived links."""
    p = current_principal()
    try:
        res = delivery.authorize_download(p, grant_id, paths=None)
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("buyer_web.dashboard"))
    grant, title = _grant_and_title(p, grant_id)
    terms = terms_table(grant["effective_terms"]) if grant["effective_terms"] else []
    return render_template("buyer/download.html", res=res, title=title, grant=grant, terms=terms,
                           charged=quantity_label(res["unit"], res["charged"]))


@bp.post("/dashboard/api-keys")
@signed_in
def create_key():
    """A new API key for scripts and the CLI; its secret is shown once, here."""
    p = current_principal()
    org = active_org_id(p)
    if org is None:
        abort(404)
    scopes = [s for s in request.form.getlist("scopes") if s in SCOPES]
    try:
        days = form_int("expires_days", 90)
    except ValueError:
        days = -1
    if days is None or days < 1 or days > 3650:
        flash("Expiry: a number of days between 1 and 3650.", "error")
        return redirect(url_for("buyer_web.dashboard"))
    try:
        key, secret = identity.create_api_key(p, org, name=(request.form.get("name") or "").strip()[:100] or "web", scopes=scopes or ["catalog:read"],
                                              expires_at=utcnow() + timedelta(days=days))
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("buyer_web.dashboard"))
    flash("Copy the key now: it is shown only once.", "ok")
    return render_template("buyer/new_key.html", key=key, secret=secret)


@bp.post("/dashboard/api-keys/<uuid:key_id>/revoke")
@signed_in
def revoke_key(key_id: uuid.UUID):
    p = current_principal()
    org = active_org_id(p)
    try:
        identity.revoke_api_key(p, org, key_id)  # type: ignore[arg-type]
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
    else:
        flash("The key is revoked; calls with it now fail.", "ok")
    return redirect(url_for("buyer_web.dashboard"))
