"""Vendor pages: datasets and versions, the new-version wizard (metadata, browser upload through
presigned parts, licence, provenance form, publish with the ingest status), offers, sales and the
access log ("who accessed my data").

Forms are parsed with the API's own marshmallow schemas, so a page and the API accept and refuse
the same things; then one service call does the work."""

from __future__ import annotations

import uuid
from html import escape
from typing import Any, Callable

import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from catalog import schemas as catalog_schemas
from catalog.models import Dataset, DatasetVersion
from catalog.overlap import schemas as overlap_schemas
from catalog.overlap import services as overlap
from catalog.policy import is_owner_member
from catalog.services import datasets as catalog
from licensing import schemas as licensing_schemas
from licensing.services import current_declaration, list_licenses, set_version_license, version_license
from licensing.services import declare_provenance as declare
from marketplace.auditlog import services as audit_svc
from marketplace.commerce import analytics
from marketplace.commerce import schemas as commerce_schemas
from marketplace.commerce import services as commerce
from marketplace.commerce.policy import POLICY as COMMERCE_POLICY
from marketplace.commerce.policy import CommercePermission
from marketplace.delivery.actions import DeliveryAction
from marketplace.formats.money import MoneyError, parse_major
from marketplace.identity import schemas as identity_schemas
from marketplace.identity import services as identity
from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import DomainError, NotFound
from marketplace.kernel.principal import Principal
from marketplace.kernel.schemas import ASCII_INT, ascii_int
from marketplace.web.common import caller_and_org, flash_error, flatten_errors, signed_in

bp = Blueprint("vendor_web", __name__, url_prefix="/vendor")


