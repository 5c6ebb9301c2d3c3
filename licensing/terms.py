"""Machine-readable licence terms, their consistency rules, and the use-class order.

A licence's terms say what it allows; the compatibility engine combines them along a lineage.
Use classes, most restrictive first: academic-only > non-commercial > unspecified > commercial.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

ALLOWED, PROHIBITED, UNSPECIFIED = "allowed", "prohibited", "unspecified"
PERMISSION = (ALLOWED, PROHIBITED, UNSPECIFIED)
USE_CLASSES = ("academic-only", "non-commercial", "unspecified", "commercial")  # most restrictive first
RESTRICTIVENESS = {c: i for i, c in enumerate(reversed(USE_CLASSES))}  # commercial 0 ... academic-only 3
MDL_RIGHTS = ("training", "research", "internal_use", "publish_trained_model", "commercialise_outputs", "commercialise_model")


def most_restrictive(*classes: str) -> str:
    return max(classes, key=lambda c: RESTRICTIVENESS[c]) if classes else "commercial"


# Longer than any licence runs, and far inside what dates can hold.
MAX_TERM_MONTHS = 1200


@dataclass(frozen=True)
class Terms:
    """What a licence allows. `unspecified` means the licence is silent, which is not a yes."""

    commercial_use: str = UNSPECIFIED
    ai_training: str = UNSPECIFIED
    derivatives: str = UNSPECIFIED
    redistribution: str = UNSPECIFIED
    share_alike: bool = False
    attribution: bool = False
    academic_only: bool = False  # research / educational use only
    territory: tuple[str, ...] = ("worldwide",)
    term_months: int | None = None  # None: perpetual
    field_of_use: tuple[str, ...] = ()  # allowed fields; empty: any
    field_of_use_exclusions: tuple[str, ...] = ()
    # Terms that bind models trained on the data or outputs generated with it.
    no_competing_models: bool = False
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


UNKNOWN_TERMS = Terms(unknown=True)


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
