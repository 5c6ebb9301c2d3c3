"""The `marketplace` client commands: log in, find and publish datasets, upload, buy, download,
export audit logs and bills of materials. Tables for people, `--json` for scripts.

Exit codes: 0 success; 1 the API refused (4xx); 2 usage error; 3 server or network failure;
4 a transfer or verification failed.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import click
import yaml

from marketplace.formats.auditchain import csv_to_lines, key_id_b64, verify_consistency_document, verify_export_lines, verify_proof_document
from marketplace.formats.money import MoneyError, format_money, parse_major, price_label
from marketplace.sdk.client import ApiError, ConnectionFailed, MarketplaceClient
from marketplace.sdk.templates import PROVENANCE, load_yaml
from marketplace.sdk.transfer import MIB, RECEIPT, TransferError, digest_file, digest_for_upload, read_receipt
from marketplace.sdk.transfer import download as do_download
from marketplace.sdk.transfer import upload as do_upload

# Exit codes, as the module docstring and the README say.
EXIT_REFUSED, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_FAILED = 1, 2, 3, 4

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # what click.progressbar returns

HINTS = {
    401: "log in again: marketplace login --url URL --api-key KEY",
    402: "the grant's quota is used up: buy more with marketplace buy OFFER_ID",
    403: "the API key lacks the scope, or your role is too low",
    404: "check the id (other organisations' resources are reported as not found)",
    409: "the object is not in a state that allows this (e.g. a published version)",
    410: "the version was withdrawn",
    413: "too large: large files use multipart upload (marketplace upload does it)",
}


def config_path() -> Path:
    if os.environ.get("MARKETPLACE_CONFIG"):
        return Path(os.environ["MARKETPLACE_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "marketplace" / "config.json"


def load_profiles() -> dict[str, Any]:
    p = config_path()
    return json.loads(p.read_text()) if p.exists() else {"profiles": {}}


def save_profiles(conf: dict[str, Any]) -> None:
    """Write the CLI's configuration (profiles with API keys, the trusted audit key), mode 600."""
    p = config_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(conf, f, indent=2)


def client_for(ctx: click.Context, *, anonymous: bool = False) -> MarketplaceClient:
    """The client of the active profile (or MARKETPLACE_URL / MARKETPLACE_API_KEY); public
    listings (`anonymous`) need only the address."""
    url = os.environ.get("MARKETPLACE_URL")
    key = os.environ.get("MARKETPLACE_API_KEY")
    name = ctx.obj.get("profile") if ctx.obj else "default"
    prof = load_profiles()["profiles"].get(name or "default", {})
    url, key = url or prof.get("url"), key or prof.get("api_key")
    if anonymous and url and not key:
        return MarketplaceClient(url)
    if not url or not key:
        raise click.UsageError("not logged in: marketplace login --url URL --api-key KEY (or set MARKETPLACE_URL and MARKETPLACE_API_KEY)")
    return MarketplaceClient(url, key)


def api_command(fn: Callable[..., Any] | None = None, *, anonymous: bool = False) -> Any:
    """Turn API and transfer failures into one line with a hint, and a meaningful exit code.
    `@api_command(anonymous=True)`: the command reads public listings, no API key needed."""
    if fn is None:
        return functools.partial(api_command, anonymous=anonymous)
    command = fn

    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.pass_context
    @functools.wraps(command)
    def wrapper(ctx: click.Context, *args: Any, as_json: bool, **kwargs: Any) -> Any:
        try:
            result = command(ctx, client_for(ctx, anonymous=anonymous), *args, **kwargs)
        except ApiError as e:
            click.echo(f"error: {e}" + (f"\nhint: {HINTS[e.status]}" if e.status in HINTS else ""), err=True)
            sys.exit(EXIT_REFUSED if e.status < 500 else EXIT_UNAVAILABLE)
        except ConnectionFailed as e:
            click.echo(f"error: cannot reach the marketplace ({e})\nhint: check the URL and your network", err=True)
            sys.exit(EXIT_UNAVAILABLE)
        except TransferError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(EXIT_FAILED)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except Exception as e:  # a bug or an answer we did not expect: one line, not a traceback
            if os.environ.get("MARKETPLACE_DEBUG"):
                raise
            click.echo(f"error: unexpected {type(e).__name__}: {e}\nhint: rerun with MARKETPLACE_DEBUG=1 for the details, and report it", err=True)
            sys.exit(EXIT_UNAVAILABLE)
        if result is None:
            return
        data, table = result if isinstance(result, tuple) else (result, None)
        if as_json or table is None:
            click.echo(json.dumps(data, indent=2, default=str))
        else:
            click.echo(table)

    return wrapper


# A terminal runs what it is sent: escape sequences, and the invisible or direction-changing
# characters that make text read otherwise, are shown as "?" in tables (other tenants type names).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _yaml_problem(e: Exception) -> str:
    """A YAML error in one line: what and where (line and column, counted from 1)."""
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    what = getattr(e, "problem", None) or str(e).splitlines()[0]
    return f"{what} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else str(what)


def _cell(value: Any) -> str:
    return _UNPRINTABLE.sub("?", "" if value is None else str(value))


