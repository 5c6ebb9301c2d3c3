"""Marshmallow schemas of the licensing API: licences, terms, provenance declarations."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate, validates_schema

from licensing.terms import MAX_TERM_MONTHS, MDL_RIGHTS, PERMISSION
from marketplace.kernel.schemas import Flag, Int, StrictSchema, Text

_perm: dict[str, Any] = dict(validate=validate.OneOf(PERMISSION))


class TermsSchema(StrictSchema):
    commercial_use = ma.fields.String(load_default="unspecified", **_perm)
    ai_training = ma.fields.String(load_default="unspecified", **_perm)
    derivatives = ma.fields.String(load_default="unspecified", **_perm)
    redistribution = ma.fields.String(load_default="unspecified", **_perm)
    share_alike = Flag(load_default=False)
    attribution = Flag(load_default=False)
    academic_only = Flag(load_default=False)
    territory = ma.fields.List(ma.fields.String(validate=validate.Regexp(r"^(worldwide|[A-Z]{2}|EU|EEA)$", error="ISO 3166 alpha-2, EU, EEA or worldwide.")),
                               load_default=lambda: ["worldwide"], validate=validate.Length(min=1, max=250))
    term_months = Int(load_default=None, allow_none=True, strict=True, metadata={"minimum": 1, "maximum": MAX_TERM_MONTHS, "description": "Months from the grant's start; null: perpetual (checked with the other terms)"})
    field_of_use = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=100)), load_default=list, validate=validate.Length(max=50))
    field_of_use_exclusions = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=100)), load_default=list, validate=validate.Length(max=50))
    no_competing_models = Flag(load_default=False, metadata={"description": "No use to develop models that compete with the licensor"})
    no_improving_other_models = Flag(load_default=False, metadata={"description": "No use to improve any model other than the licensor's"})
    model_attribution = Text(200, load_default=None, allow_none=True, metadata={"description": "A notice models built with it must display, e.g. 'Built with Llama'"})
    model_name_prefix = Text(60, load_default=None, allow_none=True, metadata={"description": "Models trained on it must be named starting with this"})
    user_limit_mau = Int(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=10**12),
                         metadata={"description": "Above this many monthly active users the licensor's own licence is needed"})
    outputs_commercial = ma.fields.String(load_default="unspecified", **_perm)
    mdl_data_rights = ma.fields.Dict(keys=ma.fields.String(validate=validate.OneOf(MDL_RIGHTS)), values=ma.fields.String(**_perm), load_default=None, allow_none=True)
    mdl_model_rights = ma.fields.Dict(keys=ma.fields.String(validate=validate.OneOf(MDL_RIGHTS)), values=ma.fields.String(**_perm), load_default=None, allow_none=True)


class LicenseSchema(ma.Schema):
    id = ma.fields.UUID()
    identifier = ma.fields.String()
    version = Int()
    name = ma.fields.String()
    url = ma.fields.String(allow_none=True)
    text = ma.fields.String()
    text_sha256 = ma.fields.String(metadata={"description": "SHA-256 of the text; buyers accept a licence by this digest"})
    terms = ma.fields.Dict()
    use_class = ma.fields.String()
    provider = ma.fields.String(allow_none=True, metadata={"description": "Model provider whose terms these are"})
    effective_on = ma.fields.Date(allow_none=True, metadata={"description": "When the pinned text took effect"})
    owner_org_id = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()


class LicenseSummarySchema(ma.Schema):
    identifier = ma.fields.String()
    version = Int()
    name = ma.fields.String()
    url = ma.fields.String(allow_none=True)
    use_class = ma.fields.String()
    text_sha256 = ma.fields.String()
    provider = ma.fields.String(allow_none=True, metadata={"description": "Model provider whose terms these are"})
    effective_on = ma.fields.Date(allow_none=True, metadata={"description": "When the pinned text took effect"})
    owner_org_id = ma.fields.UUID(allow_none=True)


class LicenseQuerySchema(StrictSchema):
    kind = ma.fields.String(validate=validate.OneOf(["standard", "custom"]))
    use_class = ma.fields.String(validate=validate.OneOf(["academic-only", "non-commercial", "unspecified", "commercial"]))


class LicenseVersionQuerySchema(StrictSchema):
    version = Int(validate=validate.Range(min=1))


class CustomLicenseSchema(StrictSchema):
    organization_id = ma.fields.UUID(load_default=None, allow_none=True)
    slug = ma.fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$", error="Lower-case letters, digits and hyphens, at most 48."))
    name = Text(300, required=True)
    url = ma.fields.Url(load_default=None, allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=1000))
    text = ma.fields.String(required=True, validate=validate.Length(min=20, max=500_000))
    terms = ma.fields.Nested(TermsSchema, required=True)


class LicenseVersionCreateSchema(StrictSchema):
    name = Text(300, load_default=None, allow_none=True)
    text = ma.fields.String(required=True, validate=validate.Length(min=20, max=500_000))
    terms = ma.fields.Nested(TermsSchema, required=True)


class NormaliseSchema(StrictSchema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class MatchSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "licence | unknown-licence | restriction | url | expression | vocabulary | notice | unexplained (words beside a licence nothing explains: the verdict is unknown)"})
    text = ma.fields.String(metadata={"description": "The words matched, as written"})
    start = Int(metadata={"description": "Character offset of the match in the text given"})
    end = Int()
    means = ma.fields.String(metadata={"description": "The identifier, restriction or class the match stands for"})


class NormalisedSchema(ma.Schema):
    identifier = ma.fields.String(allow_none=True, metadata={"description": "A registry identifier or SPDX expression; null when no single licence applies"})
    label = ma.fields.String()
    restrictions = ma.fields.List(ma.fields.String(), metadata={"description": "Restrictive statements that tighten the licence named beside them"})
    matches = ma.fields.List(ma.fields.Nested(MatchSchema))
    truncated = ma.fields.Boolean()
    terms = ma.fields.Dict(metadata={"description": "The terms the text amounts to (every match binding at once)"})
    use_class = ma.fields.String()
    attribution = ma.fields.Boolean(allow_none=True)
    share_alike = ma.fields.Boolean(allow_none=True)
    confidence = ma.fields.Float()
    method = ma.fields.String()
    matched = ma.fields.String()
    # The metaclass moves declared fields off the class, so this field does not shadow Schema.unknown
    # (the `unknown` option); the stubs cannot express that.
    unknown = ma.fields.Boolean()  # type: ignore[assignment]


class VersionLicenseSetSchema(StrictSchema):
    identifier = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))
    version = Int(load_default=None, allow_none=True, validate=validate.Range(min=1))


SOURCE_KINDS = ("first_hand", "licensed", "web_crawl", "registry", "external", "model")
OPT_OUTS = ("robots-ai", "tdmrep", "ai-txt")
LAWFUL_BASES = ("consent", "contract", "legitimate_interest", "public_task", "legal_obligation", "vital_interest", "not_applicable")


class SourceSchema(StrictSchema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(SOURCE_KINDS))
    name = Text(300, required=True)
    description = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    relation = ma.fields.String(load_default="derived", validate=validate.OneOf(["derived", "licensed"]))
    license = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000),
                               metadata={"description": "Licence identifier, name or URL (normalised by the registry)"})
    contract_reference = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    version_id = ma.fields.UUID(load_default=None, allow_none=True, metadata={"description": "Registry dataset version (kind=registry)"})
    url = ma.fields.Url(load_default=None, allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=2000),
                        metadata={"description": "Recorded, never fetched by the server"})
    crawl_start = ma.fields.Date(load_default=None, allow_none=True)
    crawl_end = ma.fields.Date(load_default=None, allow_none=True)
    domains = ma.fields.List(ma.fields.String(validate=validate.Length(max=253)), load_default=list, validate=validate.Length(max=1000))
    opt_outs_observed = ma.fields.List(ma.fields.String(validate=validate.OneOf(OPT_OUTS)), load_default=list)
    opt_outs_respected = ma.fields.Boolean(load_default=None, allow_none=True)
    model_name = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    model_provider = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _by_kind(self, data: dict[str, Any], **kw: Any) -> None:
        kind = data["kind"]
        errors: dict[str, list[str]] = {}
        if kind == "licensed" and not data.get("contract_reference"):
            errors["contract_reference"] = ["A third-party licence needs its contract reference."]
        if kind in ("licensed", "external", "model") and not data.get("license"):
            errors["license"] = ["Say under which licence or terms this source comes."]
        if kind == "registry" and not data.get("version_id"):
            errors["version_id"] = ["Name the registry dataset version this is derived from."]
        if kind == "external" and not data.get("url"):
            errors["url"] = ["Give the external dataset's URL."]
        if kind == "web_crawl":
            if not data.get("crawl_start") or not data.get("crawl_end"):
                errors["crawl_start"] = ["A crawl needs its period (crawl_start and crawl_end)."]
            elif data["crawl_end"] < data["crawl_start"]:
                errors["crawl_end"] = ["The crawl ends before it starts."]
            if data.get("opt_outs_respected") is None:
                errors["opt_outs_respected"] = ["Say whether the crawl honoured the opt-out signals."]
        if kind == "model" and not (data.get("model_name") and data.get("model_provider")):
            errors["model_name"] = ["A generating model needs its name and provider."]
        if errors:
            raise ma.ValidationError(errors)


class CollectionSchema(StrictSchema):
    period_start = ma.fields.Date(load_default=None, allow_none=True)
    period_end = ma.fields.Date(load_default=None, allow_none=True)
    geography = ma.fields.List(ma.fields.String(validate=validate.Regexp(r"^([A-Z]{2}|worldwide)$")), load_default=list)
    lawful_basis = ma.fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LAWFUL_BASES))

    @validates_schema
    def _period(self, data: dict[str, Any], **kw: Any) -> None:
        if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
            raise ma.ValidationError({"period_end": ["The collection ends before it starts."]})


class PersonalDataSchema(StrictSchema):
    status = ma.fields.String(required=True, validate=validate.OneOf(["none", "pseudonymised", "anonymised", "contains"]))
    anonymisation_method = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    sensitive_categories = ma.fields.List(ma.fields.String(validate=validate.OneOf(
        ["health", "biometric", "genetic", "ethnicity", "religion", "political", "sexual-orientation", "trade-union", "criminal", "children"])), load_default=list)

    @validates_schema
    def _method(self, data: dict[str, Any], **kw: Any) -> None:
        if data["status"] == "anonymised" and not data.get("anonymisation_method"):
            raise ma.ValidationError({"anonymisation_method": ["Say how the data was anonymised."]})
        if data["status"] == "none" and data.get("sensitive_categories"):
            raise ma.ValidationError({"sensitive_categories": ["Sensitive categories are personal data; status cannot be 'none'."]})


class AnnotationSchema(StrictSchema):
    workforce = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    guidelines_url = ma.fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    qa_method = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    qa_pass_rate = ma.fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1))
    inter_annotator_agreement = ma.fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-1, max=1))
    agreement_metric = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))


class ProvenanceBodySchema(StrictSchema):
    sources = ma.fields.List(ma.fields.Nested(SourceSchema), required=True, validate=validate.Length(min=1, max=200))
    collection = ma.fields.Nested(CollectionSchema, load_default=dict)
    personal_data = ma.fields.Nested(PersonalDataSchema, required=True)
    annotation = ma.fields.Nested(AnnotationSchema, load_default=dict)
    limitations = ma.fields.String(load_default="", validate=validate.Length(max=20_000))
    biases = ma.fields.String(load_default="", validate=validate.Length(max=20_000))


class ProvenanceDeclareSchema(ProvenanceBodySchema):
    attest = Flag(required=True, metadata={"description": "Must be true: the vendor attests the declaration is accurate"})


class ProvenanceSchema(ma.Schema):
    id = ma.fields.UUID()
    version_id = ma.fields.UUID()
    revision = Int()
    body = ma.fields.Dict()
    digest = ma.fields.String()
    attested_by = ma.fields.UUID()
    attested_name = ma.fields.String()
    attested_at = ma.fields.DateTime()
    superseded_at = ma.fields.DateTime(allow_none=True)


class ProvenanceQuerySchema(StrictSchema):
    history = ma.fields.Boolean(load_default=False)


class FindingSchema(ma.Schema):
    severity = ma.fields.String()
    code = ma.fields.String()
    message = ma.fields.String()
    path = ma.fields.List(ma.fields.String())


class CompatibilitySchema(ma.Schema):
    version_id = ma.fields.UUID()
    license = ma.fields.String(allow_none=True)
    use_class = ma.fields.String()
    allowed_offer_kinds = ma.fields.List(ma.fields.String())
    required_license = ma.fields.String(allow_none=True)
    attribution = ma.fields.List(ma.fields.Dict())
    share_alike = ma.fields.List(ma.fields.Dict())
    attribution_duty = ma.fields.String(metadata={"description": "required | none | unknown, treat as required"})
    share_alike_duty = ma.fields.String(metadata={"description": "required | none | unknown, treat as required"})
    field_of_use_exclusions = ma.fields.List(ma.fields.String())
    model_terms = ma.fields.List(ma.fields.Dict(), metadata={"description": "Model-output terms (no competing models, naming duties...) with their paths"})
    effective_terms = ma.fields.Dict(metadata={"description": "What a buyer may do over the own licence and the whole lineage"})
    model_terms_sha256 = ma.fields.String(allow_none=True, metadata={"description": "Send as accept_model_terms when ordering: the buyer accepts these terms explicitly"})
    findings = ma.fields.List(ma.fields.Nested(FindingSchema))
    license_findings = ma.fields.List(ma.fields.Nested(FindingSchema), metadata={"description": "What forbids offering under `license`"})
    blocked = ma.fields.Boolean()
    lineage = ma.fields.Dict(metadata={"description": "Nodes and edges of the upstream graph"})


class CompatibilityQuerySchema(StrictSchema):
    license = ma.fields.String(validate=validate.Length(min=1, max=128), metadata={"description": "Check an offer under this licence (default: the version's own)"})
