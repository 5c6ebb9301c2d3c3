"""Delta Sharing: share tokens, and the protocol's view of a grant.

The mapping (PROTOCOL.md of delta-io/delta-sharing):
- a **share** is the buying organisation (named by its slug); a token sees the part of it that
  is its grant;
- a **schema** is the dataset (named by its slug);
- a **table** is the tabular data of the version the grant delivers: its CSV, JSONL and Parquet
  files, as Parquet (`catalog.tables`). Files with the same columns make one table, named
  `records` when there is one; otherwise after their folder, or their first file. The table's
  Delta version is the version's place among the dataset's published versions (1, 2, ...), so a
  grant for "latest" sees the table's version move when the vendor publishes.

Every call asks the one entitlement decision (`delivery.entitlement.decide`); a query is a
download authorisation on the `sharing` channel (`delivery.services.authorize_download`):
metered in the offer's unit, audited, all-or-nothing against the quota, free again within the
resume window, presigned after commit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from catalog.models import Dataset, DatasetVersion, VersionFile
from catalog.storage import object_store
from marketplace.commerce.models import Grant
from marketplace.delivery import entitlement
from marketplace.delivery import services as delivery
from marketplace.delivery.services import DeliveredFile
from marketplace.identity.models import ApiKey, Organization
from marketplace.identity.services import act_as_member
from marketplace.kernel import audit
from marketplace.kernel.config import current_settings
from marketplace.kernel.db import get_session, transactional, unit_of_work, utcnow
from marketplace.kernel.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from marketplace.kernel.principal import Principal
from marketplace.sharing.actions import SharingAction
from marketplace.sharing.models import ShareToken
from marketplace.sharing.policy import POLICY, SharingPermission

TOKEN_PREFIX = "dst_"
MAX_LIVE_TOKENS = 20  # per grant: a profile per cluster or pipeline, not one per job
DEFAULT_DAYS = 90
MAX_DAYS = 365
LAST_USED_RESOLUTION = timedelta(seconds=60)
_TOKEN_RE = re.compile(r"^dst_([0-9a-f]{32})\.([A-Za-z0-9_-]{20,100})$")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --------------------------------------------------------------------------- tokens


def _grant_parties(grant_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    row = get_session().execute(select(Grant.buyer_org_id, Grant.vendor_org_id).where(Grant.id == grant_id)).first()
    if row is None:
        raise NotFound("No such grant.")
    return row[0], row[1]


def profile(token: str, expires_at: datetime) -> dict[str, Any]:
    """The profile file the Delta Sharing clients read (`shareCredentialsVersion` 1)."""
    return {"shareCredentialsVersion": 1, "endpoint": current_settings().public_url.rstrip("/") + "/delta-sharing/",
            "bearerToken": token, "expirationTime": expires_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")}


@transactional
def create_token(principal: Principal, grant_id: uuid.UUID, *, name: str | None = None, days: int = DEFAULT_DAYS) -> tuple[ShareToken, dict[str, Any]]:
    """Make a bearer token for `grant_id`'s tables and return it with its profile (the secret is
    shown once). The caller must be able to take data under the grant now (the entitlement
    decision); the token expires after `days`, and never after the grant's paid term."""
    buyer, vendor = _grant_parties(grant_id)
    POLICY.require(principal, SharingPermission.MANAGE_TOKENS, buyer=buyer, vendor=vendor)
    ent = entitlement.decide(principal, grant_id, channel="sharing")
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailed("A share token lives 1 to 365 days.", errors={"days": [f"Between 1 and {MAX_DAYS}."]})
    now = utcnow()
    session = get_session()
    # The grant's row is the lock: racing creations count one after another.
    session.execute(select(Grant.id).where(Grant.id == grant_id).with_for_update())
    live = session.scalar(select(func.count()).select_from(ShareToken).where(ShareToken.grant_id == grant_id, ShareToken.revoked_at.is_(None),
                                                                               ShareToken.expires_at > now))
    if (live or 0) >= MAX_LIVE_TOKENS:
        raise Conflict(f"The grant has {MAX_LIVE_TOKENS} live sharing profiles; revoke one first.")
    expires = now + timedelta(days=days)
    ends = [e for e in (ent.grant.expires_at, _key_expiry(principal)) if e is not None]
    expires = min([expires, *ends])
    secret = secrets.token_urlsafe(32)
    assert principal.user_id is not None
    tok = ShareToken(grant_id=grant_id, organization_id=buyer, user_id=principal.user_id, api_key_id=principal.api_key_id,
                     name=name or "Delta Sharing profile", secret_hash=_hash(secret), created_at=now, expires_at=expires)
    session.add(tok)
    session.flush()
    bearer = f"{TOKEN_PREFIX}{tok.id.hex}.{secret}"
    audit.record(principal, SharingAction.TOKEN_CREATE, subject_type="share_token", subject_id=tok.id, subject_org_id=buyer, actor_org_id=buyer,
                 details={"grant_id": str(grant_id), "name": tok.name, "expires_at": expires.isoformat(),
                          "api_key_id": str(principal.api_key_id) if principal.api_key_id else None})
    return tok, profile(bearer, expires)


