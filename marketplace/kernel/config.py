"""Configuration from environment variables, with embedded defaults.

Every setting has a default that makes `make run` work on a laptop with nothing else installed:
an SQLite file and a filesystem object store under the instance folder, inline jobs and invoice
payments. Secrets are never defaulted to a constant: when none is given, a random one is
generated once and kept in the instance folder (outside the repository).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from flask import current_app


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """All runtime settings. Field metadata names the environment variable and documents it."""

    instance_path: str = field(
        default="instance",
        metadata={"env": "MARKETPLACE_INSTANCE_PATH", "doc": "Folder for the SQLite file, local objects and generated secrets."},
    )
    database_url: str = field(
        default="",
        metadata={"env": "MARKETPLACE_DATABASE_URL", "doc": "SQLAlchemy URL. Default: SQLite file in the instance folder. PostgreSQL: postgresql+psycopg://user:pw@host/db"},
    )
    storage_url: str = field(
        default="",
        metadata={"env": "MARKETPLACE_STORAGE_URL", "doc": "Object store: file:///abs/path or s3://bucket?endpoint_url=...&region=... Default: file store in the instance folder."},
    )
    secret_key: str = field(
        default="",
        metadata={"env": "MARKETPLACE_SECRET_KEY", "doc": "Signs sessions, CSRF tokens and filesystem-store URLs. Default: random, kept in the instance folder."},
    )
    public_url: str = field(
        default="http://127.0.0.1:8000",
        metadata={"env": "MARKETPLACE_PUBLIC_URL", "doc": "Externally visible base URL (used in signed filesystem-store URLs)."},
    )
    max_json_bytes: int = field(
        default=1024 * 1024,
        metadata={"env": "MARKETPLACE_MAX_JSON_BYTES", "doc": "Largest JSON request body accepted; larger gets 413."},
    )
    max_upload_bytes: int = field(
        default=16 * 1024 * 1024,
        metadata={"env": "MARKETPLACE_MAX_UPLOAD_BYTES", "doc": "Largest file sent straight through the API; larger files use presigned multipart upload."},
    )
    presign_ttl_seconds: int = field(
        default=300,
        metadata={"env": "MARKETPLACE_PRESIGN_TTL", "doc": "Lifetime of presigned download and upload URLs, in seconds (at most 3600)."},
    )
    preview_records: int = field(
        default=20,
        metadata={"env": "MARKETPLACE_PREVIEW_RECORDS", "doc": "Records kept per file as the buyer-facing sample (vendors can redact them)."},
    )
    resume_window_seconds: int = field(
        default=3600,
        metadata={"env": "MARKETPLACE_RESUME_WINDOW", "doc": "Re-issuing the same file under the same grant within this many seconds is not charged again."},
    )
    auth_cache_seconds: int = field(
        default=5,
        metadata={"env": "MARKETPLACE_AUTH_CACHE_SECONDS", "doc": "How long each process keeps a resolved API key (0: never). A revocation, a membership or role change ends every cached entry at once."},
    )
    upload_idle_timeout_seconds: int = field(
        default=30,
        metadata={"env": "MARKETPLACE_UPLOAD_IDLE_TIMEOUT", "doc": "A body sent through the API that stops arriving for this long is refused (408)."},
    )
    upload_min_rate: int = field(
        default=16 * 1024,
        metadata={"env": "MARKETPLACE_UPLOAD_MIN_RATE", "doc": "Bytes per second a body sent through the API must average after its first 10 s (slow clients get 408)."},
    )
    broker_url: str = field(
        default="",
        metadata={"env": "MARKETPLACE_BROKER_URL", "doc": "Celery broker (redis://...). Empty: background jobs run inline."},
    )
    job_redelivery_seconds: int = field(
        default=6 * 3600,
        metadata={"env": "MARKETPLACE_JOB_REDELIVERY", "doc": "A job whose worker died unacknowledged is handed to another worker after this many seconds (longer than the longest ingest)."},
    )
    payments: str = field(
        default="invoice",
        metadata={"env": "MARKETPLACE_PAYMENTS", "doc": "invoice or stripe."},
    )
    platform_fee_bps: int = field(
        default=1000,
        metadata={"env": "MARKETPLACE_PLATFORM_FEE_BPS", "doc": "Platform fee on card payments, in basis points (1000 = 10 %), taken through Stripe Connect."},
    )
    stripe_api_key: str = field(default="", metadata={"env": "STRIPE_API_KEY", "doc": "Stripe secret key (payments=stripe)."})
    stripe_webhook_secret: str = field(default="", metadata={"env": "STRIPE_WEBHOOK_SECRET", "doc": "Stripe webhook signing secret."})
    stripe_api_base: str = field(default="", metadata={"env": "STRIPE_API_BASE", "doc": "Override Stripe's API base URL (tests point it at a local fake)."})
    audit_signing_key: str = field(
        default="",
        metadata={"env": "MARKETPLACE_AUDIT_SIGNING_KEY", "doc": "Ed25519 private key (base64 of the 32-byte seed) that signs audit checkpoints. Default: generated once, kept in the instance folder."},
    )
    audit_seal_grace_seconds: int = field(
        default=5,
        metadata={"env": "MARKETPLACE_AUDIT_SEAL_GRACE", "doc": "Events younger than this are left for the next seal (transactions still committing)."},
    )
    overlap_block_share: float = field(
        default=0.5,
        metadata={"env": "MARKETPLACE_OVERLAP_BLOCK_SHARE", "doc": "A version whose records are this share or more (0-1) copies or near copies of one other vendor's published version is held for platform compliance instead of published. Above 1: never held."},
    )
    smtp_url: str = field(
        default="",
        metadata={"env": "MARKETPLACE_SMTP_URL", "doc": "Outgoing mail: smtp://user:password@host:587?starttls=1 or smtps://host:465. Empty: e-mails are written to the log."},
    )
    mail_from: str = field(
        default="Dataset Marketplace <noreply@localhost>",
        metadata={"env": "MARKETPLACE_MAIL_FROM", "doc": "The From address of notification e-mails."},
    )
    webhook_allow_private: bool = field(
        default=False,
        metadata={"env": "MARKETPLACE_WEBHOOK_ALLOW_PRIVATE", "doc": "Let webhooks go to private, loopback and link-local addresses (1 only for tests or a closed network: it opens SSRF)."},
    )
    webhook_timeout_seconds: int = field(
        default=10,
        metadata={"env": "MARKETPLACE_WEBHOOK_TIMEOUT", "doc": "Connect and read timeout of one webhook attempt, in seconds (1-30)."},
    )
    webhook_disable_after_days: int = field(
        default=5,
        metadata={"env": "MARKETPLACE_WEBHOOK_DISABLE_AFTER_DAYS", "doc": "An endpoint that has failed every attempt for this many days is disabled and its organisation e-mailed."},
    )
    webhook_rotation_overlap_hours: int = field(
        default=24,
        metadata={"env": "MARKETPLACE_WEBHOOK_ROTATION_OVERLAP_HOURS", "doc": "After a secret rotation, the previous secret also signs for this many hours."},
    )
    metrics_token: str = field(
        default="",
        metadata={"env": "MARKETPLACE_METRICS_TOKEN", "doc": "Bearer token a Prometheus scraper sends to GET /metrics. Unset: /metrics answers only callers on loopback (404 to everyone else)."},
    )
    ratelimit_storage_url: str = field(
        default="memory://",
        metadata={"env": "MARKETPLACE_RATELIMIT_STORAGE_URL", "doc": "Where rate-limit counters live: memory:// (one process) or redis://host:6379/1 (shared)."},
    )
    login_rate_limit: str = field(
        default="10/minute",
        metadata={"env": "MARKETPLACE_LOGIN_RATE_LIMIT", "doc": "Failed logins allowed per client address and e-mail address."},
    )
    auth_failure_rate_limit: str = field(
        default="60/minute",
        metadata={"env": "MARKETPLACE_AUTH_FAILURE_RATE_LIMIT", "doc": "Failed authentications (401) allowed per client address across all endpoints."},
    )
    log_level: str = field(default="INFO", metadata={"env": "MARKETPLACE_LOG_LEVEL", "doc": "Python log level."})
    log_json: bool = field(default=True, metadata={"env": "MARKETPLACE_LOG_JSON", "doc": "Structured JSON logs (1) or plain text (0)."})
    session_cookie_secure: bool = field(
        default=False,
        metadata={"env": "MARKETPLACE_SECURE_COOKIES", "doc": "Mark session cookies Secure (set to 1 behind HTTPS)."},
    )
    testing: bool = field(default=False, metadata={"env": "MARKETPLACE_TESTING", "doc": "Test mode (never in production)."})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Read every setting from `environ` (default: the process environment)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("bool", bool):
                values[f.name] = _bool(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values).resolved()

    def resolved(self) -> "Settings":
        """Fill the defaults that depend on the instance folder, and check ranges."""
        inst = Path(self.instance_path).resolve()
        changes: dict[str, Any] = {"instance_path": str(inst)}
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{inst / 'marketplace.db'}"
        if not self.storage_url:
            changes["storage_url"] = f"file://{inst / 'objects'}"
        if not self.secret_key:
            changes["secret_key"] = _instance_secret(inst)
        if not self.audit_signing_key:
            changes["audit_signing_key"] = _instance_secret(inst, "audit_signing_key", lambda: __import__("base64").b64encode(secrets.token_bytes(32)).decode())
        if not 0 < self.overlap_block_share < float("inf"):
            raise ValueError("MARKETPLACE_OVERLAP_BLOCK_SHARE must be a positive number (above 1: never hold a version).")
        if not 1 <= self.presign_ttl_seconds <= 3600:
            raise ValueError("MARKETPLACE_PRESIGN_TTL must be between 1 and 3600 seconds")
        if self.resume_window_seconds < 1:
            raise ValueError("MARKETPLACE_RESUME_WINDOW must be at least 1 second")
        if not 0 <= self.auth_cache_seconds <= 300:
            raise ValueError("MARKETPLACE_AUTH_CACHE_SECONDS must be between 0 and 300")
        if not 0 <= self.platform_fee_bps <= 10000:
            raise ValueError("MARKETPLACE_PLATFORM_FEE_BPS must be between 0 and 10000")
        if not 1 <= self.webhook_timeout_seconds <= 30:
            raise ValueError("MARKETPLACE_WEBHOOK_TIMEOUT must be between 1 and 30 seconds")
        if not 1 <= self.webhook_disable_after_days <= 60:
            raise ValueError("MARKETPLACE_WEBHOOK_DISABLE_AFTER_DAYS must be between 1 and 60")
        if not 0 <= self.webhook_rotation_overlap_hours <= 24 * 7:
            raise ValueError("MARKETPLACE_WEBHOOK_ROTATION_OVERLAP_HOURS must be between 0 and 168")
        if self.payments not in {"invoice", "stripe"}:
            raise ValueError("MARKETPLACE_PAYMENTS must be 'invoice' or 'stripe'")
        return replace(self, **changes)

    @classmethod
    def documented(cls) -> list[tuple[str, str, str]]:
        """(variable, default, description) for the README table."""
        return [(f.metadata["env"], repr(f.default), f.metadata["doc"]) for f in fields(cls)]


def _instance_secret(instance: Path, name: str = "secret_key", make: Any = None) -> str:
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    key = make() if make else secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def current_settings() -> Settings:
    """The running application's settings (inside an app context)."""
    return current_app.config["SETTINGS"]
