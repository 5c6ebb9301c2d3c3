"""Factories for test data. They go through the services, so the data is what users would make."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from marketplace.kernel.audit import AuditAction
from marketplace.kernel.db import get_session, unit_of_work
from marketplace.identity import services as identity
from marketplace.identity.models import Organization, OrgRole, User
from marketplace.kernel.principal import SCOPES, Principal

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
BASE = Principal(request_id="test", ip="127.0.0.1")


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{uuid.uuid4().hex[:6]}"


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


def make_org(owner: User, *, name: str | None = None, vendor: bool = False) -> Organization:
    org = identity.create_organization(principal(owner), name=name or unique("Org"))
    if vendor:
        admin = make_user(platform_admin=True)
        identity.apply_as_vendor(principal(owner), org.id)
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
        "auditor": make_key(auditor, org, scopes=["catalog:read", "commerce:read", "audit:read"]),
    }
    return Tenant(org, owner, admin, member, auditor, keys)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class TestAction(AuditAction):
    """Audit actions that only tests write (the writer takes enum members only)."""

    __test__ = False  # not a test class for pytest

    SEALED = "test.sealed"
    TAMPER = "test.tamper"
    EVENT = "test.event"
    ROLLED_BACK = "test.rolled_back"
    SUCCESS_BEFORE_DENIAL = "test.success_before_denial"
    DENIED = "test.denied"
