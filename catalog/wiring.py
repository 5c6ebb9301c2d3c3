"""How the catalogue plugs into the application: its API blueprint, its ingest job, and, when
the object store is the filesystem adapter, the endpoints that serve that store's signed URLs."""

from __future__ import annotations

from flask import Flask

from catalog.access_api import blp as access_blp
from catalog.api import blp
from catalog.overlap.api import blp as overlap_blp
from catalog.services import ingest
from catalog.storage import object_store
from catalog.storage.api import bp as fs_storage_bp
from catalog.storage.filesystem import FilesystemObjectStore
from marketplace.kernel.http import Api

# Importing the ingest service registers its job with the job port (the @job decorator).
JOBS = (ingest.ingest_version,)


def init_app(app: Flask, api: Api) -> None:
    """Register the catalogue's endpoints (after the object store port is wired)."""
    api.register_blueprint(blp)
    api.register_blueprint(access_blp)
    api.register_blueprint(overlap_blp)
    with app.app_context():
        if isinstance(object_store(), FilesystemObjectStore):
            app.register_blueprint(fs_storage_bp)
