"""Serves the filesystem store's signed URLs, so the embedded default behaves like S3:
clients GET objects (with Range) and PUT multipart parts straight to these URLs.

Only registered when the configured store is a :class:`FilesystemObjectStore`.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file

from catalog.storage import object_store
from catalog.storage.base import CRC32_HEADER, ObjectStore
from catalog.storage.filesystem import FilesystemObjectStore, SignedUrlRefused

bp = Blueprint("fs_storage", __name__, url_prefix="/storage/fs")
PREVIEW_TYPES = {"ogg": "audio/ogg", "jpg": "image/jpeg"}


def _store() -> FilesystemObjectStore:
    store = object_store()
    assert isinstance(store, FilesystemObjectStore)
    return store


@bp.get("/<path:token>")
def get_object(token: str) -> Response:
    store = _store()
    payload = store.verify_token(token, "get")
    path = store.object_path(payload["key"])
    # Previews are named by what they are (.ogg, .jpg), and players want to be told; data
    # objects stay opaque bytes, as S3 serves what was put without a type.
    mimetype = PREVIEW_TYPES.get(payload["key"].rsplit(".", 1)[-1], "application/octet-stream") if payload["key"].startswith("previews/") else "application/octet-stream"
    # send_file answers Range requests (206) so interrupted downloads resume.
    resp = send_file(path, mimetype=mimetype, as_attachment=bool(payload.get("fn")), download_name=payload.get("fn") or None, conditional=True, etag=False, max_age=0)
    # Bought data, behind a short-lived URL: no cache may keep a copy.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def put_part(token: str) -> Response:
    store = _store()
    payload = store.verify_token(token, "part")
    crc32 = payload.get("crc")
    # Like S3 with a signed x-amz-checksum-crc32: the header must carry the value the URL was
    # signed for (403 otherwise), and the body must match it (400 BadDigest, nothing stored).
    if crc32 and request.headers.get(CRC32_HEADER) != crc32:
        raise SignedUrlRefused(f"This URL was signed for a part with a CRC-32: send {CRC32_HEADER}: {crc32}.")
    request.max_content_length = ObjectStore.MAX_PART_SIZE
    etag = store.upload_part(payload["key"], payload["uid"], int(payload["n"]), request.stream, crc32=crc32)
    resp = Response(status=200)
    resp.headers["ETag"] = f'"{etag}"'
    return resp


put_part.accepts_raw_body = True  # type: ignore[attr-defined]
bp.add_url_rule("/<path:token>", "put_part", put_part, methods=["PUT"])
