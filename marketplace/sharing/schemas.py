"""Schemas of share tokens (the REST API) and of the Delta Sharing query body."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.kernel.schemas import Int, Name, StrictSchema
from marketplace.sharing.services import DEFAULT_DAYS, MAX_DAYS


class ShareTokenCreateSchema(StrictSchema):
    name = Name(100, load_default=None, metadata={"description": "What the profile is for (shown in listings)"})
    days = ma.fields.Integer(strict=True, load_default=DEFAULT_DAYS, validate=validate.Range(min=1, max=MAX_DAYS),
               metadata={"description": f"Lifetime in days (default {DEFAULT_DAYS}); never beyond the grant's paid term"})


class ShareTokenSchema(ma.Schema):
    id = ma.fields.UUID()
    grant_id = ma.fields.UUID()
    name = ma.fields.String()
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(allow_none=True)


class ShareProfileSchema(ma.Schema):
    shareCredentialsVersion = Int()
    endpoint = ma.fields.String()
    bearerToken = ma.fields.String()
    expirationTime = ma.fields.String()


class ShareTokenWithProfileSchema(ShareTokenSchema):
    profile = ma.fields.Nested(ShareProfileSchema, metadata={"description": "The Delta Sharing profile file (save it as `grant.share`); its bearer token is shown only here"})


class QueryBodySchema(ma.Schema):
    """The body of a table query (PROTOCOL.md). Fields the server does not use are ignored, as
    the protocol asks of servers, once they are well-formed."""

    class Meta:
        unknown = ma.EXCLUDE

    # Whole numbers only: "5" or 1.5 is a client's mistake, not a hint to round.
    predicateHints = ma.fields.List(ma.fields.String(validate=validate.Length(max=10_000)), load_default=None, validate=validate.Length(max=1000))
    jsonPredicateHints = ma.fields.String(load_default=None, validate=validate.Length(max=100_000))
    limitHint = ma.fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**62))
    version = ma.fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**62))
    timestamp = ma.fields.String(load_default=None, validate=validate.Length(max=100))
    startingVersion = ma.fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**62))
    endingVersion = ma.fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=2**62))
    maxFiles = ma.fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**62))
    pageToken = ma.fields.String(load_default=None, validate=validate.Length(max=1000))
