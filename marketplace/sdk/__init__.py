"""The Python SDK: what a model builder installs on a laptop or a training cluster.

    from marketplace.sdk import MarketplaceClient, upload, download

It imports nothing of the server (no Flask, SQLAlchemy, Alembic or Celery; a test checks this in
a fresh interpreter): `requests` for HTTP, the standard library, and the kernel's pure helpers
for money and checksums.
"""

from marketplace.formats.money import Money, format_money
from marketplace.sdk.client import ApiError, ConnectionFailed, MarketplaceClient
from marketplace.sdk.transfer import TransferError, download, upload

__all__ = ["ApiError", "ConnectionFailed", "MarketplaceClient", "Money", "TransferError", "download", "format_money", "upload"]
