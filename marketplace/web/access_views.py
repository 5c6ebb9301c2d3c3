"""Pages of gated access: the request form on a dataset's page posts here; the access-requests
page is the buyer's list and the vendor's inbox (approve, with an optional private offer, or
reject with a reason; overdue requests flagged; the CSV report); vendors set the gate and their
questions on the dataset's access page. Same services as the API."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from catalog import policy as catalog_policy
from catalog.services import access
from catalog.services import datasets as catalog
from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import DomainError, NotFound
from marketplace.web.common import active_org_id, flash_error, signed_in

bp = Blueprint("access_web", __name__)


@bp.post("/datasets/<uuid:dataset_id>/access-request")
@signed_in
def ask(dataset_id: uuid.UUID):
    p = current_principal()
    org = active_org_id(p)
    if org is None:
        abort(404)
    gate = access.get_gate(p, dataset_id)
    if gate is None:
        abort(404)
    answers: dict[str, Any] = {}
    for q in gate.fields:
        key = f"answer-{q['name']}"
        if q["type"] == "checkbox":
            answers[q["name"]] = request.form.get(key) == "yes"
        elif request.form.get(key, "").strip():
            answers[q["name"]] = request.form[key].strip()
    try:
        access.request_access(p, dataset_id, org_id=org, answers=answers)
    except DomainError as e:
        flash_error(e)
        if e.errors and isinstance(e.errors.get("answers"), dict):
            for name, msgs in e.errors["answers"].items():
                flash(f"{name}: {' '.join(msgs)}", "error")
    else:
        flash("Your request is sent. The vendor answers within its stated response time; you will be notified.", "ok")
    return redirect(url_for("catalog_web.dataset_page", dataset_id=dataset_id) + "#access")


@bp.get("/access-requests")
@signed_in
def index():
    p = current_principal()
    org = active_org_id(p)
    if org is None:
        abort(404)
    mine = access.list_requests(p, org, as_vendor=False)
    try:
        inbox = access.list_requests(p, org, as_vendor=True)
    except DomainError:
        inbox = []
    return render_template("access/index.html", mine=mine, inbox=inbox, org=org)


@bp.post("/access-requests/<uuid:request_id>/<action>")
@signed_in
def decide(request_id: uuid.UUID, action: str):
    p = current_principal()
    try:
        if action == "approve":
            offer = None
            if request.form.get("offer") == "yes":
                offer = {"title": request.form.get("offer_title", "").strip()[:200] or "Private offer", "license": request.form.get("offer_license", "").strip()[:128],
                         "pricing_unit": request.form.get("offer_unit", "records"), "unit_price_minor": _int("offer_price_minor"),
                         "currency": request.form.get("offer_currency", "EUR").strip().upper()[:3], "included_quota": _int("offer_quota"),
                         "term_days": _int("offer_term_days") or None, "version_id": None}
            access.decide(p, request_id, approve=True, reason=request.form.get("reason", "")[:200] or None, offer=offer)
            flash("Approved. The buyer is notified.", "ok")
        elif action == "reject":
            access.decide(p, request_id, approve=False, reason=request.form.get("reason", "")[:200])
            flash("Rejected. The buyer reads your reason.", "ok")
        elif action == "withdraw":
            access.withdraw(p, request_id)
            flash("Your request is withdrawn.", "ok")
        else:
            abort(404)
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
    return redirect(url_for("access_web.index"))


def _int(name: str) -> int:
    raw = (request.form.get(name) or "0").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 16 else -1


@bp.route("/vendor/datasets/<uuid:dataset_id>/access", methods=["GET", "POST"])
@signed_in
def gate(dataset_id: uuid.UUID):
    """The vendor's gate: what is on request, the response time, and the questions, one per line:
    `name | type | label | required or optional | options (select, comma-separated) or terms (checkbox)`."""
    p = current_principal()
    try:
        ds = catalog.get_dataset(p, dataset_id)
    except NotFound:
        abort(404)
    if not catalog_policy.can_read_private(p, ds):
        abort(404)  # the vendor's page: nobody else's business
    current = access.get_gate(p, dataset_id)
    if request.method == "POST":
        try:
            fields = parse_questions(request.form.get("questions", ""))
            access.set_gate(p, dataset_id, samples=request.form.get("samples") == "yes", private_offers=request.form.get("private_offers") == "yes",
                            questions=fields, response_days=_int("response_days"),
                            instructions=request.form.get("instructions", "")[:2000])
        except DomainError as e:
            flash_error(e)
            if e.errors and isinstance(e.errors.get("questions"), dict):
                for i, msgs in e.errors["questions"].items():
                    flash(f"Question {int(i) + 1}: {'; '.join(msgs)}", "error")
        else:
            flash("Saved.", "ok")
            return redirect(url_for("access_web.gate", dataset_id=dataset_id))
    return render_template("access/gate.html", ds=ds, gate=current, questions=format_questions(current.fields if current else []),
                           form_text=request.form.get("questions") if request.method == "POST" else None)


def parse_questions(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines()[:50]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [x.strip() for x in line.split("|")]
        parts += [""] * (5 - len(parts))
        name, kind, label, need, extra = parts[:5]
        q: dict[str, Any] = {"name": name, "type": kind, "label": label or name, "required": need != "optional"}
        if kind == "select":
            q["options"] = [o.strip() for o in extra.split(",") if o.strip()]
        if kind == "checkbox":
            q["terms"] = extra
        out.append(q)
    return out


def format_questions(fields: list[dict[str, Any]]) -> str:
    lines = []
    for q in fields:
        extra = ", ".join(q.get("options", [])) if q["type"] == "select" else q.get("terms", "") if q["type"] == "checkbox" else ""
        lines.append(" | ".join([q["name"], q["type"], q["label"], "required" if q["required"] else "optional", extra]).rstrip(" |"))
    return "\n".join(lines)
