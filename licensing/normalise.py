"""Free-text licence names and URLs → a licence identifier (or a use class), with a confidence.

Three layers, most specific first:
1. rules: SPDX ids, Creative Commons names and URLs in any spelling, well-known licence names;
2. vocabulary: exact (case- and punctuation-folded) variants seen on real listings, from the
   Data Provenance Initiative (licensing/data, Apache-2.0), resolved to their canonical licence;
3. keywords: "non-commercial", "research only", "copyright" give a class without an identifier.
When unsure the answer is `unknown`, which the compatibility engine treats as academic-only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from licensing.registry_data import STANDARD
from licensing.terms import Terms

DATA = Path(__file__).resolve().parent / "data"

CLASS_OF_DPI_USE = {"All": "commercial", "NC": "non-commercial", "Acad": "academic-only", "Unspecified": "unspecified", "?": "academic-only"}

# DPI canonical names → our identifiers. Names without an identifier are classes only.
DPI_IDENTIFIER = {
    "CC BY-NC 4.0": "CC-BY-NC-4.0", "CC BY-NC-SA 4.0": "CC-BY-NC-SA-4.0", "CC BY 2.5": "CC-BY-2.5", "CC BY-NC-ND 4.0": "CC-BY-NC-ND-4.0",
    "CC BY 3.0": "CC-BY-3.0", "CC BY 2.0": "CC-BY-2.0", "CC BY-NC 3.0": "CC-BY-NC-3.0", "CC BY-NC-SA 3.0": "CC-BY-NC-SA-3.0",
    "CC0 1.0": "CC0-1.0", "CC BY 4.0": "CC-BY-4.0", "CC BY-SA 4.0": "CC-BY-SA-4.0", "CC BY-SA 3.0": "CC-BY-SA-3.0", "CC BY-NC 2.0": "CC-BY-NC-2.0",
    "CC BY-ND 4.0": "CC-BY-ND-4.0", "CC BY-NC-ND 3.0": "CC-BY-NC-ND-3.0", "CC BY-SA 2.0": "CC-BY-SA-2.0",
    "BSD 2-Clause License": "BSD-2-Clause", "BSD 3-Clause License": "BSD-3-Clause", "Apache License 2.0": "Apache-2.0", "Apache 2.0": "Apache-2.0",
    "MIT License": "MIT", "MIT": "MIT", "GNU General Public License v3.0": "GPL-3.0-only", "C-UDA": "C-UDA-1.0",
    "CDLA Permissive 2.0": "CDLA-Permissive-2.0", "CDLA Permissive 1.0": "CDLA-Permissive-1.0", "CDLA Sharing 1.0": "CDLA-Sharing-1.0",
    "Academic Free License v3.0": "AFL-3.0", "ODC BY 1.0": "ODC-By-1.0", "OpenAI": "LicenseRef-OpenAI-Terms",
    "Microsoft Data Licensing Agreement": "LicenseRef-MSR-Data-License", "Academic Research Purposes Only": "LicenseRef-Academic-Research-Only",
    "No License": "NONE", "Llama 2": "LicenseRef-Llama-2", "Meta Llama3 Community License": "LicenseRef-Meta-Llama-3",
    "BigScience OpenRAIL-M": "LicenseRef-BigScience-OpenRAIL-M", "CC0": "CC0-1.0", "Public Domain": "LicenseRef-PDM-1.0",
}


@dataclass(frozen=True)
class Normalised:
    identifier: str | None  # None: only a class is known (or nothing: unknown)
    use_class: str  # academic-only | non-commercial | unspecified | commercial
    attribution: bool | None
    share_alike: bool | None
    confidence: float
    method: str  # rule | vocabulary | keyword | unknown
    matched: str  # what the decision rests on

    @property
    def unknown(self) -> bool:
        return self.method == "unknown"

    def to_dict(self) -> dict:
        return {"identifier": self.identifier, "use_class": self.use_class, "attribution": self.attribution, "share_alike": self.share_alike,
                "confidence": self.confidence, "method": self.method, "matched": self.matched, "unknown": self.unknown}


UNKNOWN = Normalised(None, "academic-only", None, None, 0.0, "unknown", "")


def fold(text: str) -> str:
    """Case, punctuation and spacing folded, for vocabulary lookups."""
    return " ".join(re.findall(r"[a-z0-9.]+", text.lower().replace("_", " ")))


@lru_cache(maxsize=1)
def _vocab() -> dict[str, str]:
    paraphrases = json.loads((DATA / "license_paraphrases.json").read_text())
    out: dict[str, str] = {}
    for canonical, variants in paraphrases.items():
        for v in [canonical, *variants]:
            out.setdefault(fold(v), canonical)
    return out


@lru_cache(maxsize=1)
def _dpi_classes() -> dict[str, list[str]]:
    return json.loads((DATA / "license_classes.json").read_text())


@lru_cache(maxsize=1)
def _registry_terms() -> dict[str, dict]:
    return {e["identifier"]: e["terms"] for e in STANDARD}


def _from_identifier(identifier: str, confidence: float, method: str, matched: str) -> Normalised:
    t = Terms.from_dict(_registry_terms()[identifier])
    return Normalised(identifier, t.use_class, t.attribution, t.share_alike, confidence, method, matched)


def _from_dpi(canonical: str, confidence: float, method: str, matched: str) -> Normalised:
    ident = DPI_IDENTIFIER.get(canonical)
    if ident and ident in _registry_terms():
        return _from_identifier(ident, confidence, method, matched)
    cls = _dpi_classes().get(canonical)
    if canonical == "Custom" or cls is None:
        # Custom or unlisted terms: nothing is known about them until someone reads them.
        return Normalised(None, "academic-only", None, None, confidence, "unknown", matched)
    use, attr, sa = cls
    return Normalised(None, CLASS_OF_DPI_USE[use], None if attr == "?" else attr == "1", None if sa == "?" else sa == "1", confidence, method, matched)


CC_URL = re.compile(r"creativecommons\.org/licenses/(by(?:-nc)?(?:-sa|-nd)?)/(\d\.\d)", re.I)
CC0_URL = re.compile(r"creativecommons\.org/publicdomain/zero/1\.0", re.I)
VERSION = re.compile(r"\b([1-4])\.0\b|\b(2\.5)\b")


def _cc_from_words(text: str) -> Normalised | None:
    """Creative Commons in any spelling: CC-BY-NC 4.0, cc_by_nc_sa, Attribution-NonCommercial 4.0 International..."""
    t = text.lower()
    folded = re.sub(r"[^a-z0-9.]+", " ", t)
    words = folded.split()
    is_cc = "creative commons" in folded or (words and words[0] in ("cc", "ccby")) or re.search(r"\bcc[\s-]?by\b", t) or re.match(r"attribution\b", folded)
    if not is_cc:
        return None
    if re.search(r"\bcc ?0\b|zero|public domain", folded):
        return _from_identifier("CC0-1.0", 0.95, "rule", "CC0")
    by = bool(re.search(r"\bby\b|attribution|ccby", folded))
    if not by:
        return None
    nc = bool(re.search(r"\bnc\b|non ?commercial", folded))
    sa = bool(re.search(r"\bsa\b|share ?alike", folded))
    nd = bool(re.search(r"\bnd\b|no ?deriv", folded))
    v = VERSION.search(folded)
    version = (v.group(1) + ".0") if v and v.group(1) else (v.group(2) if v else None)
    code = "BY" + ("-NC" if nc else "") + ("-SA" if sa else "") + ("-ND" if nd and not sa else "")
    ident = f"CC-{code}-{version or '4.0'}"
    if ident not in _registry_terms():
        ident = f"CC-{code}-4.0"
    return _from_identifier(ident, 0.95 if version else 0.75, "rule", f"Creative Commons {code}{' ' + version if version else ''}")


NAMED = [
    (re.compile(r"\bagpl|affero", re.I), "AGPL-3.0-only", 0.85),
    (re.compile(r"\bgpl[\s-]?v?3|gnu general public license v?3|gpl-3\.0", re.I), "GPL-3.0-only", 0.9),
    (re.compile(r"\bapache\b", re.I), "Apache-2.0", 0.9),
    (re.compile(r"\bmit\b(?! ?ocw)|permission is hereby granted, free of charge", re.I), "MIT", 0.9),
    (re.compile(r"bsd[\s-]?2", re.I), "BSD-2-Clause", 0.9),
    (re.compile(r"bsd[\s-]?3|\bbsd\b", re.I), "BSD-3-Clause", 0.8),
    (re.compile(r"odbl|open database license", re.I), "ODbL-1.0", 0.9),
    (re.compile(r"odc[\s-]?by|open data commons attribution", re.I), "ODC-By-1.0", 0.9),
    (re.compile(r"pddl|public domain dedication", re.I), "PDDL-1.0", 0.9),
    (re.compile(r"public domain mark", re.I), "LicenseRef-PDM-1.0", 0.9),
    (re.compile(r"cdla[\s-]?sharing|community data license agreement\W+sharing", re.I), "CDLA-Sharing-1.0", 0.9),
    (re.compile(r"cdla[\s-]?permissive[\s-]?1|community data license agreement\W+permissive\W+(version )?1", re.I), "CDLA-Permissive-1.0", 0.9),
    (re.compile(r"cdla[\s-]?permissive|community data license agreement\W+permissive", re.I), "CDLA-Permissive-2.0", 0.85),
    (re.compile(r"c-uda|computational use of data agreement", re.I), "C-UDA-1.0", 0.95),
    (re.compile(r"academic free license|\bafl[\s-]?3", re.I), "AFL-3.0", 0.9),
    (re.compile(r"bigscience.*openrail|bigscience.*rail", re.I), "LicenseRef-BigScience-OpenRAIL-M", 0.9),
    (re.compile(r"openrail[\s-]?m", re.I), "LicenseRef-OpenRAIL-M", 0.85),
    (re.compile(r"openrail[\s-]?d", re.I), "LicenseRef-OpenRAIL-D", 0.85),
    (re.compile(r"montreal data licen[cs]e|\bmdl\b", re.I), None, 0.0),  # family: needs the variant; see keywords
    (re.compile(r"llama ?3", re.I), "LicenseRef-Meta-Llama-3", 0.9),
    (re.compile(r"llama ?2", re.I), "LicenseRef-Llama-2", 0.9),
    (re.compile(r"openai", re.I), "LicenseRef-OpenAI-Terms", 0.85),
    (re.compile(r"microsoft research data licen[cs]e", re.I), "LicenseRef-MSR-Data-License", 0.9),
]

KEYWORDS = [
    (re.compile(r"research[\s-]?(purposes?[\s-]?)?only|academic (research )?(use |purposes )?only|non-commercial research|for research purposes", re.I), "academic-only"),
    (re.compile(r"non[\s-]?commercial|noncommercial", re.I), "non-commercial"),
]


def normalise(raw: str | None) -> Normalised:
    """Map a licence name, SPDX id, URL or sentence to an identifier or class."""
    if not raw or not raw.strip():
        return UNKNOWN
    text = raw.strip()[:2000]
    registry = _registry_terms()
    # 1. exact identifiers (SPDX or LicenseRef) in any case
    by_lower = {k.lower(): k for k in registry}
    if text.lower() in by_lower:
        return _from_identifier(by_lower[text.lower()], 1.0, "rule", "identifier")
    # URLs and Creative Commons spellings
    m = CC_URL.search(text)
    if m:
        ident: str | None = f"CC-{m.group(1).upper()}-{m.group(2)}"
        if ident in registry:
            return _from_identifier(ident, 1.0, "rule", "Creative Commons URL")
    if CC0_URL.search(text):
        return _from_identifier("CC0-1.0", 1.0, "rule", "CC0 URL")
    cc = _cc_from_words(text)
    if cc is not None and cc.confidence >= 0.9:
        return cc
    for pattern, ident, conf in NAMED:
        if pattern.search(text) and ident:
            return _from_identifier(ident, conf, "rule", pattern.pattern)
    # 2. vocabulary of variants seen on real listings
    canonical = _vocab().get(fold(text))
    if canonical is not None:
        return _from_dpi(canonical, 0.8, "vocabulary", canonical)
    if cc is not None:
        return cc
    # 3. keywords give a class
    for pattern, cls in KEYWORDS:
        if pattern.search(text):
            return Normalised(None, cls, None, None, 0.6, "keyword", pattern.pattern)
    if re.match(r"https?://", text):
        return Normalised(None, "academic-only", None, None, 0.0, "unknown", "custom licence URL")
    if re.search(r"copyright|all rights reserved|\(c\)", text, re.I):
        return Normalised(None, "unspecified", False, False, 0.5, "keyword", "copyright notice without licence")
    return UNKNOWN


def dpi_class(canonical: str) -> tuple[str, bool | None, bool | None] | None:
    """The (use class, attribution, share-alike) DPI gives a canonical name, for the report."""
    cls = _dpi_classes().get(canonical)
    if cls is None:
        return None
    use, attr, sa = cls
    return CLASS_OF_DPI_USE[use], None if attr == "?" else attr == "1", None if sa == "?" else sa == "1"
