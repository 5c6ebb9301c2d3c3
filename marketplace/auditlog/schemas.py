"""Schemas of the audit API."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.kernel.schemas import Int, StrictSchema, When


class AuditQuerySchema(StrictSchema):
    org_id = ma.fields.UUID()
    action = ma.fields.String(validate=validate.Length(max=64))
    outcome = ma.fields.String(validate=validate.OneOf(["success", "denied", "failure"]))
    subject_type = ma.fields.String(validate=validate.Length(max=32))
    subject_id = ma.fields.String(validate=validate.Length(max=64))
    since = When()
    until = When()
    cursor = ma.fields.String(validate=validate.Length(max=500))
    limit = Int(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditEventSchema(ma.Schema):
    id = Int()
    occurred_at = ma.fields.String()
    request_id = ma.fields.String()
    action = ma.fields.String()
    outcome = ma.fields.String()
    actor_user_id = ma.fields.String(allow_none=True)
    actor_api_key_id = ma.fields.String(allow_none=True)
    actor_org_id = ma.fields.String(allow_none=True)
    subject_type = ma.fields.String(allow_none=True)
    subject_id = ma.fields.String(allow_none=True)
    subject_org_id = ma.fields.String(allow_none=True)
    ip = ma.fields.String(allow_none=True)
    quantities = ma.fields.Dict(allow_none=True)
    details = ma.fields.Dict(allow_none=True)


class AuditPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEventSchema))
    next_cursor = ma.fields.String(allow_none=True)


class ExportQuerySchema(StrictSchema):
    org_id = ma.fields.UUID()
    format = ma.fields.String(load_default="jsonl", validate=validate.OneOf(["jsonl", "csv"]))


class ProofSchema(ma.Schema):
    event = ma.fields.Dict()
    leaf_hash = ma.fields.String()
    index = Int()
    tree_size = Int()
    path = ma.fields.List(ma.fields.String())
    block = ma.fields.Dict()
    public_key = ma.fields.String()


class KeySchema(ma.Schema):
    public_key = ma.fields.String(metadata={"description": "Ed25519 public key (base64) that signs checkpoints"})
    key_id = ma.fields.String()
    algorithm = ma.fields.String()


class VerifyReportSchema(ma.Schema):
    ok = ma.fields.Boolean()
    blocks = Int()
    events = Int()
    first_bad_event = Int(allow_none=True)
    problems = ma.fields.List(ma.fields.String())
    key_id = ma.fields.String(allow_none=True, metadata={"description": "The key the verification used"})


class CheckpointsSchema(ma.Schema):
    latest = ma.fields.Dict(allow_none=True, metadata={"description": "The newest signed checkpoint in the database"})
    witnessed = ma.fields.Dict(allow_none=True, metadata={"description": "The newest checkpoint written outside the database (the object store)"})


class ConsistencyQuerySchema(StrictSchema):
    first = Int(required=True, validate=validate.Range(min=1, max=2**62), metadata={"description": "The checkpoint (block id) you kept"})
    second = Int(validate=validate.Range(min=1, max=2**62), metadata={"description": "A later checkpoint (default: the newest)"})


class ConsistencySchema(ma.Schema):
    first = ma.fields.Dict()
    second = ma.fields.Dict()
    proof = ma.fields.List(ma.fields.String(), metadata={"description": "RFC 6962 consistency proof nodes (hex)"})
