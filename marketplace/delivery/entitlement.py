"""The entitlement decision: may this caller take data under this grant, now?

Every delivery channel asks this one function — file downloads, record streams, Delta Sharing
table queries, and the channels still to come (fingerprinted copies) — so a rule cannot drift between them. The
record stream once kept serving, and charging, after a licence term had ended because it
re-implemented the checks the download path made; this module exists so that cannot recur.

The decision, in order (the first failing rule answers, and the refusal is audited under the
channel's own action):
1. the grant exists and the caller's organisation is party to it (else 404: another tenant's
   grant is not confirmed to exist);
2. the API key carries the `delivery` scope (403);
3. the caller belongs to the buying organisation (403 for the vendor's side) and is not an
   auditor (auditors read, never take data);
4. the grant is active: not revoked (refund, lost dispute), not suspended (open dispute), not
   past its paid term (403);
5. the licence's own term (`term_months`, from the grant's start) has not ended (403);
6. the version it covers has not been withdrawn (410).
Quota is the last rule and is decided by the debit itself (402), atomically with the charge.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, bindparam, func, select

from catalog.models import Dataset, DatasetVersion, VersionFile, VersionStatus
from licensing.models import License
from marketplace.commerce.models import Grant, GrantStatus
from marketplace.delivery.actions import DeliveryAction
from marketplace.delivery.policy import POLICY, DeliveryPermission
from marketplace.identity.models import AuthEpoch, OrgRole
from marketplace.kernel import audit
from marketplace.kernel.db import get_session, utcnow
from marketplace.kernel.errors import DomainError, Forbidden, Gone, NotFound
from marketplace.kernel.policy import Outcome
from marketplace.kernel.principal import Principal, StaleCredentials

# The audit action under which each channel's decisions (and refusals) are recorded.
CHANNELS = {"download": DeliveryAction.DELIVERY_AUTHORIZE, "records": DeliveryAction.DELIVERY_RECORDS, "sharing": DeliveryAction.DELIVERY_SHARE}


@dataclass(frozen=True)
class GrantTerms:
    """The columns of a grant that a delivery needs (not the row: a delivery must not load
    what it does not use, and must not write the grant through an ORM object)."""

    id: uuid.UUID
    buyer_org_id: uuid.UUID
    vendor_org_id: uuid.UUID
    unit: str
    balance: int
    status: str
    starts_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class VersionRef:
    """The version a grant delivers, as far as a delivery needs it."""

    id: uuid.UUID
    version: str
    status: str
    status_reason: str | None
    manifest_digest: str | None


@dataclass(frozen=True)
class Entitlement:
    """A positive decision: what the caller may take data from."""

    grant: GrantTerms
    version: VersionRef
    license_identifier: str
    role: OrgRole
    dataset_id: uuid.UUID | None = None
    files: tuple[Row[Any], ...] = ()  # when asked for (`with_files`): the version's files, by path


_VERSION_COLUMNS = (DatasetVersion.id, DatasetVersion.version, DatasetVersion.status, DatasetVersion.status_reason, DatasetVersion.manifest_digest)

# One narrow statement: the grant, its licence's terms, and the version it delivers (its fixed
# version; for "latest", the version it is held on when newer terms exceed it, or the latest). Nothing large is read: no licence text, no search vector,
# no ingest report. It also reads the auth epoch, which confirms a cached API key in the same
# snapshot (`Principal.epoch_unconfirmed`).
_DECISION = (
    select(Grant.id, Grant.buyer_org_id, Grant.vendor_org_id, Grant.unit, Grant.balance, Grant.status, Grant.starts_at, Grant.expires_at,
           Grant.dataset_id, License.identifier, License.terms, *_VERSION_COLUMNS,
           select(AuthEpoch.value).where(AuthEpoch.id == 1).scalar_subquery().label("auth_epoch"))
    .join(License, License.id == Grant.license_id)
    .join(Dataset, Dataset.id == Grant.dataset_id)
    .outerjoin(DatasetVersion, DatasetVersion.id == func.coalesce(Grant.version_id, Grant.held_version_id, Dataset.latest_version_id))
    .where(Grant.id == bindparam("grant_id"))
)


_DECISION_WIDTH = len(_DECISION.selected_columns)
_EPOCH_AT = _DECISION_WIDTH - 1


def with_files(*columns: ColumnElement[Any], named: bool) -> Select[Any]:
    """The decision's statement, also returning the files of the version it delivers: every
    file, or (`named`) those whose path is in the `paths` parameter; each with `columns` of
    `version_files` (and anything correlated with it), labelled as the caller reads them.
    Build it once, at import: the decision and the files are then one round trip."""
    on = VersionFile.version_id == DatasetVersion.id
    if named:
        on = on & VersionFile.path.in_(bindparam("paths", expanding=True))
    return _DECISION.add_columns(*columns).outerjoin(VersionFile, on).order_by(VersionFile.path)


def _latest_withdrawn(dataset_id: uuid.UUID) -> VersionRef:
    """When every published version was withdrawn, the latest withdrawn one (so the answer is 410)."""
    row = get_session().execute(select(*_VERSION_COLUMNS).where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.status == VersionStatus.withdrawn.value)
                                .order_by(DatasetVersion.published_at.desc()).limit(1)).first()
    if row is None:
        raise NotFound("The dataset has no published version.")
    return VersionRef(*row)


def may_take_data(principal: Principal, buyer: uuid.UUID, vendor: uuid.UUID) -> bool:
    """Whether the caller's role lets it take data under a grant between these parties (pages
    offer a Download button only then; the decision itself still checks everything else)."""
    return POLICY.allows(principal, DeliveryPermission.TAKE_DATA, buyer=buyer, vendor=vendor)


def decide(principal: Principal, grant_id: uuid.UUID, *, channel: str, files: Select[Any] | None = None, params: dict[str, Any] | None = None,
           audit_refusal: bool = True) -> Entitlement:
    """Decide whether `principal` may take data under `grant_id` through `channel` now; raise the
    refusal (audited, inside the caller's unit of work) otherwise. One statement reads all it
    needs; with `files` (a statement from :func:`with_files`, and its `params`), the same
    statement also reads the files, which come back on the entitlement only if it is granted.
    `audit_refusal=False` is for pages that only ask what to show."""
    action = CHANNELS[channel]
    principal.require_authenticated()
    session = get_session()
    rows = list(session.connection().execute(files if files is not None else _DECISION, dict(params or {}, grant_id=grant_id)))
    if principal.epoch_unconfirmed is not None and (not rows or (rows[0][_EPOCH_AT] or 0) != principal.epoch_unconfirmed):
        # The key was resolved before something that narrows access changed (or the grant is
        # not found, where the key's own validity must answer first): nothing was written yet.
        raise StaleCredentials()
    if not rows:
        raise NotFound("No such grant.")
    row = rows[0]
    grant = GrantTerms(*row[:8])
    dataset_id, lic_identifier, lic_terms = row[8], row[9], row[10]
    decision = POLICY.decide(principal, DeliveryPermission.TAKE_DATA, buyer=grant.buyer_org_id, vendor=grant.vendor_org_id)
    if decision.outcome is Outcome.hidden:
        raise NotFound("No such grant.")

    def deny(reason: str, exc: DomainError) -> None:
        if not audit_refusal:  # a page asking whether to offer a button, not a request for data
            raise exc
        audit.record(principal, action, outcome="denied", subject_type="grant", subject_id=grant_id, subject_org_id=grant.vendor_org_id,
                     actor_org_id=grant.buyer_org_id, details={"reason": reason, "channel": channel})
        raise exc

    if decision.outcome is Outcome.missing_scope:
        deny("missing delivery scope", Forbidden("This API key lacks the 'delivery' scope.", required_scope="delivery"))
    role = principal.role_in(grant.buyer_org_id)
    if not decision.allowed:
        if role is None:
            deny("not the buyer", Forbidden("Only the buyer organisation takes data under a grant."))
        deny(str(role), Forbidden("Auditors cannot take data under a grant." if role == OrgRole.auditor else decision.detail))
    now = utcnow()
    if grant.status != GrantStatus.active.value or (grant.expires_at is not None and grant.expires_at <= now):
        state = "expired" if grant.status == GrantStatus.active.value else grant.status
        deny(f"grant {state}", Forbidden(f"The grant is {state}: no data can be taken under it."))
    months = (lic_terms or {}).get("term_months")
    if months and grant.starts_at + timedelta(days=30 * months) <= now:
        deny("licence term over", Forbidden(f"The licence {lic_identifier} ran for {months} months from the grant's start; it is over."))
    version = VersionRef(row[11], row[12], row[13], row[14], row[15]) if row[11] is not None else _latest_withdrawn(dataset_id)
    if version.status == VersionStatus.withdrawn.value:
        deny("version withdrawn", Gone(f"Version {version.version} was withdrawn: {version.status_reason}"))
    assert role is not None
    # Past a version's fixed columns come the files' (a row without a file is the outer join's).
    found = tuple(r for r in rows if files is not None and r[_DECISION_WIDTH] is not None)
    return Entitlement(grant=grant, version=version, license_identifier=lic_identifier, role=role, dataset_id=dataset_id, files=found)
