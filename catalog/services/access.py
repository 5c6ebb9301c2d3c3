"""Gated access: a vendor marks a dataset "access on request" (for its samples, as the gate to
private offers, or both) with its own questions; buyer organisations ask; the vendor approves or
rejects with a reason, and an approval can make the buyer a private offer.

This module is the one home of "may this caller see the samples of this dataset": the preview
endpoint and the dataset page both ask `may_see_samples`.

Questions are typed (text, select, country, date, and a checkbox with terms); answers are checked
against them. Requests pending past the vendor's stated response time are flagged to both sides,
and the vendor is told once (`warn_overdue`). Everything is audited and announced.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pycountry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.actions import CatalogAction
from catalog.models import AccessGate, AccessRequest, AccessStatus, Dataset, Visibility
from catalog.policy import POLICY, can_read_private, require_dataset_visible, require_dataset_writer
from catalog.policy import CatalogPermission as Perm
from marketplace.identity.models import Organization, User
from marketplace.kernel import audit, events
from marketplace.kernel.db import get_session, transactional, utcnow
from marketplace.kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.kernel.notify import Topic, publish
from marketplace.kernel.principal import Principal
from marketplace.kernel.schemas import UNSAFE_TEXT

FIELD_TYPES = ("text", "select", "country", "date", "checkbox")
MAX_FIELDS = 20
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _unsafe(text: str) -> bool:
    """The kernel's rule for what people read (UNSAFE_TEXT), except that a multi-line answer may
    keep its line breaks and tabs."""
    return UNSAFE_TEXT.search(text.replace("\n", " ").replace("\t", " ")) is not None
COUNTRIES = {c.alpha_2: c.name for c in pycountry.countries}
SYSTEM = Principal(request_id="access-requests", ip=None)


# --------------------------------------------------------------------------- the gate


def _check_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The vendor's questions, normalised; each mistake is named by its position."""
    if len(fields) > MAX_FIELDS:
        raise ValidationFailed(f"At most {MAX_FIELDS} questions.", errors={"questions": [f"At most {MAX_FIELDS}."]})
    out, seen, errors = [], set(), {}
    for i, f in enumerate(fields):
        name, kind = f.get("name", ""), f.get("type")
        problems = []
        if not _NAME.match(name or ""):
            problems.append("name: lower-case letters, digits and _, starting with a letter, at most 40")
        elif name in seen:
            problems.append(f"name: {name!r} is used twice")
        seen.add(name)
        if kind not in FIELD_TYPES:
            problems.append(f"type: one of {', '.join(FIELD_TYPES)}")
        options = [str(o).strip() for o in f.get("options") or [] if str(o).strip()]
        if kind == "select" and not 2 <= len(options) <= 50:
            problems.append("options: a select needs 2 to 50 options")
        if len(set(options)) != len(options):
            problems.append("options: each option once")
        if any(_unsafe(str(t)) for t in (f.get("label") or "", f.get("terms") or "", *options)):
            problems.append("no control, invisible or bidirectional-override characters in labels, options or terms")
        if kind == "checkbox" and not (f.get("terms") or "").strip():
            problems.append("terms: a checkbox states the terms the requester agrees to")
        if problems:
            errors[str(i)] = problems
            continue
        q: dict[str, Any] = {"name": name, "label": (f.get("label") or name).strip()[:200], "type": kind, "required": bool(f.get("required", True))}
        if kind == "select":
            q["options"] = options
        if kind == "text":
            q["max_length"] = max(1, min(int(f.get("max_length") or 500), 2000))
        if kind == "checkbox":
            q["terms"] = f["terms"].strip()[:5000]
            q["required"] = True  # a box of terms means nothing unticked
        out.append(q)
    if errors:
        raise ValidationFailed("Some questions are not valid.", errors={"questions": errors})
    return out


def get_gate(principal: Principal, dataset_id: uuid.UUID) -> AccessGate | None:
    """The dataset's gate and questions (anyone who can see the dataset may read the form)."""
    require_dataset_visible(principal, get_session().get(Dataset, dataset_id))
    return get_session().get(AccessGate, dataset_id)


