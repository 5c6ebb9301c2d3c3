"""Normalising the paths of files inside a version."""

from __future__ import annotations

import posixpath
import unicodedata

MAX_PATH = 1024


def normalise_path(raw: str) -> str:
    """Return the canonical form of a file path, or raise ValueError saying what is wrong.

    Paths are relative, '/'-separated, NFC-normalised; '.' segments and repeated slashes are
    folded; '..', absolute paths, backslashes and control characters are refused.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("The path is empty.")
    path = unicodedata.normalize("NFC", raw.strip())
    if any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in path):
        raise ValueError("The path contains control characters.")
    if "\\" in path:
        raise ValueError("Use '/' to separate folders, not '\\'.")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise ValueError("The path must be relative to the dataset root.")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise ValueError("The path may not contain '..'.")
    if not parts:
        raise ValueError("The path is empty.")
    norm = posixpath.join(*parts)
    if len(norm.encode()) > MAX_PATH:
        raise ValueError(f"The path is longer than {MAX_PATH} bytes.")
    return norm
