"""Free-text licence statements → terms, with what was matched and where.

A vendor types whatever its source says: an SPDX id, a URL, a sentence, or a paragraph that mixes
a data licence, a code licence and a "research use only". The verdict must never be looser than
the text. The rules, in order:

1. Whole-text answers: a registry identifier or SPDX alias; an SPDX expression ("MIT OR
   Apache-2.0": the licensee chooses; AND: both bind; WITH: the base licence with its exception);
   a custom-licence URL from the Data Provenance Initiative's map.
2. Otherwise the text is scanned, and every match keeps its span:
   - URLs are found first and masked: a licence name is never read inside a URL or host name
     (``moments.csail.mit.edu`` is not the MIT licence). Canonical licence URLs (Creative Commons,
     Apache, GNU...) and DPI's custom-licence URLs do count;
   - restrictive statements (non-commercial, research or academic only, no derivatives, no AI
     training; in English and Chinese, with negations such as "not for commercial use");
   - licence names (Creative Commons in any spelling, SPDX ids, well-known names, DPI's names).
3. Everything found binds at once (``terms.conjoin``): several licences resolve to the most
   restrictive of them, and restrictive statements always win over the names beside them.
4. Nothing found: DPI's vocabulary of variants seen on real listings (exact, folded), then a
   copyright notice (unspecified), else unknown, which the compatibility engine treats as
   academic-only with attribution and share-alike "unknown, treat as required".

The vocabulary (licensing/data, Apache-2.0) is the Data Provenance Initiative's; where we
disagree with it on purpose, `DPI_EXCEPTIONS` says why.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from license_expression import AND, OR, ExpressionError, LicenseSymbol, LicenseWithExceptionSymbol, get_spdx_licensing

from licensing.registry_data import STANDARD
from licensing.terms import ALLOWED, PROHIBITED, RESTRICTIVENESS, UNKNOWN_TERMS, Terms, conjoin

DATA = Path(__file__).resolve().parent / "data"
MAX_TEXT = 2000  # what the API accepts; longer input is cut here too, and the cut is reported

CLASS_OF_DPI_USE = {"All": "commercial", "NC": "non-commercial", "Acad": "academic-only", "Unspecified": "unspecified", "?": "academic-only"}

# DPI canonical names → our identifiers. Names without an identifier are classes only.
DPI_IDENTIFIER = {
    "CC BY-NC 4.0": "CC-BY-NC-4.0", "CC BY-NC-SA 4.0": "CC-BY-NC-SA-4.0", "CC BY 2.5": "CC-BY-2.5", "CC BY-NC-ND 4.0": "CC-BY-NC-ND-4.0",
    "CC BY 3.0": "CC-BY-3.0", "CC BY 2.0": "CC-BY-2.0", "CC BY-NC 3.0": "CC-BY-NC-3.0", "CC BY-NC-SA 3.0": "CC-BY-NC-SA-3.0",
    "CC0 1.0": "CC0-1.0", "CC BY 4.0": "CC-BY-4.0", "CC BY-SA 4.0": "CC-BY-SA-4.0", "CC BY-SA 3.0": "CC-BY-SA-3.0", "CC BY-NC 2.0": "CC-BY-NC-2.0",
    "CC BY-ND 4.0": "CC-BY-ND-4.0", "CC BY-NC-ND 3.0": "CC-BY-NC-ND-3.0", "CC BY-SA 2.0": "CC-BY-SA-2.0",
    "CC BY": "CC-BY-4.0", "CC BY-SA": "CC-BY-SA-4.0", "CC BY SA": "CC-BY-SA-4.0", "CC BY-NC-ND": "CC-BY-NC-ND-4.0", "CC BY-NC-SA": "CC-BY-NC-SA-4.0",
    "BSD 2-Clause License": "BSD-2-Clause", "BSD 3-Clause License": "BSD-3-Clause", "Apache License 2.0": "Apache-2.0", "Apache 2.0": "Apache-2.0",
    "MIT License": "MIT", "MIT": "MIT", "GNU General Public License v3.0": "GPL-3.0-only", "GNU General Public License v2.0": "GPL-2.0-only",
    "C-UDA": "C-UDA-1.0", "CDLA Permissive 2.0": "CDLA-Permissive-2.0", "CDLA Permissive 1.0": "CDLA-Permissive-1.0", "CDLA Sharing 1.0": "CDLA-Sharing-1.0",
    "Academic Free License v3.0": "AFL-3.0", "ODC BY 1.0": "ODC-By-1.0", "OpenAI": "LicenseRef-OpenAI-Terms", "Anthropic": "LicenseRef-Anthropic-Terms",
    "Google Cloud Translation API": "LicenseRef-Google-Cloud-Terms",
    "Microsoft Data Licensing Agreement": "LicenseRef-MSR-Data-License", "Academic Research Purposes Only": "LicenseRef-Academic-Research-Only",
    "No License": "NONE", "Llama 2": "LicenseRef-Llama-2", "Meta Llama3 Community License": "LicenseRef-Meta-Llama-3",
    "BigScience OpenRAIL-M": "LicenseRef-BigScience-OpenRAIL-M", "CC0": "CC0-1.0", "Public Domain": "LicenseRef-PDM-1.0",
    "LGPL 2.1": "LGPL-2.1-only", "LGPL 3.0": "LGPL-3.0-only", "MPL 2.0": "MPL-2.0", "ISC License": "ISC", "EPL 1.0": "EPL-1.0",
    "Artistic License 2.0": "Artistic-2.0", "OGL 3.0": "OGL-UK-3.0", "AI2 ImpACT License - Low Risk": "LicenseRef-AI2-ImpACT-LR",
    "OANC": "LicenseRef-OANC", "CSLU Agreement": "LicenseRef-CSLU-Agreement", "LDC User Agreement": "LicenseRef-LDC-User-Agreement",
    "Skywork Community License": "LicenseRef-Skywork-Community", "LMSYS-Chat-1M Dataset License": "LicenseRef-LMSYS-Chat-1M",
}

# Where our verdict differs from DPI's class on purpose. The vocabulary test reads this table.
DPI_EXCEPTIONS: dict[str, str] = {
    "No License": "No licence means all rights reserved: use is unspecified (not permitted by default), not 'All'.",
    "MIT": "The MIT licence requires its notice to be kept with copies: attribution is a duty (DPI's 'MIT License' entry agrees).",
    "CC BY-NC-SA": "A versionless CC BY-NC-SA is still share-alike (DPI's versioned entries agree).",
    "CC BY-ND 4.0": "No-derivatives licences have no share-alike clause: there are no derivatives to share.",
    "OpenAI": "Model-provider terms bind outputs with their own restrictions (no competing models), not a blanket non-commercial class.",
    "Anthropic": "Model-provider terms bind outputs with their own restrictions (no competing models), not a blanket non-commercial class.",
    "Google Cloud Translation API": "Google Cloud's terms restrict building competing services, not commercial use of translations.",
    "Unclear": "An unclear licence is unknown, and unknown is treated as academic-only: stricter than DPI's NC.",
    "Unspecified": "Nothing is said about duties, so attribution and share-alike are unknown (treat as required), not 'none'.",
    "Non Commercial": "A bare non-commercial statement says nothing about duties: attribution and share-alike are unknown.",
    "Public Domain": "Identical class; mapped to the Public Domain Mark.",
    "LGPL 2.1": "Weak copyleft: a modified work stays under the licence, so a derived dataset is share-alike.",
    "LGPL 3.0": "Weak copyleft: a modified work stays under the licence, so a derived dataset is share-alike.",
    "MPL 2.0": "Weak copyleft: a modified work stays under the licence, so a derived dataset is share-alike.",
    "EPL 1.0": "Weak copyleft: a modified work stays under the licence, so a derived dataset is share-alike.",
    "Llama 2": "Class identical; the Llama 2 licence's output terms (no improving other LLMs, 700M MAU) are kept as terms of their own.",
    "Meta Llama3 Community License": "Class identical; naming and attribution duties for models are kept as terms of their own.",
    "Various": "Several unknown licences are unknown: academic-only, duties unknown (DPI agrees on the class).",
    "Academic Research Purposes Only": "Research-only terms forbid redistribution, so there is nothing to share alike (DPI: share-alike 1).",
    "Microsoft Data Licensing Agreement": "The agreement forbids redistribution, so there is nothing to share alike (DPI: share-alike 1).",
}

# Variants in DPI's paraphrase file we will not read as DPI does: a bare "Creative Commons" names
# a family of six licences from commercial to non-commercial-no-derivatives, not CC0.
AMBIGUOUS_VARIANTS: dict[str, str] = {
    fold_key: "Names the Creative Commons family, not one licence: unknown until the licence is named."
    for fold_key in ("creative commons", "cc", "creative commons legal code", "creative commons public license ccpl")
}

# Whole-text DPI vocabulary names that are classes, not licences (and the class of each is DPI's).
CLASS_ONLY = {"Non Commercial", "Unspecified", "Various", "Unclear", "Request Form", "All Uses-Attribution", "Open Access", "Custom"}


@dataclass(frozen=True)
class Match:
    """One thing found in the text, with where it is (character offsets into the text given)."""

    kind: str  # licence | unknown-licence | restriction | url | expression | vocabulary | notice | unexplained
    text: str
    start: int
    end: int
    means: str  # an identifier, a restriction code, or a class

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "start": self.start, "end": self.end, "means": self.means}


@dataclass(frozen=True)
class Normalised:
    identifier: str | None  # a registry identifier or an SPDX expression; None: no single licence
    use_class: str  # academic-only | non-commercial | unspecified | commercial
    attribution: bool | None  # None: unknown, treat as required
    share_alike: bool | None
    confidence: float
    method: str  # rule | expression | vocabulary | mixed | keyword | unknown
    matched: str  # what the decision rests on, in words
    terms: Terms = field(default=UNKNOWN_TERMS)
    matches: tuple[Match, ...] = ()
    restrictions: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def unknown(self) -> bool:
        return self.method == "unknown" or self.terms.unknown

    @property
    def label(self) -> str:
        """How findings name this licence: the identifier, or what the text combines."""
        if self.identifier and not self.restrictions:
            return self.identifier
        names = list(dict.fromkeys(m.means for m in self.matches if m.kind in ("licence", "expression", "vocabulary", "unknown-licence", "unexplained")))
        parts = [" + ".join(names)] if names else []
        if self.restrictions:
            parts.append(", ".join(RESTRICTION_LABEL[r] for r in self.restrictions))
        return "; ".join(parts) or "an unidentified licence"

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "use_class": self.use_class, "attribution": self.attribution, "share_alike": self.share_alike,
                "confidence": self.confidence, "method": self.method, "matched": self.matched, "unknown": self.unknown, "label": self.label,
                "restrictions": list(self.restrictions), "matches": [m.to_dict() for m in self.matches], "truncated": self.truncated,
                "terms": self.terms.to_dict()}


UNKNOWN = Normalised(None, "academic-only", None, None, 0.0, "unknown", "")


def fold(text: str) -> str:
    """Case, punctuation and spacing folded, for vocabulary lookups."""
    tokens = (t.strip(".") for t in re.findall(r"[a-z0-9.]+", text.lower().replace("_", " ")))
    return " ".join(t for t in tokens if t)


@lru_cache(maxsize=1)
def _vocab() -> dict[str, str]:
    paraphrases = json.loads((DATA / "license_paraphrases.json").read_text())
    out: dict[str, str] = {}
    for canonical, variants in paraphrases.items():
        for v in [canonical, *variants]:
            out.setdefault(fold(v), canonical)
    for canonical in _dpi_classes():
        out.setdefault(fold(canonical), canonical)
    for variant in AMBIGUOUS_VARIANTS:
        out.pop(variant, None)
    return out


@lru_cache(maxsize=1)
def _dpi_classes() -> dict[str, list[str]]:
    return json.loads((DATA / "license_classes.json").read_text())


def url_key(url: str) -> str:
    """A URL compared without scheme, "www.", case of the host or a trailing slash."""
    u = url.strip().rstrip("/.,;)")
    u = re.sub(r"^https?://", "", u, flags=re.I)
    u = re.sub(r"^www\.", "", u, flags=re.I)
    host, _, rest = u.partition("/")
    return host.lower() + ("/" + rest if rest else "")


@lru_cache(maxsize=1)
def _custom_urls() -> dict[str, list[str]]:
    """DPI's custom-licence URL map, keyed by every URL it names (some keys list two)."""
    out: dict[str, list[str]] = {}
    for key, cls in json.loads((DATA / "custom_license_classes.json").read_text()).items():
        out.setdefault(url_key(key), cls)
        for part in key.split(", "):
            out.setdefault(url_key(part), cls)
    return out


