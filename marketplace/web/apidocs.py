"""A self-contained API reference page rendered from the live OpenAPI document.

Swagger UI and ReDoc load their code from CDNs; this page needs nothing but this server, so it
works offline and behind strict content-security policies.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("apidocs", __name__)


@bp.get("/api/v1/docs")
def docs():
    spec: dict[str, Any] = current_app.extensions["api"].spec.to_dict()
    ops = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            first: dict[str, Any] = next(iter(body.values()), {})
            req_schema = first.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1] if body else ""
            responses = []
            for code, r in sorted(op.get("responses", {}).items()):
                content = r.get("content", {})
                ref = ""
                if content:
                    sch = next(iter(content.values())).get("schema", {})
                    ref = (sch.get("$ref") or sch.get("items", {}).get("$ref", "")).rsplit("/", 1)[-1]
                responses.append((code, r.get("description", ""), ref))
            ops.append({"path": path, "method": method.upper(), "summary": op.get("summary", ""), "tag": (op.get("tags") or [""])[0], "request": req_schema, "responses": responses, "params": op.get("parameters", [])})
    return render_template("apidocs.html", spec=spec, ops=ops, schemas=spec.get("components", {}).get("schemas", {}))
