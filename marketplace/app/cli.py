"""The `marketplace` command: run the server, migrate, seed the demo catalogue.

Later groups (datasets, upload, download, audit...) extend this same command.
"""

from __future__ import annotations

import os
import sys

import click
from flask.ctx import AppContext
from sqlalchemy.engine import make_url

import migrations
from catalog.services.access import warn_overdue as warn_overdue_access_requests
from catalog.services.ingest import index_published, make_missing_tables
from catalog.services.search import reindex_all
from catalog.services.uploads import abort_stale_uploads as abort_stale_uploads_job
from marketplace.app.factory import create_app
from marketplace.app.schedule import SCHEDULE, beat_schedule
from marketplace.app.seed import seed_demo
from marketplace.app.server import WebServer
from marketplace.auditlog.services import seal
from marketplace.commerce.services import expire_grants as expire_grants_job
from marketplace.commerce.services import warn_expiring_grants
from marketplace.identity.services import set_platform_role as set_platform_role_service
from marketplace.kernel import jobs_celery, metrics
from marketplace.kernel.config import Settings
from marketplace.notifications.services.dispatch import send_digests, sweep
from marketplace.sdk import cli as cli_client


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
    settings = _settings()
    migrations.upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}: {_redact(settings.database_url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' for an empty database)."""
    migrations.downgrade(_settings().database_url, revision)


def _redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@main.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
def seed(if_empty: bool) -> None:
    """Seed the demo catalogue and print the demo logins."""
    app = create_app(_settings())
    with app.app_context():
        logins = seed_demo(if_empty=if_empty)
    if logins:
        click.echo("\nDemo logins (password for all: see below)")
        for role, email, password in logins:
            click.echo(f"  {role:<28} {email:<34} {password}")
        click.echo("")


def _app_context() -> AppContext:
    return create_app(_settings()).app_context()


@main.group()
def users() -> None:
    """Platform user administration."""


@users.command("set-platform-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "compliance", "none"]))
def set_platform_role(email: str, role: str) -> None:
    """Make a registered user a platform admin or compliance officer (or neither)."""
    with _app_context():
        user = set_platform_role_service(email=email, role=role)
    click.echo(f"{user.email}: platform role {role}")


@main.group()
def jobs() -> None:
    """Maintenance jobs, for cron or a Celery beat."""


@jobs.command("expire-grants")
def expire_grants() -> None:
    """Mark grants past their term as expired."""
    with _app_context():
        click.echo(f"expired {expire_grants_job()} grant(s)")


@jobs.command("warn-expiring-grants")
def warn_expiring() -> None:
    """Tell holders of grants that end within 7 days (once per expiry date). Daily."""
    with _app_context():
        click.echo(f"warned about {warn_expiring_grants()} grant(s)")


@jobs.command("warn-overdue-access")
def warn_overdue_access() -> None:
    """Tell vendors about access requests waiting past their stated response time (once each). Hourly."""
    with _app_context():
        click.echo(f"warned about {warn_overdue_access_requests()} request(s)")


@jobs.command("notify")
def notify() -> None:
    """Fan out lost announcements, make due webhook retries, retry failed e-mails. Every minute."""
    with _app_context():
        done = sweep()
    click.echo(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in done.items()))


@jobs.command("make-tables")
def make_tables() -> None:
    """Give versions published before Delta Sharing their Parquet tables. Once, after upgrading."""
    with _app_context():
        done = make_missing_tables()
    click.echo(f"{done['versions']} version(s): {done['tables']} table(s) made, {done['not_tables']} file(s) not tables")


@jobs.command("index-overlap")
def index_overlap() -> None:
    """Index the records of versions published before overlap detection. Once, after upgrading."""
    with _app_context():
        done = index_published()
    click.echo(f"{done['versions']} version(s) indexed, {done['records']} record(s)")


@jobs.command("send-digests")
def digests() -> None:
    """Send each user who chose a digest one e-mail with what is pending. Daily."""
    with _app_context():
        click.echo(f"sent {send_digests()} digest(s)")


@jobs.command("abort-stale-uploads")
def abort_stale_uploads() -> None:
    """Abort multipart uploads that no file is waiting for any more."""
    with _app_context():
        click.echo(f"aborted {abort_stale_uploads_job()} upload(s)")


@main.group()
def search() -> None:
    """The catalogue's search index."""


@search.command("reindex")
def search_reindex() -> None:
    """Rebuild every dataset's search entry (after an upgrade that changes what is indexed, such
    as the domain words buyers type)."""
    with _app_context():
        click.echo(f"reindexed {reindex_all()} dataset(s)")


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("seal")
def audit_seal() -> None:
    """Seal unsealed events into signed, hash-linked Merkle blocks."""
    with _app_context():
        blocks = seal()
    click.echo(f"sealed {len(blocks)} block(s)")


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=int)
@click.option("--metrics-port", default=0, type=click.IntRange(0, 65535), show_default="0: none",
              help="Serve this worker's Prometheus metrics (ingest bytes, webhook failures) on this port.")
def worker(concurrency: int, metrics_port: int) -> None:
    """Run a Celery worker for background jobs (needs MARKETPLACE_BROKER_URL)."""
    settings = _settings()
    if not settings.broker_url:
        raise click.ClickException("MARKETPLACE_BROKER_URL is not set: jobs run inline, no worker is needed")
    if metrics_port:
        metrics.serve_for_worker(metrics_port, os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(settings.instance_path, "metrics-worker"))
    # The worker builds its Flask app from the environment, once per process.
    jobs_celery.APP_FACTORY = create_app
    jobs_celery.make_celery(settings.broker_url, redelivery_seconds=settings.job_redelivery_seconds).worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}", "-Q", "marketplace"])


