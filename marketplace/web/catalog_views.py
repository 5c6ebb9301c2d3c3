"""Catalogue pages: search with facets and pagination, and the dataset page (card, versions,
files, sample, licence as a "you may / you may not" table, provenance with a lineage picture,
findings and offers). They call the same services as the API."""

from __future__ import annotations

import json
import uuid
from html import escape
from typing import Any

from flask import Blueprint, Response, abort, render_template, request

from catalog import policy as catalog_policy
from catalog.cards import render_card
from catalog.overlap import services as overlap
from catalog.services import access
from catalog.services import datasets as catalog
from catalog.services import search as search_svc
from licensing.services import compatibility, get_provenance, version_license
from marketplace.commerce.services import list_offers
from marketplace.identity.auth import current_principal
from marketplace.kernel.errors import DomainError, NotFound, ValidationFailed
from marketplace.web.common import active_org_id

bp = Blueprint("catalog_web", __name__)

LIST_FILTERS = ("domain", "modality", "language", "license_class")
# The measured media facets: their values, and how the filter list reads them.
MEDIA_LABELS = {
    "sample_rate": {"16k": "≥ 16 kHz", "44.1k": "≥ 44.1 kHz", "48k": "≥ 48 kHz"},
    "resolution": {"720p": "≥ 720 lines", "1080p": "≥ 1080 lines", "2160p": "≥ 2160 lines (4K)"},
    "hours": {"<1": "under 1 hour", "1-10": "1–10 hours", "10-100": "10–100 hours", "100-1000": "100–1,000 hours", "1000+": "over 1,000 hours"},
    "speakers": {"1-9": "1–9", "10-99": "10–99", "100-999": "100–999", "1000+": "1,000 or more"},
}


@bp.get("/datasets")
def search_page():
    args = {k: request.args.getlist(k) for k in LIST_FILTERS if request.args.getlist(k)}
    # Unknown values of a measured facet are dropped (a stale link), never searched for.
    args.update({k: [v for v in request.args.getlist(k) if v in labels] for k, labels in MEDIA_LABELS.items() if request.args.getlist(k)})
    q = request.args.get("q") or None
    sort = request.args.get("sort", "relevance")
    try:
        res = search_svc.search(current_principal(), q=q, sort=sort if sort in search_svc.SORTS else "relevance", cursor=request.args.get("cursor") or None,
                                limit=12, domain=args.get("domain"), modality=args.get("modality"), language=args.get("language"),
                                license_class=args.get("license_class"), **{k: args.get(k) for k in MEDIA_LABELS})
        error = None
    except ValidationFailed as e:
        res, error = {"items": [], "facets": {}, "total": 0, "next_cursor": None}, e.detail
    return render_template("catalog/search.html", res=res, q=q or "", selected=args, sort=sort, error=error, media_labels=MEDIA_LABELS)


VERDICT = {"allowed": "you may", "prohibited": "you may not", "unspecified": "not stated"}
DUTY = {"required": "you must", "unknown, treat as required": "unknown: treat as you must", "none": None}
MODEL_ROWS = {
    "no-competing-models": ("Use it to develop models that compete with {provider}", "you may not"),
    "no-improving-other-models": ("Use it to improve models other than {provider}'s", "you may not"),
    "model-attribution": ("Show on models built with it: “{value}”", "you must"),
    "model-name-prefix": ("Name models trained on it starting with “{value}”", "you must"),
    "user-limit": ("Serve more than {value} monthly users without {provider}'s own licence", "you may not"),
}


def terms_table(effective: dict) -> list[tuple[str, str]]:
    """(what, verdict) rows for the licence table people read, from the effective terms: the own
    licence combined with the whole lineage (licensing.services.effective_licence), so the table
    never says "you may" where an upstream licence or a model's terms say otherwise."""
    labels = [("commercial_use", "Use it commercially"), ("ai_training", "Train AI models on it"), ("derivatives", "Make derivatives"),
              ("redistribution", "Redistribute it"), ("outputs_commercial", "Sell what a model trained on it produces")]
    rows = [(label, VERDICT[effective.get(k, "unspecified")]) for k, label in labels]
    if effective.get("academic_only"):
        rows.insert(0, ("Use outside academic research", "you may not"))
    for key, label in (("attribution", "Credit the source"), ("share_alike", "Share derivatives under the same licence")):
        verdict = DUTY.get(effective.get(key, "none"))
        if verdict:
            rows.append((label, verdict))
    seen = set()
    for m in effective.get("model_terms", []):
        what, verdict = MODEL_ROWS[m["code"]]
        row = (what.format(provider=m.get("provider") or "the model provider", value=m.get("value") or ""), verdict)
        if row not in seen:
            seen.add(row)
            rows.append(row)
    if effective.get("field_of_use_exclusions"):
        rows.append(("Use it for: " + ", ".join(effective["field_of_use_exclusions"]), "you may not"))
    return rows


