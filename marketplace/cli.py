"""The `marketplace` command: run the server, migrate, seed the demo catalogue.

Later groups (datasets, upload, download, audit...) extend this same command.
"""

from __future__ import annotations

import os
import sys

import click

from marketplace.core.config import Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as e:
        raise click.ClickException(f"configuration: {e}") from None


@click.group()
@click.version_option(package_name="dataset-marketplace")
def main() -> None:
    """Dataset marketplace and licensing registry."""


@main.group()
def db() -> None:
    """Database schema (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    import migrations

    settings = _settings()
    migrations.upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}: {_redact(settings.database_url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' for an empty database)."""
    import migrations

    migrations.downgrade(_settings().database_url, revision)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
def seed(if_empty: bool) -> None:
    """Seed the demo catalogue and print the demo logins."""
    from marketplace.app import create_app
    from marketplace.seed import seed_demo

    app = create_app(_settings())
    with app.app_context():
        logins = seed_demo(if_empty=if_empty)
    if logins:
        click.echo("\nDemo logins (password for all: see below)")
        for role, email, password in logins:
            click.echo(f"  {role:<28} {email:<34} {password}")
        click.echo("")


def _app_context():
    from marketplace.app import create_app

    return create_app(_settings()).app_context()


@main.group()
def users() -> None:
    """Platform user administration."""


@users.command("set-platform-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "compliance", "none"]))
def set_platform_role(email: str, role: str) -> None:
    """Make a registered user a platform admin or compliance officer (or neither)."""
    from marketplace.core.identity.services import set_platform_role as svc

    with _app_context():
        user = svc(email=email, role=role)
    click.echo(f"{user.email}: platform role {role}")


@main.group()
def jobs() -> None:
    """Maintenance jobs, for cron or a Celery beat."""


@jobs.command("expire-grants")
def expire_grants() -> None:
    """Mark grants past their term as expired."""
    from marketplace.commerce.services import expire_grants as job

    with _app_context():
        click.echo(f"expired {job()} grant(s)")


@jobs.command("abort-stale-uploads")
def abort_stale_uploads() -> None:
    """Abort multipart uploads that no file is waiting for any more."""
    from catalog.services.uploads import abort_stale_uploads as job

    with _app_context():
        click.echo(f"aborted {job()} upload(s)")


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("seal")
def audit_seal() -> None:
    """Seal unsealed events into signed, hash-linked Merkle blocks."""
    from marketplace.audit.services import seal

    with _app_context():
        blocks = seal()
    click.echo(f"sealed {len(blocks)} block(s)")


def _pinned_key(public_key: str | None) -> tuple[str, str]:
    """The key `audit verify` uses and where it came from: --public-key, or the key saved with
    `marketplace audit trust`. Never one found inside the file being verified."""
    if public_key:
        return public_key, "--public-key"
    trusted = (cli_client.load_profiles().get("audit_trust") or {}).get("public_key")
    if trusted:
        return trusted, f"your trusted key ({cli_client.config_path()})"
    raise click.UsageError("no pinned key: pass --public-key, or save one first with `marketplace audit trust KEY` "
                           "(a key found inside the file is never trusted)")


def _key_ok(public_key: str) -> bool:
    import base64

    try:
        return len(base64.b64decode(public_key, validate=True)) == 32
    except ValueError:
        return False


@audit.command("trust")
@click.argument("public_key", required=False)
@click.option("--from-server", is_flag=True, help="Fetch the key from the marketplace you are logged in to (trust on first use).")
def audit_trust(public_key: str | None, from_server: bool) -> None:
    """Pin the Ed25519 public key that `audit verify` and `audit consistency` use. Get it from the
    platform out of band (its published key, or GET /api/v1/audit/key once)."""
    from marketplace.audit.chain import key_id_b64

    if from_server:
        ctx = click.get_current_context()
        public_key = cli_client.client_for(ctx).request("GET", "/audit/key")["public_key"]
    if not public_key or not _key_ok(public_key):
        raise click.BadParameter("a base64 Ed25519 public key (32 bytes)", param_hint="PUBLIC_KEY")
    cfg = cli_client.load_profiles()
    cfg["audit_trust"] = {"public_key": public_key, "key_id": key_id_b64(public_key)}
    cli_client.save_profiles(cfg)
    click.echo(f"trusting audit key {key_id_b64(public_key)} (saved in {cli_client.config_path()})")


@audit.command("verify")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--public-key", help="Base64 Ed25519 public key (default: the one saved with `marketplace audit trust`).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit_verify(export: str, public_key: str | None, as_json: bool) -> None:
    """Verify an audit export (JSON Lines or CSV) or one event's inclusion proof offline, with a
    pinned key. Exit 0 if intact, 1 if not; names the first bad event and the key used."""
    import json as _json

    from marketplace.audit.chain import verify_export_lines, verify_proof_document

    key, source = _pinned_key(public_key)
    if not _key_ok(key):
        raise click.BadParameter("a base64 Ed25519 public key (32 bytes)", param_hint="--public-key")
    with click.open_file(export, encoding="utf-8") as f:
        text = f.read()
    lines = text.splitlines()
    stripped = text.lstrip()
    if stripped.startswith("{") and '"path"' in text and '"type"' not in text.split("\n", 1)[0][:200]:
        try:
            doc = _json.loads(text)
        except ValueError:
            doc = None
        report = verify_proof_document(doc, key) if isinstance(doc, dict) and "event" in doc else verify_export_lines(lines, key)
    else:
        if lines and lines[0].startswith("type,"):
            from marketplace.audit.services import csv_to_lines

            try:
                lines = list(csv_to_lines(text))
            except ValueError as e:
                click.echo(f"FAILED: {e}", err=True)
                sys.exit(1)
        report = verify_export_lines(lines, key)
    if as_json:
        click.echo(_json.dumps(dict(report.to_dict(), key_source=source), indent=2))
    elif report.ok:
        click.echo(f"OK: {report.blocks} block(s), {report.events} event(s) verified with key {report.key_id} from {source}")
    else:
        where = f"first bad event: {report.first_bad_event}" if report.first_bad_event is not None else "no single event named"
        click.echo(f"FAILED ({where}), verified with key {report.key_id} from {source}: {report.problems[0]}", err=True)
    sys.exit(0 if report.ok else 1)


@audit.command("consistency")
@click.argument("kept", type=click.Path(exists=True, dir_okay=False))
@click.option("--proof", "proof_file", type=click.Path(exists=True, dir_okay=False), help="A saved GET /audit/consistency answer (default: ask the server).")
@click.option("--public-key", help="Base64 Ed25519 public key (default: your trusted key).")
def audit_consistency(kept: str, proof_file: str | None, public_key: str | None) -> None:
    """Prove the log only grew since a checkpoint you kept (RFC 6962 consistency proof)."""
    import json as _json

    from marketplace.audit.chain import verify_consistency_document

    key, source = _pinned_key(public_key)
    with open(kept, encoding="utf-8") as f:
        kept_cp = _json.load(f)
    if proof_file:
        with open(proof_file, encoding="utf-8") as f:
            doc = _json.load(f)
    else:
        doc = cli_client.client_for(click.get_current_context()).request("GET", "/audit/consistency", params={"first": kept_cp["id"]})
    rep = verify_consistency_document(kept_cp, doc, key)
    if rep.ok:
        click.echo(f"OK: block {doc['second']['id']} (tree size {doc['second']['tree_size']}) extends the block {kept_cp['id']} you kept; "
                   f"verified with key {rep.key_id} from {source}")
        sys.exit(0)
    click.echo(f"FAILED, verified with key {rep.key_id} from {source}: {rep.problems[0]}", err=True)
    sys.exit(1)


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=int)
def worker(concurrency: int) -> None:
    """Run a Celery worker for background jobs (needs MARKETPLACE_BROKER_URL)."""
    settings = _settings()
    if not settings.broker_url:
        raise click.ClickException("MARKETPLACE_BROKER_URL is not set: jobs run inline, no worker is needed")
    import catalog.services.ingest  # noqa: F401  (registers jobs)
    from marketplace.core.jobs_celery import make_celery

    make_celery(settings.broker_url, redelivery_seconds=settings.job_redelivery_seconds).worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "-Q", "marketplace"])


