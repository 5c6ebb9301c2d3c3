"""The Python SDK's client (marketplace.sdk.client): retries and backoff, problem+json errors, and
its types, which are generated from the API's own response schemas and checked with mypy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from marketplace.sdk import client as client_module
from marketplace.sdk.client import ApiError, ConnectionFailed, MarketplaceClient

ROOT = Path(__file__).resolve().parents[2]


class FlakyServer:
    """A server that answers from a script: what no test can get a real server to do on cue
    (fail twice, then succeed). Records every request it received."""

    def __init__(self, script: list[tuple[int, dict[str, str], bytes]]):
        self.script = list(script)
        self.requests: list[Request] = []
        self.bodies: list[bytes] = []
        self.srv = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.srv.server_port}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    @Request.application
    def app(self, request: Request) -> Response:
        self.requests.append(request)
        self.bodies.append(request.get_data())
        status, headers, body = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return Response(body, status=status, headers=headers)


PROBLEM = {"Content-Type": "application/problem+json"}
OK = (200, {"Content-Type": "application/json"}, b'{"id": "d1", "title": "Clinical notes"}')


def unavailable(retry_after: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = dict(PROBLEM, **({"Retry-After": retry_after} if retry_after else {}))
    return 503, headers, b'{"title": "Service unavailable", "status": 503, "detail": "The database is unavailable."}'


@pytest.fixture
def sleeps(monkeypatch):
    """The delays the client chose, instead of spending them."""
    seen: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", seen.append)
    return seen


@pytest.fixture
def flaky():
    servers: list[FlakyServer] = []

    def make(*script):
        servers.append(FlakyServer(list(script)))
        return servers[-1]

    yield make
    for s in servers:
        s.srv.shutdown()


def test_reads_are_retried_with_exponential_backoff_then_succeed(flaky, sleeps):
    srv = flaky(unavailable(), unavailable(), unavailable(), OK)
    c = MarketplaceClient(srv.url, "mk_test.secret", backoff=0.5)
    assert c.dataset("d1")["title"] == "Clinical notes"
    assert len(srv.requests) == 4
    assert all(r.headers["Authorization"] == "Bearer mk_test.secret" for r in srv.requests)
    # 0.5 s, 1 s, 2 s, each with jitter between half and all of it
    assert [round(x / b, 1) >= 0.5 and x <= b for x, b in zip(sleeps, [0.5, 1.0, 2.0], strict=False)] == [True] * 3 and len(sleeps) == 3


def test_retry_after_is_honoured_on_429(flaky, sleeps):
    srv = flaky((429, dict(PROBLEM, **{"Retry-After": "7"}), b'{"title": "Too many requests", "status": 429}'), OK)
    MarketplaceClient(srv.url, "k").dataset("d1")
    assert sleeps == [7.0] and len(srv.requests) == 2


def test_a_retry_after_of_zero_does_not_turn_retries_into_a_burst(flaky, sleeps):
    srv = flaky(unavailable("0"), unavailable("0"), OK)
    MarketplaceClient(srv.url, "k", backoff=0.5).dataset("d1")
    assert len(sleeps) == 2 and sleeps[0] >= 0.25 and sleeps[1] >= 0.5  # the backoff, not 0


def test_a_post_that_could_repeat_an_effect_is_not_retried(flaky, sleeps):
    srv = flaky(unavailable(), OK)
    with pytest.raises(ApiError) as e:
        MarketplaceClient(srv.url, "k").create_dataset(slug="s", title="t", domain="legal")
    assert e.value.status == 503 and "database is unavailable" in str(e.value)
    assert len(srv.requests) == 1 and sleeps == []


def test_an_idempotent_post_is_retried_with_the_same_key(flaky, sleeps):
    srv = flaky(unavailable(), unavailable(), (202, {"Content-Type": "application/json"}, b'{"status": "processing"}'))
    assert MarketplaceClient(srv.url, "k").publish("v1")["status"] == "processing"
    keys = {r.headers["Idempotency-Key"] for r in srv.requests}
    assert len(srv.requests) == 3 and len(keys) == 1  # the server can tell it is the same request


def test_retries_give_up_with_the_last_problem(flaky, sleeps):
    srv = flaky(unavailable("0"))
    with pytest.raises(ApiError) as e:
        MarketplaceClient(srv.url, "k", retries=2).dataset("d1")
    assert e.value.status == 503 and len(srv.requests) == 3


def test_client_errors_are_not_retried_and_carry_the_problem(flaky, sleeps):
    body = b'{"type": "https://example/problems/validation", "title": "Validation failed", "status": 400, "detail": "Check the fields.", "errors": {"slug": ["Too long."]}}'
    srv = flaky((400, PROBLEM, body))
    with pytest.raises(ApiError) as e:
        MarketplaceClient(srv.url, "k").create_dataset(slug="x" * 500, title="t", domain="legal")
    err = e.value
    assert (err.status, err.title, err.detail, err.errors) == (400, "Validation failed", "Check the fields.", {"slug": ["Too long."]})
    assert str(err) == "400 Validation failed: Check the fields. (slug: Too long.)"
    assert len(srv.requests) == 1 and sleeps == []


def test_an_error_that_is_not_json_still_raises_cleanly(flaky, sleeps):
    srv = flaky((502, {"Content-Type": "text/html"}, b"<html>Bad gateway</html>"))
    with pytest.raises(ApiError) as e:
        MarketplaceClient(srv.url, "k", retries=0).dataset("d1")
    assert e.value.status == 502 and "Bad gateway" in e.value.detail


def test_an_unreachable_server_raises_connection_failed_after_retries(sleeps):
    with pytest.raises(ConnectionFailed, match="127.0.0.1:9"):
        MarketplaceClient("http://127.0.0.1:9", "k", retries=3).dataset("d1")
    assert len(sleeps) == 3


def test_problems_from_the_real_api(fs_site):
    vendor, version_id, _org = fs_site
    with pytest.raises(ApiError) as e:
        vendor.create_dataset(slug="bad slug!", title="t", domain="no-such-domain")
    assert e.value.status == 400 and "slug" in e.value.errors and e.value.detail == "Invalid slug."
    with pytest.raises(ApiError) as e:
        vendor.version("00000000-0000-0000-0000-000000000000")
    assert e.value.status == 404 and e.value.type
    with pytest.raises(ApiError) as e:
        MarketplaceClient(vendor.base_url, "mk_000000000000.wrong").version(version_id)
    assert e.value.status == 401


def test_the_generated_types_match_the_api_schemas():
    r = subprocess.run([sys.executable, str(ROOT / "infra/scripts/client_types.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_type_checkers_catch_misuse_of_the_client(tmp_path):
    """What "typed" buys a user: mypy accepts correct use and names each mistake (with the old
    dict[str, Any] answers it would have accepted all three)."""
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent('''
        from marketplace.sdk.client import MarketplaceClient
        c = MarketplaceClient("http://localhost", "mk_x.y")
        ds = c.create_dataset(slug="notes", title="Clinical notes", domain="medical", tags=["ehr"])
        title: str = ds["title"]
        size: int | None = ds["total_bytes"]
        for item in c.search_all(q="notes"):
            print(item["title"])
        for f in c.authorize_download("g")["files"]:
            url: str = f["url"]
        offer = c.create_offer(ds["id"], title="t", license="CC-BY-4.0", pricing_unit="downloads", unit_price_minor=100, currency="EUR")
        balance: int = c.grant("g")["balance"]
    '''))
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent('''
        from marketplace.sdk.client import MarketplaceClient
        c = MarketplaceClient("http://localhost", "mk_x.y")
        ds = c.dataset("d")
        ds["titel"]
        c.create_dataset(slug="notes", title="Clinical notes")
        n: int = c.version("v")["status"]
    '''))
    cmd = [sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--follow-imports=silent", "--no-error-summary",
           "--cache-dir", str(tmp_path / ".mypy_cache")]
    sdk = ["marketplace/sdk/client.py", "marketplace/sdk/types.py", "marketplace/sdk/transfer.py"]  # and the SDK itself passes --strict
    r = subprocess.run([*cmd, str(good), *sdk], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, cwd=ROOT)
    errors = [line for line in r.stdout.splitlines() if ": error:" in line]
    assert [int(line.split(":")[1]) for line in errors] == [5, 6, 7], r.stdout
    assert '"titel"' in errors[0] and '"domain"' in errors[1] and "str" in errors[2]
