"""Compliance console: audit search with filters, the verification status of the log, provenance
reports of held datasets, the data bill of materials (CycloneDX or SPDX) as a download, and the
organisation's models with their regulatory documents.

Platform compliance sees every organisation; an organisation's owners, admins and auditors see
their own, under the same rules as the audit API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import marshmallow as ma
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from catalog.overlap import schemas as overlap_schemas
from catalog.overlap import services as overlap
from marketplace.auditlog import services as audit_svc
from marketplace.compliance import services as compliance
from marketplace.compliance import training
from marketplace.identity import services as identity
from marketplace.identity.auth import current_principal
from marketplace.kernel.audit import all_actions
from marketplace.kernel.errors import DomainError, Forbidden, NotFound, ValidationFailed
from marketplace.kernel.principal import Principal
from marketplace.web.common import active_org_id, flash_error, signed_in

bp = Blueprint("compliance_web", __name__, url_prefix="/compliance")

FILTERS = ("action", "outcome", "subject_type", "subject_id")


def _date(raw: str | None, field: str, errors: dict[str, str]) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=timezone.utc)
    except ValueError:
        errors[field] = "A date such as 2026-11-21."
        return None


def _scope_org(p: Principal) -> uuid.UUID | None:
    """Platform compliance may look at every organisation (no org) or pick one; others: their active one."""
    raw = request.args.get("org")
    if p.platform_compliance:
        if not raw:
            return None
        try:
            return uuid.UUID(raw)
        except ValueError:
            abort(404)
    return active_org_id(p)


@bp.get("/")
@signed_in
def console():
    """Audit search (filters, newest first, cursor pagination) and the verification panel."""
    p = current_principal()
    org = _scope_org(p)
    if org is None and not p.platform_compliance:
        raise Forbidden("The compliance console needs an organisation (or the platform compliance role).")
    return _render(p, org, request.args)


@bp.get("/overlaps")
@signed_in
def overlaps():
    """Platform staff: versions held for overlap with another vendor's data, with their appeals
    and the decision forms; and which datasets overlap with a given one."""
    p = current_principal()
    try:
        held = overlap.held_versions(p)
    except DomainError:
        abort(404)
    found, asked = None, (request.args.get("dataset") or "").strip()
    if asked:
        try:
            found = overlap.dataset_overlaps(p, uuid.UUID(asked))
        except (ValueError, NotFound):
            found = {"error": "No dataset has that id."}
    return render_template("compliance/overlaps.html", held=held, found=found, asked=asked)


@bp.post("/overlaps/<uuid:version_id>")
@signed_in
def overlap_decision(version_id: uuid.UUID):
    """Platform compliance lets a held version publish, or keeps it held."""
    p = current_principal()
    try:
        data = overlap_schemas.DecisionSchema().load({"allow": request.form.get("allow") == "1", "note": request.form.get("note", "")})
    except ma.ValidationError as e:
        messages = e.messages.get("note", ["is not valid"]) if isinstance(e.messages, dict) else e.messages
        flash("The note: " + "; ".join(str(m) for m in messages), "error")
        return redirect(url_for("compliance_web.overlaps"))
    try:
        overlap.decide(p, version_id, **data)
        flash("Decision recorded; the vendor publishes again to use it." if data["allow"] else "The version stays held.", "ok")
    except DomainError as e:
        flash_error(e)
    return redirect(url_for("compliance_web.overlaps"))


@bp.post("/verify")
@signed_in
def verify():
    """Run the verification the caller may run and show its result above the latest events."""
    p = current_principal()
    raw = request.form.get("org") or ""
    org = None
    if raw:
        try:
            org = uuid.UUID(raw)
        except ValueError:
            abort(404)
    elif not p.platform_compliance:
        org = active_org_id(p)
    try:
        report = audit_svc.verify_for(p, org).to_dict()
    except NotFound:
        abort(404)
    return _render(p, org, {"org": str(org)} if org and p.platform_compliance else {}, verification=report)


def _render(p: Principal, org: uuid.UUID | None, args: Any, verification: dict[str, Any] | None = None) -> str:
    errors: dict[str, str] = {}
    filters = {k: args.get(k) or None for k in FILTERS}
    since, until = _date(args.get("since"), "since", errors), _date(args.get("until"), "until", errors)
    if since and until and since >= until:
        errors["until"] = "‘Before’ must be later than ‘From’: nothing can match this range."
    if filters["action"] and filters["action"] not in all_actions():
        errors["action"] = "Choose an action from the list."
    res: dict[str, Any] = {"items": [], "next_cursor": None}
    error = None
    if not errors:
        try:
            res = audit_svc.query(p, org_id=org, since=since, until=until, cursor=args.get("cursor") or None, limit=50, **filters)
        except NotFound:
            abort(404)
        except ValidationFailed as e:  # a stale or edited cursor: say so, show the search again
            error = e.detail
    names = identity.organization_names({uuid.UUID(x) for e in res["items"] for x in (e.get("actor_org_id"), e.get("subject_org_id")) if x})
    subjects = compliance.subject_labels([(e.get("subject_type"), e.get("subject_id")) for e in res["items"]])
    held, models = [], []
    if org is not None:
        try:
            held = compliance.held_versions(p, org)
            models = training.list_models(p, org)
        except DomainError:
            held, models = [], []
    next_url = url_for("compliance_web.console", **{k: v for k, v in args.items() if k != "cursor"}, cursor=res["next_cursor"]) if res["next_cursor"] else None
    witnessed = audit_svc.witnessed_checkpoint()
    return render_template("compliance/console.html", res=res, names=names, subjects=subjects, org=org, filters=filters, args=args, errors=errors, error=error,
                           held=held, models=models, actions=all_actions(), next_url=next_url, verification=verification, checked_at=datetime.now(timezone.utc),
                           witnessed=json.dumps(witnessed, indent=1, sort_keys=True) if witnessed else None,
                           key_id=(verification or {}).get("key_id") or audit_svc.key_id_of_platform())


@bp.get("/bom.<fmt>")
@signed_in
def bom(fmt: str):
    """The organisation's data bill of materials as a file."""
    p = current_principal()
    org = _scope_org(p) or active_org_id(p)
    if org is None or fmt not in ("cdx.json", "spdx.json"):
        abort(404)
    try:
        body = compliance.bom_spdx(p, org) if fmt == "spdx.json" else compliance.bom_cyclonedx(p, org)
    except NotFound:
        abort(404)
    mimetype = "application/spdx+json" if fmt == "spdx.json" else "application/vnd.cyclonedx+json"
    return Response(json.dumps(body, indent=2), mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="data-bom-{org}.{fmt}"'})


@bp.get("/reports/<uuid:version_id>")
@signed_in
def report(version_id: uuid.UUID):
    """A provenance report, readable and printable (the API serves the same as JSON)."""
    p = current_principal()
    try:
        rep = compliance.provenance_report(p, version_id)
    except NotFound:
        abort(404)
    return Response(compliance.render_report_html(rep), mimetype="text/html")
