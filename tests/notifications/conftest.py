"""Real receivers for notification tests: an HTTP server on loopback that records every webhook
and answers with the statuses a test queues, an SMTP server (aiosmtpd) on loopback, and an app
allowed to deliver to loopback and wired to that SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller

from marketplace.app import create_app
from tests.conftest import isolated


class Receiver:
    """Records each POST (headers, body) and answers with the next queued (status, headers)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: deque[tuple[int, dict[str, str]]] = deque()
        self.default = (200, {})
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body.decode(), "path": self.path})
                status, headers = outer.answers.popleft() if outer.answers else outer.default
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


_apps: dict[str, Any] = {}


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    box, _ = smtp_server
    box.messages.clear()
    return box


@pytest.fixture
def notify_app(backend, make_settings, smtp_server) -> Iterator[Any]:
    """An app that may deliver webhooks to loopback and sends e-mail to the loopback SMTP server."""
    _, port = smtp_server
    if backend not in _apps:
        _apps[backend] = create_app(make_settings(backend, webhook_allow_private=True, webhook_timeout_seconds=3, smtp_url=f"smtp://127.0.0.1:{port}",
                                                  mail_from="Marketplace <noreply@marketplace.test>"))
    with isolated(_apps[backend]) as a:
        yield a


@pytest.fixture
def nclient(notify_app):
    return notify_app.test_client()
