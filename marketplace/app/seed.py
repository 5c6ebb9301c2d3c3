"""The demo data `make run` starts with: vendors, a buyer, a compliance officer, a platform admin.

Later features extend `seed_demo` so the demo shows each of them with realistic data. The demo
password is printed by `make run`; it only ever exists in a local demo database.
"""

from __future__ import annotations

from sqlalchemy import select

from marketplace.app.seed_catalog import seed_catalogue
from marketplace.identity import services as identity
from marketplace.identity.models import Organization, OrgRole, User
from marketplace.kernel.db import get_session, unit_of_work
from marketplace.kernel.principal import Principal

DEMO_PASSWORD = "demo-password-1"

SEED_PRINCIPAL = Principal(request_id="seed", ip=None)

# The demo vendors' applications (fictional organisations; the IBANs are the standard examples).
VENDOR_PROFILES: dict[str, dict[str, str | None]] = {
    "MedCorpus Labs": {"description": "Clinical text and vital-sign corpora, de-identified and annotated by licensed clinicians.",
                       "website": "https://medcorpus.example", "country": "GB", "payout_iban": "GB82WEST12345698765432"},
    "VoxData Audio": {"description": "Multi-speaker call-centre and dictation speech at 48 kHz, transcribed verbatim in Nordic languages.",
                      "website": "https://voxdata.example", "country": "NO", "payout_iban": "NO9386011117947"},
    "LexiSets Legal": {"description": "Annotated contracts and court decisions from common-law jurisdictions, labelled by practising lawyers.",
                       "website": None, "country": "DE", "payout_iban": "DE89370400440532013000"},
}

PEOPLE = [
    # (label, email, name, org name, role in org, vendor?)
    ("platform admin", "admin@marketplace.test", "Ada Admin", None, None, False),
    ("platform compliance", "compliance@marketplace.test", "Cora Compliance", None, None, False),
    ("vendor owner (medical)", "vendor@medcorpus.test", "Dr. Mira Patel", "MedCorpus Labs", OrgRole.owner, True),
    ("vendor owner (speech)", "vendor@voxdata.test", "Lars Eriksen", "VoxData Audio", OrgRole.owner, True),
    ("vendor owner (legal)", "vendor@lexisets.test", "Amara Okafor", "LexiSets Legal", OrgRole.owner, True),
    ("buyer admin", "buyer@acme-ai.test", "Bo Buyer", "Acme AI", OrgRole.owner, False),
    ("buyer auditor", "auditor@acme-ai.test", "Ines Auditor", "Acme AI", OrgRole.auditor, False),
]


def seed_demo(*, if_empty: bool = False) -> list[tuple[str, str, str]]:
    """Create the demo organisations and users. Returns (label, e-mail, password) rows."""
    session = get_session()
    if if_empty and session.scalar(select(User.id).limit(1)):
        return [(label, email, DEMO_PASSWORD) for label, email, *_ in PEOPLE]
    orgs: dict[str, Organization] = {}
    admin_principal: Principal | None = None
    for label, email, name, org_name, role, vendor in PEOPLE:
        user = identity.register_user(SEED_PRINCIPAL, email=email, password=DEMO_PASSWORD, name=name)
        with unit_of_work():
            u = get_session().get_one(User, user.id)
            u.is_platform_admin = label == "platform admin"
            u.is_platform_compliance = label == "platform compliance"
        if label == "platform admin":
            admin_principal = identity.principal_for(u, SEED_PRINCIPAL)
        if org_name is None:
            continue
        p = identity.principal_for(u, SEED_PRINCIPAL)
        if org_name not in orgs:
            org = identity.create_organization(p, name=org_name)
            orgs[org_name] = org
            if vendor:
                identity.apply_as_vendor(identity.principal_for(u, SEED_PRINCIPAL), org.id, contact_name=name, contact_email=email, payout_account_holder=org_name,
                                         **VENDOR_PROFILES[org_name])
                assert admin_principal is not None  # the platform admin comes first in PEOPLE
                identity.decide_vendor(admin_principal, org.id, approve=True, reason="Demo vendor, documents checked.")
        else:
            owner_email = next(e for _, e, _, on, r, _ in PEOPLE if on == org_name and r == OrgRole.owner)
            owner = get_session().scalars(select(User).where(User.email == owner_email)).one()
            assert role is not None  # every member of an organisation has a role in PEOPLE
            identity.add_member(identity.principal_for(owner, SEED_PRINCIPAL), orgs[org_name].id, email=email, role=role)

    def principal_for_email(email: str) -> Principal:
        return identity.principal_for(get_session().scalars(select(User).where(User.email == email)).one(), SEED_PRINCIPAL)

    seed_catalogue(principal_for_email)
    return [(label, email, DEMO_PASSWORD) for label, email, *_ in PEOPLE]