@lru_cache(maxsize=1)
def _registry_terms() -> dict[str, dict]:
    return {e["identifier"]: e["terms"] for e in STANDARD}


@lru_cache(maxsize=1)
def _registry_lower() -> dict[str, str]:
    return {k.lower(): k for k in _registry_terms()}


def _class_terms(use: str, attribution: str, share_alike: str) -> Terms:
    """Terms from a DPI class triple: what the class says, nothing more."""
    cls = CLASS_OF_DPI_USE[use]
    flag = {"1": True, "0": False, "?": None}
    return Terms(commercial_use={"commercial": ALLOWED, "non-commercial": PROHIBITED, "academic-only": PROHIBITED}.get(cls, "unspecified"),
                 academic_only=cls == "academic-only", attribution=flag[attribution], share_alike=flag[share_alike], unknown=use == "?")


def registry_terms(identifier: str) -> Terms:
    return Terms.from_dict(_registry_terms()[identifier])


def dpi_terms(canonical: str) -> tuple[str | None, Terms]:
    """(identifier, terms) for a DPI canonical name: the registry's when we have the licence,
    else DPI's class. "Custom" is unknown until someone reads the terms."""
    ident = DPI_IDENTIFIER.get(canonical)
    if ident and ident in _registry_terms():
        return ident, registry_terms(ident)
    if canonical in ("Custom", "Unclear", "Various"):
        return None, UNKNOWN_TERMS
    cls = _dpi_classes().get(canonical)
    if cls is None:
        return None, UNKNOWN_TERMS
    t = _class_terms(*cls)
    if canonical in ("Unspecified", "Non Commercial"):
        t = replace(t, attribution=None, share_alike=None)
    return None, t


# --------------------------------------------------------------------------- SPDX

# Deprecated or informal SPDX spellings the registry files under another id.
SPDX_ALIAS = {"gpl-2.0": "GPL-2.0-only", "gpl-3.0": "GPL-3.0-only", "lgpl-2.1": "LGPL-2.1-only", "lgpl-3.0": "LGPL-3.0-only",
              "agpl-3.0": "AGPL-3.0-only", "gpl-2.0+": "GPL-2.0-or-later", "gpl-3.0+": "GPL-3.0-or-later", "ogl-uk-3.0": "OGL-UK-3.0"}


@lru_cache(maxsize=1)
def _spdx():
    return get_spdx_licensing()


def _known_identifier(token: str) -> str | None:
    """A registry identifier for an SPDX id or alias, in any case."""
    low = token.strip().lower()
    if low in _registry_lower():
        return _registry_lower()[low]
    if low in SPDX_ALIAS:
        return SPDX_ALIAS[low]
    if not re.fullmatch(r"[A-Za-z0-9.+-]+", token.strip()):
        return None
    try:
        parsed = _spdx().parse(token.strip(), validate=False, strict=False)
    except (ExpressionError, ValueError, TypeError):
        return None
    if isinstance(parsed, LicenseSymbol) and not _spdx().unknown_license_keys(parsed):
        return _registry_lower().get(str(parsed.key).lower())
    return None


def _spdx_id_without_terms(key: str) -> bool:
    if re.fullmatch(r"LicenseRef-[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*", key):
        return True
    if not re.fullmatch(r"[A-Za-z0-9.+-]+", key):
        return False
    try:
        return not _spdx().unknown_license_keys(_spdx().parse(key, validate=False, strict=False))
    except (ExpressionError, ValueError, TypeError):
        return False


# SPDX operators as SPDX writes them: "MIT and Apache" in prose is read by the scanner instead.
OPERATOR = re.compile(r"\s(?:AND|OR|WITH)\s")


SYMBOL = re.compile(r"LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.+]*-[A-Za-z0-9.+-]*[A-Za-z0-9+]|[A-Z0-9][A-Z0-9.+]+")


def _burden(t: Terms) -> tuple[int, ...]:
    """How much a licence asks beyond its use class (fewer duties and model terms is looser)."""
    return (bool(t.share_alike) + bool(t.attribution) + (t.ai_training == PROHIBITED) + (t.derivatives == PROHIBITED) + (t.redistribution == PROHIBITED)
            + t.no_competing_models + t.no_improving_other_models + bool(t.model_attribution) + bool(t.model_name_prefix) + bool(t.user_limit_mau),)


def _well_formed(text: str) -> bool:
    """Operands and operators alternate and parentheses balance: "MIT AND" and "(MIT" are not
    expressions a licensee can be held to."""
    depth, want_operand = 0, True
    for tok in re.findall(r"\(|\)|[^\s()]+", text):
        if tok == "(":
            if not want_operand:
                return False
            depth += 1
        elif tok == ")":
            if want_operand or depth == 0:
                return False
            depth -= 1
        elif tok in ("AND", "OR", "WITH"):
            if want_operand:
                return False
            want_operand = True
        else:
            if not want_operand:
                return False
            want_operand = False
    return depth == 0 and not want_operand


def _expression(text: str) -> Normalised | None:
    """An SPDX expression: every symbol must be a licence the registry knows the terms of."""
    if not re.fullmatch(r"[A-Za-z0-9.+() -]+", text):
        return None
    words = [t for t in re.findall(r"[^\s()]+", text) if t not in ("AND", "OR", "WITH")]
    # Only a text of identifiers and operators is an expression; prose around them is scanned.
    looks_like_one = all(_known_identifier(w) or SYMBOL.fullmatch(w) for w in words) and (OPERATOR.search(f" {text} ") or text.count("(") != text.count(")"))
    if looks_like_one and not _well_formed(text):
        return replace(UNKNOWN, matched="malformed SPDX expression", matches=(Match("expression", text, 0, len(text), "malformed SPDX expression"),))
    if not OPERATOR.search(text):
        return None
    try:
        parsed = _spdx().parse(text, validate=False, strict=False)
    except (ExpressionError, ValueError, TypeError, RecursionError):
        return None
    if parsed is None:
        return None

    def terms_of(node) -> tuple[Terms, list[str]] | None:
        if isinstance(node, LicenseWithExceptionSymbol):
            # An exception SPDX lists only adds permissions (e.g. linking): the base licence's
            # duties stand. One SPDX does not list is terms nobody can read: unknown.
            base = terms_of(node.license_symbol)
            if base is None:
                return None
            exception = str(node.exception_symbol.key)
            listed = _spdx().known_symbols.get(exception)
            # Only an exception on SPDX's list adds a permission; a licence after WITH, or a
            # ScanCode "exception" such as the Commons Clause, is terms nobody here has read.
            if listed is None or not getattr(listed, "is_exception", False) or exception.startswith("LicenseRef-"):
                return UNKNOWN_TERMS, [f"{base[1][0]} WITH {exception} (exception unknown)"]
            return base[0], [f"{base[1][0]} WITH {exception}"]
        if isinstance(node, LicenseSymbol):
            key = str(node.key)
            ident = _known_identifier(key)
            if ident is not None:
                return registry_terms(ident), [ident]
            # Any other identifier in an expression (an SPDX id whose terms the registry does not
            # hold, a LicenseRef, NOASSERTION, a made-up one) is terms nobody can read: unknown.
            # Words are not identifiers: then the text is prose, and the scanner reads it.
            if SYMBOL.fullmatch(key):
                return UNKNOWN_TERMS, [f"{key} (terms unknown)"]
            return None
        parts = [terms_of(a) for a in node.args]
        if any(p is None for p in parts):
            return None
        known = [p for p in parts if p is not None]
        if isinstance(node, AND):
            return conjoin(*(p[0] for p in known)), [n for p in known for n in p[1]]
        if isinstance(node, OR):
            # The licensee chooses: the answer is the loosest option, and the choice is recorded.
            # Ties are broken by every other restriction, never by the order written.
            best = min(known, key=lambda p: (p[0].unknown, RESTRICTIVENESS[p[0].use_class], _burden(p[0]), p[1]))
            return best[0], [n for p in known for n in p[1]]
        return None

    got = terms_of(parsed)
    if got is None:
        return None
    terms, names = got
    expr = str(parsed)
    return _result(None if terms.unknown else expr, terms, 1.0, "expression", f"SPDX expression {expr}",
                   (Match("expression", text, 0, len(text), expr),), ())


# --------------------------------------------------------------------------- scanning

URL = re.compile(r"(?:https?://|hxxps?://|www\.)[^\s<>\"'{}|\\^`]+|\b(?:[a-z0-9-]+(?:\.|\[\.\]|\(\.\)|\[dot\]))+(?:edu|org|com|net|io|ai|gov|uk|cn|de|fr|jp|info|dev|co)\b(?:/[^\s<>\"']*)?", re.I)

CANONICAL_URLS = [
    (re.compile(r"creativecommons\.org/licenses/(by(?:-nc)?(?:-sa|-nd)?)/(\d\.\d)", re.I), None),
    (re.compile(r"creativecommons\.org/publicdomain/zero/1\.0", re.I), "CC0-1.0"),
    (re.compile(r"creativecommons\.org/publicdomain/mark/1\.0", re.I), "LicenseRef-PDM-1.0"),
    (re.compile(r"apache\.org/licenses/license-2\.0", re.I), "Apache-2.0"),
    (re.compile(r"gnu\.org/licenses/gpl-3\.0", re.I), "GPL-3.0-only"),
    (re.compile(r"gnu\.org/licenses/old-licenses/gpl-2\.0", re.I), "GPL-2.0-only"),
    (re.compile(r"gnu\.org/licenses/agpl", re.I), "AGPL-3.0-only"),
    (re.compile(r"opendatacommons\.org/licenses/odbl", re.I), "ODbL-1.0"),
    (re.compile(r"opendatacommons\.org/licenses/by", re.I), "ODC-By-1.0"),
    (re.compile(r"opendatacommons\.org/licenses/pddl", re.I), "PDDL-1.0"),
    (re.compile(r"opensource\.org/licenses?/mit\b", re.I), "MIT"),
    (re.compile(r"cdla\.(?:dev|io)/permissive-2", re.I), "CDLA-Permissive-2.0"),
    (re.compile(r"cdla\.(?:dev|io)/sharing-1", re.I), "CDLA-Sharing-1.0"),
    (re.compile(r"nationalarchives\.gov\.uk/doc/open-government-licence/version/3", re.I), "OGL-UK-3.0"),
]

