"""Pages of the notification centre: the bell's list, e-mail preferences, the unsubscribe link
(no sign-in: the signed link is the credential) and the organisation's webhook endpoints with
their delivery logs. They call the same services as the API."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import DomainError, NotFound
from marketplace.kernel.notify import TOPIC_TITLES, Topic
from marketplace.notifications.models import EmailMode
from marketplace.notifications.services import centre, endpoints
from marketplace.web.common import active_org_id, flash_error, local_path, signed_in

bp = Blueprint("notifications_web", __name__, url_prefix="/notifications")


@bp.app_context_processor
def _bell():
    """Every page's header shows the signed-in user's unread count."""
    try:
        p = current_principal()
    except DomainError:
        return {"unread_notifications": 0}
    return {"unread_notifications": centre.unread_count(p) if p.authenticated else 0}


@bp.get("")
@signed_in
def index():
    p = current_principal()
    unread = request.args.get("unread") == "1"
    page = centre.list_notifications(p, unread=unread, limit=100)
    return render_template("notifications/index.html", page=page, unread_only=unread, prefs=centre.preferences(p), modes=[m.value for m in EmailMode])


@bp.post("/read")
@signed_in
def mark_read():
    p = current_principal()
    one = request.form.get("id")
    try:
        centre.mark_read(p, ids=[uuid.UUID(one)] if one else None, everything=not one)
    except ValueError:
        abort(404)
    except NotFound:
        abort(404)
    if one and request.form.get("next"):
        return redirect(local_path(request.form.get("next"), url_for("notifications_web.index")))
    return redirect(url_for("notifications_web.index"))


@bp.post("/preferences")
@signed_in
def preferences():
    p = current_principal()
    modes = {m.value for m in EmailMode}
    choices = {t.value: request.form[f"email-{t.value}"] for t in Topic if f"email-{t.value}" in request.form and request.form[f"email-{t.value}"] in modes}
    try:
        centre.set_preferences(p, choices)
    except DomainError as e:
        flash_error(e)
    else:
        flash("Your e-mail preferences are saved.", "ok")
    return redirect(url_for("notifications_web.index") + "#preferences")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks to confirm (mail scanners follow links; they must not unsubscribe anyone);
    POST, from the page or a mail client's one-click button (RFC 8058), unsubscribes."""
    target = centre.unsubscribe_target(token)
    if target is None:
        return render_template("notifications/unsubscribe.html", invalid=True, done=False, topic=None), 404
    user, topic = target
    label = "all notification e-mails" if topic == "*" else f"e-mails about “{TOPIC_TITLES[Topic(topic)].lower()}”"
    if request.method == "POST":
        centre.unsubscribe(token)
        return render_template("notifications/unsubscribe.html", invalid=False, done=True, label=label, email=user.email)
    return render_template("notifications/unsubscribe.html", invalid=False, done=False, label=label, email=user.email, token=token)


# --------------------------------------------------------------------------- webhooks


def _org() -> uuid.UUID:
    org = active_org_id(current_principal())
    if org is None:
        abort(404)
    return org


@bp.get("/webhooks")
@signed_in
def webhooks():
    p = current_principal()
    org = _org()
    try:
        eps = endpoints.list_endpoints(p, org)
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("notifications_web.index"))
    return render_template("notifications/webhooks.html", endpoints=eps, topics=endpoints.SUBSCRIBABLE, titles=TOPIC_TITLES, new_secret=None, created=None)


@bp.post("/webhooks")
@signed_in
def create_webhook():
    p = current_principal()
    org = _org()
    try:
        ep, secret = endpoints.create_endpoint(p, org, url=(request.form.get("url") or "").strip()[:2000],
                                               description=(request.form.get("description") or "").strip()[:500],
                                               topics=[t for t in request.form.getlist("topics") if t in endpoints.SUBSCRIBABLE])
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("notifications_web.webhooks"))
    flash("Copy the signing secret now: it is shown only once.", "ok")
    return render_template("notifications/webhooks.html", endpoints=endpoints.list_endpoints(p, org), topics=endpoints.SUBSCRIBABLE, titles=TOPIC_TITLES,
                           new_secret=secret, created=ep)


@bp.get("/webhooks/<uuid:endpoint_id>")
@signed_in
def webhook(endpoint_id: uuid.UUID):
    p = current_principal()
    try:
        ep = endpoints.get_endpoint(p, endpoint_id)
        log = endpoints.deliveries(p, endpoint_id, limit=100)
    except NotFound:
        abort(404)
    except DomainError as e:
        flash_error(e)
        return redirect(url_for("notifications_web.index"))
    return render_template("notifications/webhook.html", ep=ep, deliveries=log, new_secret=None)


@bp.post("/webhooks/<uuid:endpoint_id>/<action>")
@signed_in
def webhook_action(endpoint_id: uuid.UUID, action: str):
    """Rotate, test, enable, disable, delete, or redeliver one message."""
    p = current_principal()
    back = redirect(url_for("notifications_web.webhook", endpoint_id=endpoint_id))
    try:
        if action == "rotate":
            ep, secret = endpoints.rotate_secret(p, endpoint_id)
            flash("Copy the new signing secret now: it is shown only once. The previous one keeps signing for a while.", "ok")
            return render_template("notifications/webhook.html", ep=ep, deliveries=endpoints.deliveries(p, endpoint_id, limit=100), new_secret=secret)
        if action == "test":
            a = endpoints.send_test(p, endpoint_id)
            flash(f"Test sent: {a.status_code or a.error} in {a.response_ms} ms.", "ok" if a.status_code and 200 <= a.status_code < 300 else "error")
        elif action in ("enable", "disable"):
            endpoints.update_endpoint(p, endpoint_id, enabled=action == "enable")
            flash(f"The endpoint is {action}d.", "ok")
        elif action == "delete":
            endpoints.delete_endpoint(p, endpoint_id)
            flash("The endpoint is deleted.", "ok")
            return redirect(url_for("notifications_web.webhooks"))
        elif action == "redeliver":
            a = endpoints.redeliver(p, endpoint_id, uuid.UUID(request.form.get("delivery_id", "")))
            flash(f"Sent again: {a.status_code or a.error} in {a.response_ms} ms.", "ok" if a.status_code and 200 <= a.status_code < 300 else "error")
        else:
            abort(404)
    except (NotFound, ValueError):
        abort(404)
    except DomainError as e:
        flash_error(e)
    return back