@transactional
def set_gate(principal: Principal, dataset_id: uuid.UUID, *, samples: bool, private_offers: bool, questions: list[dict[str, Any]],
             response_days: int = 5, instructions: str = "") -> AccessGate | None:
    """Make the dataset "access on request" (or not, with both flags off). Requests already made
    keep the questions they answered."""
    session = get_session()
    ds = session.get(Dataset, dataset_id)
    if ds is None:
        raise NotFound("No such dataset.")
    require_dataset_writer(principal, ds, session.get_one(Organization, ds.organization_id))
    gate = session.get(AccessGate, dataset_id, with_for_update=True)
    if not samples and not private_offers:
        if gate is not None:
            session.delete(gate)
        audit.record(principal, CatalogAction.ACCESS_GATE_SET, subject_type="dataset", subject_id=ds.id, subject_org_id=ds.organization_id,
                     actor_org_id=ds.organization_id, details={"gated": False})
        return None
    if not 1 <= response_days <= 60:
        raise ValidationFailed("State a response time of 1 to 60 days.", errors={"response_days": ["From 1 to 60 days."]})
    checked = _check_fields(questions)
    if gate is None:
        gate = AccessGate(dataset_id=dataset_id)
        session.add(gate)
    gate.samples, gate.private_offers, gate.fields = samples, private_offers, checked
    if _unsafe(instructions):
        raise ValidationFailed("The instructions contain control or bidirectional-override characters.", errors={"instructions": ["Plain text only."]})
    gate.response_days, gate.instructions, gate.updated_at = response_days, instructions.strip(), utcnow()
    audit.record(principal, CatalogAction.ACCESS_GATE_SET, subject_type="dataset", subject_id=ds.id, subject_org_id=ds.organization_id,
                 actor_org_id=ds.organization_id, details={"gated": True, "samples": samples, "private_offers": private_offers,
                                                           "questions": [q["name"] for q in checked], "response_days": response_days})
    return gate


def may_see_samples(principal: Principal, ds: Dataset) -> bool:
    """The one rule for samples: open unless the vendor gated them; then the vendor's members,
    platform staff, and organisations whose request was approved."""
    gate = get_session().get(AccessGate, ds.id)
    if gate is None or not gate.samples or can_read_private(principal, ds):
        return True
    if not principal.memberships:
        return False
    return get_session().scalar(select(AccessRequest.id).where(AccessRequest.dataset_id == ds.id, AccessRequest.status == AccessStatus.approved,
                                                                AccessRequest.buyer_org_id.in_(list(principal.memberships))).limit(1)) is not None


def require_samples(principal: Principal, ds: Dataset) -> None:
    if not may_see_samples(principal, ds):
        raise Forbidden("The vendor shows this dataset's samples on request: ask for access on the dataset's page.", access_request_required=True)


# --------------------------------------------------------------------------- requests