# ...unless both are then forbidden ("commercial and non-commercial use is prohibited").
_NOT_DENIED = r"(?![^.;:!?\n]{0,40}?\b(?:prohibited|forbidden|not\s+(?:permitted|allowed)|disallowed|excluded)\b)"
# Texts that name a restriction only to deny it ("commercial and non-commercial use").
NEUTRAL = [
    re.compile(r"\b(?:both\s+)?commercial\s+(?:and|or|&|/)\s+non[\s-]?commercial\b" + _NOT_DENIED, re.I),
    re.compile(r"\bnon[\s-]?commercial\s+(?:and|or|&|/)\s+commercial\b" + _NOT_DENIED, re.I),
    re.compile(r"\bnot\s+(?:only|just|limited|restricted)\s+(?:to\s+)?(?:for\s+)?(?:non[\s-]?commercial|research|academic)\b", re.I),
    re.compile(r"(?:商业|商用)(?:和|与|及|或)非(?:商业|商用)"),
]

RESTRICTIONS: list[tuple[str, re.Pattern[str]]] = [
    ("research-only", re.compile(
        r"\b(?:research|academic|educational|scholarly|scientific|teaching)\b[^.;:!?\n]{0,60}?\bonly\b"
        r"|\bonly\s+(?:for|to\s+be\s+used\s+for|be\s+used\s+for|be\s+used\s+in)\s+(?:non[\s-]?commercial\s+)?(?:research|academic|educational|scientific)"
        r"|\bnon[\s-]?commercial\s+(?:scientific\s+)?research\b|\bfor\s+(?:academic\s+)?research\s+purposes?\b|\bresearch\s+(?:and|&)\s+academic\s+use\s+licen[cs]e"
        r"|\bacademic\s+(?:research\s+)?(?:use|purposes?)\s+(?:licen[cs]e|agreement)", re.I)),
    ("research-only", re.compile(r"仅(?:限|供|能|可)?(?:用于)?(?:非商业(?:性)?)?(?:的)?(?:学术|科研|研究|教学|教育|学习)|只(?:能|可|限)?用于(?:学术|科研|研究|教学)|(?:学术|科研)(?:研究)?(?:用途|目的)?专用")),
    ("non-commercial", re.compile(
        r"\bnon[\s-]?commercial\b|\bnoncommercial\b"
        r"|\bnot?\s+(?:for\s+|to\s+be\s+used\s+for\s+|be\s+used\s+for\s+|allowed\s+for\s+|permitted\s+for\s+)?commercial(?:ly)?\b"
        r"|\bcommercial\s+(?:use|uses|purposes?|usage|exploitation|applications?|redistribution)\s+(?:is\s+|are\s+)?(?:strictly\s+)?(?:not\s+(?:permitted|allowed)|prohibited|forbidden|excluded|disallowed)"
        r"|\b(?:(?:may|must|shall|can|will)(?:\s*not|n't)|cannot)\s+be\s+used\s+(?:for\s+)?(?:any\s+)?commercial(?:ly)?\b"
        r"|\bwithout\s+commercial\s+use|\bprohibits?\s+commercial", re.I)),
    ("research-only", re.compile(
        r"\b(?:solely|exclusively|strictly|purely|only)\s+(?:for\s+|to\s+)?(?:non[\s-]?commercial\s+)?(?:research|academic|educational|scientific|teaching|scholarly)\b", re.I)),
    ("non-commercial", re.compile(
        r"\bnot\s+(?:licen[cs]ed|authori[sz]ed|available|intended|meant|suitable|cleared)\s+(?:for\s+)?(?:any\s+)?commercial"
        r"|\b(?:must|may|shall|can|will|should)\s*(?:not|n't)\s+(?:be\s+)?(?:use[ds]?|exploit(?:ed)?|sell|sold|resell|resold|monetiz|monetis)[^.;:!?\n]{0,30}?\bcommercial(?:ly)?\b"
        r"|\b(?:must|may|shall|can|will|should)\s*(?:not|n't)\s+(?:be\s+)?(?:sold|resold|monetized|monetised)\b"
        r"|\bdo(?:\s*not|n't)\s+use\b[^.;:!?\n]{0,30}?\bcommercial(?:ly)?\b|\bnever\s+(?:be\s+)?used\s+commercially"
        r"|\bpersonal\s+(?:and\s+\w+\s+)?use\s+only|\bfor\s+(?:private|personal)\s+use\b|\bprivate\s+use\s+only"
        r"|\bnon[\s-]?profits?\b|\bnot[\s-]for[\s-]profit\b"
        r"|\bcommercial\s+(?:use|uses|usage|licen[cs]ing|licen[cs]es?|purposes?|exploitation)\s+(?:requires?|needs?|is\s+subject\s+to|only\s+(?:with|under)|must\s+be\s+(?:licen[cs]ed|negotiated)|is\s+available\s+(?:on|upon|by)\s+request)"
        r"|\bcontact\s+(?:us|the\s+(?:authors?|owners?|publishers?))\s+for\s+(?:a\s+)?commercial", re.I)),
    ("non-commercial", re.compile(
        r"\bnon\s*[_-]?\s*comm?er(?:ci|ic)al\b"
        r"|\bcommercial(?:\s+(?:use|usage|uses|purposes?|exploitation|rights))?\s*\"?\s*(?:\?|:|=|\||-)+\s*\"?\s*(?:no|not\s+(?:allowed|permitted)|prohibited|forbidden|disallowed|false|none|✗|×|✘)\b"
        r"|\bcommercial\s+(?:rights|use|uses|exploitation)\s+(?:are\s+|is\s+)?reserved"
        r"|\b(?:can't|won't|shan't|mustn't|shouldn't)\s+be\s+used\s+(?:for\s+)?(?:any\s+)?commercial"
        r"|\b(?:does|do|shall|will|may)\s*(?:not|n't)\s+(?:permit|allow|authori[sz]e|grant|include|cover)\s+(?:any\s+)?commercial"
        r"|\bfor[\s-]*profit\b[^.;:!?\n]{0,30}?\b(?:prohibited|forbidden|not\s+(?:allowed|permitted))"
        r"|\bcommons\s+clause\b", re.I)),
    ("non-commercial", re.compile(r"(?<![A-Za-z0-9])NC(?![A-Za-z0-9])")),  # "CC-BY-4.0 (NC)", "NC use only"
    ("non-commercial", re.compile(  # selling, profit, business; who may not use it; more ways to say it
        r"\bnot\s+to\s+be\s+(?:sold|resold|monetized|monetised)\b"
        r"|\b(?:sale|resale|selling|reselling|monetisation|monetization|commerciali[sz]ation)\b[^.;:!?\n]{0,40}?\b(?:is\s+|are\s+)?(?:strictly\s+)?(?:forbidden|prohibited|banned|not\s+(?:permitted|allowed))"
        r"|\bdo\s*(?:not|n't)\s+(?:profit|sell|resell|monetize|monetise|charge)\b|\bprofit[\s-]making\b|\b(?:no|non)[\s-]business\s+use|\bbusiness\s+use\s+(?:is\s+)?(?:excluded|prohibited|forbidden|not\s+(?:permitted|allowed))"
        r"|\bfree[\s-]of[\s-]charge\s+distribution\s+only\b|\bcommercial\s+(?:ends|gain|purposes?)\s+(?:are\s+|is\s+)?(?:prohibited|forbidden|banned|excluded)"
        r"|\bnot\s+for\s+use\s+in\s+commerce\b|\bto\s+make\s+money\b|\bno\s+paid\s+products?\b|\b(?:may|must|can)\s*(?:not|n't)\s+charge\b|\brevenue[\s-]generating\b|\bnon[\s-]revenue\b"
        r"|\bfor[\s-]profit\s+(?:entities|organi[sz]ations|companies|users|products?|use)\b|\bcompanies\s+(?:may|must|can)\s*(?:not|n't)\b|\bhobbyists?\s+only\b|\bonly\s+hobbyists?\b"
        r"|\bcommercial(?:ly)?\s+(?:usage|use|using|uses)\b[^.;:!?\n]{0,30}?\b(?:banned|prohibited|forbidden|excluded|not\s+(?:granted|allowed|permitted))"
        r"|\bexcept(?:\s+that)?\s+commercial|\bwithout\s+(?:the\s+)?commercial[\s-]use|\bminus\s+commercial|\bfor\s+commercial\s+(?:ends|gain)\b[^.;:!?\n]{0,20}?\bnot\b"
        r"|\b(?:not|n't)\s+granted\b[^.;:!?\n]{0,50}?\bcommercial|\bdoes\s*(?:not|n't)\s+extend\s+to\s+commercial"
        r"|\bcommercial[_\s-]?(?:use|usage)?\s*[:=]\s*(?:n|0|no|false|prohibited|forbidden|❌|🚫|✗|✘|×)(?![\w])|\ballow[_\s-]?commercial\s*[:=]\s*(?:0|no|false|n)\b|\bcommercial\s+use\s*(?:❌|🚫|✗|✘|×)", re.I)),
    ("non-commercial", re.compile(  # other languages
        r"\b(?:kommerzielle|gewerbliche)\s+(?:nutzung|verwendung)\s+(?:ist\s+)?(?:untersagt|verboten|nicht\s+(?:gestattet|erlaubt))|\bnicht[\s-]*kommerziell|\bnur\s+für\s+nicht[\s-]*kommerzielle"
        r"|\busage\s+commercial\s+(?:est\s+)?interdit|\butilisation\s+commerciale\s+(?:est\s+)?(?:interdite|non\s+autoris[ée]e|prohib[ée]e)|\bpas\s+d['’]utilisation\s+commerciale|\busage\s+non\s+commercial|\bnon\s+commerciale?\b"
        r"|\buso\s+comercial\s+(?:est[áa]\s+)?(?:prohibido|proibido|no\s+permitido|n[ãa]o\s+permitido)|\buso\s+no\s+comercial|\bno\s+comercial\b|\bn[ãa]o\s+comercial"
        r"|\bvietato\s+l['’]uso\s+commerciale|\buso\s+commerciale\s+(?:[èe]\s+)?vietato|\bnon\s+commerciale\b"
        r"|коммерческ\w*\s+(?:использован\w*|применен\w*)\s+(?:строго\s+)?запрещ\w*|некоммерческ\w*"
        r"|商用利用(?:禁止|不可)|非営利|非商用|営利目的(?:での)?(?:利用|使用)?(?:禁止|不可)|상업적\s*(?:이용|사용)\s*(?:금지|불가)|비영리|비상업", re.I)),
    ("research-only", re.compile(
        r"\bonly\s+(?:universities|academic\s+institutions|students|researchers|schools)\b|\b(?:universities|academic\s+institutions)\s+only\b"
        r"|\bfor\s+classroom\s+use\b|\b(?:research|academic|scientific)\s+purposes\s+exclusively|\bexclusively\s+for\s+(?:scientific\s+|academic\s+)?research"
        r"|\bnur\s+für\s+(?:wissenschaftliche|akademische|forschungs)|\bà\s+des\s+fins\s+de\s+recherche|\bsolo\s+(?:para|per)\s+(?:uso\s+)?(?:acad[ée]mico|investigaci[óo]n|ricerca)", re.I)),
    ("research-only", re.compile(
        r"\bfor\s+(?:academic|research|educational|scientific|teaching|scholarly)\s+(?:purposes?|use|uses)\b"
        r"|\b(?:restricted|limited|confined)\s+to\s+(?:non[\s-]?commercial\s+)?(?:academic|research|educational|scientific|teaching|scholarly)", re.I)),
    ("non-commercial", re.compile(r"(?:商业|商用)(?:用途|使用)?(?:不可|不得|禁止|不允许|不准|不行)")),
    ("non-commercial", re.compile(r"非(?:商业|商用|营利)|(?:禁止|不得|不可|不能|不允许|严禁|不准)(?:用于|作|进行)?(?:任何)?(?:商业|商用|营利)")),
    ("no-derivatives", re.compile(
        r"\bno[\s-]?deriv(?:ative|atives|s)\b|\bno\s+derivative\s+works\b"
        r"|\b(?:derivative\s+works?|derivatives|modifications?|adaptations?)\s+(?:are\s+|is\s+)?(?:strictly\s+)?(?:not\s+(?:permitted|allowed)|prohibited|forbidden)"
        r"|\b(?:may|must|shall)\s+not\s+(?:be\s+)?(?:modif(?:y|ied)|adapt(?:ed)?|alter(?:ed)?)\b", re.I)),
    ("no-derivatives", re.compile(r"禁止(?:演绎|修改|改编)|不得(?:演绎|修改|改编)")),
    ("no-ai-training", re.compile(
        r"\b(?:no|not\s+for|not\s+to\s+be\s+used\s+(?:for|to)|(?:may|must|shall|can)\s*(?:not|n't)\s+be\s+used\s+(?:for|to|in)|prohibited\s+(?:for|from)|forbids?|prohibits?)\s+"
        r"(?:the\s+)?(?:any\s+)?(?:ai|a\.i\.|artificial\s+intelligence|machine[\s-]learning|ml|llms?|models?)?\s*(?:model\s+)?(?:training|train(?:ing)?)\b"
        r"|\b(?:not|never)\b[^.;:!?\n]{0,40}?\b(?:to\s+train|for\s+(?:ai\s+|model\s+|machine[\s-]learning\s+)?training)\b"
        r"|\bopt(?:s|ed)?[\s-]out\s+of\s+(?:ai|machine[\s-]learning)\s+training\b|\b(?:text\s+and\s+data\s+mining|tdm)\s+(?:is\s+)?(?:reserved|prohibited|not\s+permitted)"
        r"|\b(?:training|use\s+(?:for|in)\s+training)\b[^.;:!?\n]{0,40}?\b(?:is|are)\s+(?:strictly\s+)?(?:prohibited|forbidden|not\s+(?:permitted|allowed))"
        r"|\b(?:machine[\s-]learning|artificial\s+intelligence|ai|data\s+mining|text\s+and\s+data\s+mining|tdm)\b[^.;:!?\n]{0,30}?\b(?:is|are)\s+(?:strictly\s+)?(?:not\s+(?:permitted|allowed)|prohibited|forbidden)"
        r"|\bno\s+(?:text\s+and\s+data\s+mining|tdm|data\s+mining)\b"
        r"|\b(?:must|may|shall|can)\s*(?:not|n't)\s+(?:be\s+used\s+(?:for|in|to)\s+)?(?:train\w*|fine[\s-]?tun\w*|machine[\s-]learning|generative\s+ai)\b"
        r"|\bnot\s+(?:to\s+be\s+used\s+)?(?:as|for)\s+training\s+data\b|\bnot\s+for\s+use\s+in\s+(?:generative\s+)?ai\b"
        r"|\bto\s+train\s+(?:llms?|models?|neural\s+networks?|ai)\b[^.;:!?\n]{0,20}?\b(?:not\s+allowed|prohibited|forbidden|not\s+permitted)"
        r"|\bfine[\s-]?tuning\b[^.;:!?\n]{0,40}?\b(?:prohibited|forbidden|not\s+(?:allowed|permitted))"
        r"|\b(?:art(?:icle)?\.?\s*4\s*\(\s*3\s*\)|2019/790)", re.I)),
    ("no-ai-training", re.compile(r"(?:禁止|不得|不可|不能|不允许|严禁)(?:用于|将其用于)?(?:人工智能|AI|模型|机器学习|大模型|算法)?(?:的)?(?:训练|模型训练)", re.I)),
]
RESTRICTION_LABEL = {"non-commercial": "non-commercial only", "research-only": "research or academic use only",
                     "no-derivatives": "no derivatives", "no-ai-training": "no AI training"}

