"""Web pages: sign-in, registration, the organisation switcher and the home page.

Pages call the same services as the API. Every form carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from marketplace.identity import services
from marketplace.identity.api import end_browser_session, start_browser_session
from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import DomainError
from marketplace.kernel.http import anonymous_principal
from marketplace.web.common import local_path
from marketplace.web.forms import LoginForm, RegisterForm

bp = Blueprint("web", __name__)


@bp.app_context_processor
def _inject():
    """Templates see the signed-in user and the active organisation."""
    try:
        p = current_principal()
    except DomainError:
        p = anonymous_principal()
    orgs = services.list_my_organizations(p) if p.authenticated else []
    active = session.get("org_id")
    active_org = next((o for o, _ in orgs if str(o.id) == active), orgs[0][0] if orgs else None)
    return {"principal": p, "my_orgs": orgs, "active_org": active_org}


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the same icon, not a 404."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def home():
    return render_template("home.html")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(anonymous_principal(), email=form.email.data, password=form.password.data)
        except DomainError as e:
            flash(e.detail, "error")
            return render_template("login.html", form=form), 401
        start_browser_session(user.id)
        # Only same-site paths: an open redirect would make phishing easy.
        return redirect(local_path(request.args.get("next"), url_for("web.home")))
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
