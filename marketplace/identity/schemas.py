"""Marshmallow schemas for identity requests and responses. Unknown fields are refused."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.identity.models import OrgRole, VendorStatus
from marketplace.kernel.principal import SCOPES
from marketplace.kernel.schemas import Flag, Int, Name, StrictSchema, When


class RegisterSchema(StrictSchema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=320))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=1024))
    name = Name(200, required=True)
    organization_name = Name(200, load_default=None, allow_none=True)


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
    name = Name(200, required=True)
    slug = ma.fields.String(load_default=None, validate=validate.Regexp(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", error="Use lower-case letters, digits and hyphens (1-64)."))


class OrganizationUpdateSchema(StrictSchema):
    name = Name(200, required=True)


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
    name = Name(100, required=True)
    scopes = ma.fields.List(ma.fields.String(validate=validate.OneOf(sorted(SCOPES))), required=True, validate=validate.Length(min=1, max=len(SCOPES)))
    expires_at = When(load_default=None, allow_none=True)


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
