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
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests

from marketplace.formats.checksums import crc32_b64
from marketplace.sdk.client import ApiError, MarketplaceClient
from marketplace.sdk.types import Download, DownloadFile, File, PartUrl

MIB = 1024 * 1024
HASH_CHUNK = 8 * MIB
MAX_PARTS = 10_000
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


def part_size_for(size: int, wanted: int) -> int:
    """`wanted`, grown to whole MiB when the file would need more than S3's 10,000 parts
    (a 16 MiB part size stops at 156 GiB; vendors upload bigger files than that)."""
    need = -(-size // MAX_PARTS)
    return wanted if need <= wanted else -(-need // MIB) * MIB


def digest_file(path: Path, part_size: int | None = None, progress: Progress | None = None) -> tuple[str, int, list[str]]:
    """The file's SHA-256 and size, and with `part_size` the CRC-32 of every part (as S3's
    x-amz-checksum-crc32). One read of the file: the CRC runs on a helper thread while SHA-256
    runs here (both release the GIL), so the pass costs what SHA-256 alone costs."""
    h = hashlib.sha256()
    crcs: list[str] = []
    running = [0]

    def crc_step(chunk: bytes, ends_part: bool) -> None:
        running[0] = zlib.crc32(chunk, running[0])
        if ends_part:
            crcs.append(crc32_b64(b"", running[0]))
            running[0] = 0

    size = in_part = 0
    pending: deque[Future[None]] = deque()
    with ThreadPoolExecutor(max_workers=1) as helper, open(path, "rb", buffering=0) as f:
        while True:
            chunk = f.read(HASH_CHUNK if not part_size else min(HASH_CHUNK, part_size - in_part))
            if not chunk:
                break
            size += len(chunk)
            in_part += len(chunk)
            ends = bool(part_size) and in_part == part_size
            if ends:
                in_part = 0
            if part_size:
                pending.append(helper.submit(crc_step, chunk, ends))
            h.update(chunk)
            while len(pending) > 2:  # at most a few chunks in memory
                pending.popleft().result()
            if progress:
                progress(len(chunk))
        for fut in pending:
            fut.result()
    if part_size and in_part:
        crcs.append(crc32_b64(b"", running[0]))
    return h.hexdigest(), size, crcs


# --------------------------------------------------------------------------- upload


@dataclass(frozen=True)
class FileDigest:
    """What an upload declares about a local file: its SHA-256 and size, and the CRC-32 of each
    part at the part size it will be sent in."""

    sha256: str
    size: int
    part_size: int
    part_crc32: list[str]


def digest_for_upload(local: Path, part_size: int = 16 * MIB, progress: Progress | None = None) -> FileDigest:
    """Read the file once for upload(); done ahead (the CLI does, with its own progress bar) or by
    upload() itself."""
    psize = part_size_for(local.stat().st_size, part_size)
    sha, size, crcs = digest_file(local, psize, progress)
    return FileDigest(sha, size, psize, crcs)


def upload(client: MarketplaceClient, version_id: str, local: Path, dest: str, *, workers: int = 8, part_size: int = 16 * MIB,
           small_limit: int = 8 * MIB, progress: Progress | None = None, note: Callable[[str], None] | None = None,
           digest: FileDigest | None = None) -> File:
    """Upload one file into a draft version (resuming an interrupted upload). Returns the file.
    `note` hears what a person would want to know (a resumed upload, parts sent again);
    `digest` is the file's digest_for_upload() when the caller already has it.

    Every part goes with its CRC-32, and its URL is signed for it: the store refuses a part
    damaged on the way (it is sent again) rather than the whole file failing its SHA-256 at
    ingest. A part refused four times means the local file changed during the upload."""
    d = digest or digest_for_upload(local, part_size)
    if local.stat().st_size != d.size:
        raise TransferError(f"{dest} changed size since it was hashed; run the upload again.")
    size, psize = d.size, d.part_size
    f: File
    try:
        created = client.declare_file(version_id, dest, size, d.sha256)
        f, stored = created, bool(created.get("already_stored"))
    except ApiError as e:
        if e.status != 409:
            raise
        existing = next((x for x in client.files(version_id) if x["path"] == dest), None)
        if existing is None or existing["sha256"] != d.sha256:
            raise TransferError(f"{dest} is already declared in this version with other content; delete it first.") from None
        f, stored = existing, False
    if stored or f["status"] in ("uploaded", "verified"):
        if progress:
            progress(size)
        return f
    if size <= small_limit:
        out = client.put_content(f["id"], local.read_bytes())
        if progress:
            progress(size)
        return out
    plan = client.start_multipart(f["id"], psize, part_checksums=d.part_crc32)
    have = {p["part_number"]: p["etag"] for p in plan["received"]}
    total, psize = plan["part_count"], plan["part_size"]
    if have:
        if note:
            note(f"{dest}: resuming, {len(have)} of {total} parts already stored")
        if progress:
            progress(sum(min(psize, size - (n - 1) * psize) for n in have))
    urls = {p["part_number"]: p for p in plan["parts"]}
    todo = [n for n in range(1, total + 1) if n not in have]
    lock = threading.Lock()

    def url_for(n: int, refresh: bool = False) -> PartUrl:
        with lock:
            if refresh or n not in urls:
                page = client.part_urls(f["id"], first=n, count=1000)
                urls.update({p["part_number"]: p for p in page["parts"]})
            return urls[n]

    fd = os.open(local, os.O_RDONLY)
    try:
        def send(n: int) -> tuple[int, str]:
            offset = (n - 1) * psize
            length = min(psize, size - offset)
            body = os.pread(fd, length, offset)
            why = "no answer"
            for attempt in range(4):
                target = url_for(n, refresh=attempt > 0)
                try:
                    r = _session().put(target["url"], data=body, headers=target.get("headers") or {}, timeout=300)
                except requests.RequestException as e:
                    why = type(e).__name__
                    continue
                if r.status_code == 200:
                    if progress:
                        progress(length)
                    return n, r.headers["ETag"].strip('"')
                why = f"HTTP {r.status_code}"
                if note:
                    note(f"{dest}: part {n} refused ({why}), sending it again")
                if r.status_code == 400 and attempt == 0:  # refused as damaged: read it again from disk
                    body = os.pread(fd, length, offset)
            raise TransferError(f"part {n} of {dest} failed after 4 attempts ({why})"
                                + ("; the storage refused its checksum: did the file change during the upload?" if why == "HTTP 400" else ""))

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for fut in as_completed([pool.submit(send, n) for n in todo]):
                n, etag = fut.result()
                have[n] = etag
    finally:
        os.close(fd)
    return client.complete_multipart(f["id"], [{"part_number": n, "etag": have[n]} for n in sorted(have)])


# --------------------------------------------------------------------------- download


class DownloadedFile(DownloadFile, total=False):
    """A file the grant covers, as downloaded: `skipped` when it was already there and verified."""

    skipped: bool


def _verified_index(dest: Path) -> Path:
    return dest / ".marketplace-verified.json"


RECEIPT = ".marketplace-receipt.json"


def read_receipt(dest: Path) -> dict[str, Any]:
    """What was downloaded into `dest`, by grant: version, manifest digest and each verified file's
    SHA-256 (`marketplace model attach --from-downloads` reads it)."""
    path = dest / RECEIPT
    return json.loads(path.read_text()) if path.exists() else {"grants": {}}


def _write_receipt(dest: Path, auth: Download, files: dict[str, str]) -> None:
    receipt = read_receipt(dest)
    entry = receipt["grants"].setdefault(auth["grant_id"], {"files": {}})
    if entry.get("version_id") not in (None, auth["version_id"]):
        entry["files"] = {}  # a newer version into the same folder: the receipt names what is there now
    entry.update(version_id=auth["version_id"], version=auth["version"], manifest_digest=auth["manifest_digest"])
    entry["files"].update(files)
    (dest / RECEIPT).write_text(json.dumps(receipt, indent=1, sort_keys=True))


def download(client: MarketplaceClient, grant_id: str, dest: Path, *, paths: list[str] | None = None, workers: int = 8,
             chunk: int = 16 * MIB, progress: Progress | None = None, authorization: Download | None = None) -> list[DownloadedFile]:
    """Download files under a grant into `dest`, resuming and skipping what is already verified.
    `authorization`: an answer of authorize_download the caller already has (to size a progress
    bar), so the grant is not asked twice."""
    dest.mkdir(parents=True, exist_ok=True)
    index_path = _verified_index(dest)
    verified: dict[str, str] = json.loads(index_path.read_text()) if index_path.exists() else {}
    auth = authorization if authorization is not None else client.authorize_download(grant_id, paths)
    results: list[DownloadedFile] = []
    index_lock = threading.Lock()
    for f in auth["files"]:
        target = (dest / f["path"]).resolve()
        if dest.resolve() not in target.parents:
            raise TransferError(f"refusing a path outside the destination: {f['path']}")
        if verified.get(f["path"]) == f["sha256"] and target.exists() and target.stat().st_size == f["size"]:
            if progress:
                progress(f["size"])
            results.append({**f, "skipped": True})
            continue
        _fetch(client, grant_id, f, target, workers=workers, chunk=chunk, progress=progress)
        with index_lock:
            verified[f["path"]] = f["sha256"]
            index_path.write_text(json.dumps(verified, indent=1))
        results.append({**f, "skipped": False})
    _write_receipt(dest, auth, {f["path"]: f["sha256"] for f in auth["files"]})
    return results


class _OrderedHasher:
    """SHA-256 of a file being written out of order: a helper thread hashes each range as soon as
    it and every range before it are on disk (read back from the page cache), so the digest is
    ready when the last range lands instead of costing a second pass over the file."""

    def __init__(self, fd: int, size: int, chunk: int, done: set[int]):
        self.fd, self.size, self.chunk = fd, size, chunk
        self.count = (size + chunk - 1) // chunk
        self.done = set(done)
        self.cv = threading.Condition()
        self.failed = False
        self.sha = hashlib.sha256()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def landed(self, i: int) -> None:
        with self.cv:
            self.done.add(i)
            self.cv.notify()

    def stop(self) -> None:
        with self.cv:
            self.failed = True
            self.cv.notify()
        self.thread.join()

    def _run(self) -> None:
        for i in range(self.count):
            with self.cv:
                while i not in self.done and not self.failed:
                    self.cv.wait()
                if self.failed:
                    return
            start = i * self.chunk
            end = min(self.size, start + self.chunk)
            while start < end:
                piece = os.pread(self.fd, min(HASH_CHUNK, end - start), start)
                if not piece:
                    return
                self.sha.update(piece)
                start += len(piece)

    def hexdigest(self) -> str:
        self.thread.join()
        return self.sha.hexdigest()


def _fetch(client: MarketplaceClient, grant_id: str, f: DownloadFile, target: Path, *, workers: int, chunk: int, progress: Progress | None) -> None:
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
    fd = os.open(part, os.O_RDWR)
    hasher = _OrderedHasher(fd, f["size"], chunk, done)
    try:
        def get(i: int) -> int:
            start, end = i * chunk, min(f["size"], (i + 1) * chunk) - 1
            for _attempt in range(4):
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
                    hasher.landed(i)
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
        digest = hasher.hexdigest()
    except BaseException:
        hasher.stop()
        raise
    finally:
        os.close(fd)
    if digest != f["sha256"]:
        part.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
        raise TransferError(f"{f['path']}: SHA-256 mismatch after download; the partial file was discarded, run again")
    os.replace(part, target)
    state_path.unlink(missing_ok=True)