CC_WORDS = re.compile(
    r"(?<![a-z0-9])(?:(?:the\s+)?creative[\s_-]+commons?(?:[\s_-]+(?:legal\s+code|public\s+licen[cs]e|licen[cs]e))?|cc)"
    r"(?P<parts>(?:[\s_,/()-]*(?:by|attribution|non[\s_-]?commercial|nc|share[\s_-]?alike|sa|no[\s_-]?deriv(?:ative)?s?|nd|zero|0)(?![a-z]))*)"
    r"(?:[\s_,()-]*(?:licen[cs]e|international|unported|generic|public|legal\s+code))*"
    r"(?:[\s_,()-]*v?(?P<version>[1-4]\.[05]))?", re.I)
CC_ATTRIBUTION = re.compile(
    r"(?<![a-z])attribution(?P<parts>(?:[\s_-]*(?:non[\s_-]?commercial|share[\s_-]?alike|no[\s_-]?derivatives?))*)[\s_-]*(?P<version>[1-4]\.[05])", re.I)
CC_CHINESE = re.compile(r"知识共享(?P<parts>[^。；;，,\n\d]{0,40})(?P<version>[1-4]\.[05])?")

NAMED: list[tuple[re.Pattern[str], str, float]] = [
    (re.compile(r"\blgpl[\s-]?(?:v)?2(?:\.1)?\b|lesser\s+general\s+public\s+licen[cs]e[\s,]*(?:v(?:ersion)?\s*)?2", re.I), "LGPL-2.1-only", 0.9),
    (re.compile(r"\blgpl(?:[\s-]?(?:v)?3(?:\.0)?)?\b|lesser\s+general\s+public\s+licen[cs]e", re.I), "LGPL-3.0-only", 0.85),
    (re.compile(r"\bagpl|affero", re.I), "AGPL-3.0-only", 0.85),
    (re.compile(r"\bgpl[\s-]?v?2|gnu\s+general\s+public\s+licen[cs]e[\s,]*v(?:ersion)?\s*2|gpl-2\.0", re.I), "GPL-2.0-only", 0.9),
    (re.compile(r"\bgpl(?:[\s-]?v?3(?:\.0)?)?\b|gnu\s+general\s+public\s+licen[cs]e(?:[\s,]*v(?:ersion)?\s*3(?:\.0)?)?|\bgplv3\b", re.I), "GPL-3.0-only", 0.85),
    (re.compile(r"\bmpl[\s-]?(?:v)?2(?:\.0)?\b|mozilla\s+public\s+licen[cs]e", re.I), "MPL-2.0", 0.9),
    (re.compile(r"\bepl[\s-]?(?:v)?2(?:\.0)?\b|eclipse\s+public\s+licen[cs]e[\s,]*(?:v(?:ersion)?\s*)?2", re.I), "EPL-2.0", 0.9),
    (re.compile(r"\bepl(?:[\s-]?(?:v)?1(?:\.0)?)?\b|eclipse\s+public\s+licen[cs]e", re.I), "EPL-1.0", 0.85),
    (re.compile(r"\bisc\s+licen[cs]e\b|\bisc\b(?=\s*$)", re.I), "ISC", 0.9),
    (re.compile(r"\bartistic\s+licen[cs]e|\bartistic-2\.0\b", re.I), "Artistic-2.0", 0.85),
    (re.compile(r"\bms-?pl\b|microsoft\s+public\s+licen[cs]e", re.I), "MS-PL", 0.9),
    (re.compile(r"\bzlib\s+licen[cs]e\b", re.I), "Zlib", 0.9),
    (re.compile(r"\bboost\s+software\s+licen[cs]e|\bbsl-1\.0\b", re.I), "BSL-1.0", 0.9),
    (re.compile(r"\bunlicen[cs]e\b", re.I), "Unlicense", 0.85),
    (re.compile(r"open\s+government\s+licen[cs]e|\bogl(?:[\s-]?uk)?[\s-]?v?3(?:\.0)?\b", re.I), "OGL-UK-3.0", 0.9),
    (re.compile(r"impact\s+licen[cs]e[^.;\n]{0,12}?(?:high|hr\b)|impact[\s-]hr\b", re.I), "LicenseRef-AI2-ImpACT-HR", 0.9),
    (re.compile(r"impact\s+licen[cs]e[^.;\n]{0,12}?(?:medium|mr\b)|impact[\s-]mr\b", re.I), "LicenseRef-AI2-ImpACT-MR", 0.9),
    (re.compile(r"impact\s+licen[cs]e[^.;\n]{0,12}?(?:low|lr\b)|impact[\s-]lr\b", re.I), "LicenseRef-AI2-ImpACT-LR", 0.9),
    (re.compile(r"\bapache\b(?:[\s-]+licen[cs]e)?(?:[\s,-]+(?:version\s+)?v?2(?:\.0)?)?", re.I), "Apache-2.0", 0.9),
    (re.compile(r"\bmit\b(?! ?ocw)(?:\s+licen[cs]e)?|permission is hereby granted, free of charge", re.I), "MIT", 0.9),
    (re.compile(r"\b0bsd\b|bsd\s+zero", re.I), "0BSD", 0.9),
    (re.compile(r"bsd[\s-]?2", re.I), "BSD-2-Clause", 0.9),
    (re.compile(r"bsd[\s-]?3|\bbsd\b", re.I), "BSD-3-Clause", 0.8),
    (re.compile(r"odbl|open database licen[cs]e", re.I), "ODbL-1.0", 0.9),
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
    (re.compile(r"llama\s*3\.[1-3]|llama\s*3\.x", re.I), "LicenseRef-Meta-Llama-3.1", 0.9),
    (re.compile(r"llama\s*3", re.I), "LicenseRef-Meta-Llama-3", 0.9),
    (re.compile(r"llama\s*2", re.I), "LicenseRef-Llama-2", 0.9),
    (re.compile(r"\bopenai\b|\bchatgpt\b|\bgpt-?[345](?:\.5)?(?:-turbo|o)?\b", re.I), "LicenseRef-OpenAI-Terms", 0.85),
    (re.compile(r"\banthropic\b|\bclaude\b", re.I), "LicenseRef-Anthropic-Terms", 0.85),
    (re.compile(r"\bgemini\b", re.I), "LicenseRef-Google-Gemini-API-Terms", 0.85),
    (re.compile(r"google\s+cloud\s+translation", re.I), "LicenseRef-Google-Cloud-Terms", 0.85),
    (re.compile(r"mistral\s+(?:ai\s+)?research\s+licen[cs]e|\bmrl-0\.1\b", re.I), "LicenseRef-Mistral-Research-License", 0.9),
    (re.compile(r"\bmistral\b|\bmixtral\b", re.I), "LicenseRef-Mistral-Terms", 0.8),
    (re.compile(r"qwen\s+research\s+licen[cs]e", re.I), "LicenseRef-Qwen-Research", 0.9),
    (re.compile(r"\bqwen\b|tongyi\s+qianwen|通义千问", re.I), "LicenseRef-Qwen-License", 0.85),
    (re.compile(r"\bdeepseek\b", re.I), "LicenseRef-DeepSeek-License", 0.85),
    (re.compile(r"microsoft research data licen[cs]e|microsoft data licen[cs]ing agreement", re.I), "LicenseRef-MSR-Data-License", 0.9),
    (re.compile(r"\boanc\b|open american national corpus", re.I), "LicenseRef-OANC", 0.85),
    (re.compile(r"\bcslu\b", re.I), "LicenseRef-CSLU-Agreement", 0.85),
    (re.compile(r"\bldc\s+(?:user\s+)?agreement|linguistic data consortium", re.I), "LicenseRef-LDC-User-Agreement", 0.85),
    (re.compile(r"skywork\s+community", re.I), "LicenseRef-Skywork-Community", 0.85),
    (re.compile(r"lmsys-chat-1m", re.I), "LicenseRef-LMSYS-Chat-1M", 0.85),
]

