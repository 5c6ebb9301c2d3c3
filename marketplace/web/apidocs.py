"""The API reference: Swagger UI (interactive, grouped by tag) at /api/v1/docs, and a plain page
rendered on the server from the same OpenAPI document at /api/v1/docs/reference (no script
needed: for screen readers, printing and text browsers).

Swagger UI's files come from the swagger-ui-bundle package and are served by this app, never a
CDN, so the docs work offline and keep the strict content-security policy (the initialiser is a
file of ours, not an inline script).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, send_from_directory
from markupsafe import Markup
from swagger_ui_bundle import swagger_ui_path

from catalog.cards import render_card

bp = Blueprint("apidocs", __name__)

# The only files of the bundle the page uses (no directory listing, no source maps).
SWAGGER_FILES = {"swagger-ui.css", "swagger-ui-bundle.js"}


@bp.get("/api/v1/docs")
def swagger():
    """Swagger UI over the live OpenAPI document."""
    return render_template("apidocs_swagger.html", spec_url="/api/v1/openapi.json", title=current_app.config["API_TITLE"])


@bp.get("/api/v1/docs/ui/<name>")
def swagger_file(name: str):
    if name not in SWAGGER_FILES:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)


@bp.get("/api/v1/docs/reference")
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
                if "$ref" in r:  # the shared error responses, with what each status means here
                    r = spec.get("components", {}).get("responses", {}).get(r["$ref"].rsplit("/", 1)[-1], {})
                content = r.get("content", {})
                ref = ""
                if content:
                    sch = next(iter(content.values())).get("schema", {})
                    ref = (sch.get("$ref") or sch.get("items", {}).get("$ref", "")).rsplit("/", 1)[-1]
                responses.append((code, r.get("description", ""), ref))
            ops.append({"path": path, "method": method.upper(), "summary": op.get("summary", ""), "tag": (op.get("tags") or [""])[0], "request": req_schema, "responses": responses, "params": op.get("parameters", [])})
    intro = Markup(render_card(spec.get("info", {}).get("description", ""), heading_offset=1))  # sanitised by nh3
    return render_template("apidocs.html", spec=spec, ops=ops, intro=intro, schemas=spec.get("components", {}).get("schemas", {}))
