"""The API reference's introduction (the OpenAPI document's `info.description`, Markdown): how to
authenticate and the main journeys, with requests to copy. Swagger UI shows it above the
operations; the plain reference page shows it too."""

INTRO = """\
Find, license and pull vertical-domain AI training data. Every error is an RFC 9457
`application/problem+json` document: `title`, `detail`, and for invalid fields `errors`
(field name → messages).

## Authentication quick start

1. Sign in on the web UI, open **Your data → API keys**, and create a key (or
   `POST /api/v1/orgs/{org_id}/api-keys` from a signed-in session). The secret is shown once.
2. Send it on every call: `Authorization: Bearer mk_xxxxxxxxxxxx.secret`. Here, use
   **Authorize** above and paste it.
3. Check it: `GET /api/v1/me` names you, your organisations and the key's scopes
   (`catalog:read`, `catalog:write`, `commerce:read`, `commerce:write`, `delivery`, `audit:read`,
   `org:admin`).

Public listings (`GET /datasets`, `/domains`, `/licenses`) need no key. Another organisation's
resources answer 404, as if they did not exist.

## Journeys

**Buy and pull data**

```
curl -s "$MP/api/v1/datasets?q=radiology&domain=healthcare"            # find
curl -s "$MP/api/v1/datasets/$DATASET/offers"                           # offers, with the licence digest
curl -s -X POST "$MP/api/v1/orders" -H "Authorization: Bearer $KEY" -H "Idempotency-Key: $(uuidgen)" \\
     -H "Content-Type: application/json" \\
     -d '{"offer_id": "…", "quantity": 10, "currency": "EUR", "license_sha256": "…", "payment_method": "invoice"}'
curl -s "$MP/api/v1/grants/$GRANT/files" -H "Authorization: Bearer $KEY"   # what a download would charge
curl -s -X POST "$MP/api/v1/grants/$GRANT/downloads" -H "Authorization: Bearer $KEY" \\
     -H "Content-Type: application/json" -d '{}'                         # presigned URLs, SHA-256 each
curl -s "$MP/api/v1/grants/$GRANT/records?path=train.jsonl&limit=1000" -H "Authorization: Bearer $KEY"
```

**List and sell data**

```
POST /api/v1/datasets                         {"slug", "title", "domain", "visibility"}
POST /api/v1/datasets/{id}/versions           {"version": "1.0.0"}
POST /api/v1/versions/{id}/files              {"path", "size", "sha256"}  then PUT …/content or multipart
PUT  /api/v1/versions/{id}/license            {"identifier": "CC-BY-4.0"}
PUT  /api/v1/versions/{id}/provenance         {"sources": [...], "personal_data": {...}, "attest": true}
POST /api/v1/versions/{id}/publish            ingest verifies every file, then it is published
POST /api/v1/datasets/{id}/offers             {"title", "license", "pricing_unit", "unit_price_minor", "currency"}
```

**Prove where data came from**: `GET /api/v1/versions/{id}/compatibility` (what the licences
allow over the whole lineage), `GET /api/v1/orgs/{id}/bom` (a CycloneDX bill of materials),
`GET /api/v1/audit/export` (a signed, hash-linked audit log to verify offline).

The `marketplace` command does all of this from a terminal (`pip install dataset-marketplace-client`).
"""
