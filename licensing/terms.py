"""Machine-readable licence terms, their consistency rules, and the use-class order.

A licence's terms say what it allows; the compatibility engine combines them along a lineage.
Use classes, most restrictive first: academic-only > non-commercial > unspecified > commercial.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

ALLOWED, PROHIBITED, UNSPECIFIED = "allowed", "prohibited", "unspecified"
PERMISSION = (ALLOWED, PROHIBITED, UNSPECIFIED)
USE_CLASSES = ("academic-only", "non-commercial", "unspecified", "commercial")  # most restrictive first
RESTRICTIVENESS = {c: i for i, c in enumerate(reversed(USE_CLASSES))}  # commercial 0 ... academic-only 3
MDL_RIGHTS = ("training", "research", "internal_use", "publish_trained_model", "commercialise_outputs", "commercialise_model")


def most_restrictive(*classes: str) -> str:
    return max(classes, key=lambda c: RESTRICTIVENESS[c]) if classes else "commercial"


# A permission, most restrictive last: silence is not a yes, and a no beats silence.
PERMISSION_ORDER = {ALLOWED: 0, UNSPECIFIED: 1, PROHIBITED: 2}


def duty(*values: bool | None) -> bool | None:
    """A duty (attribution, share-alike) over several licences: required if any requires it,
    unknown if none requires it but one is unknown (shown as "unknown, treat as required")."""
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def duty_label(value: bool | None) -> str:
    return {True: "required", False: "none", None: "unknown, treat as required"}[value]


# Longer than any licence runs, and far inside what dates can hold.
MAX_TERM_MONTHS = 1200


@dataclass(frozen=True)
class Terms:
    """What a licence allows. `unspecified` means the licence is silent, which is not a yes."""

    commercial_use: str = UNSPECIFIED
    ai_training: str = UNSPECIFIED
    derivatives: str = UNSPECIFIED
    redistribution: str = UNSPECIFIED
    # None: the licence is not known well enough to say; treat the duty as required.
    share_alike: bool | None = False
    attribution: bool | None = False
    academic_only: bool = False  # research / educational use only
    territory: tuple[str, ...] = ("worldwide",)
    term_months: int | None = None  # None: perpetual
    field_of_use: tuple[str, ...] = ()  # allowed fields; empty: any
    field_of_use_exclusions: tuple[str, ...] = ()
    # Terms that bind models trained on the data or outputs generated with it.
    no_competing_models: bool = False  # "no use of outputs to develop models that compete with the provider"
    no_improving_other_models: bool = False  # "no use of outputs to improve any other (large language) model"
    model_attribution: str | None = None  # a notice a model built with it must display, e.g. "Built with Llama"
    model_name_prefix: str | None = None  # a model trained on it must be named starting with this, e.g. "Llama"
    user_limit_mau: int | None = None  # above this many monthly active users the provider's own licence is needed
    outputs_commercial: str = UNSPECIFIED
    # Montreal Data License: rights over the data and over models trained on it, kept apart.
    mdl_data_rights: dict[str, str] | None = None
    mdl_model_rights: dict[str, str] | None = None
    unknown: bool = False  # the normaliser could not tell what the licence is

    @property
    def use_class(self) -> str:
        if self.unknown or self.academic_only:
            return "academic-only"
        if self.commercial_use == PROHIBITED:
            return "non-commercial"
        if self.commercial_use == ALLOWED:
            return "commercial"
        return "unspecified"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["territory"] = list(self.territory)
        d["field_of_use"] = list(self.field_of_use)
        d["field_of_use_exclusions"] = list(self.field_of_use_exclusions)
        d["use_class"] = self.use_class
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Terms":
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        for k in ("territory", "field_of_use", "field_of_use_exclusions"):
            if k in values and values[k] is not None:
                values[k] = tuple(values[k])
        return cls(**values)


UNKNOWN_TERMS = Terms(unknown=True, attribution=None, share_alike=None)

PERMISSION_FIELDS = ("commercial_use", "ai_training", "derivatives", "redistribution", "outputs_commercial")


def conjoin(*terms: Terms) -> Terms:
    """Terms that must all be honoured at once (an SPDX AND, several licences named in one text,
    a licence plus a restrictive statement): each permission takes its most restrictive value,
    duties and exclusions accumulate, and anything unknown stays unknown."""
    if not terms:
        return Terms()
    if len(terms) == 1:
        return terms[0]
    first = terms[0]
    perms = {f: max((getattr(t, f) for t in terms), key=lambda v: PERMISSION_ORDER[v]) for f in PERMISSION_FIELDS}
    territories = [t.territory for t in terms if tuple(t.territory) != ("worldwide",)]
    territory: tuple[str, ...] = ("worldwide",)
    if territories:
        common = set(territories[0]).intersection(*territories[1:])
        territory = tuple(sorted(common)) or territories[0]
    months = [t.term_months for t in terms if t.term_months is not None]
    fields_of_use = [set(t.field_of_use) for t in terms if t.field_of_use]
    texts = [t.model_attribution for t in terms if t.model_attribution]
    prefixes = [t.model_name_prefix for t in terms if t.model_name_prefix]
    limits = [t.user_limit_mau for t in terms if t.user_limit_mau is not None]
    return replace(
        first, **perms,
        attribution=duty(*(t.attribution for t in terms)),
        share_alike=duty(*(t.share_alike for t in terms)),
        academic_only=any(t.academic_only for t in terms),
        territory=territory,
        term_months=min(months) if months else None,
        field_of_use=tuple(sorted(set.intersection(*fields_of_use))) if fields_of_use else (),
        field_of_use_exclusions=tuple(sorted({x for t in terms for x in t.field_of_use_exclusions})),
        no_competing_models=any(t.no_competing_models for t in terms),
        no_improving_other_models=any(t.no_improving_other_models for t in terms),
        model_attribution="; ".join(dict.fromkeys(texts)) or None,
        model_name_prefix=prefixes[0] if prefixes else None,
        user_limit_mau=min(limits) if limits else None,
        mdl_data_rights=next((t.mdl_data_rights for t in terms if t.mdl_data_rights), None),
        mdl_model_rights=next((t.mdl_model_rights for t in terms if t.mdl_model_rights), None),
        unknown=any(t.unknown for t in terms),
    )


def looser(a: Terms, b: Terms) -> bool:
    """True when `a` allows something `b` does not (used to check that adding words to a licence
    text never loosens its verdict)."""
    if RESTRICTIVENESS[a.use_class] < RESTRICTIVENESS[b.use_class]:
        return True
    if any(PERMISSION_ORDER[getattr(a, f)] < PERMISSION_ORDER[getattr(b, f)] for f in PERMISSION_FIELDS):
        return True
    for name in ("no_competing_models", "no_improving_other_models", "academic_only"):
        if getattr(b, name) and not getattr(a, name):
            return True
    rank = {False: 0, None: 1, True: 1}  # unknown duties are treated as required
    return rank[a.attribution] < rank[b.attribution] or rank[a.share_alike] < rank[b.share_alike]


def contradictions(t: Terms) -> dict[str, list[str]]:
    """Terms that cannot all be true at once, by field."""
    errors: dict[str, list[str]] = {}

    def add(name: str, msg: str) -> None:
        errors.setdefault(name, []).append(msg)

    for name in ("commercial_use", "ai_training", "derivatives", "redistribution", "outputs_commercial"):
        if getattr(t, name) not in PERMISSION:
            add(name, f"One of {', '.join(PERMISSION)}.")
    if errors:
        return errors
    if t.share_alike and t.derivatives == PROHIBITED:
        add("share_alike", "Share-alike governs derivatives, but derivatives are prohibited.")
    if t.share_alike and t.redistribution == PROHIBITED:
        add("share_alike", "Share-alike requires redistribution under the same terms, but redistribution is prohibited.")
    if t.academic_only and t.commercial_use == ALLOWED:
        add("academic_only", "Academic-only use contradicts allowed commercial use.")
    if t.term_months is not None and not 0 < t.term_months <= MAX_TERM_MONTHS:
        add("term_months", f"A term is 1 to {MAX_TERM_MONTHS} months (100 years), or null for perpetual.")
    if not t.territory:
        add("territory", "Give at least one territory, or 'worldwide'.")
    overlap = set(t.field_of_use) & set(t.field_of_use_exclusions)
    if overlap:
        add("field_of_use_exclusions", f"Fields both allowed and excluded: {', '.join(sorted(overlap))}.")
    for label, rights in (("mdl_data_rights", t.mdl_data_rights), ("mdl_model_rights", t.mdl_model_rights)):
        if rights is None:
            continue
        unknown = set(rights) - set(MDL_RIGHTS)
        if unknown:
            add(label, f"Unknown rights: {', '.join(sorted(unknown))}.")
        if any(v not in PERMISSION for v in rights.values()):
            add(label, f"Each right is one of {', '.join(PERMISSION)}.")
    if t.mdl_data_rights:
        if t.mdl_data_rights.get("training") == ALLOWED and t.ai_training == PROHIBITED:
            add("ai_training", "AI training is prohibited, but the MDL data rights allow training.")
    if t.mdl_model_rights and t.mdl_model_rights.get("commercialise_model") == ALLOWED and t.ai_training == PROHIBITED:
        add("mdl_model_rights", "A model may be commercialised, but training on the data is prohibited.")
    return errors
