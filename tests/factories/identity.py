"""Identity: users, organisations, memberships, API keys and tenants.

Two kinds of helper. The `make_*` functions go through the identity services, so the data (and
its audit trail) is what users would make: most tests use them. The `*Factory` classes and
`make_tenant_rows` write the same rows directly (see tests/factories/base.py), for tests that
only need the people and keys to exist.
"""

from __future__ import annotations

import functools
import itertools
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import factory
from sqlalchemy import case, select

from marketplace.identity import services as identity
from marketplace.identity.models import ApiKey, Membership, Organization, OrgRole, User, VendorStatus
from marketplace.identity.passwords import hash_password
from marketplace.kernel.db import get_session, unit_of_work, utcnow
from marketplace.kernel.principal import SCOPES, Principal
from tests.factories.base import RowFactory, batch

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
BASE = Principal(request_id="test", ip="127.0.0.1")
READ_ONLY_SCOPES = ["catalog:read", "commerce:read", "audit:read"]  # what an auditor's key may carry


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{uuid.uuid4().hex[:6]}"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# --------------------------------------------------------------------------- through the services


def make_user(*, email: str | None = None, name: str = "Test User", platform_admin: bool = False, platform_compliance: bool = False) -> User:
    user = identity.register_user(BASE, email=email or f"{unique('user')}@example.test", password=PASSWORD, name=name)
    if platform_admin or platform_compliance:
        with unit_of_work():
            u = get_session().get(User, user.id)
            u.is_platform_admin = platform_admin
            u.is_platform_compliance = platform_compliance
        user = u
    return user


def principal(user: User) -> Principal:
    return identity.principal_for(get_session().get(User, user.id), BASE)


VENDOR_APPLICATION = {"description": "A test vendor of annotated corpora.", "website": None, "country": "DE", "contact_name": "Test Contact",
                      "contact_email": "contact@vendor.test", "payout_account_holder": "Test Vendor GmbH", "payout_iban": "DE89370400440532013000"}


def make_org(owner: User, *, name: str | None = None, vendor: bool = False) -> Organization:
    org = identity.create_organization(principal(owner), name=name or unique("Org"))
    if vendor:
        admin = make_user(platform_admin=True)
        identity.apply_as_vendor(principal(owner), org.id, **VENDOR_APPLICATION)
        identity.decide_vendor(principal(admin), org.id, approve=True, reason="test")
    return org


def add_member(org: Organization, owner: User, role: OrgRole, user: User | None = None) -> User:
    user = user or make_user()
    identity.add_member(principal(owner), org.id, email=user.email, role=role)
    return user


def make_key(user: User, org: Organization, scopes: list[str] | None = None, **kw: Any) -> str:
    _key, secret = identity.create_api_key(principal(user), org.id, name=unique("key"), scopes=scopes or sorted(SCOPES), expires_at=kw.get("expires_at"))
    return secret


@dataclass
class Tenant:
    """An organisation with an owner, an admin, a member and an auditor, each with a full key."""

    org: Organization
    owner: User
    admin: User
    member: User
    auditor: User
    keys: dict[str, str]


def make_tenant(*, vendor: bool = False) -> Tenant:
    owner = make_user(name="Owner")
    org = make_org(owner, vendor=vendor)
    admin = add_member(org, owner, OrgRole.admin)
    member = add_member(org, owner, OrgRole.member)
    auditor = add_member(org, owner, OrgRole.auditor)
    keys = {
        "owner": make_key(owner, org),
        "admin": make_key(admin, org),
        "member": make_key(member, org),
        "auditor": make_key(auditor, org, scopes=READ_ONLY_SCOPES),
    }
    return Tenant(org, owner, admin, member, auditor, keys)


# --------------------------------------------------------------------------- rows


@functools.cache
def password_hash() -> str:
    """The hash of PASSWORD, computed once (argon2 is slow on purpose; one salt for all test users)."""
    return hash_password(PASSWORD)