def _key_expiry(principal: Principal) -> datetime | None:
    if principal.api_key_id is None:
        return None
    return get_session().scalar(select(ApiKey.expires_at).where(ApiKey.id == principal.api_key_id))


def _revoke_where(principal: Principal, reason: str, *conditions: Any) -> None:
    now = utcnow()
    toks = list(get_session().scalars(select(ShareToken).where(*conditions, ShareToken.revoked_at.is_(None), ShareToken.expires_at > now)
                                      .with_for_update()))
    for tok in toks:
        tok.revoked_at = now
        audit.record(principal, SharingAction.TOKEN_REVOKE, subject_type="share_token", subject_id=tok.id, subject_org_id=tok.organization_id,
                     details={"grant_id": str(tok.grant_id), "reason": reason})


def on_credentials_reset(principal: Principal, user_id: uuid.UUID, reason: str) -> None:
    """A user signed out everywhere or changed the password: the profiles they made in a browser
    end too (those made with an API key end with that key). In the same transaction."""
    _revoke_where(principal, reason, ShareToken.user_id == user_id, ShareToken.api_key_id.is_(None))


def on_member_removed(principal: Principal, org_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """A member left or was removed: the profiles they made for the organisation end, for good
    (they already stop acting; revoked, they no longer count or show as live)."""
    _revoke_where(principal, "removed from the organisation", ShareToken.user_id == user_id, ShareToken.organization_id == org_id)


def list_tokens(principal: Principal, grant_id: uuid.UUID) -> list[ShareToken]:
    """The grant's share tokens, newest first (never their secrets)."""
    buyer, vendor = _grant_parties(grant_id)
    POLICY.require(principal, SharingPermission.VIEW_TOKENS, buyer=buyer, vendor=vendor)
    return list(get_session().scalars(select(ShareToken).where(ShareToken.grant_id == grant_id).order_by(ShareToken.created_at.desc())))


def may_manage(principal: Principal, buyer: uuid.UUID, vendor: uuid.UUID) -> bool:
    """Whether the caller may make and revoke profiles for a grant between these parties (pages
    show the controls only then)."""
    return POLICY.allows(principal, SharingPermission.MANAGE_TOKENS, buyer=buyer, vendor=vendor)


@transactional
def revoke_token(principal: Principal, grant_id: uuid.UUID, token_id: uuid.UUID) -> ShareToken:
    """Revoke a token: the next call made with it is refused (401). Revoking twice is a no-op."""
    buyer, vendor = _grant_parties(grant_id)
    POLICY.require(principal, SharingPermission.MANAGE_TOKENS, buyer=buyer, vendor=vendor)
    tok = get_session().scalar(select(ShareToken).where(ShareToken.id == token_id, ShareToken.grant_id == grant_id).with_for_update())
    if tok is None:
        raise NotFound("No such share token.")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        audit.record(principal, SharingAction.TOKEN_REVOKE, subject_type="share_token", subject_id=tok.id, subject_org_id=buyer, actor_org_id=buyer,
                     details={"grant_id": str(grant_id)})
    return tok


@dataclass(frozen=True)
class Caller:
    """Who calls the protocol: the token's member, acting for the buyer, delivery scope only."""

    principal: Principal
    grant_id: uuid.UUID
    token_id: uuid.UUID


def authenticate(base: Principal, bearer: str) -> Caller:
    """Resolve a protocol call's bearer token; unknown, revoked or expired, or of a member who
    left → 401 (audited, with the token's id only)."""
    m = _TOKEN_RE.match(bearer)
    with unit_of_work() as session:
        found = session.execute(select(ShareToken, ApiKey.revoked_at, ApiKey.expires_at).outerjoin(ApiKey, ApiKey.id == ShareToken.api_key_id)
                                .where(ShareToken.id == uuid.UUID(m.group(1)))).first() if m else None
        tok, key_revoked_at, key_expires_at = (found[0], found[1], found[2]) if found is not None else (None, None, None)
        reason = None
        principal = None
        now = utcnow()
        if tok is None or m is None or not hmac.compare_digest(tok.secret_hash, _hash(m.group(2))):
            reason = "unknown share token"
        elif tok.revoked_at is not None:
            reason = "revoked share token"
        elif tok.expires_at <= now:
            reason = "expired share token"
        elif tok.api_key_id is not None and (key_revoked_at is not None or (key_expires_at is not None and key_expires_at <= now)):
            reason = "the API key that made it was revoked or expired"
        else:
            principal = act_as_member(base, tok.user_id, tok.organization_id, scopes=frozenset({"delivery"}), made_at=tok.created_at)
            if principal is None:
                reason = "its member left the organisation or was disabled"
        if reason is not None:
            audit.record(base, SharingAction.AUTH_SHARE_TOKEN, outcome="denied", subject_type="share_token", subject_id=tok.id if tok else None,
                         subject_org_id=tok.organization_id if tok else None, details={"reason": reason})
        else:
            assert tok is not None and principal is not None
            if tok.last_used_at is None or now - tok.last_used_at > LAST_USED_RESOLUTION:
                tok.last_used_at = now
            caller = Caller(principal=principal, grant_id=tok.grant_id, token_id=tok.id)
    if reason is not None:
        raise Unauthenticated(f"The share token is not valid ({reason}).")
    return caller


# --------------------------------------------------------------------------- the protocol's view


@dataclass(frozen=True)
class Table:
    name: str
    id: uuid.UUID
    files: tuple[str, ...]  # paths, in order
    schema: dict[str, Any]
    size: int
    records: int


@dataclass(frozen=True)
class View:
    """What one token sees: its share, its schema and the tables of the version it delivers."""

    share: str
    share_id: uuid.UUID
    schema: str
    version_id: uuid.UUID
    table_version: int
    published_ms: int  # when the version was published, in ms (the files' modification time)
    tables: dict[str, Table]


_PRIOR = aliased(DatasetVersion)
# The decision with what a view needs, in one statement. The dataset's and share's names and
# the version's ordinal come first, so that a version without files still yields one row.
_VIEW = entitlement.with_files(
    Dataset.slug.label("dataset_slug"), DatasetVersion.published_at.label("published_at"),
    select(Organization.slug).where(Organization.id == Grant.buyer_org_id).scalar_subquery().label("share_slug"),
    # Every version ever published counts, whatever it is now, so the number never goes back.
    select(func.count()).where(_PRIOR.dataset_id == DatasetVersion.dataset_id, _PRIOR.published_at.is_not(None),
                               _PRIOR.published_at <= DatasetVersion.published_at).scalar_subquery().label("ordinal"),
    VersionFile.path.label("file_path"), VersionFile.table_size.label("table_size"), VersionFile.table_records.label("table_records"),
    VersionFile.table_schema.label("table_schema"), VersionFile.table_sha256.label("table_sha256"),
    named=False)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:60] or "table"


