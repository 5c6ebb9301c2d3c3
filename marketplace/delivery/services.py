"""Download authorisation.

For a grant and some files (or the whole version): ask the one entitlement decision
(`entitlement.decide`: grant, roles, status, terms, withdrawal), then the quota; debit bytes, records or downloads as the offer says; write the
audit event; commit; and only then presign short-lived URLs, so the service is never in the data
path. Each file's size and SHA-256 come back so clients verify what they get.

Re-issuing the same file under the same grant within the resume window is free: the debit's
request id is derived from (grant, file digest, window), so a repeat is the same, already-charged
request.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, NamedTuple

from sqlalchemy import String, bindparam, exists, literal

from catalog.models import VersionFile, blob_key
from catalog.storage import object_store
from marketplace.commerce import metering
from marketplace.commerce.models import PricingUnit, QuotaEntry
from marketplace.delivery import entitlement
from marketplace.kernel import audit, metrics
from marketplace.kernel.config import current_settings as _settings
from marketplace.kernel.db import unit_of_work
from marketplace.kernel.errors import Conflict, PaymentRequired, ValidationFailed
from marketplace.kernel.principal import Principal

# Chooses, once the decision is made, which of the version's files a table query takes (and
# raises the caller's own error when the table does not exist).
Chooser = Callable[[entitlement.Entitlement, list["DeliveredFile"]], list["DeliveredFile"]]


def authorize_download(principal: Principal, grant_id: uuid.UUID, *, paths: list[str] | None, channel: str = "download",
                       choose: Chooser | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Authorise a download of `paths` (all files when None). Returns presigned URLs.

    On the common path this is one transaction of two statements: the entitlement decision with
    the files, whether each was charged in this or the last resume window, and the auth epoch
    that confirms a cached key (see `identity.auth.as_caller`); and one debit statement per file
    to charge (the last carrying this authorisation's event); then the commit. A debit that lost a race with the same request (a client retrying while its first
    call is in flight, or a worker fetching one shard while a coordinator asks for many) runs
    the whole decision again, which then sees that charge: every retry settles at least one
    file, so the attempts are bounded.

    The `sharing` channel (Delta Sharing) delivers each tabular file's Parquet table instead of
    its bytes as uploaded: `choose` picks the files of the table asked for; the charge is the
    same on both channels (keyed by the source file's digest, in the source file's bytes for a
    byte quota), so a file downloaded and then read as a table in one resume window is charged
    once, and neither rendering is a cheaper way to the other. `details` go into the event."""
    attempts = (len(paths) if paths else 64) + 1
    with metrics.authorisation(channel):
        for _ in range(attempts):
            try:
                return _authorize(principal, grant_id, paths, channel, choose, details or {})
            except metering.DebitRaced:
                continue
        raise Conflict("Other requests for these files kept committing first; retry.")


class DeliveredFile(NamedTuple):
    """One file of an authorisation: the source file's digest (what a charge is keyed by) and,
    for a table query, its Parquet table's digest, size and schema."""

    path: str
    size: int
    sha256: str
    records: int | None
    before: bool
    now: bool
    table_sha256: str | None
    table_size: int | None
    table_records: int | None
    table_schema: dict[str, Any] | None
    media_ms: int | None


# A download's debit request id is DOWNLOAD + the file's SHA-256 + ":" + the resume window's
# number: written by the debit below, looked up by `_charged_in`.
DOWNLOAD = "dl:"


def _charged_in(suffix: str) -> Any:
    """Whether the grant's ledger holds a download of this file in a resume window."""
    return exists().where(QuotaEntry.grant_id == bindparam("grant_id"), QuotaEntry.request_id == literal(DOWNLOAD) + VersionFile.sha256 + bindparam(suffix, type_=String))


# The decision with the files a download names (or all of them), each with whether it was
# charged in this resume window or the last: one statement, built once.
_FILE_COLUMNS = (VersionFile.path.label("file_path"), VersionFile.size.label("file_size"), VersionFile.sha256.label("file_sha256"),
                 VersionFile.records.label("file_records"), _charged_in("before").label("before"), _charged_in("now").label("now"),
                 VersionFile.table_sha256.label("table_sha256"), VersionFile.table_size.label("table_size"),
                 VersionFile.table_records.label("table_records"), VersionFile.table_schema.label("table_schema"),
                 VersionFile.media_ms.label("media_ms"))
_ALL_FILES = entitlement.with_files(*_FILE_COLUMNS, named=False)
_NAMED_FILES = entitlement.with_files(*_FILE_COLUMNS, named=True)


def _charges(unit: str, files: list[DeliveredFile]) -> tuple[list[int], list[int]]:
    """What each file costs in the grant's unit, and which of them a download now would charge:
    the one rule both the authorisation and the listing before it apply."""
    # Bytes are the file's as the vendor published it, whichever rendering is delivered: the
    # charge is shared across channels (keyed by the source's digest), so it must be the same.
    # Hours are the file's measured audio and video, in milliseconds (a file without any costs
    # nothing under an hour offer: a transcript is part of the hours it transcribes).
    amounts = [{PricingUnit.records.value: f.records or 0, PricingUnit.downloads.value: 1, PricingUnit.gib.value: f.size,
                PricingUnit.hours.value: f.media_ms or 0}.get(unit, 0) for f in files]
    # A file is charged once per resume window, and so is the same content under two paths
    # (the charge is keyed by the content's digest): only its first path is debited.
    seen: set[str] = set()
    to_charge = []
    for i, (f, amount) in enumerate(zip(files, amounts, strict=True)):
        if amount > 0 and not f.before and not f.now and f.sha256 not in seen:
            to_charge.append(i)
        seen.add(f.sha256)
    return amounts, to_charge


