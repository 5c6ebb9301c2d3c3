"""The HTTP side of webhooks: Standard Webhooks signatures, and one POST guarded against SSRF.

A webhook URL is chosen by a tenant, and the server makes the request, so the URL could point at
the operator's own network (a metadata service, a database's HTTP port). The guard:

- only http and https, on a host name or a public address;
- the name is resolved once and every address it gives must be public (not private, loopback,
  link-local, multicast, reserved or unspecified, including IPv4 inside IPv6), unless the
  operator allows private targets (tests do, on loopback);
- the connection goes to the address that was checked (no second lookup a rebinding DNS server
  could answer differently); TLS still verifies the certificate for the host name;
- redirects are never followed (a 3xx is a failed attempt), so a redirect cannot lead inside;
- each socket operation times out, and a watchdog ends the whole attempt at the same limit
  (a receiver trickling bytes cannot hold it open); at most `MAX_RESPONSE_BYTES` are read.

Signing uses the `standardwebhooks` library (the reference implementation of the specification).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from standardwebhooks import Webhook

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "dataset-marketplace-webhooks/1"


class UnsafeTarget(ValueError):
    """The URL may not be called (scheme, host, or an address inside the operator's network)."""


class Unresolvable(UnsafeTarget):
    """The host name does not resolve (now): not unsafe, but nothing can be delivered."""


@dataclass(frozen=True)
class Response:
    status_code: int | None
    elapsed_ms: int
    excerpt: str | None
    error: str | None


def sign(secrets: list[str], msg_id: str, timestamp: datetime, body: str) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated (during a
    rotation both the new and the previous secret sign)."""
    return " ".join(Webhook(s).sign(msg_id, timestamp, body) for s in secrets)


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 inside IPv6 (mapped, 6to4, Teredo) is judged by the IPv4 address it carries.
        embedded = [a for a in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())) if a is not None]
        if embedded:
            return all(_public(a) for a in embedded) and (ip.ipv4_mapped is not None or ip.is_global)
    site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local  # fec0::/10: deprecated, still internal
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_loopback or ip.is_link_local or ip.is_private
                                 or site_local)


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL a webhook may be sent to, before any lookup."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UnsafeTarget(f"not a valid URL: {e}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("credentials in the URL are not accepted (receivers authenticate messages by their signature)")
    try:
        host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
    except UnicodeError:
        raise UnsafeTarget("the host name is not a valid internationalised domain name") from None
    # An IRI's non-ASCII path and query are sent percent-encoded (HTTP request lines are ASCII).
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=?~-._")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to: every address the host resolves to must be public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise Unresolvable(f"the host {host!r} does not resolve ({e})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise Unresolvable(f"the host {host!r} does not resolve")
    if not allow_private:
        inside = [str(a) for a in addresses if not _public(a)]
        if inside:
            raise UnsafeTarget(f"the host {host!r} resolves to an address inside a private network ({inside[0]}); webhooks go to public addresses only")
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, body: str, headers: dict[str, str], *, allow_private: bool, timeout: float = 10.0) -> Response:
    """POST `body` once. Never raises for the receiver's failures: they are the Response."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        scheme, host, port, path = check_url(url)
        address = resolve(host, port, allow_private=allow_private)
    except UnsafeTarget as e:
        return Response(None, took(), None, f"refused: {e}")
    cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    conn = cls(host, port, address, timeout)
    # `timeout` bounds each socket operation; the watchdog bounds the whole attempt, so a receiver
    # that trickles a byte at a time cannot hold it (and a worker) for longer.
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        if conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", path, body=body.encode(), headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT})
        resp = conn.getresponse()
        data = resp.read(MAX_RESPONSE_BYTES)
        if expired.is_set():
            return Response(None, took(), None, f"timed out: the attempt took longer than {timeout:g} s")
        excerpt = data[:1000].decode("utf-8", "replace")
        error = None
        if 300 <= resp.status < 400:
            error = f"redirects are not followed (answered {resp.status})"
        return Response(resp.status, took(), excerpt, error)
    except (OSError, http.client.HTTPException, ValueError) as e:
        kind = "timed out" if isinstance(e, (socket.timeout, TimeoutError)) or expired.is_set() else type(e).__name__
        return Response(None, took(), None, f"{kind}: {e}"[:500])
    finally:
        watchdog.cancel()
        conn.close()
