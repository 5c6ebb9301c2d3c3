"""A local fake of the parts of Stripe's HTTP API this product calls, served over real HTTP on
loopback, so the real `stripe` library does the talking. It checks the API key, honours
Idempotency-Key like Stripe does, records every request, and can be told to fail or hang.

Webhooks are not faked: tests sign events with the webhook secret exactly as Stripe does
(`t=<ts>,v1=<HMAC-SHA256(secret, "<ts>.<payload>")>`) and post them to the product.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_KEY = "sk_test_fake_marketplace"
WEBHOOK_SECRET = "whsec_test_fake_marketplace"


def _nest(form: dict[str, str]) -> dict[str, Any]:
    """Stripe's form encoding (a[b][0][c]=v) back to nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        parts = key.replace("]", "").split("[")
        cur: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(cur, list):
                idx = int(part)
                while len(cur) <= idx:
                    cur.append({} if not nxt_is_index else [])
                if last:
                    cur[idx] = value
                else:
                    cur = cur[idx]
            else:
                if last:
                    cur[part] = value
                else:
                    cur = cur.setdefault(part, [] if nxt_is_index else {})
    return out


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_idempotency: dict[str, dict[str, Any]] = {}
        self.fail_next: int = 0  # answer 500 to this many requests
        self.hang_seconds: float = 0.0
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()

    def app(self, environ, start_response):  # type: ignore[no-untyped-def]
        req = Request(environ)
        resp = self.handle(req)
        return resp(environ, start_response)

    def _json(self, body: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json", headers={"Request-Id": "req_" + secrets.token_hex(6)})

    def _error(self, status: int, message: str, type_: str = "api_error") -> Response:
        return self._json({"error": {"type": type_, "message": message}}, status)

    def handle(self, req: Request) -> Response:
        if req.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._error(401, "Invalid API Key provided", "invalid_request_error")
        params = _nest(dict(req.form.items()))
        self.requests.append({"method": req.method, "path": req.path, "params": params, "idempotency_key": req.headers.get("Idempotency-Key")})
        if self.hang_seconds:
            time.sleep(self.hang_seconds)
        if self.fail_next > 0:
            self.fail_next -= 1
            return self._error(500, "An unknown error occurred")
        if req.method == "POST" and req.path == "/v1/checkout/sessions":
            key = req.headers.get("Idempotency-Key")
            if key and key in self.by_idempotency:
                return self._json(self.by_idempotency[key])
            sid = "cs_test_" + secrets.token_hex(12)
            session = {"id": sid, "object": "checkout.session", "url": f"https://checkout.stripe.test/c/pay/{sid}", "mode": "payment",
                       "payment_status": "unpaid", "status": "open", "client_reference_id": params.get("client_reference_id"),
                       "metadata": params.get("metadata", {}), "payment_intent": "pi_test_" + secrets.token_hex(12),
                       "amount_total": int(params["line_items"][0]["price_data"]["unit_amount"]), "currency": params["line_items"][0]["price_data"]["currency"],
                       "payment_intent_data": params.get("payment_intent_data", {})}
            self.sessions[sid] = session
            if key:
                self.by_idempotency[key] = session
            return self._json(session)
        if req.method == "GET" and req.path.startswith("/v1/checkout/sessions/"):
            s = self.sessions.get(req.path.rsplit("/", 1)[1])
            return self._json(s) if s else self._error(404, "No such checkout.session", "invalid_request_error")
        return self._error(404, f"Unrecognized request URL ({req.method}: {req.path})", "invalid_request_error")


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"


def event(type_: str, obj: dict[str, Any], *, created: int | None = None, event_id: str | None = None) -> bytes:
    return json.dumps({"id": event_id or "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2024-06-20", "type": type_,
                       "created": created or int(time.time()), "livemode": False, "data": {"object": obj}}).encode()
