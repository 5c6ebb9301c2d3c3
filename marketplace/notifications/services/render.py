"""What an announcement says: its one-line title (the bell, the e-mail subject), its link, and its
e-mail bodies, from one template per topic in plain text and HTML (`web/templates/email/`).

Titles and bodies are made from the event's own payload only, which the publishing service
limited to what the receiving organisation may see.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from marketplace.kernel.config import current_settings
from marketplace.kernel.notify import TOPIC_TITLES, Topic
from marketplace.kernel.schemas import UNSAFE_TEXT


def _name(data: dict[str, Any]) -> str:
    return str(data.get("dataset_title") or data.get("dataset_id") or "a dataset")


def title(topic: str, data: dict[str, Any]) -> str:
    """The one line the bell and the e-mail subject show."""
    t = Topic(topic)
    version = f" {data['version']}" if data.get("version") else ""
    lines: dict[Topic, str] = {
        Topic.ORDER_PAID: f"Order for {_name(data)} paid ({data.get('amount', '')})",
        Topic.ORDER_CANCELLED: f"Order for {_name(data)} cancelled",
        Topic.ORDER_REJECTED: f"Order for {_name(data)} rejected by the vendor",
        Topic.GRANT_CREATED: f"Licence grant for {_name(data)} is active",
        Topic.GRANT_EXPIRING: f"Licence grant for {_name(data)} expires in 7 days",
        Topic.GRANT_EXPIRED: f"Licence grant for {_name(data)} expired",
        Topic.GRANT_REVOKED: f"Licence grant for {_name(data)} revoked",
        Topic.QUOTA_THRESHOLD: f"{data.get('threshold_percent', '?')} % of the quota for {_name(data)} used",
        Topic.VERSION_PUBLISHED: f"New version{version} of {_name(data)} published",
        Topic.VERSION_WITHDRAWN: f"Version{version} of {_name(data)} withdrawn",
        Topic.INGEST_FINISHED: f"Version{version} of {_name(data)} checked and published",
        Topic.INGEST_FAILED: f"Version{version} of {_name(data)} failed its checks",
        Topic.OVERLAP_FOUND: f"{data.get('matched_percent', '?')} % of{version} of {_name(data)} found relisted by another vendor",
        Topic.ACCESS_REQUEST_RECEIVED: f"{data.get('buyer_name', 'An organisation')} asks for access to {_name(data)}",
        Topic.ACCESS_REQUEST_APPROVED: f"Access to {_name(data)} approved",
        Topic.ACCESS_REQUEST_REJECTED: f"Access to {_name(data)} rejected",
        Topic.ACCESS_REQUEST_OVERDUE: f"Access request for {_name(data)} is overdue",
        Topic.WEBHOOK_ENDPOINT_DISABLED: f"Webhook endpoint on {data.get('host', '')} disabled",
        Topic.WEBHOOK_TEST: "Test message",
    }
    # One line whatever the names in it hold: a subject is a mail header, the bell a single line.
    return UNSAFE_TEXT.sub(" ", lines.get(t, TOPIC_TITLES[t]))[:300]


def link(data: dict[str, Any]) -> str | None:
    """Where the announcement's page is, as a path on this site."""
    if data.get("access_request_id"):
        return "/access-requests"
    if data.get("order_id"):
        return f"/orders/{data['order_id']}"
    if data.get("grant_id"):
        return "/dashboard"
    if data.get("endpoint_id"):
        return "/notifications/webhooks"
    if data.get("dataset_id"):
        return f"/datasets/{data['dataset_id']}"
    return None


def bodies(topic: str, data: dict[str, Any], *, user_name: str, unsubscribe_url: str | None) -> tuple[str, str]:
    """(plain text, HTML) of one topic's e-mail; Jinja escapes every value in the HTML."""
    base = current_settings().public_url.rstrip("/")
    path = link(data)
    ctx = dict(data=data, title=title(topic, data), user_name=user_name, url=(base + path) if path else base, unsubscribe_url=unsubscribe_url,
               site=base)
    return _render(f"email/{topic}.txt", ctx), _render(f"email/{topic}.html", ctx)


def digest_bodies(entries: list[dict[str, Any]], *, user_name: str, unsubscribe_url: str | None) -> tuple[str, str]:
    """(plain text, HTML) of a digest: one line per announcement, each with its link."""
    base = current_settings().public_url.rstrip("/")
    ctx = dict(entries=entries, user_name=user_name, unsubscribe_url=unsubscribe_url, site=base)
    return _render("email/digest.txt", ctx), _render("email/digest.html", ctx)


def invitation_bodies(*, org_name: str, inviter_name: str, role: str, email: str, url: str, expires: str) -> tuple[str, str]:
    """(plain text, HTML) of an invitation to join an organisation."""
    ctx = dict(org_name=org_name, inviter_name=inviter_name, role=role, email=email, url=url, expires=expires, site=current_settings().public_url.rstrip("/"))
    return _render("email/invitation.txt", ctx), _render("email/invitation.html", ctx)


def _render(name: str, ctx: dict[str, Any]) -> str:
    """Straight from the app's template environment: e-mails are made in jobs, outside any
    request, so the pages' context processors (the session, the signed-in user) must not run.
    HTML templates autoescape; plain-text ones do not."""
    return current_app.jinja_env.get_template(name).render(**ctx)