@bp.get("/datasets/<uuid:dataset_id>")
def dataset_page(dataset_id: uuid.UUID):
    p = current_principal()
    try:
        ds = catalog.get_dataset(p, dataset_id)
    except NotFound:
        abort(404)
    versions = catalog.list_versions(p, dataset_id)
    current = next((v for v in versions if str(v.id) == request.args.get("version")), None) or next((v for v in versions if v.id == ds.latest_version_id), versions[0] if versions else None)
    catalog.record_view(p, ds)  # the vendor's analytics: someone looked
    files, lic, comp, prov, offers = [], None, None, None, []
    if current is not None:
        files = catalog.list_files(p, current.id)
        lic = version_license(current.id)
        try:
            comp = compatibility(p, current.id)
            prov = get_provenance(p, current.id)[0]
        except DomainError:
            comp, prov = comp, None
    offers = list_offers(p, dataset_id)
    facets = catalog.facets_of([ds.id])[ds.id]
    previews = [f for f in files if f.preview and f.preview.get("records")]
    preview = next((f for f in previews if f.path == request.args.get("file")), previews[0] if previews else None)
    gate = access.get_gate(p, dataset_id)
    is_vendor = catalog_policy.can_read_private(p, ds)
    org = active_org_id(p) if p.authenticated else None
    mine = access.list_requests(p, org, as_vendor=False, dataset_id=dataset_id) if gate is not None and org is not None and not is_vendor else []
    my_request = next((r for r in mine if r["status"] in ("pending", "approved")), mine[0] if mine else None)
    samples_allowed = access.may_see_samples(p, ds)
    # Media previews carry short-lived URLs: made only for whoever may see samples.
    media_previews = [catalog.preview_view(f) for f in files if samples_allowed and f.preview and f.preview.get("media") and not f.preview.get("hidden")]
    return render_template("catalog/dataset.html", gate=gate, is_vendor=is_vendor, my_request=my_request, samples_allowed=samples_allowed, media_previews=media_previews,
                           countries=sorted(access.COUNTRIES.items(), key=lambda c: c[1]), ds=ds, card=render_card(ds.card_markdown, heading_offset=1), facets=facets, versions=versions, current=current,
                           files=files, lic=lic, terms=terms_table(comp["effective_terms"]) if comp and lic else [], comp=comp, prov=prov, offers=offers, preview=preview,
                           previews=previews, viewer=sample_table(preview) if preview is not None else None,
                           lineage_svg=lineage_svg(comp["lineage"]) if comp else "", duplicates=overlap.duplicate_rate(current.id) if current is not None else None)


@bp.get("/datasets/<uuid:dataset_id>/lineage.svg")
def lineage_image(dataset_id: uuid.UUID):
    """The lineage drawing on its own, at full size: the browser zooms and pans it."""
    p = current_principal()
    try:
        ds = catalog.get_dataset(p, dataset_id)
        versions = catalog.list_versions(p, dataset_id)
        current = next((v for v in versions if str(v.id) == request.args.get("version")), None) or next(
            (v for v in versions if v.id == ds.latest_version_id), versions[0] if versions else None)
        if current is None:
            abort(404)
        comp = compatibility(p, current.id)
    except DomainError:
        abort(404)
    return Response(lineage_svg(comp["lineage"]), mimetype="image/svg+xml",
                    headers={"Content-Security-Policy": "default-src 'none'", "Cache-Control": "no-store"})


def _type_name(t: Any) -> str:
    """A Delta/Spark schema type as people read it: string, long, array<struct>..."""
    if isinstance(t, str):
        return t
    if isinstance(t, dict):
        kind = t.get("type")
        if kind == "array":
            return f"array<{_type_name(t.get('elementType'))}>"
        if kind == "map":
            return f"map<{_type_name(t.get('keyType'))}, {_type_name(t.get('valueType'))}>"
        if kind == "struct":
            return "struct"
    return "?"


