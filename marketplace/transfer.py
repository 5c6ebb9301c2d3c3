"""Parallel, resumable transfers for the CLI and SDK: bytes go straight between this machine and
the object store through presigned URLs; the API only authorises.

Uploads: the file's SHA-256 is computed locally, the file declared, then sent in parts by a pool
of threads; a restarted upload asks the service which parts arrived and sends only the rest.
Downloads: each file is fetched in ranges by a pool of threads into `<name>.part`, with the
ranges done recorded beside it, so an interrupted download resumes; the SHA-256 is checked
before the file takes its name, and files already verified are skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

import requests

from marketplace.client import ApiError, MarketplaceClient

MIB = 1024 * 1024
Progress = Callable[[int], None]


class TransferError(Exception):
    pass


_local = threading.local()


def _session() -> requests.Session:
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=4, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        _local.session = s
    return s


def sha256_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(8 * MIB)
        view = memoryview(buf)
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            size += n
            if progress:
                progress(n)
    return h.hexdigest(), size


# --------------------------------------------------------------------------- upload


def upload(client: MarketplaceClient, version_id: str, local: Path, dest: str, *, workers: int = 8, part_size: int = 16 * MIB,
           small_limit: int = 8 * MIB, progress: Progress | None = None) -> dict[str, Any]:
    """Upload one file into a draft version (resuming an interrupted upload). Returns the file."""
    digest, size = sha256_file(local)
    try:
        f = client.declare_file(version_id, dest, size, digest)
    except ApiError as e:
        if e.status != 409:
            raise
        f = next((x for x in client.files(version_id) if x["path"] == dest), None)
        if f is None or f["sha256"] != digest:
            raise TransferError(f"{dest} is already declared in this version with other content; delete it first.") from None
        f["already_stored"] = f["status"] in ("uploaded", "verified")
    if f.get("already_stored") or f["status"] in ("uploaded", "verified"):
        if progress:
            progress(size)
        return f
    if size <= small_limit:
        out = client.put_content(f["id"], local.read_bytes())
        if progress:
            progress(size)
        return out
    plan = client.start_multipart(f["id"], part_size)
    have = {p["part_number"]: p["etag"] for p in plan["received"]}
    total, psize = plan["part_count"], plan["part_size"]
    if progress and have:
        progress(sum(min(psize, size - (n - 1) * psize) for n in have))
    urls = {p["part_number"]: p["url"] for p in plan["parts"]}
    todo = [n for n in range(1, total + 1) if n not in have]
    lock = threading.Lock()

    def url_for(n: int, refresh: bool = False) -> str:
        with lock:
            if refresh or n not in urls:
                page = client.part_urls(f["id"], first=n, count=1000)
                urls.update({p["part_number"]: p["url"] for p in page["parts"]})
            return urls[n]

    fd = os.open(local, os.O_RDONLY)
    try:
        def send(n: int) -> tuple[int, str]:
            offset = (n - 1) * psize
            length = min(psize, size - offset)
            body = os.pread(fd, length, offset)
            for attempt in range(4):
                try:
                    r = _session().put(url_for(n, refresh=attempt > 0), data=body, timeout=300)
                except requests.RequestException:
                    continue
                if r.status_code == 200:
                    if progress:
                        progress(length)
                    return n, r.headers["ETag"].strip('"')
            raise TransferError(f"part {n} of {dest} failed after 4 attempts")

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for fut in as_completed([pool.submit(send, n) for n in todo]):
                n, etag = fut.result()
                have[n] = etag
    finally:
        os.close(fd)
    return client.complete_multipart(f["id"], [{"part_number": n, "etag": have[n]} for n in sorted(have)])


# --------------------------------------------------------------------------- download


def _verified_index(dest: Path) -> Path:
    return dest / ".marketplace-verified.json"


def download(client: MarketplaceClient, grant_id: str, dest: Path, *, paths: list[str] | None = None, workers: int = 8,
             chunk: int = 16 * MIB, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Download files under a grant into `dest`, resuming and skipping what is already verified."""
    dest.mkdir(parents=True, exist_ok=True)
    index_path = _verified_index(dest)
    verified: dict[str, str] = json.loads(index_path.read_text()) if index_path.exists() else {}
    auth = client.authorize_download(grant_id, paths)
    results = []
    index_lock = threading.Lock()
    for f in auth["files"]:
        target = (dest / f["path"]).resolve()
        if dest.resolve() not in target.parents:
            raise TransferError(f"refusing a path outside the destination: {f['path']}")
        if verified.get(f["path"]) == f["sha256"] and target.exists() and target.stat().st_size == f["size"]:
            if progress:
                progress(f["size"])
            results.append(dict(f, skipped=True))
            continue
        _fetch(client, grant_id, f, target, workers=workers, chunk=chunk, progress=progress)
        with index_lock:
            verified[f["path"]] = f["sha256"]
            index_path.write_text(json.dumps(verified, indent=1))
        results.append(dict(f, skipped=False))
    return results


def _fetch(client: MarketplaceClient, grant_id: str, f: dict[str, Any], target: Path, *, workers: int, chunk: int, progress: Progress | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    state_path = target.with_name(target.name + ".part.json")
    state = json.loads(state_path.read_text()) if state_path.exists() and part.exists() else {}
    if state.get("sha256") != f["sha256"] or state.get("chunk") != chunk:
        state = {"sha256": f["sha256"], "size": f["size"], "chunk": chunk, "done": []}
        with open(part, "wb") as out:
            out.truncate(f["size"])
    done = set(state["done"])
    ranges = [i for i in range((f["size"] + chunk - 1) // chunk) if i not in done]
    if progress and done:
        progress(sum(min(chunk, f["size"] - i * chunk) for i in done))
    url = {"u": f["url"]}
    lock = threading.Lock()
    fd = os.open(part, os.O_WRONLY)
    try:
        def get(i: int) -> int:
            start, end = i * chunk, min(f["size"], (i + 1) * chunk) - 1
            for attempt in range(4):
                try:
                    r = _session().get(url["u"], headers={"Range": f"bytes={start}-{end}"}, timeout=300)
                except requests.RequestException:
                    continue
                if r.status_code in (401, 403):  # the short-lived URL expired: re-authorise (free in the resume window)
                    with lock:
                        fresh = client.authorize_download(grant_id, [f["path"]])["files"][0]["url"]
                        url["u"] = fresh
                    continue
                if r.status_code in (200, 206) and len(r.content) == end - start + 1:
                    os.pwrite(fd, r.content, start)
                    with lock:
                        done.add(i)
                        state["done"] = sorted(done)
                        state_path.write_text(json.dumps(state))
                    if progress:
                        progress(end - start + 1)
                    return i
            raise TransferError(f"range {start}-{end} of {f['path']} failed after 4 attempts")

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for fut in as_completed([pool.submit(get, i) for i in ranges]):
                fut.result()
    finally:
        os.close(fd)
    digest, size = sha256_file(part)
    if digest != f["sha256"] or size != f["size"]:
        part.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
        raise TransferError(f"{f['path']}: SHA-256 mismatch after download; the partial file was discarded, run again")
    os.replace(part, target)
    state_path.unlink(missing_ok=True)
