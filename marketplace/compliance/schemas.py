"""Schemas of compliance: which format a report, a bill of materials or a regulatory document is
rendered in, and the models, training runs and inputs a buyer organisation declares. (The
outputs themselves are standard documents, CycloneDX and SPDX, or JSON built by the services.)"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from marketplace.compliance.models import InputKind, Modality
from marketplace.kernel.schemas import Int, Name, StrictSchema


class ReportQuery(StrictSchema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "html"]))


class BomQuery(StrictSchema):
    format = ma.fields.String(load_default="cyclonedx", validate=validate.OneOf(["cyclonedx", "spdx"]))


# --------------------------------------------------------------------------- models and training runs


def _one_line(value: str) -> None:
    """Python's `$` also matches before a final newline ("1\n"); the patterns stay ECMA ones for OpenAPI."""
    if "\n" in value or "\r" in value:
        raise ma.ValidationError("One line, without a line break.")




class ModelCreateSchema(StrictSchema):
    name = Name(200, required=True)
    version = ma.fields.String(required=True, validate=[validate.Regexp(r"^[\w.+:-]{1,64}$", error="Letters, digits and . + : - _, at most 64."), _one_line])
    provider = Name(300, required=True, metadata={"description": "The legal name of the provider placing the model on the market"})
    release_date = ma.fields.Date(load_default=None, allow_none=True)
    description = ma.fields.String(load_default="", validate=validate.Length(max=5000))


class ModelUpdateSchema(StrictSchema):
    provider = Name(300)
    release_date = ma.fields.Date(allow_none=True)
    description = ma.fields.String(validate=validate.Length(max=5000))


class RunCreateSchema(StrictSchema):
    name = Name(200, required=True)
    started_on = ma.fields.Date(load_default=None, allow_none=True)
    ended_on = ma.fields.Date(load_default=None, allow_none=True)

    @ma.validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("started_on") and data.get("ended_on") and data["ended_on"] < data["started_on"]:
            raise ma.ValidationError("The run cannot end before it starts.", field_name="ended_on")


class AttachedFileSchema(StrictSchema):
    path = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024))
    sha256 = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="A lower-case hex SHA-256."))


class InputCreateSchema(StrictSchema):
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in InputKind]))
    grant_id = ma.fields.UUID(load_default=None, allow_none=True, metadata={"description": "kind=grant: the grant the data was delivered under"})
    version_id = ma.fields.UUID(load_default=None, allow_none=True, metadata={"description": "kind=grant: the version delivered (default: the grant's)"})
    files = ma.fields.List(ma.fields.Nested(AttachedFileSchema), load_default=None, allow_none=True, validate=validate.Length(min=1, max=100_000),
                           metadata={"description": "kind=grant: the files used, as verified after download (default: every file)"})
    name = Name(300, load_default=None, allow_none=True, metadata={"description": "The source's name (required for declared sources)"})
    description = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    url = ma.fields.Url(load_default=None, allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=2000))
    modality = ma.fields.String(load_default=None, allow_none=True, validate=validate.OneOf([m.value for m in Modality]))
    size = Int(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=10**18),
               metadata={"description": "Declared size in the modality's unit: tokens (text), images, hours (audio, video). For a grant: "
                                        "the tokens of its text as your tokenizer counted them (ingest counts images and speech hours, never tokens)"})
    languages = ma.fields.List(ma.fields.String(validate=[validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="A language tag such as en, de or zh-Hans."), _one_line]),
                               load_default=list, validate=validate.Length(max=200))
    crawler = Name(200, load_default=None, allow_none=True)
    period_start = ma.fields.Date(load_default=None, allow_none=True)
    period_end = ma.fields.Date(load_default=None, allow_none=True)
    opt_outs_respected = ma.fields.Boolean(load_default=None, allow_none=True)
    generating_models = ma.fields.List(Name(200), load_default=list, validate=validate.Length(max=50))

    @ma.validates_schema
    def _shape(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] == "grant":
            if data.get("grant_id") is None:
                raise ma.ValidationError("Name the grant the data was delivered under.", field_name="grant_id")
            for f in ("modality", "url", "name", "crawler", "opt_outs_respected", "period_start", "period_end"):
                if data.get(f) is not None:
                    raise ma.ValidationError("Known from the grant's version: do not declare it.", field_name=f)
            for f in ("languages", "generating_models"):
                if data.get(f):
                    raise ma.ValidationError("Known from the grant's dataset: do not declare it.", field_name=f)
        else:
            if data.get("grant_id") or data.get("version_id") or data.get("files"):
                raise ma.ValidationError("Only inputs of kind 'grant' name a grant, a version or files.", field_name="kind")
            if not data.get("name"):
                raise ma.ValidationError("Name the source.", field_name="name")
            if data.get("modality") is None:
                raise ma.ValidationError("Say which modality the source is.", field_name="modality")
        if len(set(data.get("languages") or [])) != len(data.get("languages") or []):
            raise ma.ValidationError("Each language once.", field_name="languages")
        if data.get("period_start") and data.get("period_end") and data["period_end"] < data["period_start"]:
            raise ma.ValidationError("The period cannot end before it starts.", field_name="period_end")


class InputSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = ma.fields.String()
    grant_id = ma.fields.UUID(allow_none=True)
    version_id = ma.fields.UUID(allow_none=True)
    files = ma.fields.List(ma.fields.Dict(), allow_none=True)
    name = ma.fields.String()
    description = ma.fields.String()
    url = ma.fields.String(allow_none=True)
    modality = ma.fields.String(allow_none=True)
    size = Int(allow_none=True)
    languages = ma.fields.List(ma.fields.String())
    details = ma.fields.Dict()
    created_at = ma.fields.DateTime()


class RunSchema(ma.Schema):
    id = ma.fields.UUID()
    model_id = ma.fields.UUID()
    name = ma.fields.String()
    started_on = ma.fields.Date(allow_none=True)
    ended_on = ma.fields.Date(allow_none=True)
    created_at = ma.fields.DateTime()
    inputs = ma.fields.List(ma.fields.Nested(InputSchema))


class ModelSchema(ma.Schema):
    id = ma.fields.UUID()
    organization_id = ma.fields.UUID()
    name = ma.fields.String()
    version = ma.fields.String()
    provider = ma.fields.String()
    release_date = ma.fields.Date(allow_none=True)
    description = ma.fields.String()
    created_at = ma.fields.DateTime()


class ModelDetailSchema(ModelSchema):
    runs = ma.fields.List(ma.fields.Nested(RunSchema))


class SummaryQuery(StrictSchema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "html", "docx"]))


class FilingQuery(StrictSchema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "html"]))
    lang = ma.fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))