# Registry identifiers without a hyphen, matched as written (case matters: "none", "isc" are words).
BARE_IDENTIFIER = re.compile(r"(?<![\w.-])(?:MIT|ISC|0BSD|Zlib|Unlicense)(?![\w-])")
SPDX_TOKEN = re.compile(r"(?<![\w.+-])(?:LicenseRef-[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|[A-Za-z0-9][A-Za-z0-9.+]*-[A-Za-z0-9.+-]*[A-Za-z0-9+])(?![\w-])")


def _cc_identifier(parts: str, version: str | None, chinese: bool = False) -> tuple[str, float] | None:
    p = parts.lower()
    if chinese:
        if re.search(r"零|cc0|公共领域", p):
            return "CC0-1.0", 0.9
        # 知识共享 licences all carry 署名 (attribution); only the other elements vary.
        nc, sa, nd, by = "非商业" in p, "相同方式共享" in p, "禁止演绎" in p, True
    else:
        words = re.sub(r"[^a-z0-9]+", " ", p)
        if re.search(r"\b(?:zero|0)\b", words) and not re.search(r"\bby\b|attribution", words):
            return "CC0-1.0", 0.95
        by = bool(re.search(r"\bby\b|attribution", words))
        nc = bool(re.search(r"\bnc\b|non ?commercial", words))
        sa = bool(re.search(r"\bsa\b|share ?alike", words))
        nd = bool(re.search(r"\bnd\b|no ?deriv", words))
    if not by:
        return None
    code = "BY" + ("-NC" if nc else "") + ("-SA" if sa else "") + ("-ND" if nd and not sa else "")
    # A version the registry does not hold ("CC BY 1.0", "CC BY 5.0") is that version, unknown,
    # never the current one.
    ident = f"CC-{code}-{version}" if version else f"CC-{code}-4.0"
    return ident, 0.95 if version else 0.75


# Characters that only disguise a word: zero-width and soft hyphens vanish; dashes and minus signs
# are hyphens; Cyrillic and Greek letters that look Latin are Latin; Traditional Chinese characters
# of the restriction vocabulary are the Simplified ones the patterns are written in.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064", "\ufeff", "\u00ad", "\u180e", "\u034f", "*", "`",
              "\u3164", "\u2800", "\ufe0e", "\ufe0f", "\u115f", "\u1160", "\uffa0", "\u17b4", "\u17b5", *map(chr, range(0xE0000, 0xE0080))}
_DASHES = dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d", "-")
_APOSTROPHES = dict.fromkeys("\u2018\u2019\u02bc\uff07", "'")
_SMALL_CAPITALS = dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True))
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,20}\s*/?>")  # attributes are words, and are read
_HOMOGLYPHS = dict(zip("АВЕКМНОРСТУХаеорсухіјѕԁІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧοιν", "ABEKMHOPCTYXaeopcyxijsdIJSABEZHIKMNOPTYXoiv", strict=True))
_TRADITIONAL = dict(zip("僅業學術於練訓與權許證營數據無為將條專來個們這說對開關發現實體產種經當應頭貓點", "仅业学术于练训与权许证营数据无为将条专来个们这说对开关发现实体产种经当应头猫点", strict=True))


def _latin_beside(text: str) -> list[bool]:
    """For each character: whether the nearest character on either side that is not a look-alike
    letter is a Latin letter. One pass each way (a run of 2,000 Cyrillic letters once cost a walk
    per letter)."""
    n = len(text)
    left, right = [False] * n, [False] * n
    seen = False
    for i in range(n):
        left[i] = seen
        c = text[i]
        if c not in _HOMOGLYPHS:
            seen = c.isascii() and c.isalpha()
    seen = False
    for i in range(n - 1, -1, -1):
        right[i] = seen
        c = text[i]
        if c not in _HOMOGLYPHS:
            seen = c.isascii() and c.isalpha()
    return [x or y for x, y in zip(left, right, strict=True)]


def _scan_text(text: str) -> tuple[str, list[int]]:
    """The text as the scanner reads it, and for each of its characters the index of the
    original character it comes from (so every match reports its span in the text given)."""
    out: list[str] = []
    index: list[int] = []
    latin = _latin_beside(text)
    i = 0
    while i < len(text):
        c = text[i]
        if c in _INVISIBLE:
            i += 1
            continue
        if c == "-" and text[i + 1:i + 3] in ("\n", "\r\n") or c == "-" and text[i + 1:i + 2] == "\r":  # a word broken across lines
            out.append("-")
            index.append(i)
            i += 3 if text[i + 1:i + 3] == "\r\n" else 2
            continue
        if c == "<" and (tag := _TAG.match(text, i)):  # markup around the words: <b>commercial</b>
            i = tag.end()
            continue
        if c == "&" and (entity := _ENTITY.match(text, i)):  # Non&#8209;commercial
            decoded = html.unescape(entity.group(0))
            for ch in decoded:
                out.append(_DASHES.get(ch) or _APOSTROPHES.get(ch) or ch)
                index.append(i)
            i = entity.end()
            continue
        # A Cyrillic or Greek look-alike is read as Latin only inside a word with Latin letters
        # ("Nоn" with a Cyrillic о); a Russian or Greek word stays itself.
        homoglyph = _HOMOGLYPHS.get(c) if latin[i] else None
        mapped = _DASHES.get(c) or _APOSTROPHES.get(c) or homoglyph or _SMALL_CAPITALS.get(c) or _TRADITIONAL.get(c) or unicodedata.normalize("NFKC", c)
        for ch in mapped:
            if unicodedata.combining(ch):  # accents stacked on letters: c\u0301
                continue
            out.append(_DASHES.get(ch, ch))
            index.append(i)
        i += 1
    index.append(len(text))
    return "".join(out), index


