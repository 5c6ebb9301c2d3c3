"""Regulatory documents rendered for people: HTML pages and Word files (python-docx) built from
the same JSON the API answers, so the three never say different things."""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document
from flask import render_template

from marketplace.compliance.regulatory import TBP

META = ("document", "template", "basis", "generated_at", "legend", "language")
# Characters XML 1.0 cannot carry (a Word file is XML): shown as U+FFFD instead of failing.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _x(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def section_title(key: str) -> str:
    """'2.3_crawled_data' → '2.3 Crawled data'; '1_general_information' → '1 General information'."""
    m = re.match(r"^([\d.]+)_(.*)$", key)
    number, words = (m.group(1) + " ", m.group(2)) if m else ("", key)
    words = words.replace("_", " ")
    return number + (words[:1].upper() + words[1:])


def when(iso: str | None) -> str:
    """An ISO timestamp as people read it: "2026-12-01 05:31 UTC" (no microseconds, no offset)."""
    if not iso:
        return ""
    return str(iso)[:16].replace("T", " ") + " UTC"


def render_html(doc: dict[str, Any], *, lang: str = "en") -> str:
    """The document as a standalone HTML page with a section index and evidence links."""
    sections = [k for k in doc if k not in META]
    return render_template("compliance/document.html", doc=doc, sections=sections, lang=lang, tbp=TBP,
                           generated_label="生成时间" if lang == "zh" else "Generated")


def render_docx(doc: dict[str, Any]) -> bytes:
    """The document as a Word file: a heading per section, a line per field, evidence as bullets."""
    d = Document()
    d.core_properties.title = _x(doc["document"])
    d.add_heading(_x(doc["document"]), level=0)
    for k in ("template", "basis"):
        if doc.get(k):
            d.add_paragraph(_x(doc[k]))
    d.add_paragraph(f"Generated {doc['generated_at']}")
    for term, meaning in (doc.get("legend") or {}).items():
        d.add_paragraph(_x(f"{term}: {meaning}"), style="List Bullet")
    for key in (k for k in doc if k not in META):
        d.add_heading(_x(section_title(key)), level=1)
        _write(d, doc[key], level=2)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _write(d: Any, v: Any, *, level: int, label: str | None = None) -> None:
    if isinstance(v, dict) and "value" in v and "evidence" in v:
        extra = "; ".join(f"{k.replace('_', ' ')}: {x}" for k, x in v.items() if k not in ("value", "evidence") and x is not None)
        d.add_paragraph(_x(f"{label + ': ' if label else ''}{v['value']}" + (f" ({extra})" if extra else "")))
        for e in v["evidence"]:
            d.add_paragraph(_x(f"[{e['type']}] {e['label']} {e['url']}".rstrip()), style="List Bullet 2")
    elif isinstance(v, dict):
        if label:
            d.add_heading(_x(label), level=min(level, 4))
        for k, x in v.items():
            if k == "evidence":
                for e in x:
                    d.add_paragraph(_x(f"[{e['type']}] {e['label']} {e['url']}".rstrip()), style="List Bullet 2")
            else:
                _write(d, x, level=level + 1, label=section_title(k))
    elif isinstance(v, list):
        if label:
            d.add_paragraph(_x(f"{label}:" if v else f"{label}: —"))
        for x in v:
            if isinstance(x, (dict, list)):
                _write(d, x, level=level + 1)
            else:
                d.add_paragraph(_x(x), style="List Bullet")
    else:
        d.add_paragraph(_x(f"{label + ': ' if label else ''}{'' if v is None else v}"))
