"""Marshmallow schemas for identity requests and responses. Unknown fields are refused."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

from marketplace.core.identity.models import OrgRole, VendorStatus
from marketplace.core.identity.principal import SCOPES


def _nul_fields(value, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path or "_body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in _nul_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, (list, tuple)):
        return [f for i, v in enumerate(value) for f in _nul_fields(v, path or "_body")]
    return []


class StrictSchema(ma.Schema):
    """Every request schema: unknown fields are refused, and so are NUL characters, which no
    text column can store (PostgreSQL refuses them)."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _refuse_nul(self, data, **kwargs):  # type: ignore[no-untyped-def]
        items = data.items() if hasattr(data, "items") else []
        bad = _nul_fields({k: (data.getlist(k) if hasattr(data, "getlist") else v) for k, v in items}) if items else _nul_fields(data)
        if bad:
            raise ma.ValidationError({f.split(".")[0]: ["NUL characters are not allowed."] for f in bad})
        return data


def Text(maximum: int, minimum: int = 1, **kw):  # noqa: N802 - reads like a field type
    return ma.fields.String(validate=validate.Length(min=minimum, max=maximum), **kw)


class StrictBoolean(ma.fields.Boolean):
    """A JSON boolean, strictly: true or false, not 0, 1, "yes" or "on" (0 == False in Python,
    so a truthy/falsy set cannot say this; the type is checked instead)."""

    def _deserialize(self, value, attr, data, **kwargs):  # type: ignore[no-untyped-def]
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Int(ma.fields.Integer):
    """An integer that, when it comes as text (a query string, a form), is plain ASCII digits with
    an optional minus: int() would also take "١٢", "1_0", "+5" and " 7 "."""

    _TEXT = re.compile(r"-?[0-9]{1,19}")

    def _validated(self, value):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and not self._TEXT.fullmatch(value):
            raise self.make_error("invalid")
        return super()._validated(value)


def Flag(**kw):  # noqa: N802 - reads like a field type
    """A strict JSON boolean for request bodies (query strings use ma.fields.Boolean, whose text
    forms they need)."""
    return StrictBoolean(**kw)


class RegisterSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=320))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=1024))
    name = Text(200, required=True)
    organization_name = Text(200, load_default=None, allow_none=True)


class LoginSchema(StrictSchema):
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=320))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class UserSchema(ma.Schema):
    id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String()
    is_platform_admin = ma.fields.Boolean()
    is_platform_compliance = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class OrganizationSchema(ma.Schema):
    id = ma.fields.UUID()
    slug = ma.fields.String()
    name = ma.fields.String()
    vendor_status = ma.fields.Enum(VendorStatus)
    created_at = ma.fields.DateTime()


class MyOrganizationSchema(OrganizationSchema):
    role = ma.fields.Enum(OrgRole)


class MeSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    organizations = ma.fields.List(ma.fields.Nested(MyOrganizationSchema))
    api_key = ma.fields.Dict(allow_none=True, metadata={"description": "The key used for this call, if any"})
    csrf_token = ma.fields.String(allow_none=True, metadata={"description": "Send as X-CSRF-Token on cookie-authenticated writes"})


class LoginResultSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema)
    csrf_token = ma.fields.String()


class OrganizationCreateSchema(StrictSchema):
    name = Text(200, required=True)
    slug = ma.fields.String(load_default=None, validate=validate.Regexp(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", error="Use lower-case letters, digits and hyphens (1-64)."))


class OrganizationUpdateSchema(StrictSchema):
    name = Text(200, required=True)


class MemberSchema(ma.Schema):
    user_id = ma.fields.UUID()
    email = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.Enum(OrgRole)
    joined_at = ma.fields.DateTime()


class MemberAddSchema(StrictSchema):
    email = ma.fields.Email(required=True)
    role = ma.fields.Enum(OrgRole, required=True)


class MemberRoleSchema(StrictSchema):
    role = ma.fields.Enum(OrgRole, required=True)


class ApiKeySchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    prefix = ma.fields.String()
    scopes = ma.fields.List(ma.fields.String())
    user_id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(allow_none=True)


class ApiKeyCreatedSchema(ApiKeySchema):
    secret = ma.fields.String(metadata={"description": "The full key. Shown once; store it now."})


class ApiKeyCreateSchema(StrictSchema):
    name = Text(100, required=True)
    scopes = ma.fields.List(ma.fields.String(validate=validate.OneOf(sorted(SCOPES))), required=True, validate=validate.Length(min=1, max=len(SCOPES)))
    expires_at = ma.fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)


class VendorDecisionSchema(StrictSchema):
    approve = Flag(required=True)
    reason = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class AdminOrgQuerySchema(StrictSchema):
    vendor_status = ma.fields.Enum(VendorStatus, load_default=None)


class ScopeListSchema(ma.Schema):
    scopes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class PasswordChangeSchema(StrictSchema):
    current_password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    new_password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=1024))


class BrowserSessionSchema(ma.Schema):
    id = ma.fields.UUID()
    created_at = ma.fields.DateTime()
    last_seen_at = ma.fields.DateTime()
    ip = ma.fields.String(allow_none=True)
    user_agent = ma.fields.String(allow_none=True)
    current = ma.fields.Boolean()


class SessionsEndedSchema(ma.Schema):
    ended = Int()