def _start_sealer(app, every_seconds: int) -> None:  # type: ignore[no-untyped-def]
    """The embedded default has no scheduler: seal the audit log from a background thread.
    (With several processes, run `marketplace audit seal` from cron or Celery beat instead;
    concurrent sealers are safe, they take turns.)"""
    import logging
    import threading
    import time

    def loop() -> None:
        from marketplace.audit.services import seal

        while True:
            time.sleep(every_seconds)
            try:
                with app.app_context():
                    seal()
            except Exception:
                logging.getLogger("marketplace.audit").exception("sealing failed; will retry")

    threading.Thread(target=loop, name="audit-sealer", daemon=True).start()


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int, show_default="8000")
def serve(host: str, port: int) -> None:
    """Serve the web UI and API (threaded development server; use gunicorn in production)."""
    from werkzeug.serving import run_simple

    from marketplace.core.http import QuietRequestHandler

    from marketplace.app import create_app

    settings = _settings()
    if "MARKETPLACE_PUBLIC_URL" not in os.environ:
        settings = Settings.from_env(public_url=f"http://{host}:{port}")
    app = create_app(settings)
    _start_sealer(app, every_seconds=30)
    click.echo(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)", err=True)
    run_simple(host, port, app, threaded=True, use_reloader=False, request_handler=QuietRequestHandler)


from marketplace import cli_client  # noqa: E402

cli_client.register(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