def _mask(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


_LICENCE_FILE = re.compile(r"/(?:LICEN[CS]E|COPYING)(?:[.-](?:md|txt|rst|MIT|APACHE))?/?$")  # a link to the licence's own file
_HIDDEN = re.compile(r"~~|(?<!\w)~[^~\s][^~\n]{0,200}~(?!\w)|<\s*(?:del|s|strike)\b[^>]{0,100}>|<!--|\[\s*(?:withdrawn|deprecated|superseded|draft)\s*\]", re.I)


def _scan(original: str) -> list[Match]:
    """Every URL, restrictive statement and licence name in the text, with its span in the text
    given (the scanner reads a folded copy: see `_scan_text`)."""
    text, index = _scan_text(original)
    out = [Match("unexplained", h.group(0), h.start(), h.end(), "struck-through, deleted or commented-out text: not a declaration")
           for h in _HIDDEN.finditer(original)]
    for m in _scan_folded(text):
        start, end = index[m.start], (index[m.end - 1] + 1 if m.end > m.start else index[m.start])
        written = original[start:end]
        if m.kind == "licence" and URL.match(m.text) and not written.isascii():
            # The folded copy reads creativecommοns.org (a Greek ο) as the real host; it is not.
            out.append(Match("url", written, start, end, "url"))
            continue
        out.append(Match(m.kind, written, start, end, m.means))
    return out


def _scan_folded(text: str) -> list[Match]:
    found: list[Match] = []
    work = text
    for m in EMAIL.finditer(work):
        found.append(Match("url", m.group(0), m.start(), m.end(), "e-mail address"))
        work = _mask(work, m.start(), m.end())
    for m in URL.finditer(work):
        url = m.group(0).rstrip(".,;:)")
        end = m.start() + len(url)
        ident = None
        key = url_key(url)
        host, _, path = key.partition("/")
        host = host.split("?", 1)[0]
        key = host + (posixpath.normpath("/" + path.split("?", 1)[0]) if path else "")  # ".../by/4.0/../by-nc/4.0/" is by-nc
        for pattern, fixed in CANONICAL_URLS:
            c = pattern.search(key)
            # The licence's own host, not a path or query of another site that spells it.
            if c and c.start() < len(host) and (c.start() == 0 or key[c.start() - 1] == "."):
                ident = fixed or f"CC-{c.group(1).upper()}-{c.group(2)}"
                break
        if ident and ident in _registry_terms():
            found.append(Match("licence", url, m.start(), end, ident))
        elif url_key(url) in _custom_urls():
            found.append(Match("vocabulary", url, m.start(), end, "DPI custom licence " + url_key(url)))
        else:
            found.append(Match("url", url, m.start(), end, "url"))
        work = _mask(work, m.start(), m.end())
    for pattern in NEUTRAL:
        for m in pattern.finditer(work):
            work = _mask(work, m.start(), m.end())
    for code, pattern in RESTRICTIONS:
        for m in pattern.finditer(work):
            found.append(Match("restriction", text[m.start():m.end()], m.start(), m.end(), code))
    for m in UNREADABLE.finditer(work):
        found.append(Match("unknown-licence", m.group(0), m.start(), m.end(), "terms not stated: " + m.group(0).lower()))
    for m in _ALL_RIGHTS_RESERVED.finditer(work):
        # After a copyright notice it is the usual header of an open licence; alone beside a
        # licence's name ("CC-BY-4.0. All rights reserved.") it contradicts the licence: unknown.
        if not _COPYRIGHT_BEFORE.search(work[max(0, m.start() - 160):m.start()]):
            found.append(Match("unknown-licence", m.group(0), m.start(), m.end(), "all rights reserved"))
    claimed = work

    def claim(start: int, end: int, ident: str, *, word: bool = False) -> None:
        nonlocal claimed
        claimed = _mask(claimed, start, end)
        if word and ident in NEEDS_CONTEXT and not _licence_context(text, start, end):
            return  # "Massachusetts Institute of Technology (MIT)", "Apache Software Foundation"
        if NEGATED.search(text[max(0, start - 40):start]):
            # "not under the MIT licence": the text says which licence it is *not*.
            found.append(Match("unknown-licence", text[start:end], start, end, f"not {ident}"))
            return
        if _ELSEWHERE_AFTER.match(text[end:end + 60]) or _ELSEWHERE_BEFORE.search(text[max(0, start - 60):start]):
            # "CC-BY-4.0 does not apply", "(code only)", "(modified)", "previously under", "based on the MIT License"
            found.append(Match("unknown-licence", text[start:end], start, end, f"{ident}, but not for this data as written"))
            return
        found.append(Match("licence", text[start:end], start, end, ident))

    for pattern in (CC_WORDS, CC_ATTRIBUTION, CC_CHINESE):
        for m in pattern.finditer(claimed):
            parts = m.group(0) if pattern is CC_ATTRIBUTION else (m.group("parts") or "")
            got = _cc_identifier(parts, m.group("version"), chinese=pattern is CC_CHINESE)
            if got is None and pattern is CC_WORDS and re.search(r"cc ?0|zero|public domain", m.group(0), re.I):
                got = ("CC0-1.0", 0.9)
            if got is not None and got[0] not in _registry_terms():
                found.append(Match("unknown-licence", m.group(0), m.start(), m.end(), f"{got[0]} (terms not held)"))
                claimed = _mask(claimed, m.start(), m.end())
            elif got is not None:
                claim(m.start(), m.end(), got[0])
    for m in BARE_IDENTIFIER.finditer(claimed):
        claim(m.start(), m.end(), m.group(0), word=True)
    for m in SPDX_TOKEN.finditer(claimed):
        ident = _known_identifier(m.group(0))
        if ident:
            claim(m.start(), m.end(), ident)
        elif _spdx_id_without_terms(m.group(0)):
            found.append(Match("unknown-licence", m.group(0), m.start(), m.end(), m.group(0)))
            claimed = _mask(claimed, m.start(), m.end())
    for pattern, ident, _conf in NAMED:
        for m in pattern.finditer(claimed):
            if m.end() > m.start() and ident in _registry_terms():
                claim(m.start(), m.end(), ident, word=True)
    found.extend(_unexplained(text, found))
    return sorted(found, key=lambda x: (x.start, x.end))


# ----------------------------------------------------------------- words nothing explains
# Beside a licence's name, every word must be explained: by a match above, by the standard
# wording of a licence text or header pasted whole (exactly as published: an edited clause is not
# the standard text), by a copyright notice, or by a short allow-list of words that cannot narrow
# what a licence allows (articles, "licensed under", "see", "cite"...). A sentence with any other
# word (a purpose, an audience, a condition, a language or a symbol no pattern reads) is reported
# as `unexplained`, with its span, and the verdict is unknown: a lawyer does not sign terms
# beside words nobody read. An allow-list, not a list of dangerous words, because the ways to
# narrow a licence are endless and the ways to restate one are few.
_ALLOWED_WORDS = frozenset("""
a an the this that these those it its is are be of to in on at by for with from and or as under into
licensed licenced license licence licenses licences licensing released distributed distribution published made available
data dataset datasets corpus corpora work works content contents file files copyright c see citing citation credit
attribution attribute full text international unported generic public legal deed spdx identifier id
you can use used using share copy copies redistribute redistributed adapt remix modify distribute transform build also both
any free freely purpose purposes including include includes whole entire same permissive open
s license-ref licenseref spdx-license-identifier doi arxiv bibtex alike sharealike universal
creative commons cc ccpl attr inter but however applies apply permitted allowed granted
images image audio text texts annotations annotation labels label metadata scripts script software documentation docs models model ai weights media
photos videos recordings transcripts documents outputs output code resources href rel target blank
""".split())
# CJK words that only restate a licence ("本数据集采用 … 许可协议").
_ALLOWED_CJK = sorted("本 数据集 数据 作品 本作品 采用 遵循 依据 按照 根据 许可 许可证 许可协议 协议 发布 进行 的 下 以 和 与 及 或 之 引用 署名 版权所有 版本 条款 国际 本数据集 本仓库 代码 模型 图像 图片 音频 文本 标注 权重 本データセット データセット ライセンス の もと で 下で 提供 されています 公開 です 데이터셋 라이선스 따라 에 에서 제공 됩니다".split(), key=len, reverse=True)
_STANDARD_WORDING = [
    # MIT
    'Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:',
    "The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.",
    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.',
    "IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
    # BSD 2- and 3-clause
    "Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met:",
    "Redistributions of source code must retain the above copyright notice, this list of conditions and the following disclaimer.",
    "Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the following disclaimer in the documentation and/or other materials provided with the distribution.",
    "Neither the name of the copyright holder nor the names of its contributors may be used to endorse or promote products derived from this software without specific prior written permission.",
    'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED.',
    "IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.",
    # ISC
    "Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted, provided that the above copyright notice and this permission notice appear in all copies.",
    'THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS.',
    "IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.",
    # the Apache-2.0 header
    '(the "License"); you may not use this file except in compliance with the License.', "You may obtain a copy of the License at",
    'Unless required by applicable law or agreed to in writing, software distributed under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.',
    "See the License for the specific language governing permissions and limitations under the License.",
    # Creative Commons' notice
    "To view a copy of this license, visit", "or send a letter to Creative Commons, PO Box 1866, Mountain View, CA 94042, USA.",
    "or send a letter to Creative Commons, 171 Second Street, Suite 300, San Francisco, California, 94105, USA.",
    # Plain restatements
    "No rights reserved.", "All rights reserved.", "Provided as is.", "without warranty", "no warranty", "without any warranty", "all rights reserved",
    "for any purpose, even commercially", "even for commercial purposes, all without asking permission", "You can copy, modify, distribute and perform the work",
    "please cite our paper if you use this dataset", "please cite our paper if you use this data", "please cite the paper", "please cite our paper",
    "public domain", "public domain dedication", "attribution required", "attribution is required", "our dataset", "our data", "our corpus",
    "the project is licensed under", "the project is licenced under", "the resources in this repository are licensed under", "commercial use allowed", "commercial use is allowed", "commercial use permitted", "commercial use is permitted", "Version 2.0, January 2004", "January 2004", "please cite this dataset", "please cite the dataset", "if you use this dataset, please cite", "if you use this data, please cite", "please cite",
]
_WORD = re.compile(r"\w+")
_PORT = re.compile(r"[ \t]+(?:AR|AT|AU|BE|BG|BR|CA|CH|CL|CN|CO|CR|CZ|DE|DK|EC|EE|ES|FI|FR|GR|GT|HK|HR|HU|IE|IGO|IL|IN|IT|JP|KR|LU|MK|MT|MX|MY|NL|NO|NZ|PE|PH|PL|PR|PT|RO|RS|SE|SG|SI|TH|TW|UG|UK|US|VE|VN|ZA"
                   r"|Spain|Germany|France|Italy|Netherlands|Australia|Brazil|China|Japan|Austria|Switzerland)\b")
# A dataset's own name as the subject of the sentence that gives its licence.
# A proper name, not a description: capitals inside, digits or hyphens ("CUAD", "Disfl-QA", "SQuAD2.0").
_NAME_LIKE = re.compile(r"[A-Z0-9][A-Z0-9.]+|\w*[a-z][A-Z][\w.]*|[\w.]*\d[\w.]*|[\w.]+-[\w.-]+")
_NAME_LIKE_ALONE = re.compile(r"[A-Z0-9][A-Z0-9.]+|[A-Z]\w*[a-z][A-Z][\w.]*|[\w.]*\d[\w.]*")
_NAMED_SUBJECT = re.compile(r"(?:^|(?<=[.;!\n]))\s*(?:the\s+)?(?P<name>[\w.-]+(?:\s+[\w.-]+){0,3}?)\s+(?:(?P<noun>dataset|corpus|data|benchmark|project)\s+)?"
                            r"(?:is|are)\s+(?:released|licensed|licenced|distributed|made\s+available|available|published)\s+under\b", re.I)


def _wording(sentence: str) -> re.Pattern[str]:
    # Word for word, whatever the spacing, line breaks, quotes and punctuation between words.
    return re.compile(r"(?<!\w)" + r"[\s\"'(),.;:/-]*".join(re.escape(w) for w in _WORD.findall(sentence)) + r"(?!\w)", re.I)


_STANDARD = [_wording(s) for s in _STANDARD_WORDING]
# "Copyright (c) 2020 Jane Doe": the holder's name is not terms, unless it says something terms would.
_HOLDER = re.compile(r"(?:[Cc]opyright|COPYRIGHT|\([cC]\)|©)(?:\s*(?:\([cC]\)|©))?(?:[\s,&/]+(?:\d{4}(?:\s*[-–]\s*\d{4})?|[A-Z][\w.'-]*|and|of|the|et|al\.?|inc\.?|ltd\.?|llc|gmbh|contributors|authors))*")
_COPYRIGHT_LINE = re.compile(r"(?:copyright|\(c\)|©)(?:\s*(?:\(c\)|©))?[^.;\n]{0,100}", re.I)
_TERMS_WORDS = re.compile(r"\b(?:use|usage|research|academ\w*|commerc\w*|univers\w*|student\w*|train\w*|ai|\w*profit\w*|member\w*|resident\w*|charit\w*|customer\w*|subscriber\w*|business\w*|compan\w*|purpose\w*|only"
                          r"|except\w*|unless|not|no|never|must|shall|may|licen[cs]\w*|terms?|permi\w*|prohibit\w*|forbid\w*|reserve\w*|restrict\w*|without)\b", re.I)
_TOKEN = re.compile(r"[^\s!-/:-@\[-`{-~\u00a0-\u00bf\u2000-\u206f\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+")
# Parts of a dataset: a licence given for one part says nothing of the rest, so they are explained
# only where the text also speaks of the whole ("Data under CC-BY-4.0; images under CC BY-NC").
_SCOPE = frozenset("images image audio text texts annotations annotation labels label metadata scripts script software documentation docs models model ai weights "
                   "media photos videos recordings transcripts documents code".split())
# Beside a restriction that was read, words that only state it ("Non-commercial use only", "You may
# not use this data to train AI models", "仅限非商业用途"), right next to it; any other word still
# has to be explained.
_RESTRICTION_TAIL = re.compile(r"[\s,]*(?:(?:use|usage|purposes?)\s+)?(?:only|strictly)\b|用途|使用"
                               r"|\s*(?:ai\s+|ml\s+|machine[\s-]learning\s+)?(?:models?|systems?)\b", re.I)  # ...to train "AI models"
_RESTRICTION_HEAD = re.compile(r"\b(?:only|strictly|solely)\s*$|(?:仅限|仅|只|限)$", re.I)
_MODAL_BEFORE = re.compile(r"(?:\b(?:you|we|users?|licensees?|it|this\s+data(?:set)?)\s+)?\b(?:may|must|shall|can|will|should)\s*$", re.I)
_WHOLE = re.compile(r"\b(?:data|dataset|datasets|corpus|everything|all\s+(?:files|content|parts))\b", re.I)
_NUMBERING = re.compile(r"^[ \t]*\d{1,2}[.)](?=\s)", re.M)  # "1. Redistributions of source code..."
_QUESTION = re.compile(r"[?？‽⁇⁈⁉؟⸮]")
_MONEY_OR_MEASURE = re.compile(r"[$£€¥₹₩%‰≤≥]|[<>]=?\s*\d")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_TAIL_WORD = re.compile(r"[\s()–-]*(?P<w>[\w.]+)|\s+only(?=[\s)\"']*(?:[.;!?。；]|$))", re.I)  # "CC-BY-4.0 only." names the one licence


_USE_WORDS = frozenset("academic research educational commercial noncommercial non use personal evaluation".split())


@lru_cache(maxsize=1)
def _name_words() -> dict[str, frozenset[str]]:
    """Each licence's registered name as words: what may follow its match and still be its name
    ("Llama 2 Community License Agreement"), where other words or another version would not."""
    return {e["identifier"]: frozenset(w.lower() for w in re.findall(r"[\w.]+", e["name"]) + re.findall(r"[\w.]+", e["identifier"].replace("-", " ")))
            for e in STANDARD}


def _name_head_start(work: str, ident: str, start: int) -> int:
    """Words of the licence's registered name just before its match ("GNU", "AI2")."""
    words = _name_words().get(ident, frozenset())
    while (h := re.search(r"([\w.]+)[\s()–-]*$", work[:start])) is not None and h.group(1).lower() in words and h.group(1).lower() not in _USE_WORDS:
        start = h.start()
    return start


def _name_tail_end(work: str, ident: str, end: int) -> int:
    words = _name_words().get(ident, frozenset()) | {"license", "licence", "agreement"}
    while (t := _TAIL_WORD.match(work, end)) is not None:
        w = (t.group("w") or "only").lower().strip(".")
        number = re.fullmatch(r"v?[\d.]+", w)
        if number and w.lstrip("v") not in ident:
            break  # another version than the one matched: "Apache License 1.1"
        if w == "only" and not re.match(r"[\s)\"']*(?:[.;!?。；]|$)", work[t.end():]):
            break  # "CC-BY-4.0 only." names the one licence; "CC-BY-4.0 only for our use" narrows it
        if not number and (w not in ("only", "version") and w not in words or w in _USE_WORDS):
            break  # "AFL-3.0 academic use": the name's own words, used to say something else
        end = t.end()
    return end


_SCOPE_CJK = ("代码", "模型", "图像", "图片", "音频", "文本", "标注", "权重", "仓库")


def _cjk_scope(token: str) -> bool:
    return bool(_CJK.search(token)) and any(w in token for w in _SCOPE_CJK)


def _explained(token: str) -> bool:
    if token.lower() in _ALLOWED_WORDS:
        return True
    if _CJK.search(token):
        rest = token
        while rest:
            word = next((w for w in _ALLOWED_CJK if rest.startswith(w)), None)
            if word is None:
                return False
            rest = rest[len(word):]
        return True
    return False


def _unexplained(text: str, found: list[Match]) -> list[Match]:
    """Sentences with a word no match, standard wording, copyright notice or allowed word
    explains (see above), as matches with their own spans: beside a licence they make the
    verdict unknown. A question mark makes its sentence unexplained too: a question is not a
    declaration ("CC-BY-4.0?")."""
    work = text
    for m in found:
        if m.kind == "url" and not (_LICENCE_FILE.search(m.text) and not _TERMS_WORDS.search(re.sub(r"[/._-]+", " ", m.text.rsplit("/", 1)[0]))):
            continue  # a page or address that is not a licence's: terms elsewhere, not read
        work = _mask(work, m.start, m.end)
        if m.kind == "licence":
            work = _mask(work, m.end, _name_tail_end(work, m.means, m.end))  # "Llama 2 Community License Agreement"
            work = _mask(work, _name_head_start(work, m.means, m.start), m.start)  # "GNU" Lesser General Public License
            if m.means.startswith("CC") and re.search(r"-(?:1\.0|2\.0|2\.5|3\.0)$", m.means) and (port := _PORT.match(work, m.end)):
                work = _mask(work, m.end, port.end())  # a ported Creative Commons licence: "CC BY-SA 3.0 ES"
        elif m.kind == "restriction":
            if modal := _MODAL_BEFORE.search(work, 0, m.start):
                work = _mask(work, modal.start(), m.start)  # "You may" not use this data to train
            if tail := _RESTRICTION_TAIL.match(work, m.end):
                work = _mask(work, m.end, tail.end())  # Non-commercial "use only"
            if head := _RESTRICTION_HEAD.search(work, 0, m.start):
                work = _mask(work, head.start(), m.start)  # "strictly" non-commercial
    for w in _NUMBERING.finditer(work):
        work = _mask(work, w.start(), w.end())
    for pattern in (*_STANDARD, *NEUTRAL):
        for w in pattern.finditer(work):
            work = _mask(work, w.start(), w.end())
    for w in _NAMED_SUBJECT.finditer(work):
        name_like = _NAME_LIKE if w.group("noun") else _NAME_LIKE_ALONE  # "EU-Residents are licensed" is an audience
        if not _TERMS_WORDS.search(w.group("name")) and all(name_like.fullmatch(t) for t in w.group("name").split()):
            work = _mask(work, w.start("name"), w.end("name"))  # "CUAD is licensed under ..."
    for w in _COPYRIGHT_LINE.finditer(work):
        # Only a notice of its own (nothing before it in its sentence but what is explained):
        # "images © Getty" says whose the images are, which no licence here covers. The holder
        # is years and capitalised names; the notice ends at the first other word.
        before = work[max(work.rfind(c, 0, w.start()) for c in ".;\n") + 1:w.start()]
        if _TERMS_WORDS.search(w.group(0)[9:]) or not all(_explained(t.group(0)) and t.group(0).lower() not in _SCOPE for t in _TOKEN.finditer(before)):
            continue
        holder = _HOLDER.match(w.group(0))
        work = _mask(work, w.start(), w.start() + (len(holder.group(0)) if holder else 0))
    out = []
    # A part named beside a licence leaves the rest unlicensed, unless the text also speaks of
    # the whole, or restricts everything anyway.
    stated = [(m.start, m.end) for m in found if m.kind in ("licence", "restriction", "unknown-licence")]
    whole = any(m.means in ("non-commercial", "research-only") for m in found if m.kind == "restriction") or any(
        _WHOLE.search(c.group(0)) and any(a < c.end() and c.start() < b for a, b in stated)
        and not any(t.group(0).lower() in _SCOPE or _cjk_scope(t.group(0)) for t in _TOKEN.finditer(c.group(0)))
        for c in SENTENCE.finditer(text))
    for s in SENTENCE.finditer(text):
        if (s.group(0).isascii() and not _QUESTION.search(s.group(0)) and _vocab().get(fold(s.group(0))) not in (None, "Custom")
                and not any(m.start < s.end() and s.start() < m.end for m in found)):
            continue  # a name only DPI's vocabulary knows ("CSLU Agreement")
        rest = work[s.start():s.end()]
        said = next((t.group(0) for t in _TOKEN.finditer(rest)
                     if not _explained(t.group(0))
                     or ((t.group(0).lower() in _SCOPE or _cjk_scope(t.group(0))) and not whole)), None)
        said = said or next((c.group(0) for c in (_QUESTION.search(rest), _MONEY_OR_MEASURE.search(rest)) if c), None)
        if said:
            start = s.start() + len(s.group(0)) - len(s.group(0).lstrip())
            end = s.start() + len(s.group(0).rstrip())
            out.append(Match("unexplained", text[start:end], start, end, f"words the normaliser cannot read as terms: {said!r}"))
    return out


# Names that are also ordinary words or institutions: read as a licence only beside licence words
# ("MIT License", "under the MIT", "Apache 2.0"), or when the text is the name alone.
NEEDS_CONTEXT = {"MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "Zlib", "Unlicense", "LicenseRef-OpenAI-Terms", "LicenseRef-Anthropic-Terms",
                 "LicenseRef-Google-Gemini-API-Terms", "LicenseRef-Mistral-Terms", "LicenseRef-Qwen-License", "LicenseRef-DeepSeek-License"}
_CONTEXT_AFTER = re.compile(r"^[\s-]*(?:v(?:ersion)?\s*)?(?:\d+(?:\.\d+)?\s*)?(?:licen[cs]e|licen[cs]ed|terms|agreement|-style|许可|授权|协议|条款)"
                            r"|^\s*(?:for|covers|applies\s+to)\s+(?:the\s+|our\s+|all\s+)?(?:code|software|source|scripts?|tools?|data|dataset|models?|weights|annotations?)\b", re.I)
_CONTEXT_BEFORE = re.compile(r"(?:(?:licen[cs]e[ds]?|licensing|under|terms|released|distributed|available|spdx|copyleft|dual|subject\s+to|governed\s+by"
                             r"|outputs?|generated|generation|models?|api)\b|采用|遵循|遵守|基于|依据|使用|许可)[^.;:!?。；\n]{0,25}$", re.I)
_LICENCE_WORD = r"(?:apache|gpl|lgpl|agpl|bsd|mit|mpl|isc|epl|cc[\s-]?by|cc0|creative\s+commons|odbl|cdla)"
_BESIDE_AFTER = re.compile(r"^\s*(?:and|or|/|,|&|\+)\s*(?:the\s+)?" + _LICENCE_WORD, re.I)  # "MIT and Apache 2.0", "MIT/Apache"
_BESIDE_BEFORE = re.compile(_LICENCE_WORD + r"[\w.\s-]{0,12}?\s*(?:and|or|/|,|&|\+)\s*(?:the\s+)?$", re.I)
NEGATED = re.compile(r"\b(?:not|no\s+longer|never|neither|nor|isn't|aren't|is\s+not|are\s+not)\s+(?:be\s+)?(?:licen[cs]ed\s+|released\s+|available\s+|distributed\s+)?(?:under\s+|as\s+|with\s+)?(?:the\s+|an?\s+)?$", re.I)
# Statements that there are terms the text does not give: with them, nothing looser than unknown.
UNREADABLE = re.compile(r"\bproprietary\b|\bcustom\s+licen[cs]e|\b(?:separate|individual|bespoke|private)\s+(?:licen[cs]e|agreement|contract)"
                        r"|\b(?:evaluation|internal|non-production)\s+(?:use|purposes?)?\s*only\b|\bfor\s+(?:evaluation|internal)\s+(?:use|purposes?)\s+only\b"
                        r"|\bcurrently\s+(?:no\s+licen[cs]e|unlicen[cs]ed)\b|\bplanned\s+licen[cs]e\b|\b(?:scraped|crawled|harvested|collected|copied|taken|extracted)\s+from\b"
                        r"|\b(?:getty\s+images|shutterstock|adobe\s+stock)\b|\bcopyrighted\s+material\b|\bpaywalled\b"
                        r"|\bsubject\s+to\s+(?:the\s+|our\s+|its\s+|additional\s+|separate\s+)*(?:terms|conditions|agreement|eula|tos)\b(?!\s+of\s+(?:this|the)\s+licen)"
                        r"|\bcontact\s+(?:us|the\s+(?:authors?|owners?|publishers?|maintainers?))\s+(?:for|about|regarding)\s+(?:the\s+)?licen[cs]"
                        r"|\blicen[cs]e\s+(?:is\s+)?(?:unknown|unclear|not\s+(?:specified|stated|given))", re.I)
# What after a licence's name says it does not govern this data, or not as written.
_ELSEWHERE_AFTER = re.compile(r"^\s*\(?\s*(?:does\s*(?:not|n't)\s+apply|no\s+longer\s+applies|(?:for|applies\s+to|covers)\s+(?:the\s+|our\s+)?(?:metadata|code|software|scripts?|source(?:\s+code)?|annotations?|labels?|documentation|docs|website)\s+only"
                              r"|(?:metadata|code|software|scripts?|annotations?|labels?|documentation|docs)\s+only|modified|amended|with\s+(?:additional|extra|further)\s+(?:terms|restrictions|conditions)|variant"
                              r"|-?\s*(?:style|like|ish|based|inspired|derived|esque)\b)", re.I)
_ELSEWHERE_BEFORE = re.compile(r"\b(?:previously|formerly|originally|once|no\s+longer|based\s+on|derived\s+from|adapted\s+from|modified\s+version\s+of|similar\s+to|inspired\s+by|like"
                               r"|will\s+be|to\s+be|planned|intend(?:s|ed)?\s+to\s+(?:release|licen[cs]e)(?:\s+it)?|planned\s+licen[cs]e\s*:?)"
                               r"\s+(?:(?:released|licen[cs]ed|published|available|distributed)\s+)?(?:under\s+)?(?:the\s+|an?\s+)?$", re.I)
_ALL_RIGHTS_RESERVED = re.compile(r"\ball\s+rights\s+reserved\b", re.I)
_COPYRIGHT_BEFORE = re.compile(r"(?:copyright|\(c\)|©)[^\n]{0,120}$", re.I)
EMAIL = re.compile(r"(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I)


def _licence_context(text: str, start: int, end: int) -> bool:
    """Whether a name stands where a licence would: the whole text, licence words right after it,
    or licence words shortly before it in the same sentence."""
    if not text[:start].strip(" \t\"'(:") and not text[end:].strip(" \t\"').:;"):
        return True
    if re.search(r"\d", text[start:end]):  # "Apache 2.0": a version makes it a licence
        return True
    return bool(_CONTEXT_AFTER.match(text[end:end + 30]) or _CONTEXT_BEFORE.search(text[max(0, start - 60):start])
                or _BESIDE_AFTER.match(text[end:end + 30]) or _BESIDE_BEFORE.search(text[max(0, start - 30):start]))


RESTRICT: dict[str, dict[str, Any]] = {
    "non-commercial": {"commercial_use": PROHIBITED},
    "research-only": {"commercial_use": PROHIBITED, "academic_only": True},
    "no-derivatives": {"derivatives": PROHIBITED},
    "no-ai-training": {"ai_training": PROHIBITED},
}


def restrict(terms: Terms, restrictions: tuple[str, ...]) -> Terms:
    """Terms with restrictive statements applied: they always win over the licence beside them."""
    changes: dict[str, Any] = {}
    for r in restrictions:
        changes.update(RESTRICT[r])
    if changes.get("commercial_use") == PROHIBITED and terms.outputs_commercial == ALLOWED:
        changes["outputs_commercial"] = "unspecified"
    return replace(terms, **changes) if changes else terms


def _result(identifier: str | None, terms: Terms, confidence: float, method: str, matched: str,
            matches: tuple[Match, ...], restrictions: tuple[str, ...], truncated: bool = False) -> Normalised:
    use = "academic-only" if terms.unknown else terms.use_class
    return Normalised(identifier, use, terms.attribution, terms.share_alike, confidence, "unknown" if terms.unknown and method != "mixed" else method,
                      matched, terms, matches, restrictions, truncated)


SENTENCE = re.compile(r"(?:[^.;。；!?！？\n]|\.(?=\d))+(?:[.;。；!?！？]+|$)", re.M)  # "3.0" does not end a sentence  # a line without a full stop is a sentence too


def _vocabulary_sentences(text: str) -> list[tuple[tuple[int, int], str]]:
    """DPI canonical names of the whole text, or else of its sentences, with their spans."""
    whole = _vocab().get(fold(text))
    if whole is not None:
        return [] if whole == "Custom" else [((0, len(text)), whole)]
    found = []
    for m in SENTENCE.finditer(text):
        canonical = _vocab().get(fold(m.group(0)))
        if canonical is not None and canonical != "Custom":
            start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            found.append(((start, m.end()), canonical))
    return found


def _from_matches(text: str, matches: list[Match], truncated: bool) -> Normalised | None:
    licences: dict[str, tuple[str | None, Terms, float, str]] = {}
    for m in matches:
        if m.kind == "licence" and m.means not in licences:
            conf = next((c for p, i, c in NAMED if i == m.means), 0.95)
            licences[m.means] = (m.means, registry_terms(m.means), conf, "rule")
        elif m.kind == "unknown-licence" and m.means not in licences:
            licences[m.means] = (None, UNKNOWN_TERMS, 0.5, "mixed")
        elif m.kind == "vocabulary" and m.means not in licences:
            cls = _custom_urls()[m.means.removeprefix("DPI custom licence ")]
            licences[m.means] = (None, _class_terms(*cls), 0.8, "vocabulary")
    if licences:
        # Words beside the names that say something about the terms and that nothing here reads.
        for m in matches:
            if m.kind == "unexplained" and m.means not in licences:
                licences[m.means] = (None, UNKNOWN_TERMS, 0.5, "mixed")
    restrictions = tuple(dict.fromkeys(m.means for m in matches if m.kind == "restriction"))
    if not licences and not restrictions:
        return None
    if not licences:
        # A restriction with no licence named: DPI's vocabulary may know a sentence of it;
        # otherwise the restriction is known and the duties are not.
        known = _vocabulary_sentences(text)
        if known:
            base = conjoin(*(dpi_terms(c)[1] for _, c in known))
            terms = restrict(base, restrictions)
            idents = {dpi_terms(c)[0] for _, c in known}
            ident = idents.pop() if len(idents) == 1 and len(known) == 1 else None
            vocab = tuple(Match("vocabulary", text[a:b], a, b, c) for (a, b), c in known)
            return _result(ident if not restrictions else None, terms, 0.7, "vocabulary", "; ".join([*(c for _, c in known), *restrictions]),
                           tuple(sorted((*matches, *vocab), key=lambda x: (x.start, x.end))), restrictions, truncated)
        base = Terms(attribution=None, share_alike=None)
        terms = restrict(base, restrictions)
        return _result(None, terms, 0.6, "keyword", "; ".join(RESTRICTION_LABEL[r] for r in restrictions), tuple(matches), restrictions, truncated)
    entries = list(licences.values())
    combined = conjoin(*(e[1] for e in entries))
    # Sentences DPI's vocabulary knows bind beside the names ("...for non-commercial research
    # purpose only. OGL-UK-3.0"): a name added to a text never loosens what its sentences say.
    # A sentence that is itself a licence name matched above is read as that licence.
    named = [(m.start, m.end) for m in matches if m.kind in ("licence", "unknown-licence", "vocabulary")]
    known = [(span, c) for span, c in _vocabulary_sentences(text) if not any(a < span[1] and span[0] < b for a, b in named)]
    if known:
        with_sentences = conjoin(combined, *(dpi_terms(c)[1] for _, c in known))
        if with_sentences != combined:
            combined = with_sentences
            entries.append((None, with_sentences, 0.7, "vocabulary"))
            matches = sorted((*matches, *(Match("vocabulary", text[a:b], a, b, c) for (a, b), c in known)), key=lambda x: (x.start, x.end))
    # A restriction the licence already carries ("CC BY-NC ... non-commercial") changes nothing
    # and keeps the identifier; one that tightens the terms makes them terms of their own.
    restrictions = tuple(r for r in restrictions if restrict(combined, (r,)) != combined)
    terms = restrict(combined, restrictions)
    words = "; ".join(f"{m.means} ({m.text!r} at {m.start}-{m.end})" for m in matches if m.kind != "url")
    if len(entries) == 1 and not restrictions:
        ident, _, conf, method = entries[0]
        return _result(ident, terms, conf, method, words, tuple(matches), (), truncated)
    conf = min(e[2] for e in entries) * (0.8 if len(entries) > 1 else 0.9)
    return _result(None, terms, round(conf, 2), "mixed", words, tuple(matches), restrictions, truncated)


def normalise(raw: str | None) -> Normalised:
    """Map a licence name, SPDX id or expression, URL or free text to terms, reporting what was
    matched and where. Never looser than the text: restrictions and the most restrictive of
    several licences win; unsure means unknown."""
    if not raw or not raw.strip():
        return UNKNOWN
    truncated = len(raw) > MAX_TEXT
    text = raw[:MAX_TEXT].strip()
    # 1. whole-text answers (not for struck-through or commented-out text: "~MIT~")
    ident = _known_identifier(text) if not _HIDDEN.search(text) else None
    if ident is not None:
        return _result(ident, registry_terms(ident), 1.0, "rule", "identifier", (Match("licence", text, 0, len(text), ident),), (), truncated)
    expression = _expression(text)
    if expression is not None:
        return _unread_tail(replace(expression, truncated=True)) if truncated else expression
    if url_key(text) in _custom_urls():
        cls = _custom_urls()[url_key(text)]
        return _result(None, _class_terms(*cls), 0.9, "vocabulary", "DPI custom licence URL",
                       (Match("vocabulary", text, 0, len(text), "DPI custom licence " + url_key(text)),), (), truncated)
    # 2-3. scan and combine
    matches = _scan(text)
    got = _from_matches(text, matches, truncated)
    if got is not None:
        return _unread_tail(got) if truncated else got
    # 4. nothing recognised in the text itself
    canonical = _vocab().get(fold(text)) if not _HIDDEN.search(text) else None
    if canonical is not None:
        ident, terms = dpi_terms(canonical)
        return _result(ident, terms, 0.8, "vocabulary", canonical, (Match("vocabulary", text, 0, len(text), canonical),), (), truncated)
    if any(m.kind == "url" for m in matches) and re.fullmatch(r"\S+", text):
        return replace(UNKNOWN, matched="custom licence URL", matches=tuple(matches), truncated=truncated)
    notice = re.search(r"copyright|all rights reserved|\(c\)|©|版权所有", text, re.I)
    if notice:
        return _result(None, Terms(attribution=None, share_alike=None), 0.5, "keyword", "copyright notice without licence",
                       (Match("notice", notice.group(0), notice.start(), notice.end(), "copyright"),), (), truncated)
    return replace(UNKNOWN, matches=tuple(matches), truncated=truncated)


def _unread_tail(got: Normalised) -> Normalised:
    """A text cut at MAX_TEXT: what was not read may narrow what was, so nothing looser than unknown."""
    if got.unknown:
        return got
    terms = conjoin(got.terms, UNKNOWN_TERMS)
    return _result(None, terms, got.confidence, "mixed", f"{got.matched}; the text beyond {MAX_TEXT} characters was not read", got.matches, got.restrictions, True)


def dpi_class(canonical: str) -> tuple[str, bool | None, bool | None] | None:
    """The (use class, attribution, share-alike) DPI gives a canonical name, for the report."""
    cls = _dpi_classes().get(canonical)
    if cls is None:
        return None
    use, attr, sa = cls
    return CLASS_OF_DPI_USE[use], None if attr == "?" else attr == "1", None if sa == "?" else sa == "1"