def sample_table(f: Any, *, width: int = 80) -> dict[str, Any]:
    """The sample of a file as a table: a column per field with its type from ingest (the table
    schema made at publish), and per column how many sample values are empty and distinct;
    nested values shown as JSON, long ones cut."""
    records = [r for r in (f.preview or {}).get("records", []) if isinstance(r, dict)]
    typed = {fd["name"]: _type_name(fd.get("type")) for fd in ((f.table_schema or {}).get("fields") or []) if isinstance(fd, dict) and "name" in fd}
    names = list(typed) or list(dict.fromkeys(k for r in records for k in r))
    columns, rows = [], []
    for name in names[:40]:
        values = [r.get(name) for r in records]
        empty = sum(1 for v in values if v is None or v == "")
        distinct = len({json.dumps(v, sort_keys=True, default=str) for v in values if v is not None and v != ""})
        columns.append({"name": name, "type": typed.get(name, "text" if f.format == "csv" else "?"), "empty": empty, "distinct": distinct})
    for r in records:
        cells = []
        for c in columns:
            v = r.get(c["name"])
            text = "" if v is None else (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
            cells.append(text if len(text) <= width else text[: width - 1] + "…")
        rows.append(cells)
    return {"columns": columns, "rows": rows, "sampled": len(records), "more_columns": max(0, len(names) - 40)}


def _wrap(text: str, width: int = 30, lines: int = 4) -> list[str]:
    """A label in lines of at most `width` characters, broken between words (a word longer than
    a line is cut); past `lines` lines the last ends with an ellipsis."""
    out: list[str] = []
    for word in text.split():
        while len(word) > width:
            out.append(word[:width])
            word = word[width:]
        if out and len(out[-1]) + 1 + len(word) <= width:
            out[-1] += " " + word
        elif word:
            out.append(word)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "…"
    return out or [""]


def lineage_svg(graph: dict) -> str:
    """A layered drawing of the lineage: the version on the left, its sources to the right. Labels
    are wrapped, never cut short (each node also carries its full label as a <title>), and the
    drawing keeps its natural size: the page scrolls it, and the standalone SVG zooms."""
    nodes = {n["id"]: n for n in graph["nodes"]}
    depth = {graph["nodes"][0]["id"]: 0} if graph["nodes"] else {}
    for _ in range(len(nodes)):
        for e in graph["edges"]:
            if e["from"] in depth:
                depth[e["to"]] = max(depth.get(e["to"], 0), depth[e["from"]] + 1)
    columns: dict[int, list[str]] = {}
    for nid, d in depth.items():
        columns.setdefault(d, []).append(nid)
    w, gapx, gapy, line = 240, 60, 18, 15
    labels = {nid: _wrap(nodes[nid]["label"]) for nid in depth}
    heights = {nid: 20 + line * (len(labels[nid]) + 1) for nid in depth}
    pos: dict[str, tuple[int, int]] = {}
    for d, ids in columns.items():
        y = 20
        for nid in ids:
            pos[nid] = (20 + d * (w + gapx), y)
            y += heights[nid] + gapy
    width = 40 + (max(columns) + 1 if columns else 1) * (w + gapx)
    height = 40 + max((sum(heights[n] + gapy for n in ids) for ids in columns.values()), default=60)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Lineage graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for e in graph["edges"]:
        (x1, y1), (x2, y2) = pos[e["from"]], pos[e["to"]]
        m1, m2 = y1 + heights[e["from"]] / 2, y2 + heights[e["to"]] / 2
        parts.append(f'<line x1="{x1 + w}" y1="{m1}" x2="{x2}" y2="{m2}" stroke="#5b6470" stroke-width="1.5"/>')
        parts.append(f'<text x="{(x1 + w + x2) / 2 - 20}" y="{(m1 + m2) / 2 - 4}" font-size="10" fill="#5b6470">{escape(e["relation"])}</text>')
    for nid, (x, y) in pos.items():
        n = nodes[nid]
        fill = "#e6f0fa" if n["kind"] == "version" else "#f4f4f6"
        full = escape(n["label"]) + (" — " + escape(n["license"]) if n.get("license") else "")
        parts.append(f'<g><title>{full}</title><rect x="{x}" y="{y}" width="{w}" height="{heights[nid]}" rx="6" fill="{fill}" stroke="#0b5cad"/>')
        for i, text in enumerate(labels[nid]):
            parts.append(f'<text x="{x + 8}" y="{y + 18 + i * line}" font-size="12" fill="#1b1f24">{escape(text)}</text>')
        kind = n.get("license") or n["kind"]
        parts.append(f'<text x="{x + 8}" y="{y + 18 + len(labels[nid]) * line}" font-size="10" fill="#5b6470">{escape(kind[:40])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
