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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import load_only

from catalog.models import VersionFile, blob_key
from catalog.storage import object_store
from marketplace.commerce import metering
from marketplace.commerce.models import PricingUnit
from marketplace.delivery import entitlement
from marketplace.delivery.actions import DeliveryAction
from marketplace.kernel import audit
from marketplace.kernel.config import current_settings as _settings
from marketplace.kernel.db import unit_of_work
from marketplace.kernel.errors import PaymentRequired, ValidationFailed
from marketplace.kernel.principal import Principal


def authorize_download(principal: Principal, grant_id: uuid.UUID, *, paths: list[str] | None) -> dict[str, Any]:
    """Authorise a download of `paths` (all files when None). Returns presigned URLs."""
    with unit_of_work() as session:
        ent = entitlement.decide(principal, grant_id, channel="download")
        grant, version = ent.grant, ent.version
        # Only the columns a download needs: previews and statistics are large JSON.
        q = select(VersionFile).options(load_only(VersionFile.id, VersionFile.path, VersionFile.size, VersionFile.sha256, VersionFile.records)) \
            .where(VersionFile.version_id == version.id).order_by(VersionFile.path)
        if paths is not None:
            q = q.where(VersionFile.path.in_(list(dict.fromkeys(paths))))
        files = list(session.scalars(q))
        if paths is not None:
            by_path = {f.path: f for f in files}
            missing = [p for p in paths if p not in by_path]
            if missing:
                raise ValidationFailed("Some files are not in the version this grant covers.", errors={"paths": [f"Not in version {version.version}: {p}" for p in missing[:50]]})
            files = [by_path[p] for p in dict.fromkeys(paths)]
        window = _settings().resume_window_seconds
        bucket = int(time.time()) // window
        out: list[dict[str, Any]] = []
        charged_total = 0
        # All files or none: the debits share this transaction, so a 402 on the last file
        # charges nothing for the others.
        start_balance = grant.balance
        amounts = {f.id: {PricingUnit.records.value: f.records or 0, PricingUnit.downloads.value: 1, PricingUnit.gib.value: f.size}.get(grant.unit, 0) for f in files}
        try:
            for f in files:
                amount = amounts[f.id]
                charged = False
                if amount > 0 and metering.find_debit(grant.id, f"dl:{f.sha256}:{bucket - 1}") is None:
                    res = metering.debit(principal, grant.id, grant.unit, amount, f"dl:{f.sha256}:{bucket}",
                                         details={"file": f.path, "version_id": str(version.id), "purpose": "download"})
                    charged = not res.duplicate
                    charged_total += amount if charged else 0
                out.append({"path": f.path, "size": f.size, "sha256": f.sha256, "records": f.records, "charged": charged, "file": f})
        except PaymentRequired:
            # Nothing is charged (the transaction rolls back): report what the caller has and needs.
            needed = sum(amounts.values())
            raise PaymentRequired(f"The grant has {start_balance} {grant.unit} left; these files need up to {needed}.",
                                  balance=start_balance, needed=needed, unit=grant.unit) from None
        audit.record(principal, DeliveryAction.DELIVERY_AUTHORIZE, subject_type="version", subject_id=version.id, subject_org_id=grant.vendor_org_id,
                     actor_org_id=grant.buyer_org_id, quantities={grant.unit: charged_total, "files": len(out)},
                     details={"grant_id": str(grant.id), "paths": [o["path"] for o in out][:100]})
    # After commit: presign. The store is not in the transaction, and presigning writes nothing.
    store, ttl = _store(), _settings().presign_ttl_seconds
    for o in out:
        f = o.pop("file")
        o["url"] = store.presign_get(blob_key(f.sha256), ttl=ttl, filename=f.path.rsplit("/", 1)[-1])
        o["expires_in"] = ttl
    return {"grant_id": grant.id, "version_id": version.id, "version": version.version, "manifest_digest": version.manifest_digest, "unit": grant.unit,
            "charged": charged_total, "files": out}


_store = object_store