def table(rows: Sequence[Mapping[str, Any]], cols: list[str]) -> str:
    if not rows:
        return "(none)"
    widths = {c: max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in cols}
    out = ["  ".join(c.upper().ljust(widths[c]) for c in cols)]
    out += ["  ".join(_cell(r.get(c)).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(out)


def overlap_text(r: Mapping[str, Any]) -> str:
    """A version's overlap report for people."""
    if not r.get("indexed"):
        return "not checked yet: overlap is measured when the version is published"
    lines = [f"{r.get('records')} records with text; duplicates within the version: {r.get('duplicate_exact')} exact, {r.get('duplicate_near')} near "
             f"({100 * (r.get('duplicate_rate') or 0):.1f} %)"]
    if r.get("state") in ("blocked", "appealed"):
        lines.append(f"HELD: {r.get('reason')}")
    for f in r.get("findings") or []:
        name = (f"{f.get('other_dataset_title')} {f.get('other_version')} (by {f.get('other_vendor')})" if f.get("other_dataset_title")
                else "a dataset that is not public")
        lines.append(f"  {100 * (f.get('share') or 0):.0f} % found in {name}{' (yours)' if f.get('same_vendor') else ''}: "
                     f"{f.get('exact')} exact, {f.get('near')} near copies")
        lines += [f"      {path}: {100 * share:.0f} % contained" for path, share in sorted((f.get("files") or {}).items())]
    if not r.get("findings"):
        lines.append("no record found in another published dataset")
    return "\n".join(lines)


def human(n: float | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def progress_bar(total: int, label: str) -> ProgressBar[int]:
    bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=False, show_percent=True, width=30)
    return bar


def _key_org(c: MarketplaceClient) -> str:
    """The organisation of the API key the client calls with (the CLI always calls with one)."""
    key = c.me()["api_key"]
    assert key is not None
    return key["organization_id"]


def _pinned_key(public_key: str | None) -> tuple[str, str]:
    """The key `audit verify` uses and where it came from: --public-key, or the key saved with
    `marketplace audit trust`. Never one found inside the file being verified."""
    if public_key:
        return public_key, "--public-key"
    trusted = (load_profiles().get("audit_trust") or {}).get("public_key")
    if trusted:
        return trusted, f"your trusted key ({config_path()})"
    raise click.UsageError("no pinned key: pass --public-key, or save one first with `marketplace audit trust KEY` "
                           "(a key found inside the file is never trusted)")


def _key_ok(public_key: str) -> bool:
    try:
        return len(base64.b64decode(public_key, validate=True)) == 32
    except ValueError:
        return False


def register_offline_audit(audit_group: click.Group) -> None:
    """The auditor's offline commands: pin a key, verify an export or a proof, check that the log
    only grew. They need no server code, only the verifier in marketplace.formats.auditchain."""

    @audit_group.command("trust")
    @click.argument("public_key", required=False)
    @click.option("--from-server", is_flag=True, help="Fetch the key from the marketplace you are logged in to (trust on first use).")
    def audit_trust(public_key: str | None, from_server: bool) -> None:
        """Pin the Ed25519 public key that `audit verify` and `audit consistency` use. Get it from the
        platform out of band (its published key, or GET /api/v1/audit/key once)."""
        if from_server:
            ctx = click.get_current_context()
            public_key = client_for(ctx).request("GET", "/audit/key")["public_key"]
        if not public_key or not _key_ok(public_key):
            raise click.BadParameter("a base64 Ed25519 public key (32 bytes)", param_hint="PUBLIC_KEY")
        cfg = load_profiles()
        cfg["audit_trust"] = {"public_key": public_key, "key_id": key_id_b64(public_key)}
        save_profiles(cfg)
        click.echo(f"trusting audit key {key_id_b64(public_key)} (saved in {config_path()})")

    @audit_group.command("verify")
    @click.argument("export", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
    @click.option("--public-key", help="Base64 Ed25519 public key (default: the one saved with `marketplace audit trust`).")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    def audit_verify(export: str, public_key: str | None, as_json: bool) -> None:
        """Verify an audit export (JSON Lines or CSV) or one event's inclusion proof offline, with a
        pinned key. Exit 0 if intact, 4 if not (verification failed); names the first bad event and
        the key used."""
        key, source = _pinned_key(public_key)
        if not _key_ok(key):
            raise click.BadParameter("a base64 Ed25519 public key (32 bytes)", param_hint="--public-key")
        with click.open_file(export, encoding="utf-8") as f:
            text = f.read()
        lines = text.splitlines()
        stripped = text.lstrip()
        if stripped.startswith("{") and '"path"' in text and '"type"' not in text.split("\n", 1)[0][:200]:
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            report = verify_proof_document(doc, key) if isinstance(doc, dict) and "event" in doc else verify_export_lines(lines, key)
        else:
            if lines and lines[0].startswith("type,"):
                try:
                    lines = list(csv_to_lines(text))
                except ValueError as e:
                    click.echo(f"FAILED: {e}", err=True)
                    sys.exit(EXIT_FAILED)
            report = verify_export_lines(lines, key)
        if as_json:
            click.echo(json.dumps(dict(report.to_dict(), key_source=source), indent=2))
        elif report.ok:
            click.echo(f"OK: {report.blocks} block(s), {report.events} event(s) verified with key {report.key_id} from {source}")
        else:
            where = f"first bad event: {report.first_bad_event}" if report.first_bad_event is not None else "no single event named"
            click.echo(f"FAILED ({where}), verified with key {report.key_id} from {source}: {report.problems[0]}", err=True)
        sys.exit(0 if report.ok else EXIT_FAILED)

    @audit_group.command("consistency")
    @click.argument("kept", type=click.Path(exists=True, dir_okay=False))
    @click.option("--proof", "proof_file", type=click.Path(exists=True, dir_okay=False), help="A saved GET /audit/consistency answer (default: ask the server).")
    @click.option("--public-key", help="Base64 Ed25519 public key (default: your trusted key).")
    def audit_consistency(kept: str, proof_file: str | None, public_key: str | None) -> None:
        """Prove the log only grew since a checkpoint you kept (RFC 6962 consistency proof)."""
        key, source = _pinned_key(public_key)
        with open(kept, encoding="utf-8") as f:
            kept_cp = json.load(f)
        if proof_file:
            with open(proof_file, encoding="utf-8") as f:
                doc = json.load(f)
        else:
            doc = client_for(click.get_current_context()).request("GET", "/audit/consistency", params={"first": kept_cp["id"]})
        rep = verify_consistency_document(kept_cp, doc, key)
        if rep.ok:
            click.echo(f"OK: block {doc['second']['id']} (tree size {doc['second']['tree_size']}) extends the block {kept_cp['id']} you kept; "
                       f"verified with key {rep.key_id} from {source}")
            sys.exit(0)
        click.echo(f"FAILED, verified with key {rep.key_id} from {source}: {rep.problems[0]}", err=True)
        sys.exit(EXIT_FAILED)


def register(main: click.Group) -> None:
    main.params.append(click.Option(["--profile"], default="default", help="Which stored login to use."))
    orig = main.callback

    @functools.wraps(orig)  # type: ignore[arg-type]
    def cb(profile: str = "default") -> None:
        click.get_current_context().obj = {"profile": profile}

    main.callback = cb

    @main.command()
    @click.option("--url", required=True, help="The marketplace's address: the base URL you open in a browser, e.g. https://data.example.com "
                                               "(http://127.0.0.1:8000 for `make run`), not the /api/v1 path.")
    @click.option("--api-key", required=True, prompt=True, hide_input=True)
    @click.pass_context
    def login(ctx: click.Context, url: str, api_key: str) -> None:
        """Check an API key and store it as a profile (file mode 600). Make the key on the web UI's
        dashboard (API keys) or with POST /api/v1/orgs/{org_id}/api-keys."""
        try:
            me = MarketplaceClient(url, api_key).me()
        except (ApiError, ConnectionFailed) as e:
            click.echo(f"error: {e}\nhint: {HINTS.get(getattr(e, 'status', 0), 'check the URL')}", err=True)
            sys.exit(EXIT_REFUSED if isinstance(e, ApiError) else EXIT_UNAVAILABLE)
        conf = load_profiles()
        name = (ctx.obj or {}).get("profile") or "default"
        conf["profiles"][name] = {"url": url, "api_key": api_key, "organization_id": key["organization_id"] if (key := me.get("api_key")) else None}
        save_profiles(conf)
        click.echo(f"logged in to {url} as {me['user']['email']} (profile {name})")

    @main.group()
    def datasets() -> None:
        """Find and list datasets."""

    @datasets.command("search")
    @click.argument("query", required=False)
    @click.option("--domain", multiple=True)
    @click.option("--language", multiple=True)
    @click.option("--license-class", multiple=True)
    @click.option("--sort", default="relevance")
    @click.option("--limit", default=20, type=int)
    @api_command
    def search(ctx: click.Context, c: MarketplaceClient, query: str | None, domain: tuple[str], language: tuple[str], license_class: tuple[str], sort: str, limit: int):
        """Search the catalogue."""
        res = c.search(q=query, domain=list(domain) or None, language=list(language) or None, license_class=list(license_class) or None, sort=sort, limit=limit)
        rows = [dict(i, vendor=i["vendor"]["name"], size=human(i["total_bytes"]), price=price_label(i["min_price_minor"], i["price_currency"], i.get("price_unit"))) for i in res["items"]]
        return res, table(rows, ["id", "title", "domain", "license_use_class", "size", "price", "vendor"]) + f"\n{res['total']} match(es)"

    @datasets.command("show")
    @click.argument("dataset_id")
    @api_command
    def show(ctx: click.Context, c: MarketplaceClient, dataset_id: str):
        """A dataset, its versions and offers."""
        ds: dict[str, Any] = dict(c.dataset(dataset_id))  # shown with its versions and offers
        ds["versions"] = c.versions(dataset_id)
        ds["offers"] = c.offers(dataset_id)
        offers = [dict(o, unit_price=format_money(o["unit_price_minor"], o["currency"])) for o in ds["offers"]]
        lines = [f"{ds['title']} ({ds['slug']}) — {ds['domain']}, {', '.join(ds['modalities'])}, {', '.join(ds['languages'])}", ds["summary"], "",
                 table(ds["versions"], ["id", "version", "status", "total_records", "manifest_digest"]), "",
                 table(offers, ["id", "title", "license", "pricing_unit", "unit_price"])]
        return ds, "\n".join(lines)

    @datasets.command("create")
    @click.option("--slug", required=True)
    @click.option("--title", required=True)
    @click.option("--domain", required=True)
    @click.option("--summary", default="")
    @click.option("--card", type=click.File("r"), help="Markdown dataset card")
    @click.option("--modality", multiple=True)
    @click.option("--language", multiple=True)
    @click.option("--tag", multiple=True)
    @click.option("--visibility", default="draft")
    @api_command
    def create(ctx: click.Context, c: MarketplaceClient, slug: str, title: str, domain: str, summary: str, card: Any, modality: tuple, language: tuple, tag: tuple, visibility: str):
        """List a new dataset (vendors)."""
        ds = c.create_dataset(slug=slug, title=title, domain=domain, summary=summary, card_markdown=card.read() if card else "",
                              modalities=list(modality), languages=list(language), tags=list(tag), visibility=visibility)
        return ds, f"created dataset {ds['id']} ({ds['slug']})"

    @main.group()
    def versions() -> None:
        """Dataset versions."""

    @versions.command("create")
    @click.argument("dataset_id")
    @click.argument("version")
    @click.option("--changelog", default="")
    @api_command
    def version_create(ctx: click.Context, c: MarketplaceClient, dataset_id: str, version: str, changelog: str):
        """Start a draft version."""
        v = c.create_version(dataset_id, version, changelog)
        return v, f"created version {v['version']}: {v['id']}"

    @main.command()
    @click.argument("version_id")
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
    @click.option("--workers", default=8, type=int, show_default=True)
    @click.option("--part-size-mib", default=16, type=int, show_default=True)
    @click.option("--prefix", default="", help="Path prefix inside the dataset")
    @api_command
    def upload(ctx: click.Context, c: MarketplaceClient, version_id: str, paths: tuple[Path, ...], workers: int, part_size_mib: int, prefix: str):
        """Upload files or folders into a draft version: parallel, resumable, digest-checked."""
        files: list[tuple[Path, str]] = []
        for p in paths:
            if p.is_dir():
                files += [(f, prefix + f.relative_to(p).as_posix()) for f in sorted(p.rglob("*")) if f.is_file()]
            else:
                files.append((p, prefix + p.name))
        total = sum(f.stat().st_size for f, _ in files)
        # Hash everything first (SHA-256 and per-part CRC-32s; a terabyte takes a while, so it
        # gets its own bar), then send: files the store already holds are not sent at all.
        with progress_bar(total, "hashing") as bar:
            digests = [digest_for_upload(local, part_size_mib * MIB, progress=bar.update) for local, _ in files]
        out = []
        with progress_bar(total, "uploading") as bar:
            for (local, dest), digest in zip(files, digests, strict=True):
                out.append(do_upload(c, version_id, local, dest, workers=workers, part_size=part_size_mib * MIB, progress=bar.update,
                                     note=lambda m: click.echo(m, err=True), digest=digest))
        return out, table([dict(f, size=human(f["size"])) for f in out], ["path", "size", "status", "sha256"])

    @main.command()
    @click.argument("version_id")
    @api_command
    def publish(ctx: click.Context, c: MarketplaceClient, version_id: str):
        """Verify and publish a version; shows the ingest result."""
        v = c.publish(version_id)
        report = v.get("ingest_report") or {}
        lines = [f"version {v['version']}: {v['status']}" + (f" — {v['status_reason']}" if v.get("status_reason") else "")]
        for path, r in sorted((report.get("files") or {}).items()):
            lines.append(f"  {r['status']:6} {path}" + (f"  {r.get('records')} records" if r.get("records") is not None else "") + (f"  {r['reason']}" if r.get("reason") else ""))
        if v["status"] == "published":
            lines.append(f"manifest digest {v['manifest_digest']}")
        if v["status"] == "draft":
            click.echo("\n".join(lines), err=True)
            sys.exit(EXIT_FAILED)
        return v, "\n".join(lines)

    @main.group()
    def overlap() -> None:
        """Overlap with other datasets: findings, text fields, appeals, decisions."""

    @overlap.command("show")
    @click.argument("version_id")
    @api_command
    def overlap_show(ctx: click.Context, c: MarketplaceClient, version_id: str):
        """What ingest found of a version's records in other published datasets, and its duplicates."""
        r = c.version_overlap(version_id)
        return r, overlap_text(r)

    @overlap.command("fields")
    @click.argument("version_id")
    @click.argument("fields", nargs=-1)
    @api_command
    def overlap_fields(ctx: click.Context, c: MarketplaceClient, version_id: str, fields: tuple[str, ...]):
        """Choose the fields whose text is compared (none: every field that reads as text)."""
        r = c.set_overlap_fields(version_id, list(fields) or None)
        return r, "compared fields: " + (", ".join(r.get("text_fields") or []) or "every field that reads as text")

    @overlap.command("appeal")
    @click.argument("version_id")
    @click.option("--reason", required=True, help="Why you hold the rights to this data.")
    @api_command
    def overlap_appeal(ctx: click.Context, c: MarketplaceClient, version_id: str, reason: str):
        """Ask platform compliance to let a version held for overlap publish."""
        r = c.appeal_overlap(version_id, reason)
        return r, f"appeal sent; the version is {r.get('state')}"

    @overlap.command("decide")
    @click.argument("version_id")
    @click.option("--allow/--keep-held", required=True, help="Let the version publish its current files, or keep it held.")
    @click.option("--note", required=True, help="Why, for the vendor and the record.")
    @api_command
    def overlap_decide(ctx: click.Context, c: MarketplaceClient, version_id: str, allow: bool, note: str):
        """Platform compliance: decide on a version held for overlap."""
        r = c.decide_overlap(version_id, allow=allow, note=note)
        return r, f"the version is {r.get('state')}" + ("; the vendor publishes again" if allow else "")

    @overlap.command("dataset")
    @click.argument("dataset_id")
    @api_command
    def overlap_dataset(ctx: click.Context, c: MarketplaceClient, dataset_id: str):
        """Which datasets overlap with this one, both ways."""
        r = c.dataset_overlaps(dataset_id)
        rows = [{"direction": "holds records of" if o.get("direction") == "found_in_other" else "its records are in", "version": o.get("version"),
                 "other": f"{o.get('counterpart_dataset_title') or '(not public)'} {o.get('counterpart_version') or ''}".strip(),
                 "exact": o.get("exact"), "near": o.get("near"), "share": f"{100 * (o.get('share') or 0):.0f} %"} for o in r.get("overlaps", [])]
        return r, table(rows, ["direction", "version", "other", "exact", "near", "share"]) if rows else "no overlap found"

    @main.group()
    def provenance() -> None:
        """Provenance declarations."""

    @provenance.command("set")
    @click.argument("version_id")
    @click.argument("file", type=click.File("r"))
    @api_command
    def provenance_set(ctx: click.Context, c: MarketplaceClient, version_id: str, file: Any):
        """Declare (and attest) a version's provenance from a YAML or JSON file
        (`marketplace provenance template` writes a commented example)."""
        text = file.read()
        try:
            body = json.loads(text)
        except ValueError:
            try:
                body = load_yaml(text)
            except yaml.YAMLError as e:
                raise click.UsageError(f"{file.name} is neither JSON nor YAML: {_yaml_problem(e)}") from None
        if not isinstance(body, dict):
            raise click.UsageError("the provenance file must hold one mapping (sources, personal_data, ...)")
        d = c.set_provenance(version_id, body)
        return d, f"declared revision {d['revision']} (digest {d['digest']})"

    @provenance.command("template")
    @click.argument("file", type=click.Path(dir_okay=False, writable=True), required=False)
    @click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
    def provenance_template(file: str | None, force: bool) -> None:
        """Write a commented example declaration (to FILE, or to stdout) to fill in."""
        if file is None:
            click.echo(PROVENANCE, nl=False)
            return
        if os.path.exists(file) and not force:
            raise click.UsageError(f"{file} exists; add --force to overwrite it")
        Path(file).write_text(PROVENANCE)
        click.echo(f"wrote {file}: fill it in, then `marketplace provenance set VERSION_ID {file}`", err=True)

    @main.command("domains")
    @api_command(anonymous=True)
    def domains_list(ctx: click.Context, c: MarketplaceClient):
        """The domains a dataset is listed under: the values `--domain` takes."""
        ds = c.domains()
        return ds, table(ds, ["slug", "label", "description"])

    @main.command("licenses")
    @click.option("--kind", type=click.Choice(["standard", "custom"]))
    @click.option("--use-class", type=click.Choice(["commercial", "non-commercial", "academic-only", "unspecified"]))
    @api_command(anonymous=True)
    def licenses_list(ctx: click.Context, c: MarketplaceClient, kind: str | None, use_class: str | None):
        """The licence registry: the identifiers `license set` and a source's `license` take."""
        ls = c.licenses(kind=kind, use_class=use_class)
        return ls, table(ls, ["identifier", "name", "use_class", "version"])

    @main.group()
    def license() -> None:  # noqa: A001 - the command's name
        """A version's licence."""

    @license.command("set")
    @click.argument("version_id")
    @click.argument("identifier")
    @api_command
    def license_set(ctx: click.Context, c: MarketplaceClient, version_id: str, identifier: str):
        """Declare the licence of a draft version."""
        lic = c.set_license(version_id, identifier)
        return lic, f"{lic['identifier']} v{lic['version']} (text SHA-256 {lic['text_sha256']})"

    @main.group()
    def offers() -> None:
        """Offers."""

    @offers.command("create")
    @click.argument("dataset_id")
    @click.option("--title", required=True)
    @click.option("--license", "license_", required=True)
    @click.option("--unit", type=click.Choice(["records", "gib", "downloads", "term", "hours"]), required=True)
    @click.option("--price", required=True, help="Unit price in major units, e.g. 12.50")
    @click.option("--currency", required=True)
    @click.option("--term-days", type=int)
    @click.option("--version-id", help="A fixed version (default: latest, with updates)")
    @api_command
    def offer_create(ctx: click.Context, c: MarketplaceClient, dataset_id: str, title: str, license_: str, unit: str, price: str, currency: str, term_days: int | None, version_id: str | None):
        """Put a dataset on sale."""
        try:
            minor = parse_major(price, currency).minor
        except MoneyError as e:
            raise click.BadParameter(str(e), param_hint="--price") from None
        o = c.create_offer(dataset_id, title=title, license=license_, pricing_unit=unit, unit_price_minor=minor, currency=currency, term_days=term_days, version_id=version_id)
        return o, f"created offer {o['id']} under {o['license']} at {format_money(o['unit_price_minor'], o['currency'])} per {o['pricing_unit']}"

    @main.command()
    @click.argument("offer_id")
    @click.option("--quantity", type=int, required=True)
    @click.option("--card", is_flag=True, help="Pay by card: prints the Stripe Checkout URL (default: invoice)")
    @click.option("--yes", "assume_yes", is_flag=True, help="Accept the licence and any model-output terms without asking (after reading them elsewhere)")
    @api_command
    def buy(ctx: click.Context, c: MarketplaceClient, offer_id: str, quantity: int, card: bool, assume_yes: bool):
        """Order an offer: shows the licence and its SHA-256, asks you to accept it, then orders."""
        offer = c.offer(offer_id)
        lic = c.offer_license(offer)
        model_terms, model_digest = c.offer_model_terms(offer)
        if not assume_yes:
            click.echo(f"Licence: {lic['name']} ({lic['identifier']} v{lic['version']})", err=True)
            click.echo(f"Text SHA-256: {lic['text_sha256']}\n", err=True)
            click.echo(lic.get("text") or "", err=True)
            if model_digest:
                click.echo("\nThe data also comes under the terms of the models that generated it:", err=True)
                for m in {m["text"] for m in model_terms}:
                    click.echo(f"  - {m}", err=True)
            click.echo(f"\nPrice: {format_money(offer['unit_price_minor'], offer['currency'])} per {offer['pricing_unit']}; quantity {quantity:,}", err=True)
            question = "Do you accept this licence text" + (" and these model-output terms" if model_digest else "") + " and place the order?"
            if not click.confirm(question, default=False, err=True):
                click.echo("No order was placed.", err=True)
                sys.exit(1)
        o = c.buy(offer_id, quantity, license_sha256=lic["text_sha256"], payment_method="stripe" if card else "invoice", accept_model_terms=model_digest)
        msg = (f"order {o['id']} ({o.get('number', '')}): {o['status']}, {format_money(o['amount_minor'], o['currency'])} "
               f"(licence text SHA-256 {o['accepted_text_sha256']})")
        if o.get("checkout_url"):
            msg += f"\npay here: {o['checkout_url']}"
        return o, msg

    @main.group()
    def grants() -> None:
        """Licence grants."""

    @grants.command("list")
    @click.option("--org", "org_id", help="Organisation id (default: the API key's)")
    @api_command
    def grants_list(ctx: click.Context, c: MarketplaceClient, org_id: str | None):
        """Your organisation's grants with quota left."""
        org_id = org_id or _key_org(c)
        gs = c.grants(org_id)
        rows = [dict(g, dataset=g.get("dataset_title") or g.get("dataset_id")) for g in gs]
        return gs, table(rows, ["id", "dataset", "unit", "balance", "credited", "status", "expires_at"])

    @main.command("records")
    @click.argument("grant_id")
    @click.option("--path", "paths", multiple=True, help="A file of the version (JSONL, CSV or Parquet); repeatable. Default: every such file.")
    @click.option("--limit", type=click.IntRange(min=1), help="Stop after this many records (only these are charged).")
    @click.option("--page-size", default=1000, show_default=True, type=click.IntRange(1, 10_000))
    @api_command
    def records(ctx: click.Context, c: MarketplaceClient, grant_id: str, paths: tuple[str, ...], limit: int | None, page_size: int):
        """Stream records to stdout as JSON lines, one per line, each charged once to the grant
        (a page read again is not charged again). Counts go to stderr."""
        if not paths:
            paths = tuple(f["path"] for f in c.grant_files(grant_id).get("files", []) if f.get("format") in ("jsonl", "csv", "parquet"))
            if not paths:
                raise click.UsageError("this grant's version has no JSONL, CSV or Parquet files; use `marketplace download`")
        sent = charged = 0
        for path in paths:
            cursor = None
            while limit is None or sent < limit:
                page = c.read_records(grant_id, path, cursor=cursor, limit=page_size if limit is None else min(page_size, limit - sent))
                for line in page["lines"]:
                    click.echo(line)
                sent += len(page["lines"])
                charged += page["charged"]
                cursor = page["next_cursor"]
                if not cursor:
                    break
        click.echo(f"{sent} record(s) from {len(paths)} file(s), {charged} charged", err=True)
        return None

    @main.command("share-profile")
    @click.argument("grant_id")
    @click.option("--name", help="What the profile is for (shown in `share-tokens list`).")
    @click.option("--days", type=int, help="Lifetime in days (default 90; never beyond the grant).")
    @api_command
    def share_profile(ctx: click.Context, c: MarketplaceClient, grant_id: str, name: str | None, days: int | None):
        """Print a Delta Sharing profile for a grant: `marketplace share-profile GRANT_ID > grant.share`,
        then `delta_sharing.load_as_pandas("grant.share#<share>.<schema>.<table>")`. The token in it
        is shown once; revoke it with `share-tokens revoke`."""
        made = c.create_share_token(grant_id, name=name, days=days)
        click.echo(f"share token {made['id']} expires {made['expires_at']}; keep the file private", err=True)
        return made["profile"], json.dumps(made["profile"], indent=2)

    @main.group("share-tokens")
    def share_tokens() -> None:
        """A grant's Delta Sharing tokens."""

    @share_tokens.command("list")
    @click.argument("grant_id")
    @api_command
    def share_tokens_list(ctx: click.Context, c: MarketplaceClient, grant_id: str):
        """The grant's tokens (never their secrets)."""
        rows = c.share_tokens(grant_id)
        return rows, table(rows, ["id", "name", "created_at", "expires_at", "revoked_at", "last_used_at"])

    @share_tokens.command("revoke")
    @click.argument("grant_id")
    @click.argument("token_id")
    @api_command
    def share_tokens_revoke(ctx: click.Context, c: MarketplaceClient, grant_id: str, token_id: str):
        """Revoke a token: its next call is refused."""
        r = c.revoke_share_token(grant_id, token_id)
        return r, f"revoked {r['id']}"

    @main.group("access-requests")
    def access_requests() -> None:
        """Requests for access to gated datasets: your inbox as a vendor, your own as a buyer."""

    @access_requests.command("list")
    @click.option("--org", "org_id", help="Organisation id (default: the API key's)")
    @click.option("--mine", is_flag=True, help="Your organisation's own requests (default: the requests to your datasets).")
    @click.option("--status", type=click.Choice(["pending", "approved", "rejected", "withdrawn"]))
    @api_command
    def access_list(ctx: click.Context, c: MarketplaceClient, org_id: str | None, mine: bool, status: str | None):
        """The vendor's inbox (overdue ones flagged), or with --mine your organisation's requests."""
        rows = c.access_requests(org_id or _key_org(c), role="buyer" if mine else "vendor", status=status)
        shown = [dict(r, overdue="OVERDUE" if r["overdue"] else "") for r in rows]
        return rows, table(shown, ["id", "dataset_title", "vendor_name" if mine else "buyer_name", "status", "overdue", "due_at", "reason"])

    @access_requests.command("approve")
    @click.argument("request_id")
    @click.option("--reason", help="A note to the buyer (at most 200 characters).")
    @click.option("--offer-license", help="Also make the buyer a private offer under this licence...")
    @click.option("--offer-title", default="Private offer", show_default=True)
    @click.option("--offer-unit", type=click.Choice(["records", "gib", "downloads", "term", "hours"]), default="records", show_default=True)
    @click.option("--offer-price-minor", type=int, default=0, show_default=True, help="...at this unit price in minor units...")
    @click.option("--offer-currency", default="EUR", show_default=True)
    @click.option("--offer-term-days", type=int)
    @api_command
    def access_approve(ctx: click.Context, c: MarketplaceClient, request_id: str, reason: str | None, offer_license: str | None, offer_title: str,
                       offer_unit: str, offer_price_minor: int, offer_currency: str, offer_term_days: int | None):
        """Approve a request (and optionally make the buyer a private offer in the same step)."""
        offer = None
        if offer_license:
            offer = {"title": offer_title, "license": offer_license, "pricing_unit": offer_unit, "unit_price_minor": offer_price_minor,
                     "currency": offer_currency, "term_days": offer_term_days}
        r = c.approve_access(request_id, reason=reason, offer=offer)
        return r, f"approved {r['id']}" + (f"; private offer {r['offer_id']}" if r.get("offer_id") else "")

    @access_requests.command("reject")
    @click.argument("request_id")
    @click.option("--reason", required=True, help="Why, in at most 200 characters: the buyer reads it.")
    @api_command
    def access_reject(ctx: click.Context, c: MarketplaceClient, request_id: str, reason: str):
        """Reject a request with a reason."""
        r = c.reject_access(request_id, reason)
        return r, f"rejected {r['id']}"

    @access_requests.command("report")
    @click.option("--org", "org_id", help="Organisation id (default: the API key's)")
    @api_command
    def access_report(ctx: click.Context, c: MarketplaceClient, org_id: str | None):
        """The access report as CSV (every request to your datasets, answers as columns)."""
        text = c.access_report(org_id or _key_org(c))
        return {"csv": text}, text.rstrip("\n")

    @main.command()
    @click.argument("grant_id")
    @click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--path", "paths", multiple=True, help="Only these files (default: the whole version)")
    @click.option("--workers", default=8, type=int, show_default=True)
    @api_command
    def download(ctx: click.Context, c: MarketplaceClient, grant_id: str, dest: Path, paths: tuple[str], workers: int):
        """Download under a grant: parallel, resumable, SHA-256 checked; verified files are skipped."""
        plan = c.authorize_download(grant_id, list(paths) or None)
        total = sum(f["size"] for f in plan["files"])
        with progress_bar(total, "downloading") as bar:
            out = do_download(c, grant_id, dest, paths=list(paths) or None, workers=workers, progress=bar.update, authorization=plan)
        return out, table([dict(f, size=human(f["size"]), state="skipped (verified)" if f["skipped"] else "verified") for f in out], ["path", "size", "state", "sha256"])

    audit_group = main.commands.get("audit")
    if audit_group is None:
        @main.group("audit")
        def audit_group_() -> None:
            """The tamper-evident audit log: export, pin the key, verify offline."""

        audit_group = audit_group_
    assert isinstance(audit_group, click.Group)
    register_offline_audit(audit_group)
    _model_commands(main)

    @audit_group.command("export")
    @click.option("--org", "org_id")
    @click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
    @click.option("-o", "--output", type=click.File("w"), default="-")
    @api_command
    def audit_export(ctx: click.Context, c: MarketplaceClient, org_id: str | None, fmt: str, output: Any):
        """Export the audit log with its checkpoints (verify it with marketplace audit verify)."""
        output.write(c.audit_export(org_id, fmt))
        return None

    @main.group()
    def bom() -> None:
        """Data bills of materials."""

    @bom.command("export")
    @click.option("--org", "org_id")
    @click.option("--format", "fmt", type=click.Choice(["cyclonedx", "spdx"]), default="cyclonedx")
    @click.option("-o", "--output", type=click.File("w"), default="-")
    @api_command
    def bom_export(ctx: click.Context, c: MarketplaceClient, org_id: str | None, fmt: str, output: Any):
        """Export the organisation's data bill of materials (CycloneDX 1.6 or SPDX 3.0)."""
        org_id = org_id or _key_org(c)
        output.write(c.bom(org_id, fmt))
        return None


def _model_commands(main: click.Group) -> None:
    """`marketplace model ...`: declare models and runs, attach what they were trained on, and
    export the regulatory documents."""

    @main.group()
    def model() -> None:
        """Models your organisation trains, their training runs, and the documents regulators ask for."""

    @model.command("create")
    @click.argument("name")
    @click.option("--version", "version", required=True)
    @click.option("--provider", required=True, help="The legal name that places the model on the market")
    @click.option("--release-date", default=None, help="YYYY-MM-DD")
    @click.option("--org", "org_id")
    @api_command
    def model_create(ctx: click.Context, c: MarketplaceClient, name: str, version: str, provider: str, release_date: str | None, org_id: str | None):
        """Declare a model."""
        m = c.create_model(org_id or _key_org(c), name=name, version=version, provider=provider, release_date=release_date)
        return m, f"model {m['id']}: {m['name']} {m['version']} ({m['provider']})"

    @model.command("attach")
    @click.argument("model_id")
    @click.option("--run", "run_name", required=True, help="The training run (created if the model has none of this name)")
    @click.option("--from-downloads", "folder", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
                  help="A folder `marketplace download` filled: its verified files are attached, by grant")
    @api_command
    def model_attach(ctx: click.Context, c: MarketplaceClient, model_id: str, run_name: str, folder: Path):
        """Attach the data a training job used, from the verified download receipt of a folder.
        Each file is hashed again first: a file changed since its download is refused."""
        receipt = read_receipt(folder)
        if not receipt["grants"]:
            raise click.ClickException(f"{folder} holds no download receipt ({RECEIPT}); download with `marketplace download GRANT_ID {folder}` first.")
        changed = []
        for entry in receipt["grants"].values():
            for path, sha in entry["files"].items():
                target = folder / path
                if not target.is_file() or digest_file(target)[0] != sha:
                    changed.append(path)
        if changed:
            raise TransferError("These files are missing or changed since they were downloaded and verified: " + ", ".join(changed[:10]))
        detail = c.model(model_id)
        existing = next((r for r in detail["runs"] if r["name"] == run_name), None)
        run = existing or c.create_run(model_id, run_name)
        attached = []
        try:
            for grant_id, entry in sorted(receipt["grants"].items()):
                files = [{"path": p, "sha256": h} for p, h in sorted(entry["files"].items())]
                attached.append(c.add_training_input(run["id"], kind="grant", grant_id=grant_id, version_id=entry["version_id"], files=files))
        except ApiError:
            if existing is None and not attached:
                c.delete_run(run["id"])  # nothing was attached: leave no empty run behind
            raise
        return attached, "\n".join(f"attached {len(a['files'] or [])} file(s) of grant {a['grant_id']} (version {a['version_id']}) to run {run_name}" for a in attached)

    @model.command("summary")
    @click.argument("model_id")
    @click.option("--format", "fmt", type=click.Choice(["json", "html", "docx"]), default="json")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File to write (default: standard output; docx needs a file)")
    @api_command
    def model_summary(ctx: click.Context, c: MarketplaceClient, model_id: str, fmt: str, output: Path | None):
        """The EU AI Act Article 53(1)(d) training-content summary, pre-filled from evidence."""
        body = c.training_summary(model_id, fmt)
        return _emit_document(body, output, binary=fmt == "docx")

    @model.command("filing")
    @click.argument("model_id")
    @click.option("--lang", type=click.Choice(["zh", "en"]), default="zh")
    @click.option("--format", "fmt", type=click.Choice(["json", "html"]), default="json")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
    @api_command
    def model_filing(ctx: click.Context, c: MarketplaceClient, model_id: str, lang: str, fmt: str, output: Path | None):
        """The Chinese generative-AI filing evidence pack (per source: legality, share, personal data, annotation)."""
        return _emit_document(c.filing_evidence(model_id, lang, fmt), output, binary=False)


def _emit_document(body: bytes, output: Path | None, *, binary: bool) -> tuple[dict[str, Any], str] | None:
    if output is not None:
        try:
            output.write_bytes(body)
        except OSError as e:
            raise click.ClickException(f"cannot write {output}: {e.strerror or e}") from e
        return {"written": str(output), "bytes": len(body)}, f"wrote {output} ({len(body):,} bytes)"
    if binary:
        raise click.ClickException("A Word document needs a file: add -o summary.docx")
    click.echo(body.decode("utf-8"))
    return None


@click.group()
def client_main() -> None:
    """The marketplace client for buyers, vendors and auditors: find, buy, upload, download,
    export and verify the audit log. It loads no server code (`marketplace-client`); the
    `marketplace` command has the same commands plus the server's."""


register(client_main)
