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
- model-output terms are rights of their own, not a use class: "no competing models", "no use to
  improve other models", a notice or a name prefix for models built with the data, a user-count
  limit; each propagates with its path and shows on offers, grants, the BOM and the pages;
- a duty that cannot be known (an unknown licence) is "unknown, treat as required";
- personal data gives warnings; a lineage cycle is refused.
Every finding carries the path of sources behind it and a plain-language explanation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from licensing.terms import ALLOWED, PROHIBITED, RESTRICTIVENESS, UNSPECIFIED, USE_CLASSES, Terms, conjoin, duty, duty_label, most_restrictive

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
    license_provider: str | None = None  # when the own licence is a model provider's terms: whose
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
    provider: str | None = None  # model sources: who provides the model
    found: float | None = None  # an undeclared registry source found by overlap detection: the share of records found in it


@dataclass
class Finding:
    severity: str  # block | warn | info
    code: str
    message: str
    path: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message, "path": self.path}


MODEL_TERM_LABELS = {
    "no-competing-models": "Do not use it to develop models that compete with {provider}",
    "no-improving-other-models": "Do not use it to improve any other model than {provider}'s",
    "model-attribution": "Models built with it must display: {value}",
    "model-name-prefix": "Models trained on it must be named starting with \"{value}\"",
    "user-limit": "Above {value} monthly active users, a licence from {provider} is needed",
}


@dataclass
class Result:
    use_class: str = "commercial"
    use_class_paths: list[list[str]] = field(default_factory=list)
    attribution: list[dict[str, Any]] = field(default_factory=list)  # each: source, license, path, status (required | unknown)
    share_alike: list[dict[str, Any]] = field(default_factory=list)
    field_of_use_exclusions: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    ai_training_prohibited: list[list[str]] = field(default_factory=list)
    model_terms: list[dict[str, Any]] = field(default_factory=list)  # each: code, text, source, license, path
    # Every licence reached, all binding at once (terms.conjoin): what the "you may" table reads.
    combined: Terms | None = None
    # Every licence reached, each with its path: identifier (None when the source names none) and
    # whether its terms are known (the SPDX export's concluded licence reads this).
    licences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(f.severity == "block" for f in self.findings)

    def bind(self, terms: Terms) -> None:
        self.combined = terms if self.combined is None else conjoin(self.combined, terms)

    @property
    def attribution_duty(self) -> bool | None:
        return duty(*(a["status"] == "required" or None for a in self.attribution)) if self.attribution else False

    @property
    def share_alike_duty(self) -> bool | None:
        return duty(*(a["status"] == "required" or None for a in self.share_alike)) if self.share_alike else False

    def model_term_codes(self) -> list[str]:
        """The model-output terms a buyer must accept, each once (code: value)."""
        return sorted({f"{m['code']}:{m.get('value') or m.get('provider') or ''}" for m in self.model_terms})

    def effective_terms(self) -> dict[str, Any]:
        """What a buyer may do, over the own licence and the whole lineage: every permission at its
        most restrictive, duties "required", "none" or "unknown, treat as required", and the
        model-output terms as rights of their own."""
        t = self.combined or Terms()
        commercial = {"commercial": ALLOWED, "unspecified": UNSPECIFIED}.get(self.use_class, PROHIBITED)
        return {
            "use_class": self.use_class,
            "commercial_use": commercial,
            "academic_only": self.use_class == "academic-only",
            "ai_training": PROHIBITED if self.ai_training_prohibited else (t.ai_training if not t.unknown else UNSPECIFIED),
            "derivatives": t.derivatives if not t.unknown else UNSPECIFIED,
            "redistribution": t.redistribution if not t.unknown else UNSPECIFIED,
            "outputs_commercial": t.outputs_commercial if commercial != PROHIBITED else PROHIBITED,
            "attribution": duty_label(self.attribution_duty),
            "share_alike": duty_label(self.share_alike_duty),
            "field_of_use_exclusions": sorted(set(self.field_of_use_exclusions)),
            "territory": list(t.territory),
            "term_months": t.term_months,
            "no_competing_models": any(m["code"] == "no-competing-models" for m in self.model_terms),
            "no_improving_other_models": any(m["code"] == "no-improving-other-models" for m in self.model_terms),
            "model_terms": self.model_terms,
        }

    @property
    def allowed_offer_kinds(self) -> list[str]:
        if self.blocked:
            return []
        floor = RESTRICTIVENESS[self.use_class]
        return [c for c in USE_CLASSES if RESTRICTIVENESS[c] >= floor]

    @property
    def required_license(self) -> str | None:
        """Share-alike upstream: offers must use that same licence."""
        ids = {sa["license"] for sa in self.share_alike if sa["status"] == "required"}
        return next(iter(ids)) if len(ids) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "use_class": self.use_class,
            "allowed_offer_kinds": self.allowed_offer_kinds,
            "required_license": self.required_license,
            "attribution": self.attribution,
            "share_alike": self.share_alike,
            "attribution_duty": duty_label(self.attribution_duty),
            "share_alike_duty": duty_label(self.share_alike_duty),
            "field_of_use_exclusions": sorted(set(self.field_of_use_exclusions)),
            "model_terms": self.model_terms,
            "effective_terms": self.effective_terms(),
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


