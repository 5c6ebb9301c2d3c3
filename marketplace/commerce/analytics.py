"""A vendor's sales analytics: for each listing and in total, over a window of days, how many
people looked (page views), asked (access requests), bought (paid orders) and paid (revenue per
currency), and what was delivered (charged records, bytes and downloads), with a daily series
for the chart. Read-only; every figure comes from rows the product already keeps."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from catalog.models import AccessRequest, Dataset, DatasetViewDay
from marketplace.commerce.models import Grant, Offer, Order, OrderStatus, PricingUnit, QuotaEntry
from marketplace.commerce.policy import POLICY
from marketplace.commerce.policy import CommercePermission as Perm
from marketplace.kernel.db import get_session, utcnow
from marketplace.kernel.principal import Principal

# What a debit of each unit delivered, in the words of the analytics.
DELIVERED = {PricingUnit.records.value: "records", PricingUnit.gib.value: "bytes", PricingUnit.downloads.value: "downloads", PricingUnit.hours.value: "media_ms"}


def sales_analytics(principal: Principal, org_id: uuid.UUID, *, days: int = 90) -> dict[str, Any]:
    """The organisation's listings over the last `days` days: totals, per listing, and per day."""
    POLICY.require(principal, Perm.ORDER_LIST, org=org_id)
    days = max(1, min(days, 366))
    session = get_session()
    today = utcnow().date()
    since_day = today - timedelta(days=days - 1)
    since = utcnow() - timedelta(days=days)
    listings = {r.id: r.title for r in session.execute(select(Dataset.id, Dataset.title).where(Dataset.organization_id == org_id))}
    per: dict[uuid.UUID, dict[str, Any]] = {
        d: {"dataset_id": d, "title": t, "views": 0, "requests": 0, "orders": 0, "revenue": defaultdict(int), "records": 0, "bytes": 0, "downloads": 0, "media_ms": 0}
        for d, t in listings.items()}
    daily: dict[date, dict[str, int]] = {since_day + timedelta(days=i): {"views": 0, "orders": 0} for i in range(days)}
    if listings:
        ids = list(listings)
        for did, day, n in session.execute(select(DatasetViewDay.dataset_id, DatasetViewDay.day, DatasetViewDay.views)
                                           .where(DatasetViewDay.dataset_id.in_(ids), DatasetViewDay.day >= since_day)):
            per[did]["views"] += n
            if day in daily:
                daily[day]["views"] += n
        for did, n in session.execute(select(AccessRequest.dataset_id, func.count()).where(AccessRequest.vendor_org_id == org_id, AccessRequest.created_at >= since)
                                      .group_by(AccessRequest.dataset_id)):
            if did in per:
                per[did]["requests"] += n
        for did, currency, amount, paid_at in session.execute(
                select(Offer.dataset_id, Order.currency, Order.amount_minor, Order.paid_at).join(Offer, Offer.id == Order.offer_id)
                .where(Order.vendor_org_id == org_id, Order.status == OrderStatus.paid.value, Order.paid_at >= since)):
            row = per.get(did)
            if row is None:
                continue
            row["orders"] += 1
            row["revenue"][currency] += amount
            if paid_at is not None and paid_at.date() in daily:
                daily[paid_at.date()]["orders"] += 1
        for did, unit, amount in session.execute(
                select(Grant.dataset_id, Grant.unit, func.sum(QuotaEntry.amount)).join(Grant, Grant.id == QuotaEntry.grant_id)
                .where(Grant.vendor_org_id == org_id, QuotaEntry.kind == "debit", QuotaEntry.created_at >= since).group_by(Grant.dataset_id, Grant.unit)):
            what = DELIVERED.get(str(unit))
            if what and did in per:
                per[did][what] += int(amount or 0)
    rows = sorted(per.values(), key=lambda r: (-r["orders"], -r["views"], r["title"]))
    totals: dict[str, Any] = {k: sum(r[k] for r in rows) for k in ("views", "requests", "orders", "records", "bytes", "downloads", "media_ms")}
    revenue: dict[str, int] = defaultdict(int)
    for r in rows:
        for cur, amount in r["revenue"].items():
            revenue[cur] += amount
        r["revenue"] = dict(r["revenue"])
    totals["revenue"] = dict(revenue)
    return {"days": days, "totals": totals, "listings": rows, "daily": [{"day": d, **v} for d, v in sorted(daily.items())]}
