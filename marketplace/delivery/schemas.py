"""Schemas of the delivery API."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.kernel.schemas import Int, StrictSchema


class DownloadRequestSchema(StrictSchema):
    paths = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=1024)), load_default=None, allow_none=True,
                           validate=validate.Length(min=1, max=10_000), metadata={"description": "Files to download; omit for the whole version"})


class FileFactsSchema(ma.Schema):
    path = ma.fields.String()
    size = Int()
    sha256 = ma.fields.String()
    records = Int(allow_none=True)


class DownloadFileSchema(FileFactsSchema):
    charged = ma.fields.Boolean(metadata={"description": "False when re-issued within the resume window"})
    url = ma.fields.String()
    expires_in = Int()


class DownloadSchema(ma.Schema):
    grant_id = ma.fields.UUID()
    version_id = ma.fields.UUID()
    version = ma.fields.String()
    manifest_digest = ma.fields.String()
    unit = ma.fields.String(metadata={"description": "The grant's quota unit"})
    charged = Int(metadata={"description": "Units debited by this authorisation (0 when re-issued within the resume window)"})
    files = ma.fields.List(ma.fields.Nested(DownloadFileSchema))


class RecordsQuerySchema(StrictSchema):
    path = ma.fields.String(required=True, validate=validate.Length(min=1, max=1024))
    cursor = ma.fields.String(load_default=None, validate=validate.Length(max=1000))
    limit = Int(load_default=100, validate=validate.Range(min=1, max=10_000))


class GrantFileSchema(FileFactsSchema):
    format = ma.fields.String(metadata={"description": "jsonl, csv, parquet, wav... (records can be streamed from jsonl, csv and parquet)"})
    would_charge = Int(metadata={"description": "What downloading this file now would debit, in the grant's unit (0 within the resume window)"})


class GrantFilesSchema(ma.Schema):
    grant_id = ma.fields.UUID()
    version_id = ma.fields.UUID()
    version = ma.fields.String()
    unit = ma.fields.String(metadata={"description": "The grant's quota unit"})
    balance = Int(metadata={"description": "Quota left"})
    would_charge = Int(metadata={"description": "What downloading every file now would debit"})
    files = ma.fields.List(ma.fields.Nested(GrantFileSchema))