def group_tables(grant_id: uuid.UUID, files: list[tuple[str, int, int, dict[str, Any]]]) -> dict[str, Table]:
    """Group a version's tabular files (path, size, records, schema) into tables by their columns."""
    groups: dict[str, list[tuple[str, int, int, dict[str, Any]]]] = {}
    for f in sorted(files):
        key = repr(f[3])
        groups.setdefault(key, []).append(f)
    tables: dict[str, Table] = {}
    for members in groups.values():
        if len(groups) == 1:
            name = "records"
        else:
            # Files of one table in one folder are named after it ("data/train.jsonl" and
            # "data/test.jsonl" make "data"); otherwise after the first file.
            folders = {p.rsplit("/", 1)[0] if "/" in p else "" for p, *_ in members}
            folder = folders.pop() if len(folders) == 1 and len(members) > 1 else ""
            name = _slug(folder.rsplit("/", 1)[-1] if folder else members[0][0].rsplit("/", 1)[-1].rsplit(".", 1)[0])
            base, n = name, 2
            while name in tables:
                name, n = f"{base}_{n}", n + 1
        tables[name] = Table(name=name, id=uuid.uuid5(grant_id, name), files=tuple(f[0] for f in members), schema=members[0][3],
                             size=sum(f[1] for f in members), records=sum(f[2] for f in members))
    return tables


