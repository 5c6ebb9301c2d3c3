# mypy: disable-error-code="no-any-return"
# (The JSON the API answers is Any at this boundary; each method states what the schema promises.)
"""A typed Python client for the marketplace HTTP API.

It authenticates with an API key, retries with exponential backoff on 429, 5xx and connection
failures (only where a retry cannot repeat an effect: safe methods, and POSTs that carry an
Idempotency-Key), and raises problem+json errors as :class:`ApiError`.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, TypedDict, Unpack

import requests

from marketplace.sdk.types import (
    AccessGate,
    AccessRequest,
    Dataset,
    DatasetCreate,
    DatasetOverlaps,
    Domain,
    Download,
    File,
    FileCreated,
    Grant,
    GrantDetail,
    GrantFiles,
    License,
    LicenseSummary,
    Manifest,
    Me,
    Multipart,
    Offer,
    OfferCreate,
    Order,
    OverlapReport,
    Provenance,
    SearchItem,
    SearchResult,
    ShareToken,
    ShareTokenWithProfile,
    Version,
)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class RecordPage(TypedDict):
    """One page of `read_records`: the records as JSON lines, the next page's cursor (None at
    the end) and how many records this page charged (0 when read before)."""

    lines: list[str]
    next_cursor: str | None
    charged: int


@dataclass
class ApiError(Exception):
    """An RFC 9457 problem returned by the API."""

    status: int
    title: str
    detail: str = ""
    type: str = ""
    errors: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        fields = "; ".join(f"{where}: {msg}" for where, msg in _flat(self.errors or {}))
        return f"{self.status} {self.title}: {self.detail}" + (f" ({fields})" if fields else "")


def _flat(errors: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """A problem's field errors, nested or not, as (dotted.field, message) pairs: never a dict
    printed as Python writes it."""
    if isinstance(errors, dict):
        for k, v in errors.items():
            yield from _flat(v, f"{where}.{k}" if where else str(k))
    elif isinstance(errors, list) and all(isinstance(x, str) for x in errors):
        yield where or "request", " ".join(errors)
    elif isinstance(errors, list):
        for i, v in enumerate(errors):
            yield from _flat(v, f"{where}[{i}]")
    else:
        yield where or "request", str(errors)


class ConnectionFailed(Exception):
    """The server could not be reached (after retries)."""


class MarketplaceClient:
    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 60.0, retries: int = 4, backoff: float = 0.5):
        # The marketplace's address; the API's own path, pasted from the docs, is forgiven.
        self.base_url = base_url.rstrip("/").removesuffix("/api/v1")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "marketplace-client/1"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    # ------------------------------------------------------------------ transport
    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None, data: Any = None,
                headers: dict[str, str] | None = None, idempotent: bool | None = None, raw: bool = False) -> Any:
        url = path if path.startswith("http") else f"{self.base_url}/api/v1{path}"
        headers = dict(headers or {})
        if method == "POST" and idempotent and "Idempotency-Key" not in headers:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        may_retry = method in ("GET", "HEAD", "PUT", "DELETE") or bool(idempotent)
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self.session.request(method, url, json=json, params=params, data=data, headers=headers, timeout=self.timeout)
            except requests.RequestException as e:
                if may_retry and attempt <= self.retries:
                    self._sleep(attempt, None)
                    continue
                raise ConnectionFailed(f"{method} {url}: {type(e).__name__}") from None
            if resp.status_code in RETRY_STATUSES and may_retry and attempt <= self.retries:
                self._sleep(attempt, resp.headers.get("Retry-After"))
                continue
            if resp.status_code >= 400:
                raise self._error(resp)
            if raw:
                return resp
            if resp.status_code == 204 or not resp.content:
                return None
            if resp.headers.get("Content-Type", "").startswith("application/json"):
                return resp.json()
            return resp.text

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        # Exponential backoff with jitter; a server's Retry-After lengthens it (never shortens it:
        # "0" from a proxy must not turn retries into a burst), up to 30 s.
        delay = min(self.backoff * 2 ** (attempt - 1), 10.0) * (0.5 + random.random() / 2)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        time.sleep(delay)

    @staticmethod
    def _error(resp: requests.Response) -> ApiError:
        try:
            body = resp.json()
        except ValueError:
            body = {"title": resp.reason, "detail": resp.text[:200]}
        return ApiError(status=resp.status_code, title=body.get("title", resp.reason or "Error"), detail=body.get("detail", ""),
                        type=body.get("type", ""), errors=body.get("errors") or {}, body=body)

    # ------------------------------------------------------------------ identity
    def me(self) -> Me:
        return self.request("GET", "/me")

    # ------------------------------------------------------------------ catalogue
    def search(self, **params: Any) -> SearchResult:
        return self.request("GET", "/datasets", params={k: v for k, v in params.items() if v is not None})

    def search_all(self, **params: Any) -> Iterator[SearchItem]:
        cursor = None
        while True:
            page = self.search(**params, cursor=cursor)
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def dataset(self, dataset_id: str) -> Dataset:
        return self.request("GET", f"/datasets/{dataset_id}")

    def create_dataset(self, **body: Unpack[DatasetCreate]) -> Dataset:
        return self.request("POST", "/datasets", json=body)

    def versions(self, dataset_id: str) -> list[Version]:
        return self.request("GET", f"/datasets/{dataset_id}/versions")

    def create_version(self, dataset_id: str, version: str, changelog: str = "") -> Version:
        return self.request("POST", f"/datasets/{dataset_id}/versions", json={"version": version, "changelog": changelog})

    def version(self, version_id: str) -> Version:
        return self.request("GET", f"/versions/{version_id}")

    def files(self, version_id: str) -> list[File]:
        return self.request("GET", f"/versions/{version_id}/files")

    def declare_file(self, version_id: str, path: str, size: int, sha256: str) -> FileCreated:
        return self.request("POST", f"/versions/{version_id}/files", json={"path": path, "size": size, "sha256": sha256})

    def put_content(self, file_id: str, data: bytes) -> File:
        return self.request("PUT", f"/files/{file_id}/content", data=data, headers={"Content-Type": "application/octet-stream"})

    def start_multipart(self, file_id: str, part_size: int | None = None, part_checksums: list[str] | None = None) -> Multipart:
        body: dict[str, Any] = {"part_size": part_size}
        if part_checksums is not None:
            body["part_checksums"] = part_checksums
        return self.request("POST", f"/files/{file_id}/multipart", json=body, idempotent=True)

    def part_urls(self, file_id: str, first: int, count: int = 1000) -> Multipart:
        return self.request("GET", f"/files/{file_id}/multipart", params={"first": first, "count": count})

    def complete_multipart(self, file_id: str, parts: list[dict[str, Any]]) -> File:
        return self.request("POST", f"/files/{file_id}/multipart/complete", json={"parts": parts}, idempotent=True)

    def publish(self, version_id: str) -> Version:
        return self.request("POST", f"/versions/{version_id}/publish", idempotent=True)

    def manifest(self, version_id: str) -> Manifest:
        return self.request("GET", f"/versions/{version_id}/manifest")

    # ------------------------------------------------------------------ overlap
    def version_overlap(self, version_id: str) -> OverlapReport:
        """What ingest found of the version's records in other published datasets, and its duplicates."""
        return self.request("GET", f"/versions/{version_id}/overlap")

    def set_overlap_fields(self, version_id: str, fields: list[str] | None) -> OverlapReport:
        return self.request("PUT", f"/versions/{version_id}/overlap/text-fields", json={"fields": fields})

    def appeal_overlap(self, version_id: str, reason: str) -> OverlapReport:
        return self.request("POST", f"/versions/{version_id}/overlap/appeal", json={"reason": reason})

    def decide_overlap(self, version_id: str, *, allow: bool, note: str) -> OverlapReport:
        return self.request("POST", f"/versions/{version_id}/overlap/decision", json={"allow": allow, "note": note})

    def dataset_overlaps(self, dataset_id: str) -> DatasetOverlaps:
        return self.request("GET", f"/datasets/{dataset_id}/overlaps")

    def domains(self) -> list[Domain]:
        """The domain taxonomy: the slugs a dataset's `domain` and the search's `--domain` take."""
        return self.request("GET", "/domains")

    # ------------------------------------------------------------------ licensing
    def licenses(self, *, kind: str | None = None, use_class: str | None = None) -> list[LicenseSummary]:
        """The licence registry (latest version of each): the identifiers a version's licence and a source's `license` take."""
        return self.request("GET", "/licenses", params={k: v for k, v in {"kind": kind, "use_class": use_class}.items() if v})

    def set_license(self, version_id: str, identifier: str) -> License:
        return self.request("PUT", f"/versions/{version_id}/license", json={"identifier": identifier})

    def set_provenance(self, version_id: str, declaration: dict[str, Any]) -> Provenance:
        return self.request("PUT", f"/versions/{version_id}/provenance", json=dict(declaration, attest=True))

    def license(self, identifier: str, version: int | None = None) -> License:
        return self.request("GET", f"/licenses/{identifier}", params={"version": version} if version else None)

    # ------------------------------------------------------------------ commerce
    def create_offer(self, dataset_id: str, **body: Unpack[OfferCreate]) -> Offer:
        return self.request("POST", f"/datasets/{dataset_id}/offers", json=body)

    def offers(self, dataset_id: str) -> list[Offer]:
        return self.request("GET", f"/datasets/{dataset_id}/offers")

    def offer(self, offer_id: str) -> Offer:
        return self.request("GET", f"/offers/{offer_id}")

    def offer_license(self, offer: Offer) -> License:
        """The exact licence text an offer sells under (its version, checked against the digest)."""
        lic = self.license(offer["license"], offer.get("license_version"))
        if lic.get("text_sha256") != offer["license_sha256"]:
            raise ApiError(409, "Licence changed", f"The licence text of {offer['license']} does not match the offer's digest; ask again.")
        return lic

    def offer_model_terms(self, offer: Offer) -> tuple[list[dict[str, Any]], str | None]:
        """The model-output terms the data of an offer comes under (each with its plain text),
        and the digest to send as `accept_model_terms`; ([], None) when there are none. Both come
        with the offer: the terms under the offer's licence over the whole lineage."""
        return list(offer.get("model_terms") or []), offer.get("model_terms_sha256")

    def buy(self, offer_id: str, quantity: int, *, license_sha256: str, payment_method: str = "invoice", idempotency_key: str | None = None,
            accept_model_terms: str | None = None) -> Order:
        """Order an offer. `license_sha256` is the digest of the licence text you accept (read it
        with offer_license first); an order is never placed on a text you did not see. Data that
        comes under model-output terms also needs their digest (offer_model_terms)."""
        offer = self.offer(offer_id)
        body = {"offer_id": offer_id, "quantity": quantity, "currency": offer["currency"], "license_sha256": license_sha256, "payment_method": payment_method}
        if accept_model_terms:
            body["accept_model_terms"] = accept_model_terms
        return self.request("POST", "/orders", json=body, headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())}, idempotent=True)

    def grants(self, org_id: str) -> list[Grant]:
        return self.request("GET", f"/orgs/{org_id}/grants")

    def grant(self, grant_id: str) -> GrantDetail:
        return self.request("GET", f"/grants/{grant_id}")

    def authorize_download(self, grant_id: str, paths: list[str] | None = None) -> Download:
        # Safe to retry: re-issuing within the resume window is not charged again.
        return self.request("POST", f"/grants/{grant_id}/downloads", json={} if paths is None else {"paths": paths}, idempotent=True)

    def grant_files(self, grant_id: str) -> GrantFiles:
        """The files a grant delivers now and what downloading each would charge (nothing is charged by asking)."""
        return self.request("GET", f"/grants/{grant_id}/files")

    def read_records(self, grant_id: str, path: str, *, cursor: str | None = None, limit: int = 1000) -> RecordPage:
        """One page of a file's records (JSONL, CSV or Parquet) as JSON lines, debited per record;
        `next_cursor` is None at the end. Safe to retry: a page read again is not charged again."""
        resp = self.request("GET", f"/grants/{grant_id}/records", params={"path": path, "limit": limit, **({"cursor": cursor} if cursor else {})}, raw=True)
        return {"lines": resp.text.splitlines(), "next_cursor": resp.headers.get("X-Next-Cursor"), "charged": int(resp.headers.get("X-Records-Charged", "0"))}

    def iter_records(self, grant_id: str, path: str, *, page_size: int = 1000) -> Iterator[str]:
        """Every record of a file, page after page, as JSON lines (each page debited as it is read)."""
        cursor = None
        while True:
            page = self.read_records(grant_id, path, cursor=cursor, limit=page_size)
            yield from page["lines"]
            cursor = page["next_cursor"]
            if not cursor:
                return

    # ------------------------------------------------------------------ Delta Sharing
    def create_share_token(self, grant_id: str, *, name: str | None = None, days: int | None = None) -> ShareTokenWithProfile:
        """A Delta Sharing profile for the grant (its bearer token is in this answer only)."""
        body: dict[str, Any] = {**({"name": name} if name else {}), **({"days": days} if days else {})}
        return self.request("POST", f"/grants/{grant_id}/share-tokens", json=body)

    def share_tokens(self, grant_id: str) -> list[ShareToken]:
        return self.request("GET", f"/grants/{grant_id}/share-tokens")

    def revoke_share_token(self, grant_id: str, token_id: str) -> ShareToken:
        return self.request("DELETE", f"/grants/{grant_id}/share-tokens/{token_id}")

    # ------------------------------------------------------------------ gated access
    def access_gate(self, dataset_id: str) -> AccessGate:
        return self.request("GET", f"/datasets/{dataset_id}/access-gate")

    def request_access(self, dataset_id: str, org_id: str, answers: dict[str, Any]) -> AccessRequest:
        return self.request("POST", f"/datasets/{dataset_id}/access-requests", json={"org_id": org_id, "answers": answers})

    def access_requests(self, org_id: str, *, role: str = "vendor", status: str | None = None) -> list[AccessRequest]:
        return self.request("GET", f"/orgs/{org_id}/access-requests", params={"role": role, **({"status": status} if status else {})})

    def access_report(self, org_id: str) -> str:
        return self.request("GET", f"/orgs/{org_id}/access-report", raw=True).text

    def approve_access(self, request_id: str, *, reason: str | None = None, offer: dict[str, Any] | None = None) -> AccessRequest:
        return self.request("POST", f"/access-requests/{request_id}/approve", json={"reason": reason, "offer": offer})

    def reject_access(self, request_id: str, reason: str) -> AccessRequest:
        return self.request("POST", f"/access-requests/{request_id}/reject", json={"reason": reason})

    # ------------------------------------------------------------------ audit and compliance
    def audit_export(self, org_id: str | None = None, fmt: str = "jsonl") -> str:
        params = {"format": fmt, **({"org_id": org_id} if org_id else {})}
        return self.request("GET", "/audit/export", params=params, raw=True).text

    def bom(self, org_id: str, fmt: str = "cyclonedx") -> str:
        return self.request("GET", f"/orgs/{org_id}/bom", params={"format": fmt}, raw=True).text

    # ----------------------------------------------------------------- models and training runs

    def models(self, org_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/orgs/{org_id}/models")

    def create_model(self, org_id: str, *, name: str, version: str, provider: str, release_date: str | None = None,
                     description: str = "") -> dict[str, Any]:
        """Declare a model your organisation places on the market."""
        body = {"name": name, "version": version, "provider": provider, "release_date": release_date, "description": description}
        return self.request("POST", f"/orgs/{org_id}/models", json=body)

    def model(self, model_id: str) -> dict[str, Any]:
        """A model with its training runs and their inputs."""
        return self.request("GET", f"/models/{model_id}")

    def create_run(self, model_id: str, name: str, *, started_on: str | None = None, ended_on: str | None = None) -> dict[str, Any]:
        return self.request("POST", f"/models/{model_id}/runs", json={"name": name, "started_on": started_on, "ended_on": ended_on})

    def delete_run(self, run_id: str) -> None:
        """Remove a run that has nothing attached (one declared by mistake)."""
        self.request("DELETE", f"/training-runs/{run_id}")

    def add_training_input(self, run_id: str, **body: Any) -> dict[str, Any]:
        """Attach what a run was fed: kind="grant" with grant_id (and version_id, files), or a
        declared source (kind, name, modality, size, languages...)."""
        return self.request("POST", f"/training-runs/{run_id}/inputs", json=body)

    def training_summary(self, model_id: str, fmt: str = "json") -> bytes:
        """The EU AI Act Article 53(1)(d) training-content summary (json, html or docx)."""
        return self.request("GET", f"/models/{model_id}/eu-training-summary", params={"format": fmt}, raw=True).content

    def filing_evidence(self, model_id: str, lang: str = "zh", fmt: str = "json") -> bytes:
        """The Chinese generative-AI filing evidence pack (zh or en; json or html)."""
        return self.request("GET", f"/models/{model_id}/cn-filing-evidence", params={"lang": lang, "format": fmt}, raw=True).content

    def model_bom(self, model_id: str) -> str:
        return self.request("GET", f"/models/{model_id}/bom", raw=True).text
