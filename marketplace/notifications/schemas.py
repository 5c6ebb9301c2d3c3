"""Schemas of notifications: webhook endpoints (with the secret only when it is made), delivery
logs, the notification centre and e-mail preferences."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from marketplace.kernel import notify
from marketplace.kernel.schemas import UNSAFE_TEXT, Flag, Int, StrictSchema, When
from marketplace.notifications.models import DeliveryStatus, EmailMode

SUBSCRIBABLE = [t.value for t in notify.SUBSCRIBABLE]


def _printable(value: str) -> None:
    if UNSAFE_TEXT.search(value):
        raise ma.ValidationError("No control, invisible or bidirectional-override characters.")


class EndpointCreateSchema(StrictSchema):
    url = ma.fields.String(required=True, validate=[validate.Length(min=8, max=2000), _printable],
                           metadata={"description": "An http(s) URL on a public address; it receives POSTs signed per Standard Webhooks."})
    description = ma.fields.String(load_default="", validate=[validate.Length(max=500), _printable])
    topics = ma.fields.List(ma.fields.String(validate=validate.OneOf(SUBSCRIBABLE)), load_default=list, validate=validate.Length(max=len(SUBSCRIBABLE)),
                            metadata={"description": "Event types to receive; empty: all of them."})


class EndpointUpdateSchema(StrictSchema):
    url = ma.fields.String(validate=[validate.Length(min=8, max=2000), _printable])
    description = ma.fields.String(validate=[validate.Length(max=500), _printable])
    topics = ma.fields.List(ma.fields.String(validate=validate.OneOf(SUBSCRIBABLE)), validate=validate.Length(max=len(SUBSCRIBABLE)))
    enabled = Flag(metadata={"description": "false disables the endpoint; true enables it again (its failure count starts afresh)."})


class EndpointSchema(ma.Schema):
    id = ma.fields.UUID()
    org_id = ma.fields.UUID()
    url = ma.fields.String()
    description = ma.fields.String()
    topics = ma.fields.List(ma.fields.String())
    status = ma.fields.Function(lambda e: e.status.value)
    status_reason = ma.fields.String(allow_none=True)
    failing_since = ma.fields.DateTime(allow_none=True)
    previous_secret_until = ma.fields.DateTime(allow_none=True, metadata={"description": "Until then the previous secret also signs (after a rotation)."})
    created_at = ma.fields.DateTime()


class EndpointWithSecretSchema(EndpointSchema):
    secret = ma.fields.String(metadata={"description": "The signing secret (whsec_...). Shown once: store it now."})


class AttemptSchema(ma.Schema):
    attempted_at = ma.fields.DateTime()
    trigger = ma.fields.String()
    status_code = ma.fields.Integer(allow_none=True)
    response_ms = ma.fields.Integer()
    error = ma.fields.String(allow_none=True)
    response_excerpt = ma.fields.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.UUID()
    message_id = ma.fields.String(metadata={"description": "The webhook-id header: the same on every attempt."})
    topic = ma.fields.String()
    status = ma.fields.String()
    attempts = ma.fields.List(ma.fields.Nested(AttemptSchema))
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    completed_at = ma.fields.DateTime(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    payload = ma.fields.String(metadata={"description": "The body sent, byte for byte."})


class DeliveryQuerySchema(StrictSchema):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in DeliveryStatus]))
    limit = Int(load_default=50, validate=validate.Range(min=1, max=200))


class NotificationSchema(ma.Schema):
    id = ma.fields.UUID()
    org_id = ma.fields.UUID()
    topic = ma.fields.String()
    title = ma.fields.String()
    link = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)


class NotificationPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    unread = ma.fields.Integer()


class NotificationQuerySchema(StrictSchema):
    unread = ma.fields.Boolean(load_default=False)  # a query string: its text forms
    before = When(load_default=None, allow_none=True, metadata={"description": "Only notifications older than this (paging)."})
    limit = Int(load_default=50, validate=validate.Range(min=1, max=200))


class MarkReadSchema(StrictSchema):
    ids = ma.fields.List(ma.fields.UUID(), load_default=list, validate=validate.Length(max=500))
    all = Flag(load_default=False)


class MarkedSchema(ma.Schema):
    marked = ma.fields.Integer()
    unread = ma.fields.Integer()


class PreferenceSchema(ma.Schema):
    topic = ma.fields.String()
    title = ma.fields.String()
    email = ma.fields.String(metadata={"description": "instant, digest (one e-mail a day) or off."})


class PreferencesUpdateSchema(StrictSchema):
    preferences = ma.fields.Dict(keys=ma.fields.String(validate=validate.OneOf(SUBSCRIBABLE)), values=ma.fields.String(validate=validate.OneOf([m.value for m in EmailMode])),
                                 required=True, validate=validate.Length(min=1, max=len(SUBSCRIBABLE)))


def dump_attempt(a: Any) -> dict[str, Any]:
    return AttemptSchema().dump(a)
