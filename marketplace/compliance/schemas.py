"""Request schemas of the compliance outputs: which format a report or a bill of materials is
rendered in. (The outputs themselves are standard documents, CycloneDX and SPDX, or the report's
JSON, built by the services.)"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from marketplace.kernel.schemas import StrictSchema


class ReportQuery(StrictSchema):
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "html"]))


class BomQuery(StrictSchema):
    format = ma.fields.String(load_default="cyclonedx", validate=validate.OneOf(["cyclonedx", "spdx"]))