def _window_params() -> tuple[int, dict[str, Any]]:
    bucket = int(time.time()) // _settings().resume_window_seconds
    return bucket, {"before": f":{bucket - 1}", "now": f":{bucket}"}


_LISTED = entitlement.with_files(*_FILE_COLUMNS, VersionFile.format.label("file_format"), named=False)


may_take_data = entitlement.may_take_data


def grant_files(principal: Principal, grant_id: uuid.UUID, *, audit_refusal: bool = True) -> dict[str, Any]:
    """The files a grant delivers now, and what downloading each would charge (0 for a file
    already charged in this resume window): the answer to "what will this click cost?". The
    same decision as a download, so whoever may not download is refused here too; nothing is
    charged or presigned. Pages asking what to show pass `audit_refusal=False`."""
    _, params = _window_params()
    with unit_of_work():  # a refusal is audited
        ent = entitlement.decide(principal, grant_id, channel="download", files=_LISTED, params=params, audit_refusal=audit_refusal)
    rows = list(ent.files)
    files = [DeliveredFile(r.file_path, r.file_size, r.file_sha256, r.file_records, r.before, r.now, r.table_sha256, r.table_size, r.table_records,
                           r.table_schema, r.media_ms) for r in rows]
    amounts, to_charge = _charges(ent.grant.unit, files)
    charge = set(to_charge)
    out = [{"path": f.path, "size": f.size, "sha256": f.sha256, "records": f.records, "format": r.file_format, "would_charge": amounts[i] if i in charge else 0}
           for i, (f, r) in enumerate(zip(files, rows, strict=True))]
    return {"grant_id": ent.grant.id, "version_id": ent.version.id, "version": ent.version.version, "unit": ent.grant.unit, "balance": ent.grant.balance,
            "would_charge": sum(x["would_charge"] for x in out), "files": out}


def _authorize(principal: Principal, grant_id: uuid.UUID, paths: list[str] | None, channel: str, choose: Chooser | None,
               extra: dict[str, Any]) -> dict[str, Any]:
    bucket, params = _window_params()
    with unit_of_work():
        if paths is not None:
            params["paths"] = list(dict.fromkeys(paths))
        ent = entitlement.decide(principal, grant_id, channel=channel, files=_ALL_FILES if paths is None else _NAMED_FILES, params=params)
        grant, version = ent.grant, ent.version
        files = [DeliveredFile(r.file_path, r.file_size, r.file_sha256, r.file_records, r.before, r.now, r.table_sha256, r.table_size, r.table_records,
                               r.table_schema, r.media_ms) for r in ent.files]
        if paths is not None:
            by_path = {f.path: f for f in files}
            missing = [p for p in paths if p not in by_path]
            if missing:
                raise ValidationFailed("Some files are not in the version this grant covers.", errors={"paths": [f"Not in version {version.version}: {p}" for p in missing[:50]]})
            files = [by_path[p] for p in dict.fromkeys(paths)]
        if choose is not None:
            files = choose(ent, files)
        tables = channel == "sharing"
        amounts, to_charge = _charges(grant.unit, files)
        charged = set()
        charged_total = 0

        def event(total: int) -> dict[str, Any]:
            return audit.values(principal, entitlement.CHANNELS[channel], subject_type="version", subject_id=version.id, subject_org_id=grant.vendor_org_id,
                                actor_org_id=grant.buyer_org_id, quantities={grant.unit: total, "files": len(files)},
                                details={"grant_id": str(grant.id), "paths": [f.path for f in files][:100], **extra})

        written = False
        # All files or none: the debits share this transaction, so a 402 on the last file
        # charges nothing for the others.
        try:
            for i in to_charge:
                f, amount = files[i], amounts[i]
                # The last debit carries this authorisation's event: one statement for both.
                also = event(charged_total + amount) if i == to_charge[-1] else None
                res = metering.debit(principal, grant.id, grant.unit, amount, f"{DOWNLOAD}{f.sha256}:{bucket}",
                                     details={"file": f.path, "version_id": str(version.id), "purpose": "table" if tables else "download"}, also=also)
                if not res.duplicate:
                    charged.add(i)
                    charged_total += amount
                    written = also is not None
        except PaymentRequired:
            # Nothing is charged (the transaction rolls back): report what the caller has and needs.
            needed = sum(amounts)
            raise PaymentRequired(f"The grant has {metering.in_words(grant.unit, grant.balance)} left; these files need up to "
                                  f"{metering.in_words(grant.unit, needed)}.",
                                  balance=grant.balance, needed=needed, unit=grant.unit) from None
        if not written:
            audit.append(event(charged_total))
    # After commit: presign. The store is not in the transaction, and presigning writes nothing.
    store, ttl = _store(), _settings().presign_ttl_seconds
    if tables:
        out = [{"path": f.path, "size": f.table_size, "sha256": f.table_sha256, "records": f.table_records, "charged": i in charged, "schema": f.table_schema,
                "url": store.presign_get(blob_key(str(f.table_sha256)), ttl=ttl, filename=f.path.rsplit("/", 1)[-1].rsplit(".", 1)[0] + ".parquet"),
                "expires_in": ttl} for i, f in enumerate(files)]
    else:
        out = [{"path": f.path, "size": f.size, "sha256": f.sha256, "records": f.records, "charged": i in charged,
                "url": store.presign_get(blob_key(f.sha256), ttl=ttl, filename=f.path.rsplit("/", 1)[-1]), "expires_in": ttl}
               for i, f in enumerate(files)]
    return {"grant_id": grant.id, "version_id": version.id, "version": version.version, "manifest_digest": version.manifest_digest, "unit": grant.unit,
            "charged": charged_total, "files": out}


_store = object_store