CONTRACT_HELP = ("If it is licensed under a contract, register the contract's terms as a custom licence (POST /api/v1/licenses "
                 "with its text and machine-readable terms, or Licences > New licence in the web UI) and give its identifier "
                 "(LicenseRef-<organisation>-<slug>) as this source's licence: the verdict then follows those terms.")


def _duties(res: Result, terms: Terms | None, identifier: str | None, path: list[str]) -> None:
    attribution = None if terms is None or terms.unknown else terms.attribution
    share_alike = None if terms is None or terms.unknown else terms.share_alike
    for name, value in (("attribution", attribution), ("share_alike", share_alike)):
        if value is not False:
            getattr(res, name).append({"source": path[-1], "license": identifier, "path": path, "status": "required" if value else "unknown"})


def _model_terms(res: Result, terms: Terms, identifier: str | None, path: list[str], provider: str | None) -> None:
    who = provider or _licence_label(identifier)
    rows: list[tuple[str, str | None]] = []
    if terms.no_competing_models:
        rows.append(("no-competing-models", None))
    if terms.no_improving_other_models:
        rows.append(("no-improving-other-models", None))
    if terms.model_attribution:
        rows.append(("model-attribution", terms.model_attribution))
    if terms.model_name_prefix:
        rows.append(("model-name-prefix", terms.model_name_prefix))
    if terms.user_limit_mau:
        rows.append(("user-limit", f"{terms.user_limit_mau:,}"))
    for code, value in rows:
        text = MODEL_TERM_LABELS[code].format(provider=who, value=value)
        res.model_terms.append({"code": code, "value": value, "provider": who, "license": identifier, "source": path[-1], "path": path, "text": text})
        severity = "warn" if code in ("no-competing-models", "no-improving-other-models") else "info"
        finding_code = "model-output-terms" if code == "no-competing-models" else code
        res.findings.append(Finding(severity, finding_code, f"{path[-1]} comes under {_licence_label(identifier)}: {text[0].lower() + text[1:]}.", path))


def resolve_effective(root: Node, offer: tuple[str, Terms, str | None] | None = None) -> Result:
    """The effective terms of a version: its lineage resolved upstream by upstream, then its own
    licence binding as the vendor's promise. The own use class caps the result (most restrictive
    wins), its duties, AI-training prohibition and model terms join the upstream ones, and a
    share-alike licence of its own fixes the licence of every offer. With `offer` (identifier,
    terms, provider), an offer's licence binds as well: a buyer holds the data under both."""
    res = resolve(root)
    for identifier, terms, provider, here in ((root.license_identifier, root.terms, root.license_provider, [root.label]),
                                               *([(offer[0], offer[1], offer[2], [root.label, f"offer under {offer[0]}"])] if offer else [])):
        if terms is not None:
            _bind_licence(res, identifier, terms, provider, here)
    return res


def _bind_licence(res: Result, identifier: str | None, own: Terms, provider: str | None, here: list[str]) -> None:
    res.bind(own)
    res.licences.append({"license": identifier, "path": here, "known": not own.unknown})
    own_class = "academic-only" if own.unknown else own.use_class
    if RESTRICTIVENESS[own_class] > RESTRICTIVENESS[res.use_class]:
        res.use_class = own_class
        res.use_class_paths.append(here)
    if own.unknown:
        _duties(res, None, identifier, here)
        return
    _duties(res, own, identifier, here)
    if own.ai_training == PROHIBITED:
        res.ai_training_prohibited.append(here)
    _model_terms(res, own, identifier, here, provider)
    res.field_of_use_exclusions.extend(own.field_of_use_exclusions)