@main.command()
@click.option("--schedule-file", default=lambda: os.path.join(os.environ.get("MARKETPLACE_INSTANCE_PATH", "instance"), "celerybeat-schedule"),
              show_default="$MARKETPLACE_INSTANCE_PATH/celerybeat-schedule", help="Where beat remembers when each job last ran.")
def beat(schedule_file: str) -> None:
    """Run Celery beat: send the periodic jobs (sealing, expiry, notifications...) to the workers.
    Run exactly one beat per deployment (needs MARKETPLACE_BROKER_URL)."""
    settings = _settings()
    if not settings.broker_url:
        raise click.ClickException("MARKETPLACE_BROKER_URL is not set: `marketplace serve` runs the periodic jobs itself, no beat is needed")
    os.makedirs(os.path.dirname(os.path.abspath(schedule_file)), exist_ok=True)
    celery = jobs_celery.make_celery(settings.broker_url, redelivery_seconds=settings.job_redelivery_seconds, schedule=beat_schedule())
    celery.start(["beat", "--loglevel=INFO", "-s", schedule_file])


@main.command("schedule")
def show_schedule() -> None:
    """List the periodic jobs, how often each runs and why."""
    for p in SCHEDULE:
        click.echo(f"{p.name:<34} every {_every(p.every_seconds):<8} {p.why}")


def _every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@main.command()
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), type=int, show_default="8000")
@click.option("--workers", default=lambda: int(os.environ.get("WEB_CONCURRENCY", "1")), type=click.IntRange(1, 64), show_default="1 ($WEB_CONCURRENCY)",
              help="gunicorn worker processes. More than one needs shared rate-limit counters (MARKETPLACE_RATELIMIT_STORAGE_URL=redis://...).")
@click.option("--threads", default=lambda: int(os.environ.get("WEB_THREADS", "8")), type=click.IntRange(1, 256), show_default="8 ($WEB_THREADS)")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web UI and API under gunicorn (threaded workers). Without a broker, the periodic
    jobs (sealing, expiry, notifications) run here too, in one worker at a time."""
    settings = _settings()
    if "MARKETPLACE_PUBLIC_URL" not in os.environ:
        settings = Settings.from_env(public_url=f"http://{host}:{port}")
    if workers > 1 and settings.ratelimit_storage_url.startswith("memory"):
        raise click.ClickException("--workers > 1 would give each process its own rate-limit counters: set MARKETPLACE_RATELIMIT_STORAGE_URL=redis://...")
    os.makedirs(settings.instance_path, exist_ok=True)
    lock = os.path.join(settings.instance_path, "periodic.lock")
    click.echo(f"Serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)", err=True)
    WebServer(settings, {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
                         "timeout": 120, "graceful_timeout": 20, "accesslog": None, "errorlog": "-", "loglevel": "warning"},
              periodic_lock=None if settings.broker_url else lock).run()


# The client's commands (datasets, upload, download, buy...) are part of the server's CLI too.
cli_client.register(main)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
