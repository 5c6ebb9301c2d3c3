"""A live server for Delta Sharing clients: the application on a real HTTP port (PostgreSQL and
the S3 server, or SQLite and the filesystem store), whose profiles name that port."""

from __future__ import annotations

import socket
import threading
from typing import Any, Iterator

import pytest
from werkzeug.serving import make_server

from marketplace.app import create_app

_sites: dict[str, Any] = {}


class Site:
    def __init__(self, app: Any, base: str) -> None:
        self.app, self.base = app, base


@pytest.fixture
def site(backend: str, make_settings) -> Iterator[Site]:
    """One live server per backend for the session; each test works in its own tenants, with
    committed rows (the server's threads see only committed data)."""
    if backend not in _sites:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        app = create_app(make_settings(backend, public_url=base))
        srv = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        _sites[backend] = Site(app, base)
    site = _sites[backend]
    with site.app.app_context():
        yield site
        site.app.extensions["db"].remove()