def view(caller: Caller) -> View:
    """The share, schema and tables this caller sees now (the entitlement decision first: a
    revoked, suspended, expired or withdrawn grant answers its refusal here)."""
    with unit_of_work():
        ent = entitlement.decide(caller.principal, caller.grant_id, channel="sharing", files=_VIEW, params={})
    first = ent.files[0]
    tabular = [(r.file_path, r.table_size, r.table_records or 0, r.table_schema) for r in ent.files if r.table_sha256 is not None]
    return View(share=first.share_slug, share_id=ent.grant.buyer_org_id, schema=first.dataset_slug, version_id=ent.version.id,
                table_version=int(first.ordinal or 1), published_ms=int(first.published_at.timestamp() * 1000) if first.published_at else 0, tables=group_tables(caller.grant_id, tabular))



def delta_format(capabilities: str) -> bool:
    """Whether to answer in the delta response format: only when the client asks for it alone
    (`delta-sharing-capabilities: responseformat=delta;...`, the Python client's
    `use_delta_format=True`) and the object store's presigned URLs are ones delta-kernel-rs reads.
    A client that reads both gets parquet: measured on SeaweedFS, the Python client's parquet
    path read a table 1.8x faster than its delta-kernel-rs path (benchmarks/sharing.py)."""
    for part in capabilities.split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "responseformat":
            return {v.strip().lower() for v in value.split(",")} == {"delta"} and object_store().engine_readable_urls
    return False


def _echo(name: str) -> str:
    """A name from the path, fit to repeat in a message: short, and printable."""
    shown = "".join(c if c.isprintable() else "?" for c in name[:64])
    return shown + ("..." if len(name) > 64 else "")


def find_table(v: View, share: str, schema: str | None = None, table: str | None = None) -> Table | None:
    """Resolve names from a path; a name this token does not see is 404, whoever owns it."""
    if share != v.share:
        raise NotFound(f"Share '{_echo(share)}' does not exist or is not shared with this token.")
    if schema is not None and schema != v.schema:
        raise NotFound(f"Schema '{_echo(schema)}' does not exist in share '{_echo(share)}'.")
    if table is not None:
        if table not in v.tables:
            raise NotFound(f"Table '{_echo(table)}' does not exist in schema '{_echo(schema or '')}'.")
        return v.tables[table]
    return None


def query(caller: Caller, share: str, schema: str, table: str, *, limit: int | None, version: int | None) -> tuple[View, Table, dict[str, Any]]:
    """A table query: the table's Parquet files as presigned URLs, each metered, audited and
    charged once per resume window; with `limit` (the client's limitHint), only the files needed
    to reach that many records. Nothing is charged when the quota cannot cover them all."""
    v = view(caller)
    t = find_table(v, share, schema, table)
    assert t is not None
    if version is not None and version != v.table_version:
        raise ValidationFailed(f"Only the table's current version ({v.table_version}) is shared; time travel is not supported.",
                               errors={"version": [f"Use {v.table_version} or omit it."]})

    def choose(ent: entitlement.Entitlement, files: list[DeliveredFile]) -> list[DeliveredFile]:
        if ent.version.id != v.version_id:
            raise Conflict("A new version of the dataset was published while the table was read; query again.")
        by_path = {f.path: f for f in files if f.table_sha256 is not None}
        chosen: list[DeliveredFile] = []
        total = 0
        for path in t.files:
            if path not in by_path:
                raise Conflict("The table changed while it was read; query again.")
            if limit is not None and total >= limit and chosen:
                break
            chosen.append(by_path[path])
            total += by_path[path].table_records or 0
        return chosen

    if limit == 0:
        return v, t, {"files": [], "charged": 0, "unit": None}
    out = delivery.authorize_download(caller.principal, caller.grant_id, paths=None, channel="sharing", choose=choose,
                                      details={"share_token_id": str(caller.token_id), "table": t.name})
    return v, t, out

