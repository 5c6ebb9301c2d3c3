"""Request and response shapes of the overlap endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from catalog.overlap.models import OverlapState
from marketplace.kernel.schemas import Flag, Name, StrictSchema, Text


class TextFieldsSchema(StrictSchema):
    # `fields` in the body; another attribute name here, because a schema's own `fields` is marshmallow's.
    text_fields = ma.fields.List(Name(200), required=True, allow_none=True, validate=validate.Length(min=1, max=64), data_key="fields",
                                 metadata={"description": "Top-level keys or columns, or dotted paths into nested JSON (`messages.content`); null: every text-bearing field."})


class AppealSchema(StrictSchema):
    reason = Text(4000, required=True, metadata={"description": "Why you hold the rights to this data (licence, contract, your own earlier publication)."})


class DecisionSchema(StrictSchema):
    allow = Flag(required=True, metadata={"description": "true: the version may publish its current files; false: it stays held."})
    note = Text(4000, required=True)


class OverlapFindingSchema(ma.Schema):
    other_vendor = ma.fields.String(allow_none=True, metadata={"description": "The other dataset's vendor, when the dataset is shown."})
    other_version_id = ma.fields.UUID(allow_none=True, metadata={"description": "Null when the other dataset is not public (platform staff see it)."})
    other_dataset_id = ma.fields.UUID(allow_none=True)
    other_dataset_title = ma.fields.String(allow_none=True)
    other_version = ma.fields.String(allow_none=True)
    other_org_id = ma.fields.UUID(allow_none=True)
    other_published_at = ma.fields.AwareDateTime(allow_none=True)
    same_vendor = ma.fields.Boolean()
    records = ma.fields.Integer(metadata={"description": "This version's records with text."})
    exact = ma.fields.Integer(metadata={"description": "Of those, exact copies (after normalisation) of a record of the other version."})
    near = ma.fields.Integer(metadata={"description": "Not exact, but Jaccard 0.8 or more with one."})
    exact_share = ma.fields.Float()
    near_share = ma.fields.Float()
    share = ma.fields.Float(metadata={"description": "(exact + near) / records: how much of this version is contained in the other."})
    other_records = ma.fields.Integer(allow_none=True, metadata={"description": "Null when the other dataset is not shown."})
    other_matched = ma.fields.Integer(allow_none=True, metadata={"description": "The other version's records that have a copy here (null when not shown)."})
    other_share = ma.fields.Float(allow_none=True)
    files = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(), metadata={"description": "Per file of this version: the share of its records found in the other."})
    found_at = ma.fields.AwareDateTime()


class OverlapReportSchema(ma.Schema):
    version_id = ma.fields.UUID()
    dataset_id = ma.fields.UUID()
    state = ma.fields.String(allow_none=True, validate=validate.OneOf([s.value for s in OverlapState]),
                             metadata={"description": "clear, blocked (held for platform compliance), appealed, overridden; null before the version was first checked."})
    indexed = ma.fields.Boolean()
    text_fields = ma.fields.List(ma.fields.String(), allow_none=True)
    records = ma.fields.Integer()
    duplicate_exact = ma.fields.Integer(metadata={"description": "Records equal to an earlier record of this version."})
    duplicate_near = ma.fields.Integer(metadata={"description": "Records not equal to, but Jaccard 0.8 or more with, an earlier one."})
    duplicate_rate = ma.fields.Float(allow_none=True)
    files = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())
    reason = ma.fields.String(allow_none=True)
    appeal = ma.fields.String(allow_none=True)
    appealed_at = ma.fields.AwareDateTime(allow_none=True)
    decision_note = ma.fields.String(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    computed_at = ma.fields.AwareDateTime(allow_none=True)
    findings = ma.fields.List(ma.fields.Nested(OverlapFindingSchema))


class DatasetOverlapSchema(ma.Schema):
    direction = ma.fields.String(metadata={"description": "found_in_other: a version of this dataset holds records of the counterpart (published earlier); other_holds_this: the counterpart, published later, holds records of this dataset."})
    version_id = ma.fields.UUID()
    version = ma.fields.String()
    counterpart_version_id = ma.fields.UUID(allow_none=True)
    counterpart_version = ma.fields.String(allow_none=True)
    counterpart_dataset_id = ma.fields.UUID(allow_none=True)
    counterpart_dataset_title = ma.fields.String(allow_none=True)
    counterpart_org_id = ma.fields.UUID(allow_none=True)
    same_vendor = ma.fields.Boolean()
    records = ma.fields.Integer()
    exact = ma.fields.Integer()
    near = ma.fields.Integer()
    share = ma.fields.Float()
    other_records = ma.fields.Integer()
    other_matched = ma.fields.Integer()
    found_at = ma.fields.AwareDateTime()


class DatasetOverlapsSchema(ma.Schema):
    dataset_id = ma.fields.UUID()
    overlaps = ma.fields.List(ma.fields.Nested(DatasetOverlapSchema))
