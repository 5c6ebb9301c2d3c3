"""Web pages: sign-in, registration, the organisation switcher and the home page.

Pages call the same services as the API. Every form carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import pycountry
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from catalog.services import datasets as catalog
from catalog.services import search as search_svc
from marketplace.commerce import services as commerce
from marketplace.identity import services
from marketplace.identity.api import end_browser_session, start_browser_session
from marketplace.identity.auth import current_principal
from marketplace.identity.schemas import mask_iban
from marketplace.kernel.errors import DomainError, Forbidden, NotFound
from marketplace.kernel.http import anonymous_principal
from marketplace.web.common import flash_error, local_path
from marketplace.web.forms import LoginForm, RegisterForm

bp = Blueprint("web", __name__)


@bp.app_context_processor
def _inject():
    """Templates see the signed-in user and the active organisation, and what a person typed
    into this page's form before their session expired (filled back in by app.js)."""
    try:
        p = current_principal()
    except DomainError:
        p = anonymous_principal()
    orgs = services.list_my_organizations(p) if p.authenticated else []
    active = session.get("org_id")
    active_org = next((o for o, _ in orgs if str(o.id) == active), orgs[0][0] if orgs else None)
    kept = session.get("resume")
    resume = None
    if p.authenticated and request.method == "GET" and isinstance(kept, dict) and kept.get("path") == request.path:
        resume = session.pop("resume").get("fields")
    return {"principal": p, "my_orgs": orgs, "active_org": active_org, "resume": resume}


# What is never kept across a sign-in: secrets, and the token that failed.
_NOT_KEPT = ("csrf_token", "password", "secret", "iban", "token")
_KEEP_LIMIT = 2500  # the session is a signed cookie (4 KB in all)


def resume_after_sign_in() -> Any:
    """A form sent from this site after the session expired: keep what was typed (no secrets),
    and send the person to sign in, then back to the page they were on, where the form is
    filled in again. None when there is nothing to keep (the caller answers 400)."""
    back = local_path(urlsplit(request.headers.get("Referer", "")).path or request.path, "")
    if not back or request.method != "POST":
        return None
    fields = {k: v for k, v in request.form.items() if not any(word in k.lower() for word in _NOT_KEPT)}
    if len(json.dumps(fields)) <= _KEEP_LIMIT:
        session["resume"] = {"path": back, "fields": fields}
        flash("Your session had ended, so nothing was saved. Sign in again: what you typed is kept.", "error")
    else:
        flash("Your session had ended, so nothing was saved. Sign in again and send the form once more.", "error")
    if session.get("user_id"):
        return redirect(back)  # signed in (a stale page's token): back to a fresh page
    return redirect(url_for("web.login", next=back))


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the same icon, not a 404."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def home():
    """The start page: search, domains with their dataset counts, new and most licensed datasets,
    and a way in for buyers and for vendors."""
    p = current_principal()
    new = search_svc.search(p, sort="newest", limit=6)
    counts = {f["value"]: f["count"] for f in new["facets"].get("domain", [])}
    domains = sorted(catalog.list_domains(), key=lambda d: (-counts.get(d.slug, 0), d.label))
    featured = search_svc.public_cards(commerce.most_licensed(12))[:6]
    return render_template("home.html", new=new["items"], total=new["total"], domains=domains, domain_counts=counts, featured=featured,
                           signed_in=p.authenticated)


