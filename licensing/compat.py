"""The compatibility engine: what a version's whole upstream graph allows.

It is a pure function over a lineage graph (`Node`s and their `Source`s), so it can be tested
table-driven without a database; `licensing.services` builds the graph from the registry.

Rules (the most restrictive upstream use wins; duties accumulate):
- use class: academic-only > non-commercial > unspecified > commercial, over every licence
  reached; an unknown licence counts as academic-only;
- attribution and share-alike duties accumulate, each with the path that imposes it;
- a derivative of a no-derivatives source cannot be redistributed: block;
- a source whose licence forbids redistribution cannot be resold: block;
- a source that forbids AI training blocks offers that allow it;
- model-output terms ("no competing models") and personal data give warnings;
- a lineage cycle is refused.
Every finding carries the path of sources behind it and a plain-language explanation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from licensing.terms import PROHIBITED, RESTRICTIVENESS, USE_CLASSES, Terms, most_restrictive

MAX_DEPTH = 64


class LineageCycle(Exception):
    def __init__(self, path: list[str]):
        super().__init__(" → ".join(path))
        self.path = path


@dataclass
class Node:
    """A dataset version in the lineage graph."""

    key: str
    label: str
    license_identifier: str | None = None
    terms: Terms | None = None  # the version's own licence; None when none is declared
    sources: list["Source"] = field(default_factory=list)
    personal_data: str = "none"  # none | pseudonymised | anonymised | contains
    sensitive_categories: list[str] = field(default_factory=list)
    lawful_basis: str | None = None


@dataclass
class Source:
    kind: str  # first_hand | licensed | web_crawl | registry | external | model
    label: str
    relation: str = "derived"  # derived | licensed (as-is)
    license_identifier: str | None = None
    terms: Terms | None = None
    upstream: Node | None = None  # registry sources
    opt_outs_observed: list[str] = field(default_factory=list)
    opt_outs_respected: bool | None = None


@dataclass
class Finding:
    severity: str  # block | warn | info
    code: str
    message: str
    path: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message, "path": self.path}


@dataclass
class Result:
    use_class: str = "commercial"
    use_class_paths: list[list[str]] = field(default_factory=list)
    attribution: list[dict[str, Any]] = field(default_factory=list)
    share_alike: list[dict[str, Any]] = field(default_factory=list)
    field_of_use_exclusions: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    ai_training_prohibited: list[list[str]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(f.severity == "block" for f in self.findings)

    @property
    def allowed_offer_kinds(self) -> list[str]:
        if self.blocked:
            return []
        floor = RESTRICTIVENESS[self.use_class]
        return [c for c in USE_CLASSES if RESTRICTIVENESS[c] >= floor]

    @property
    def required_license(self) -> str | None:
        """Share-alike upstream: offers must use that same licence."""
        ids = {sa["license"] for sa in self.share_alike}
        return next(iter(ids)) if len(ids) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "use_class": self.use_class,
            "allowed_offer_kinds": self.allowed_offer_kinds,
            "required_license": self.required_license,
            "attribution": self.attribution,
            "share_alike": self.share_alike,
            "field_of_use_exclusions": sorted(set(self.field_of_use_exclusions)),
            "findings": [f.to_dict() for f in self.findings],
            "blocked": self.blocked,
        }


def _licence_label(identifier: str | None) -> str:
    return identifier or "an unidentified licence"


def resolve(root: Node) -> Result:
    """Walk every source of `root`, recursively, and combine what their licences allow."""
    res = Result()
    _walk(root, [root.label], {root.key}, res, depth=0)
    _personal_data(root, [root.label], res)
    return res


def _apply_terms(res: Result, terms: Terms | None, identifier: str | None, path: list[str], relation: str) -> None:
    if terms is None or terms.unknown:
        res.use_class = most_restrictive(res.use_class, "academic-only")
        res.use_class_paths.append(path)
        res.findings.append(Finding("warn", "unknown-license", f"The licence of {path[-1]} is unknown, so it is treated as academic-only.", path))
        return
    cls = terms.use_class
    if RESTRICTIVENESS[cls] > RESTRICTIVENESS["commercial"]:
        res.findings.append(Finding("info", "use-class", f"{path[-1]} is under {_licence_label(identifier)}, which limits use to {cls}.", path))
    if RESTRICTIVENESS[cls] >= RESTRICTIVENESS[res.use_class]:
        res.use_class = cls
        res.use_class_paths.append(path)
    if terms.attribution:
        res.attribution.append({"source": path[-1], "license": identifier, "path": path})
    if terms.share_alike:
        res.share_alike.append({"source": path[-1], "license": identifier, "path": path})
    if terms.derivatives == PROHIBITED and relation == "derived":
        res.findings.append(Finding("block", "no-derivatives", f"{path[-2]} is derived from {path[-1]}, whose licence ({_licence_label(identifier)}) forbids derivatives; it cannot be redistributed.", path))
    if terms.redistribution == PROHIBITED:
        res.findings.append(Finding("block", "no-redistribution", f"The licence of {path[-1]} ({_licence_label(identifier)}) forbids redistribution, so data built on it cannot be sold on.", path))
    if terms.ai_training == PROHIBITED:
        res.ai_training_prohibited.append(path)
        res.findings.append(Finding("warn", "no-ai-training", f"The licence of {path[-1]} forbids AI training; offers cannot allow it.", path))
    if terms.no_competing_models:
        res.findings.append(Finding("warn", "model-output-terms", f"{path[-1]} comes under terms ({_licence_label(identifier)}) that forbid using it to develop models that compete with the provider's.", path))
    if terms.field_of_use_exclusions:
        res.field_of_use_exclusions.extend(terms.field_of_use_exclusions)
        res.findings.append(Finding("info", "field-of-use", f"{path[-1]} may not be used for: {', '.join(terms.field_of_use_exclusions)}.", path))
    if terms.term_months is not None:
        res.findings.append(Finding("warn", "limited-term", f"The licence of {path[-1]} runs for {terms.term_months} months only.", path))
    if tuple(terms.territory) != ("worldwide",):
        res.findings.append(Finding("info", "territory", f"{path[-1]} is licensed for {', '.join(terms.territory)} only.", path))


def _walk(node: Node, path: list[str], on_path: set[str], res: Result, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise LineageCycle(path)
    for src in node.sources:
        here = [*path, src.label]
        if src.kind == "first_hand":
            continue
        if src.kind == "web_crawl":
            res.findings.append(Finding("info", "web-crawl", f"{src.label} is crawled web content whose authors did not license it; rights are unspecified.", here))
            if RESTRICTIVENESS["unspecified"] >= RESTRICTIVENESS[res.use_class]:
                res.use_class = "unspecified"
                res.use_class_paths.append(here)
            if src.opt_outs_observed and src.opt_outs_respected is False:
                res.findings.append(Finding("warn", "crawl-opt-out-ignored", f"The crawl saw opt-out signals ({', '.join(src.opt_outs_observed)}) and did not honour them; only non-commercial research use is defensible.", here))
                res.use_class = most_restrictive(res.use_class, "non-commercial")
                res.use_class_paths.append(here)
            continue
        if src.kind == "registry" and src.upstream is not None:
            up = src.upstream
            if up.key in on_path:
                raise LineageCycle([*path, up.label])
            _apply_terms(res, up.terms, up.license_identifier, here, src.relation)
            _walk(up, here, on_path | {up.key}, res, depth + 1)
            _personal_data(up, here, res)
            continue
        # licensed (third party), external dataset, model-generated
        _apply_terms(res, src.terms, src.license_identifier, here, src.relation)
        if src.kind == "model":
            res.findings.append(Finding("info", "model-generated", f"{src.label} was generated by a model; its provider's terms bind the outputs.", here))


def _personal_data(node: Node, path: list[str], res: Result) -> None:
    if node.personal_data == "contains":
        basis = node.lawful_basis or "no lawful basis declared"
        res.findings.append(Finding("warn", "personal-data", f"{node.label} contains personal data ({basis}); buyers become controllers and need a lawful basis and a data processing agreement.", path))
        if not node.lawful_basis:
            res.findings.append(Finding("warn", "no-lawful-basis", f"{node.label} contains personal data but declares no consent or lawful basis.", path))
    if node.sensitive_categories:
        res.findings.append(Finding("warn", "sensitive-data", f"{node.label} contains special-category data: {', '.join(node.sensitive_categories)}.", path))
    if node.personal_data == "pseudonymised":
        res.findings.append(Finding("info", "pseudonymised", f"{node.label} is pseudonymised: still personal data under GDPR.", path))


def check_offer(res: Result, identifier: str | None, terms: Terms | None) -> list[Finding]:
    """Findings that forbid offering (or declaring) the data under `identifier`/`terms`."""
    out = [f for f in res.findings if f.severity == "block"]
    if terms is None or terms.unknown:
        out.append(Finding("block", "offer-license-unknown", "The offered licence is not in the registry.", []))
        return out
    if RESTRICTIVENESS[terms.use_class] < RESTRICTIVENESS[res.use_class]:
        path = res.use_class_paths[-1] if res.use_class_paths else []
        out.append(Finding("block", "use-class-exceeds-upstream",
                           f"A {terms.use_class} licence ({identifier}) cannot be granted over upstream data limited to {res.use_class}.", path))
    sa_ids = {sa["license"] for sa in res.share_alike}
    if sa_ids and (len(sa_ids) > 1 or identifier not in sa_ids):
        sa = res.share_alike[0]
        out.append(Finding("block", "share-alike", f"{sa['source']} is under the share-alike licence {sa['license']}: derived data must be offered under {', '.join(sorted(i or '?' for i in sa_ids))}, not {identifier}.", sa["path"]))
    if res.ai_training_prohibited and terms.ai_training != PROHIBITED:
        out.append(Finding("block", "ai-training-upstream-prohibited", f"An upstream licence forbids AI training, but {identifier} does not.", res.ai_training_prohibited[0]))
    return out
