"""Dataset marketplace and licensing registry.

`create_app()` in :mod:`marketplace.app` wires the whole product; nothing in this package
creates an application at import time.
"""

from marketplace.app import create_app

__all__ = ["create_app"]