@bp.get("/workspace")
def workspace():
    """Where a signed-in user works: the vendor console for an approved vendor's members, the
    compliance console for platform compliance, otherwise the buyer's dashboard."""
    p = current_principal()
    if not p.authenticated:
        return redirect(url_for("web.login", next=url_for("web.workspace")))
    orgs = services.list_my_organizations(p)
    active = session.get("org_id")
    org = next((o for o, _ in orgs if str(o.id) == active), orgs[0][0] if orgs else None)
    if org is not None and org.is_approved_vendor:
        return redirect(url_for("vendor_web.index"))
    if p.platform_compliance and org is None:
        return redirect(url_for("compliance_web.console"))
    return redirect(url_for("buyer_web.dashboard"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(anonymous_principal(), email=form.email.data, password=form.password.data)
        except DomainError as e:
            flash(e.detail, "error")
            return render_template("login.html", form=form), 401
        kept = session.get("resume")  # what a form held when the last session ended
        start_browser_session(user.id)
        if isinstance(kept, dict):
            session["resume"] = kept
        # Only same-site paths: an open redirect would make phishing easy. Without one, the
        # user's workspace (what they came to do), not the marketing page.
        return redirect(local_path(request.args.get("next"), url_for("web.workspace")))
    return render_template("login.html", form=form), 400 if form.errors else 200


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(
                anonymous_principal(), email=form.email.data, password=form.password.data, name=form.name.data,
                organization_name=form.organization_name.data or None,
            )
        except DomainError as e:
            for field, msgs in (e.errors or {}).items():
                if hasattr(form, field):
                    getattr(form, field).errors = list(msgs)
            flash(e.detail, "error")
            return render_template("register.html", form=form), e.status
        start_browser_session(user.id)
        flash("Welcome! Your account is ready.", "ok")
        return redirect(url_for("web.home"))
    return render_template("register.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout():
    end_browser_session()
    return redirect(url_for("web.home"))


@bp.post("/switch-org")
def switch_org():
    """Choose which organisation the pages act for."""
    p = current_principal().require_authenticated()
    try:
        org_id = uuid.UUID(request.form.get("org_id", ""))
    except ValueError:
        org_id = None
    if org_id is None or org_id not in p.memberships:
        flash("You are not a member of that organisation.", "error")
    else:
        session["org_id"] = str(org_id)
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url) else url_for("web.home"))


@bp.get("/vendors/<slug>")
def vendor_page(slug: str):
    """An approved vendor's public profile and its listed datasets."""
    try:
        org = services.vendor_profile(slug)
    except NotFound:
        abort(404)
    res = search_svc.search(current_principal(), sort="newest", limit=24, vendor=[org.id])
    country = pycountry.countries.get(alpha_2=org.country) if org.country else None
    return render_template("vendor_profile.html", org=org, res=res, country=country.name if country else org.country)


@bp.get("/admin/vendors")
def admin_vendors():
    """Vendor applications waiting for a platform admin, and the recent decisions."""
    p = current_principal()
    try:
        orgs = services.list_organizations_admin(p, vendor_status=None)
    except DomainError:
        abort(404)  # not a page for anyone else
    pending = [o for o in orgs if o.vendor_status.value == "pending"]
    decided = sorted((o for o in orgs if o.vendor_decided_at is not None), key=lambda o: o.vendor_decided_at or o.created_at, reverse=True)[:50]
    return render_template("admin_vendors.html", pending=pending, decided=decided, mask_iban=mask_iban)


@bp.post("/admin/vendors/<uuid:org_id>/decision")
def vendor_decision(org_id: uuid.UUID):
    p = current_principal()
    approve = request.form.get("decision") == "approve"
    try:
        org = services.decide_vendor(p, org_id, approve=approve, reason=request.form.get("reason", "").strip() or None)
    except Forbidden:
        abort(404)
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("web.admin_vendors"))
    flash(f"{org.name} is {'approved: its listings can go live' if approve else 'rejected; the reason is shown to it'}.", "ok")
    return redirect(url_for("web.admin_vendors"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """An e-mailed invitation: who invites whom to what; sign in (or register) with the invited
    address, then join with one click. 404 for an unknown or revoked link, 410 once used or expired."""
    p = current_principal()
    if request.method == "POST":
        try:
            m, org = services.accept_invitation(p, token)
        except DomainError as e:
            if e.status in (404, 410):
                raise
            flash_error(e)
            return redirect(url_for("web.invitation", token=token))
        session["org_id"] = str(org.id)
        flash(f"Welcome to {org.name}: you are a {m.role.value} now.", "ok")
        return redirect(url_for("web.workspace"))
    inv, org = services.invitation_for(token)
    return render_template("invitation.html", inv=inv, org=org)
