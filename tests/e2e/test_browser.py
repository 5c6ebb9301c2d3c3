"""The catalogue in real headless Chromium (Debian's package, driven by Playwright through
executable_path), against `make run`'s stack. Screenshots land in test-output/screenshots."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    inst = tmp_path_factory.mktemp("browser-site")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETPLACE_")}
    env.update(MARKETPLACE_INSTANCE_PATH=str(inst), PORT=str(port), MARKETPLACE_LOG_LEVEL="WARNING")
    subprocess.run([str(BIN / "marketplace"), "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([str(BIN / "marketplace"), "seed"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([str(BIN / "marketplace"), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is required (make test installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_buyer_searches_filters_and_reads_a_dataset_page(site, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(site + "/datasets")
    assert page.locator("article.result").count() == 5
    page.screenshot(path=str(SHOTS / "catalogue.png"), full_page=True)
    page.fill("#q", "clinical")
    with page.expect_navigation():
        page.click("button[type=submit]")
    titles = page.locator("article.result h2").all_inner_texts()
    assert "Clinical consultation dialogues (EN)" in titles and "Nordic call-centre speech, 48 kHz" not in titles
    # a facet filter
    page.goto(site + "/datasets")
    with page.expect_navigation():
        page.check("input[name=license_class][value=commercial]")
    assert set(page.locator("article.result h2").all_inner_texts()) == {"Nordic call-centre speech, 48 kHz", "Annotated commercial lease clauses"}
    with page.expect_navigation():
        page.click("text=Annotated commercial lease clauses")
    assert page.locator("h1").inner_text() == "Annotated commercial lease clauses"
    assert page.locator("td.verdict").first.is_visible()
    assert page.locator("figure.lineage svg").count() == 1
    assert "CC-BY-SA-4.0" in page.content() and "clauses.jsonl" in page.content()
    page.screenshot(path=str(SHOTS / "dataset.png"), full_page=True)
    page.close()


def test_login_page_and_signed_in_header(site, browser):
    page = browser.new_page()
    page.goto(site + "/login")
    page.fill("#email", "buyer@acme-ai.test")
    page.fill("#password", "demo-password-1")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "buyer@acme-ai.test" in page.locator("header").inner_text()
    page.screenshot(path=str(SHOTS / "home-signed-in.png"), full_page=True)
    page.close()