def _split(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").replace("\n", ",").split(",") if x.strip()]


def load(schema: ma.Schema, data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Validate form data with an API schema: (clean data, None) or (None, field errors)."""
    try:
        return schema.load(data), {}
    except ma.ValidationError as e:
        flash("Some fields need attention: see the messages below.", "error")
        return None, flatten_errors(e.messages)


# --------------------------------------------------------------------------- becoming a vendor

APPLICATION_LABELS = {"description": "What your organisation offers (shown on your public profile)", "website": "Website", "country": "Country (ISO code)",
                      "contact_name": "Contact person", "contact_email": "Contact e-mail", "payout_account_holder": "Account holder",
                      "payout_iban": "IBAN"}


@bp.route("/apply", methods=["GET", "POST"])
@signed_in
def apply():
    """Apply for the active organisation to sell data: profile, contact, payout details."""
    p, org = caller_and_org()
    row = identity.get_organization(p, org)
    form = {k: getattr(row, k) or "" for k in APPLICATION_LABELS}
    form["payout_iban"] = ""  # never sent back to the page; typed again when the application is corrected
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in APPLICATION_LABELS}
        data, errors = load(identity_schemas.VendorApplicationSchema(), {k: (v or None) if k == "website" else v for k, v in form.items()})
        if data is not None:
            try:
                identity.apply_as_vendor(p, org, **data)
            except DomainError as e:
                errors = flash_error(e)
            else:
                flash("Application sent: a platform administrator reviews it; this page shows the decision.", "ok")
                return redirect(url_for("vendor_web.apply"))
        return render_template("vendor/apply.html", org=row, form=form, errors=errors, labels=APPLICATION_LABELS), 400
    if row.is_approved_vendor:
        return redirect(url_for("vendor_web.index"))
    return render_template("vendor/apply.html", org=row, form=form, errors=errors, labels=APPLICATION_LABELS)


# --------------------------------------------------------------------------- datasets


@bp.route("/", methods=["GET", "POST"])
@signed_in
def index():
    """The organisation's datasets with their versions, and the form to list a new one."""
    p, org = caller_and_org()
    errors: dict[str, str] = {}
    form: dict[str, Any] = {"visibility": "listed"}
    status = 200
    if request.method == "POST":
        form = request.form.to_dict()
        data, errors = load(catalog_schemas.DatasetCreateSchema(), {
            "organization_id": str(org), "slug": form.get("slug", "").strip(), "title": form.get("title", ""), "summary": form.get("summary", ""),
            "card_markdown": form.get("card_markdown", ""), "domain": form.get("domain", ""), "modalities": _split(form.get("modalities")),
            "languages": _split(form.get("languages")), "tags": _split(form.get("tags")), "visibility": form.get("visibility", "draft")})
        if data is not None:
            try:
                ds = catalog.create_dataset(p, **data)
            except DomainError as e:
                errors = flash_error(e)
            else:
                flash(f"“{ds.title}” is listed. Add its first version.", "ok")
                return redirect(url_for("vendor_web.dataset", dataset_id=ds.id))
        status = 400
    try:
        datasets = catalog.list_org_datasets(p, org)
    except NotFound:
        abort(404)
    versions = {d.id: catalog.list_versions(p, d.id) for d in datasets}
    org_row = identity.get_organization(p, org)
    return render_template("vendor/index.html", datasets=datasets, versions=versions, domains=catalog.list_domains(), form=form, errors=errors,
                           org=org_row), status


@bp.route("/datasets/<uuid:dataset_id>", methods=["GET", "POST"])
@signed_in
def dataset(dataset_id: uuid.UUID):
    """One dataset: its versions, a new draft version, visibility, and its offers."""
    p = current_principal()
    try:
        ds = catalog.get_dataset(p, dataset_id)
    except NotFound:
        abort(404)
    if not is_owner_member(p, ds):  # the vendor console is for the vendor's own members
        abort(404)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        data, errors = load(catalog_schemas.VersionCreateSchema(), {"version": request.form.get("version", "").strip(), "changelog": request.form.get("changelog", "")})
        if data is not None:
            try:
                v = catalog.create_version(p, dataset_id, **data)
            except DomainError as e:
                errors = flash_error(e)
            else:
                return redirect(url_for("vendor_web.version", version_id=v.id))
        status = 400
    return _dataset_page(p, ds, version_errors=errors), status


def _dataset_page(p: Principal, ds: Dataset, *, version_errors: dict[str, Any] | None = None, offer_errors: dict[str, Any] | None = None,
                  offer_form: dict[str, Any] | None = None) -> str:
    versions = catalog.list_versions(p, ds.id)
    offers = commerce.list_offers(p, ds.id)
    licenses = [lic for lic in list_licenses() if lic.owner_org_id in (None, ds.organization_id)]
    return render_template("vendor/dataset.html", ds=ds, versions=versions, offers=offers, licenses=licenses, errors=version_errors or {},
                           offer_errors=offer_errors or {}, offer_form=offer_form or {"currency": "EUR", "pricing_unit": "gib", "min_quantity": "1"})


@bp.post("/datasets/<uuid:dataset_id>/visibility")
@signed_in
def set_visibility(dataset_id: uuid.UUID):
    p = current_principal()
    data, _errors = load(catalog_schemas.DatasetUpdateSchema(), {"visibility": request.form.get("visibility", "")})
    if data is not None:
        try:
            catalog.update_dataset(p, dataset_id, **data)
            flash(f"Visibility is now “{data['visibility']}”.", "ok")
        except NotFound:
            abort(404)
        except DomainError as e:
            flash_error(e)
    return redirect(url_for("vendor_web.dataset", dataset_id=dataset_id))


# --------------------------------------------------------------------------- offers


def _minor_units(raw: str, currency: str) -> tuple[int | None, str | None]:
    """A price typed in major units, as minor units of `currency` (or the reason it is not one)."""
    try:
        return parse_major(raw, currency if len(currency) == 3 else "EUR").minor, None
    except MoneyError as e:
        return None, f"A price such as 12.50: {e}"


def _int_or_raw(raw: str | None) -> Any:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return ascii_int(raw)
    except ValueError:
        return raw  # the schema names it: "Not a valid integer."


@bp.post("/datasets/<uuid:dataset_id>/offers")
@signed_in
def create_offer(dataset_id: uuid.UUID):
    """Put the dataset on sale under one licence, priced per record, GiB, download or term."""
    p = current_principal()
    try:
        ds = catalog.get_dataset(p, dataset_id)
    except NotFound:
        abort(404)
    f = request.form.to_dict()
    price_minor, price_error = _minor_units(f.get("unit_price", ""), f.get("currency", "").strip())
    body: dict[str, Any] = {"title": f.get("title", ""), "license": f.get("license", ""), "version_id": f.get("version_id") or None,
                            "pricing_unit": f.get("pricing_unit", ""), "currency": f.get("currency", "").strip(),
                            "unit_price_minor": price_minor, "min_quantity": _int_or_raw(f.get("min_quantity")) or 1,
                            "included_quota": _int_or_raw(f.get("included_quota")) or 0, "term_days": _int_or_raw(f.get("term_days")),
                            "free_sample": f.get("free_sample") == "yes"}
    data, errors = load(commerce_schemas.OfferCreateSchema(), body)
    if price_error or "unit_price_minor" in errors:
        errors["unit_price"] = price_error or "A price such as 12.50."
        data = None
    if data is not None:
        try:
            commerce.create_offer(p, dataset_id, **data)
        except NotFound:
            abort(404)
        except DomainError as e:
            errors = flash_error(e)
        else:
            flash("The offer is on sale.", "ok")
            return redirect(url_for("vendor_web.dataset", dataset_id=dataset_id))
    return _dataset_page(p, ds, offer_errors=errors, offer_form=f), 400


@bp.post("/offers/<uuid:offer_id>/active")
@signed_in
def toggle_offer(offer_id: uuid.UUID):
    p = current_principal()
    try:
        offer = commerce.update_offer(p, offer_id, active=request.form.get("active") == "yes")
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("vendor_web.index"))
    flash("Offer " + ("reopened." if offer.active else "closed to new orders; existing grants keep working."), "ok")
    return redirect(url_for("vendor_web.dataset", dataset_id=offer.dataset_id))


# --------------------------------------------------------------------------- the new-version wizard


def _version_or_404(version_id: uuid.UUID) -> tuple[Principal, DatasetVersion, Dataset]:
    p = current_principal()
    try:
        v, ds = catalog.get_version(p, version_id)
    except NotFound:
        abort(404)
    if not is_owner_member(p, ds):  # the vendor console is for the vendor's own members
        abort(404)
    return p, v, ds


@bp.get("/versions/<uuid:version_id>")
@signed_in
def version(version_id: uuid.UUID):
    """The wizard: 1 metadata, 2 files (browser upload), 3 licence, 4 provenance, 5 publish."""
    p, v, ds = _version_or_404(version_id)
    return _wizard(p, v, ds)


def _wizard(p: Principal, v: DatasetVersion, ds: Dataset, *, prov_errors: dict[str, Any] | None = None, prov_form: dict[str, Any] | None = None,
            status: int = 200) -> tuple[str, int]:
    files = catalog.list_files(p, v.id)
    decl = current_declaration(v.id)
    lic = version_license(v.id)
    licenses = [lic for lic in list_licenses() if lic.owner_org_id in (None, ds.organization_id)]
    # A new version starts from the previous one's licence and declaration, as proposals the
    # vendor confirms (a declaration is attested by a person, per version: never copied silently).
    prev = _previous_version(p, v) if v.status == "draft" and (lic is None or decl is None) else None
    prev_lic = version_license(prev.id) if prev is not None and lic is None else None
    prev_decl = current_declaration(prev.id) if prev is not None and decl is None else None
    form = prov_form if prov_form is not None else _declaration_to_form(decl.body if decl else (prev_decl.body if prev_decl else None))
    org = identity.get_organization(p, ds.organization_id)
    return render_template("vendor/version.html", v=v, ds=ds, org=org, files=files, lic=lic, licenses=licenses, decl=decl, prev=prev, prev_lic=prev_lic,
                           prev_decl=prev_decl if prov_form is None else None,
                           pf=form, perr=prov_errors or {}, source_kinds=licensing_schemas.SOURCE_KINDS, lawful_bases=licensing_schemas.LAWFUL_BASES,
                           sensitive=SENSITIVE, draft=v.status == "draft", overlap=overlap.version_overlap(p, v.id)), status


def _previous_version(p: Principal, v: DatasetVersion) -> DatasetVersion | None:
    """The dataset's newest other version made before this one (the one a new version follows)."""
    earlier = [o for o in catalog.list_versions(p, v.dataset_id) if o.id != v.id and o.created_at <= v.created_at]
    return max(earlier, key=lambda o: o.created_at, default=None)


SENSITIVE = ("health", "biometric", "genetic", "ethnicity", "religion", "political", "sexual-orientation", "trade-union", "criminal", "children")
SOURCE_FIELDS = ("kind", "name", "license", "url", "contract_reference", "version_id", "crawl_start", "crawl_end", "relation", "description",
                 "model_name", "model_provider")


@bp.post("/versions/<uuid:version_id>/changelog")
@signed_in
def save_changelog(version_id: uuid.UUID):
    p, v, ds = _version_or_404(version_id)
    data, _ = load(catalog_schemas.VersionUpdateSchema(), {"changelog": request.form.get("changelog", "")})
    if data is not None:
        try:
            catalog.update_version(p, version_id, **data)
            flash("Changelog saved.", "ok")
        except DomainError as e:
            flash_error(e)
    return redirect(url_for("vendor_web.version", version_id=version_id) + "#step-1")


def _act_on_version(version_id: uuid.UUID, anchor: str, act: Callable[[Principal], str]) -> Any:
    """A wizard action: the service call (which returns what to tell the vendor), its refusal
    shown at the top of the page, and back to the step it belongs to."""
    p, _v, _ds = _version_or_404(version_id)
    try:
        flash(act(p), "ok")
    except DomainError as e:
        flash_error(e)
    return redirect(url_for("vendor_web.version", version_id=version_id) + anchor)


@bp.post("/versions/<uuid:version_id>/license")
@signed_in
def set_license(version_id: uuid.UUID):
    return _act_on_version(version_id, "#step-3",
                           lambda p: f"Licence set: {set_version_license(p, version_id, identifier=request.form.get('license', ''))[1].name}.")


def _declaration_to_form(body: dict[str, Any] | None) -> dict[str, Any]:
    """The stored declaration as form values, so a revision starts from the current one."""
    body = body or {}
    sources = [{k: ("" if s.get(k) is None else str(s.get(k))) for k in SOURCE_FIELDS} | {"opt_outs_respected": s.get("opt_outs_respected")}
               for s in body.get("sources", [])]
    while len(sources) < 3:
        sources.append({k: "" for k in SOURCE_FIELDS} | {"relation": "derived"})
    pd = body.get("personal_data") or {}
    col = body.get("collection") or {}
    return {"sources": sources, "pd_status": pd.get("status", ""), "pd_method": pd.get("anonymisation_method") or "",
            "pd_categories": pd.get("sensitive_categories", []), "period_start": col.get("period_start") or "", "period_end": col.get("period_end") or "",
            "geography": ", ".join(col.get("geography", [])), "lawful_basis": col.get("lawful_basis") or "",
            "workforce": (body.get("annotation") or {}).get("workforce") or "", "limitations": body.get("limitations", ""), "biases": body.get("biases", "")}


def _form_to_declaration(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the declaration body the API takes, the values to show again)."""
    raw = form.get("source_count") or ""
    n = min(ascii_int(raw), 200) if ASCII_INT.fullmatch(raw) and not raw.startswith("-") else 3
    sources, shown = [], []
    for i in range(n):
        row = {k: (form.get(f"s{i}_{k}") or "").strip() for k in SOURCE_FIELDS}
        respected = form.get(f"s{i}_opt_outs_respected") or ""
        shown.append(row | {"opt_outs_respected": {"yes": True, "no": False}.get(respected)})
        if not row["name"] and not row["kind"]:
            continue  # an empty row
        src: dict[str, Any] = {k: v for k, v in row.items() if v}
        if respected in ("yes", "no"):
            src["opt_outs_respected"] = respected == "yes"
        sources.append(src)
    pd: dict[str, Any] = {"status": form.get("pd_status") or None, "sensitive_categories": form.getlist("pd_categories")}
    if form.get("pd_method"):
        pd["anonymisation_method"] = form.get("pd_method")
    collection: dict[str, Any] = {"geography": [g.upper() if len(g) == 2 else g for g in _split(form.get("geography"))]}
    for k in ("period_start", "period_end", "lawful_basis"):
        if form.get(k):
            collection[k] = form.get(k)
    body = {"sources": sources, "personal_data": pd, "collection": collection, "limitations": form.get("limitations", ""),
            "biases": form.get("biases", ""), "attest": form.get("attest") == "yes"}
    if form.get("workforce"):
        body["annotation"] = {"workforce": form.get("workforce")}
    while len(shown) < 3:
        shown.append({k: "" for k in SOURCE_FIELDS})
    values = {"sources": shown, "pd_status": form.get("pd_status", ""), "pd_method": form.get("pd_method", ""), "pd_categories": form.getlist("pd_categories"),
              "period_start": form.get("period_start", ""), "period_end": form.get("period_end", ""), "geography": form.get("geography", ""),
              "lawful_basis": form.get("lawful_basis", ""), "workforce": form.get("workforce", ""), "limitations": form.get("limitations", ""),
              "biases": form.get("biases", "")}
    return body, values


@bp.post("/versions/<uuid:version_id>/provenance")
@signed_in
def declare_provenance(version_id: uuid.UUID):
    """The provenance form: sources, collection, personal data, annotation, and the attestation."""
    p, v, ds = _version_or_404(version_id)
    body, values = _form_to_declaration(request.form)
    data, errors = load(licensing_schemas.ProvenanceDeclareSchema(), body)
    if data is not None and not data["attest"]:
        errors = {"attest": "Tick the box to attest that the declaration is accurate."}
        flash("The declaration is not attested yet.", "error")
        data = None
    if data is not None:
        attest = data.pop("attest")
        try:
            decl = declare(p, version_id, body=data, attest=attest)
        except DomainError as e:
            errors = flash_error(e)
        else:
            flash(f"Provenance declared (revision {decl.revision}).", "ok")
            return redirect(url_for("vendor_web.version", version_id=version_id) + "#step-4")
    return _wizard(p, v, ds, prov_errors=errors, prov_form=values, status=400)


@bp.post("/versions/<uuid:version_id>/overlap/fields")
@signed_in
def overlap_fields(version_id: uuid.UUID):
    """The fields whose text overlap detection compares (empty: every text-bearing field)."""
    p, v, ds = _version_or_404(version_id)
    names = [n.strip() for n in request.form.get("fields", "").split(",") if n.strip()]
    data, errors = load(overlap_schemas.TextFieldsSchema(), {"fields": names or None})
    if data is None:
        flash("Fields: " + "; ".join(str(m) for m in errors.values()), "error")
    else:
        try:
            overlap.set_text_fields(p, version_id, **data)
            flash("Fields saved: " + (", ".join(names) if names else "every field that reads as text") + ".", "ok")
        except DomainError as e:
            flash_error(e)
    return redirect(url_for("vendor_web.version", version_id=version_id) + "#overlap")


@bp.post("/versions/<uuid:version_id>/overlap/appeal")
@signed_in
def overlap_appeal(version_id: uuid.UUID):
    """Ask platform compliance to let a held version publish."""
    p, v, ds = _version_or_404(version_id)
    data, errors = load(overlap_schemas.AppealSchema(), {"reason": request.form.get("reason", "")})
    if data is None:
        flash("Say why you hold the rights to this data.", "error")
    else:
        try:
            overlap.appeal(p, version_id, **data)
            flash("Appeal sent to platform compliance.", "ok")
        except DomainError as e:
            flash_error(e)
    return redirect(url_for("vendor_web.version", version_id=version_id) + "#overlap")


@bp.post("/versions/<uuid:version_id>/publish")
@signed_in
def publish(version_id: uuid.UUID):
    """Hand the version to ingest; the page then shows the verification result."""
    p, v, ds = _version_or_404(version_id)
    try:
        catalog.request_publish(p, version_id)
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("vendor_web.version", version_id=version_id) + "#step-5")
    v, _ds = catalog.get_version(p, version_id)
    if v.status == "published":
        flash(f"Version {v.version} is published: every file was verified.", "ok")
    elif v.status == "processing":
        flash("Verifying the files; this page updates when ingest finishes.", "ok")
    else:
        flash(f"Ingest refused the version: {v.status_reason}", "error")
    return redirect(url_for("vendor_web.version", version_id=version_id) + "#step-5")


@bp.post("/versions/<uuid:version_id>/deprecate")
@signed_in
def deprecate(version_id: uuid.UUID):
    """Mark a published version deprecated: still delivered to its holders, with the reason."""
    reason = request.form.get("reason", "").strip() or None
    return _act_on_version(version_id, "#lifecycle",
                           lambda p: f"Version {catalog.deprecate_version(p, version_id, reason=reason).version} is deprecated; holders still receive it.")


@bp.post("/versions/<uuid:version_id>/withdraw")
@signed_in
def withdraw(version_id: uuid.UUID):
    """Withdraw a version: no new downloads, its holders are told why."""
    if request.form.get("confirm") != "yes":
        _version_or_404(version_id)
        flash("Tick the box to confirm: a withdrawn version cannot be delivered again.", "error")
        return redirect(url_for("vendor_web.version", version_id=version_id) + "#lifecycle")
    reason = request.form.get("reason", "")
    return _act_on_version(version_id, "#lifecycle",
                           lambda p: f"Version {catalog.withdraw_version(p, version_id, reason=reason).version} is withdrawn; its holders have been told.")


# --------------------------------------------------------------------------- sales and access


@bp.get("/sales")
@signed_in
def sales():
    """Orders for the organisation's offers (mark invoices paid) and who accessed its data."""
    p, org = caller_and_org()
    orders = commerce.list_orders(p, org, as_vendor=True)
    offers = {o.id: o for o in commerce.offers_by_id({o.offer_id for o in orders})}
    access: list[dict[str, Any]] | None
    try:
        found: list[dict[str, Any]] = []
        for action in (DeliveryAction.DELIVERY_AUTHORIZE, DeliveryAction.DELIVERY_RECORDS):
            found.extend(e for e in audit_svc.query(p, org_id=org, action=action, limit=50)["items"] if e["actor_org_id"] != str(org))
        access = sorted(found, key=lambda e: e["id"], reverse=True)
    except DomainError:
        access = None  # members do not read the audit log
    org_ids = {o.buyer_org_id for o in orders} | {uuid.UUID(e["actor_org_id"]) for e in access or [] if e.get("actor_org_id")}
    days = request.args.get("days", type=int) or 30
    stats = analytics.sales_analytics(p, org, days=days if days in WINDOWS else 30)
    return render_template("vendor/sales.html", orders=orders, offers=offers, access=access, names=identity.organization_names(org_ids),
                           can_mark=COMMERCE_POLICY.allows(p, CommercePermission.ORDER_MARK_PAID, vendor=org), stats=stats, windows=WINDOWS,
                           views_chart=bars_svg(stats["daily"], "views", "Page views per day"), orders_chart=bars_svg(stats["daily"], "orders", "Paid orders per day"))


WINDOWS = (7, 30, 90, 365)


def bars_svg(series: list[dict[str, Any]], key: str, label: str, *, width: int = 640, height: int = 120) -> str:
    """A small bar chart of one daily figure, drawn on the server (no script, no external
    library): one bar per day, the highest labelled, each bar titled with its day and value."""
    values = [int(d[key]) for d in series]
    top = max(values, default=0) or 1
    n = max(len(values), 1)
    bar = width / n
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{escape(label)}: {sum(values)} in {len(values)} days" '
             f'width="{width}" height="{height + 18}" viewBox="0 0 {width} {height + 18}">']
    for i, (d, v) in enumerate(zip(series, values, strict=True)):
        h = round(v / top * height, 1)
        parts.append(f'<rect x="{i * bar:.1f}" y="{height - h}" width="{max(bar - 1, 1):.1f}" height="{h}" fill="#0b5cad"><title>{d["day"]}: {v}</title></rect>')
    parts.append(f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#9aa3ad"/>')
    parts.append(f'<text x="0" y="{height + 14}" font-size="11" fill="#5b6470">{series[0]["day"] if series else ""}</text>')
    parts.append(f'<text x="{width}" y="{height + 14}" font-size="11" fill="#5b6470" text-anchor="end">{series[-1]["day"] if series else ""}</text>')
    most = max(values) if values else 0
    parts.append(f'<text x="2" y="12" font-size="11" fill="#5b6470">max {most}</text></svg>')
    return "".join(parts)


@bp.get("/orders/<uuid:order_id>/paid")
@signed_in
def confirm_paid(order_id: uuid.UUID):
    """Ask before recording a payment: it starts the buyer's grant and cannot be undone here."""
    p = current_principal()
    try:
        order = commerce.get_order(p, order_id)
    except NotFound:
        abort(404)
    if order.vendor_org_id not in p.memberships:
        abort(404)
    names = identity.organization_names({order.buyer_org_id})
    return render_template("vendor/confirm_paid.html", order=order, buyer=names.get(order.buyer_org_id, "?"))


@bp.post("/orders/<uuid:order_id>/paid")
@signed_in
def mark_paid(order_id: uuid.UUID):
    """Record that an invoice was paid (after the confirmation page): the buyer's grant starts now."""
    p = current_principal()
    if request.form.get("confirm") != "yes":
        flash("Confirm that the money arrived before marking the order paid.", "error")
        return redirect(url_for("vendor_web.confirm_paid", order_id=order_id))
    try:
        order = commerce.mark_paid(p, order_id)
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
    else:
        flash(f"Order {order.number} is paid; the buyer's grant is active.", "ok")
    return redirect(url_for("vendor_web.sales"))


@bp.post("/orders/<uuid:order_id>/reject")
@signed_in
def reject_order(order_id: uuid.UUID):
    """Decline an unpaid invoice order, with a reason the buyer sees."""
    p = current_principal()
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash("Say why the order is rejected; the buyer sees it.", "error")
        return redirect(url_for("vendor_web.sales"))
    try:
        order = commerce.reject_order(p, order_id, reason=reason[:500])
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
    else:
        flash(f"Order {order.number} is rejected.", "ok")
    return redirect(url_for("vendor_web.sales"))