def _apply_terms(res: Result, terms: Terms | None, identifier: str | None, path: list[str], relation: str,
                 kind: str = "registry", provider: str | None = None) -> None:
    res.licences.append({"license": identifier, "path": path, "known": terms is not None and not terms.unknown})
    if terms is None or terms.unknown:
        res.use_class = most_restrictive(res.use_class, "academic-only")
        res.use_class_paths.append(path)
        res.bind(terms or Terms(unknown=True, attribution=None, share_alike=None))
        _duties(res, None, identifier, path)
        help_text = " " + CONTRACT_HELP if kind == "licensed" else ""
        res.findings.append(Finding("warn", "unknown-license", f"The licence of {path[-1]} is unknown, so it is treated as academic-only, "
                                    f"and attribution and share-alike as required.{help_text}", path))
        return
    res.bind(terms)
    cls = terms.use_class
    if RESTRICTIVENESS[cls] > RESTRICTIVENESS["commercial"]:
        res.findings.append(Finding("info", "use-class", f"{path[-1]} is under {_licence_label(identifier)}, which limits use to {cls}.", path))
    if RESTRICTIVENESS[cls] >= RESTRICTIVENESS[res.use_class]:
        res.use_class = cls
        res.use_class_paths.append(path)
    _duties(res, terms, identifier, path)
    if terms.attribution is None or terms.share_alike is None:
        res.findings.append(Finding("warn", "unknown-duties", f"The licence of {path[-1]} ({_licence_label(identifier)}) does not say whether credit or "
                                    "share-alike is required: treat both as required.", path))
    if terms.derivatives == PROHIBITED and relation == "derived":
        res.findings.append(Finding("block", "no-derivatives", f"{path[-2]} is derived from {path[-1]}, whose licence ({_licence_label(identifier)}) forbids derivatives; it cannot be redistributed.", path))
    if terms.redistribution == PROHIBITED:
        res.findings.append(Finding("block", "no-redistribution", f"The licence of {path[-1]} ({_licence_label(identifier)}) forbids redistribution, so data built on it cannot be sold on.", path))
    if terms.ai_training == PROHIBITED:
        res.ai_training_prohibited.append(path)
        res.findings.append(Finding("warn", "no-ai-training", f"The licence of {path[-1]} forbids AI training; offers cannot allow it.", path))
    _model_terms(res, terms, identifier, path, provider)
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
            if src.found is not None:
                res.findings.append(Finding("warn", "undeclared-overlap", f"{src.found:.0%} of the records of {path[-1]} were found in {up.label}, which its provenance "
                                            "declaration does not name; that dataset's licence is counted as upstream.", here))
            _apply_terms(res, up.terms, up.license_identifier, here, src.relation)
            _walk(up, here, on_path | {up.key}, res, depth + 1)
            _personal_data(up, here, res)
            continue
        # licensed (third party), external dataset, model-generated
        _apply_terms(res, src.terms, src.license_identifier, here, src.relation, kind=src.kind, provider=src.provider)
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
    required = [sa for sa in res.share_alike if sa["status"] == "required"]
    sa_ids = {sa["license"] for sa in required}
    if sa_ids and (len(sa_ids) > 1 or identifier not in sa_ids):
        sa = required[0]
        out.append(Finding("block", "share-alike", f"{sa['source']} is under the share-alike licence {sa['license']}: derived data must be offered under {', '.join(sorted(i or '?' for i in sa_ids))}, not {identifier}.", sa["path"]))
    if res.ai_training_prohibited and terms.ai_training != PROHIBITED:
        out.append(Finding("block", "ai-training-upstream-prohibited", f"An upstream licence forbids AI training, but {identifier} does not.", res.ai_training_prohibited[0]))
    return out


def concluded_licence(effective: Result) -> tuple[str, str]:
    """The concluded licence of a version, and why: every licence its data comes under, the own
    and each one reached through the lineage, all binding at once (AND). When a licence in the
    lineage is unknown, nothing can be concluded: NOASSERTION, and the comment says which."""
    unknown = [" > ".join(lic["path"]) for lic in effective.licences if not lic["known"]]
    known = sorted({lic["license"] for lic in effective.licences if lic["known"] and lic["license"]})
    if unknown:
        return "NOASSERTION", ("The licence of " + "; ".join(unknown) + " is unknown, so no licence can be concluded"
                               + (f"; the known ones are {', '.join(known)}." if known else "."))
    if not known:
        return "NOASSERTION", "No licence is declared."
    return " AND ".join(f"({i})" if " " in i.strip() else i for i in known), "Every licence the data comes under, over the whole lineage: " + ", ".join(known) + "."