class UserFactory(RowFactory):
    """A user whose password is PASSWORD."""

    class Meta:
        model = User

    email = factory.LazyFunction(lambda: f"{unique('user')}@example.test")
    name = "Test User"
    password_hash = factory.LazyFunction(password_hash)
    is_platform_admin = False
    is_platform_compliance = False


class OrganizationFactory(RowFactory):
    """An organisation (no members: add MembershipFactory rows). `vendor=True`: an approved vendor."""

    class Meta:
        model = Organization

    class Params:
        vendor = factory.Trait(vendor_status=VendorStatus.approved, vendor_decided_at=factory.LazyFunction(utcnow), vendor_decision_reason="test")

    name = factory.LazyFunction(lambda: unique("Org"))
    slug = factory.LazyAttribute(lambda o: identity.slugify(o.name))
    vendor_status = VendorStatus.none


class MembershipFactory(RowFactory):
    class Meta:
        model = Membership
        exclude = ("user", "organization")

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    user_id = factory.SelfAttribute("user.id")
    organization_id = factory.SelfAttribute("organization.id")
    role = OrgRole.member


class ApiKeyFactory(RowFactory):
    """An API key of `user` in `organization` (which the user must belong to for the key to act).
    The built row carries `.token`, the bearer secret the service shows once."""

    class Meta:
        model = ApiKey
        exclude = ("user", "organization")

    _extras = ("secret",)

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    user_id = factory.SelfAttribute("user.id")
    organization_id = factory.SelfAttribute("organization.id")
    name = factory.LazyFunction(lambda: unique("key"))
    prefix = factory.LazyFunction(lambda: identity.KEY_PREFIX + secrets.token_hex(6))
    secret = factory.LazyFunction(lambda: secrets.token_urlsafe(32))
    # The service's own digest of the secret, so the rows stay in step with authentication.
    secret_hash = factory.LazyAttribute(lambda o: identity.hash_secret(o.secret))
    scopes = factory.LazyFunction(lambda: sorted(SCOPES))
    expires_at = None

    @classmethod
    def _complete(cls, obj: ApiKey, secret: str = "", **_: Any) -> None:
        obj.token = f"{obj.prefix}.{secret}"  # type: ignore[attr-defined]


def member_of(org: Organization | uuid.UUID, role: OrgRole = OrgRole.member, **user_fields: Any) -> User:
    """A new user who belongs to `org` with `role`."""
    if isinstance(org, uuid.UUID):
        org = get_session().get(Organization, org)
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, organization=org, role=role)
    return user


def make_tenant_rows(*, vendor: bool = False) -> Tenant:
    """make_tenant's tenant (the same roles, names, password and keys) written as rows: no service
    calls, so no audit events of its making and no platform admin approving the vendor."""
    with batch():
        org = OrganizationFactory(vendor=vendor)
        owner = member_of(org, OrgRole.owner, name="Owner")
        admin, member, auditor = member_of(org, OrgRole.admin), member_of(org, OrgRole.member), member_of(org, OrgRole.auditor)
        keys = {
            "owner": ApiKeyFactory(user=owner, organization=org).token,
            "admin": ApiKeyFactory(user=admin, organization=org).token,
            "member": ApiKeyFactory(user=member, organization=org).token,
            "auditor": ApiKeyFactory(user=auditor, organization=org, scopes=READ_ONLY_SCOPES).token,
        }
    return Tenant(org, owner, admin, member, auditor, keys)


def any_member(org_id: uuid.UUID) -> uuid.UUID:
    """Some user of the organisation (its first owner if it has one), made on the spot if it has
    no members: rows that name a person (an acceptance, an attestation) need one."""
    rank = case((Membership.role == OrgRole.owner, 0), else_=1)
    uid = get_session().scalar(select(Membership.user_id).where(Membership.organization_id == org_id).order_by(rank, Membership.created_at).limit(1))
    return uid if uid is not None else member_of(org_id, OrgRole.owner, name="Owner").id