def _answers(gate: AccessGate, answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Answers checked against the questions; (answers, {checkbox name: terms digest})."""
    questions = {q["name"]: q for q in gate.fields}
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(answers) - set(questions))
    for name in unknown[:10]:
        errors[name] = ["Not a question of this form."]
    out: dict[str, Any] = {}
    terms: dict[str, str] = {}
    for name, q in questions.items():
        value = answers.get(name)
        if value in (None, "", False):
            if q["required"]:
                errors[name] = ["Tick it to agree to the terms." if q["type"] == "checkbox" else "Required."]
            continue
        kind = q["type"]
        if kind == "text":
            if not isinstance(value, str) or len(value.strip()) > q["max_length"]:
                errors[name] = [f"Text of at most {q['max_length']} characters."]
            elif _unsafe(value):
                errors[name] = ["No control, invisible or bidirectional-override characters (line breaks and tabs are fine)."]
            else:
                out[name] = value.strip()
        elif kind == "select":
            if value not in q["options"]:
                errors[name] = [f"One of: {', '.join(q['options'])[:300]}."]
            else:
                out[name] = value
        elif kind == "country":
            code = value.upper() if isinstance(value, str) else ""
            if code not in COUNTRIES:
                errors[name] = ["An ISO 3166 alpha-2 country code, such as DE or JP."]
            else:
                out[name] = code
        elif kind == "date":
            try:
                if not isinstance(value, str) or len(value) != 10:
                    raise ValueError(value)
                out[name] = date.fromisoformat(value).isoformat()
            except ValueError:
                errors[name] = ["A date as YYYY-MM-DD."]
        elif kind == "checkbox":
            if value is not True:
                errors[name] = ["true to agree to the terms."]
            else:
                out[name] = True
                terms[name] = hashlib.sha256(q["terms"].encode()).hexdigest()
    if errors:
        raise ValidationFailed("Some answers are not valid.", errors={"answers": errors})
    return out, terms


def _visible_request(principal: Principal, request_id: uuid.UUID, action: Perm) -> AccessRequest:
    """The request, if the caller is a party to it; the table decides what each party may do
    (a buyer asking to decide is refused, a stranger is told it does not exist)."""
    req = get_session().get(AccessRequest, request_id, with_for_update=action is not Perm.ACCESS_READ)
    if req is None:
        raise NotFound("No such access request.")
    POLICY.require(principal, action, vendor=req.vendor_org_id, buyer=req.buyer_org_id, hidden_as="No such access request.")
    return req


@transactional
def request_access(principal: Principal, dataset_id: uuid.UUID, *, org_id: uuid.UUID, answers: dict[str, Any]) -> AccessRequest:
    """A buyer organisation asks for access. One open request per dataset and organisation."""
    session = get_session()
    ds = require_dataset_visible(principal, session.get(Dataset, dataset_id))
    if principal.authenticated and principal.role_in(org_id) is None:
        # The caller names the organisation it asks for: one it is not in is a mistake in the
        # request (said the same whether or not that organisation exists), not a missing dataset.
        raise ValidationFailed("Ask on behalf of an organisation you belong to.", errors={"org_id": ["Not one of your organisations."]})
    POLICY.require(principal, Perm.ACCESS_REQUEST, buyer=org_id, hidden_as="No such organisation.")
    if org_id == ds.organization_id:
        raise Conflict("This is your own organisation's dataset.")
    gate = session.get(AccessGate, ds.id)
    if gate is None:
        raise Conflict("This dataset does not take access requests: its samples and offers are open.")
    if ds.visibility == Visibility.delisted.value:
        raise Conflict("This dataset is no longer offered; it takes no new access requests.")
    clean, terms = _answers(gate, answers)
    prior = session.scalars(select(AccessRequest).where(AccessRequest.dataset_id == ds.id, AccessRequest.buyer_org_id == org_id,
                                                        AccessRequest.status.in_([AccessStatus.pending, AccessStatus.approved]))).first()
    if prior is not None:
        raise Conflict("Your organisation already has access." if prior.status is AccessStatus.approved else "Your organisation's request is still open.",
                       request_id=str(prior.id))
    now = utcnow()
    req = AccessRequest(id=uuid.uuid4(), dataset_id=ds.id, vendor_org_id=ds.organization_id, buyer_org_id=org_id, requested_by=principal.user_id,
                        answers=clean, accepted_terms=terms, status=AccessStatus.pending, due_at=now + timedelta(days=gate.response_days), created_at=now)
    try:
        with session.begin_nested():
            session.add(req)
            session.flush()
    except IntegrityError:  # the unique index on open requests: another member's request won the race
        raise Conflict("Your organisation's request is still open.") from None
    buyer = session.get_one(Organization, org_id)
    audit.record(principal, CatalogAction.ACCESS_REQUEST_CREATE, subject_type="access_request", subject_id=req.id, subject_org_id=ds.organization_id,
                 actor_org_id=org_id, details={"dataset_id": str(ds.id), "terms": terms})
    publish(Topic.ACCESS_REQUEST_RECEIVED, ds.organization_id, _payload(req, ds, buyer_name=buyer.name))
    return req


def _payload(req: AccessRequest, ds: Dataset, **extra: Any) -> dict[str, Any]:
    return {"access_request_id": str(req.id), "dataset_id": str(ds.id), "dataset_title": ds.title, "status": req.status.value,
            "due_at": req.due_at.isoformat(), **extra}


@transactional
def decide(principal: Principal, request_id: uuid.UUID, *, approve: bool, reason: str | None = None, offer: dict[str, Any] | None = None) -> AccessRequest:
    """The vendor approves (optionally making the buyer a private offer, in the same transaction)
    or rejects (with a reason the buyer reads, at most 200 characters). Once only."""
    req = _visible_request(principal, request_id, Perm.ACCESS_DECIDE)
    if req.status is not AccessStatus.pending:
        raise Conflict(f"The request is {req.status.value}; only a pending request is answered.")
    if not approve and not (reason or "").strip():
        raise ValidationFailed("Say why the request is rejected.", errors={"reason": ["Required when rejecting (at most 200 characters)."]})
    session = get_session()
    ds = session.get_one(Dataset, req.dataset_id)
    if approve and ds.visibility not in (Visibility.listed.value, Visibility.unlisted.value):
        # A draft is invisible to the buyer and a delisted dataset is off the market: an approval
        # (and its offer) would promise what the buyer cannot use. Rejecting stays possible.
        raise Conflict(f"The dataset is {ds.visibility}: put it back on the market (listed or unlisted) to approve access, or reject the request.")
    req.status = AccessStatus.approved if approve else AccessStatus.rejected
    req.reason = (reason or "").strip()[:200] or None
    req.decided_by, req.decided_at = principal.user_id, utcnow()
    if approve and offer is not None:
        events.emit(events.ACCESS_APPROVED, principal=principal, request=req, offer=offer)
    audit.record(principal, CatalogAction.ACCESS_REQUEST_APPROVE if approve else CatalogAction.ACCESS_REQUEST_REJECT, subject_type="access_request",
                 subject_id=req.id, subject_org_id=req.vendor_org_id, actor_org_id=req.buyer_org_id,
                 details={"reason": req.reason, "offer_id": str(req.offer_id) if req.offer_id else None})
    publish(Topic.ACCESS_REQUEST_APPROVED if approve else Topic.ACCESS_REQUEST_REJECTED, req.buyer_org_id,
            _payload(req, ds, reason=req.reason, offer_id=str(req.offer_id) if req.offer_id else None))
    return req


@transactional
def withdraw(principal: Principal, request_id: uuid.UUID) -> AccessRequest:
    """The buyer takes back a pending request."""
    req = _visible_request(principal, request_id, Perm.ACCESS_REQUEST)
    if req.status is not AccessStatus.pending:
        raise Conflict(f"The request is {req.status.value}; only a pending request can be withdrawn.")
    req.status, req.decided_by, req.decided_at = AccessStatus.withdrawn, principal.user_id, utcnow()
    audit.record(principal, CatalogAction.ACCESS_REQUEST_WITHDRAW, subject_type="access_request", subject_id=req.id, subject_org_id=req.vendor_org_id,
                 actor_org_id=req.buyer_org_id)
    return req


def get_request(principal: Principal, request_id: uuid.UUID) -> dict[str, Any]:
    return _views([_visible_request(principal, request_id, Perm.ACCESS_READ)])[0]


def list_requests(principal: Principal, org_id: uuid.UUID, *, as_vendor: bool, status: str | None = None, dataset_id: uuid.UUID | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
    """The vendor's inbox (oldest pending first) or the buyer's own requests (newest first)."""
    if as_vendor:
        POLICY.require(principal, Perm.ACCESS_READ, vendor=org_id)
    else:
        POLICY.require(principal, Perm.ACCESS_READ, buyer=org_id)
    col = AccessRequest.vendor_org_id if as_vendor else AccessRequest.buyer_org_id
    q = select(AccessRequest).where(col == org_id)
    if status:
        q = q.where(AccessRequest.status == AccessStatus(status))
    if dataset_id:
        q = q.where(AccessRequest.dataset_id == dataset_id)
    order = (AccessRequest.created_at.asc(),) if as_vendor else (AccessRequest.created_at.desc(),)
    return _views(list(get_session().scalars(q.order_by(*order, AccessRequest.id).limit(limit))))


def _views(reqs: list[AccessRequest]) -> list[dict[str, Any]]:
    """Requests as both sides read them, with names and the overdue flag."""
    session = get_session()
    now = utcnow()
    orgs = {o.id: o.name for o in session.scalars(select(Organization).where(Organization.id.in_({r.buyer_org_id for r in reqs} | {r.vendor_org_id for r in reqs})))}
    users = {u.id: u.email for u in session.scalars(select(User).where(User.id.in_({r.requested_by for r in reqs if r.requested_by})))}
    titles = {d.id: d.title for d in session.scalars(select(Dataset).where(Dataset.id.in_({r.dataset_id for r in reqs})))}
    labels = {g.dataset_id: {q["name"]: q["label"] for q in g.fields} for g in session.scalars(select(AccessGate).where(AccessGate.dataset_id.in_(set(titles))))}
    return [{"id": r.id, "dataset_id": r.dataset_id, "dataset_title": titles.get(r.dataset_id), "vendor_org_id": r.vendor_org_id,
             "vendor_name": orgs.get(r.vendor_org_id), "buyer_org_id": r.buyer_org_id, "buyer_name": orgs.get(r.buyer_org_id),
             "requested_by_email": users.get(r.requested_by) if r.requested_by else None, "answers": r.answers, "answer_labels": {k: labels.get(r.dataset_id, {}).get(k, k) for k in r.answers}, "accepted_terms": r.accepted_terms,
             "status": r.status.value, "reason": r.reason, "created_at": r.created_at, "due_at": r.due_at, "decided_at": r.decided_at,
             "overdue": r.status is AccessStatus.pending and r.due_at < now, "offer_id": r.offer_id} for r in reqs]


def report_csv(principal: Principal, org_id: uuid.UUID) -> str:
    """The vendor's access report: every request to its datasets, one row each, answers as
    columns (the union of every form's questions)."""
    rows = list_requests(principal, org_id, as_vendor=True, limit=100_000)
    names: list[str] = []
    for r in rows:
        names += [k for k in r["answers"] if k not in names]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["request_id", "dataset", "buyer", "requested_by", "status", "created_at", "due_at", "decided_at", "overdue", "reason", "offer_id",
                "accepted_terms_sha256"] + [f"answer:{n}" for n in names])
    for r in rows:
        w.writerow([_cell(v) for v in [r["id"], r["dataset_title"], r["buyer_name"], r["requested_by_email"], r["status"], r["created_at"].isoformat(),
                                       r["due_at"].isoformat(), r["decided_at"].isoformat() if r["decided_at"] else "", r["overdue"], r["reason"] or "",
                                       r["offer_id"] or "", ";".join(f"{k}={v}" for k, v in sorted(r["accepted_terms"].items()))]
                    + [r["answers"].get(n, "") for n in names]])
    return buf.getvalue()


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (answers are typed by buyers)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@transactional
def warn_overdue(now: datetime | None = None) -> int:
    """Job: tell each vendor, once per request, that a request waits past its response time."""
    now = now or utcnow()
    n = 0
    session = get_session()
    for req in session.scalars(select(AccessRequest).where(AccessRequest.status == AccessStatus.pending, AccessRequest.due_at < now)):
        ds = session.get_one(Dataset, req.dataset_id)
        buyer = session.get_one(Organization, req.buyer_org_id)
        if publish(Topic.ACCESS_REQUEST_OVERDUE, req.vendor_org_id, _payload(req, ds, buyer_name=buyer.name), dedupe=f"access_request.overdue:{req.id}"):
            n += 1
    return n
