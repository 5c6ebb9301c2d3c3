"""Marshmallow schemas for identity requests and responses. Unknown fields are refused."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
import pycountry
from marshmallow import validate

from marketplace.identity.models import OrgRole, VendorStatus
from marketplace.kernel.principal import SCOPES
from marketplace.kernel.schemas import Flag, Int, Name, StrictSchema, Text, When


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


class InvitationSchema(ma.Schema):
    id = ma.fields.UUID()
    organization_id = ma.fields.UUID()
    email = ma.fields.String(metadata={"description": "The address the link was e-mailed to"})
    role = ma.fields.Enum(OrgRole)
    invited_by = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime(metadata={"description": "The link stops working then (7 days)"})
    revoked_at = ma.fields.DateTime(allow_none=True)


class InvitationAcceptSchema(StrictSchema):
    token = ma.fields.String(required=True, validate=validate.Length(min=8, max=200), metadata={"description": "The secret at the end of the e-mailed link"})


class JoinedSchema(ma.Schema):
    organization_id = ma.fields.UUID()
    organization_name = ma.fields.String()
    role = ma.fields.Enum(OrgRole)


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


def _iban(value: str) -> None:
    """ISO 13616: two letters, two check digits, up to 30 letters and digits; mod 97 == 1."""
    compact = value.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        raise ma.ValidationError("Not an IBAN: two letters, two check digits, then the account (15 to 34 characters).")
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    if int(digits) % 97 != 1:
        raise ma.ValidationError("The IBAN's check digits do not match: check it for a typo.")


def _country(value: str) -> None:
    if len(value) != 2 or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ma.ValidationError("An ISO 3166 country code, such as DE, NO or CN.")


class VendorApplicationSchema(StrictSchema):
    description = Text(5000, minimum=20, required=True, metadata={"description": "What the organisation collects or annotates, shown on its public profile"})
    website = ma.fields.Url(load_default=None, allow_none=True, schemes={"https", "http"}, validate=validate.Length(max=300))
    country = ma.fields.String(required=True, validate=_country, metadata={"description": "ISO 3166 alpha-2 code of the country the organisation is registered in"})
    contact_name = Text(200, required=True, metadata={"description": "Who the platform contacts about the application"})
    contact_email = ma.fields.Email(required=True, validate=validate.Length(max=320))
    payout_account_holder = Text(200, required=True, metadata={"description": "The bank account's holder, for invoice payouts"})
    payout_iban = ma.fields.String(required=True, validate=_iban, metadata={"description": "IBAN for invoice payouts (stored, shown masked)"})

    @ma.post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["country"] = data["country"].upper()
        data["payout_iban"] = data["payout_iban"].replace(" ", "").upper()
        return data


class VendorProfileSchema(ma.Schema):
    """What anyone may read about an approved vendor."""

    id = ma.fields.UUID()
    slug = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    website = ma.fields.String(allow_none=True)
    country = ma.fields.String(allow_none=True)
    vendor_since = ma.fields.DateTime(attribute="vendor_decided_at", allow_none=True)


class AdminOrganizationSchema(OrganizationSchema, VendorProfileSchema):
    """An organisation as a platform admin reviews its application: its profile, contact and
    payout details (the IBAN masked)."""

    contact_name = ma.fields.String(allow_none=True)
    contact_email = ma.fields.String(allow_none=True)
    payout_account_holder = ma.fields.String(allow_none=True)
    payout_iban = ma.fields.Function(lambda o: mask_iban(o.payout_iban), metadata={"description": "Masked: the country, check digits and last four"})
    vendor_applied_at = ma.fields.DateTime(allow_none=True)
    vendor_decision_reason = ma.fields.String(allow_none=True)


def mask_iban(iban: str | None) -> str | None:
    """DE89 **** **** **** 3000: enough to recognise, not enough to use."""
    if not iban:
        return None
    return f"{iban[:4]} **** {iban[-4:]}"


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
