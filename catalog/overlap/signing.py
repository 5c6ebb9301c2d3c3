"""Record signatures for overlap detection: an exact hash of the normalised record and a MinHash
signature of its text, with the LSH band keys that find near-duplicates.

Text is normalised the way a launderer's edits are undone: NFKC, case folded, punctuation and
whitespace dropped. Latin-script text is shingled by three consecutive words; CJK has no spaces,
so each Han, kana or Hangul character is a token and shingles are three consecutive characters.
A record is its text fields' values, taken as a set (renaming or reordering columns changes
nothing).

MinHash signatures come from rensa (Rust): a batch of records' shingle sets is signed in one
call. It measured 5-10x datasketch's speed on the same shingles, and this module's own numpy
version (`benchmarks/overlap.py`, README): what remains is Python's tokenising. The LSH index
itself is ours, in the database (`catalog.overlap.models`), because datasketch's LSH lives in
memory or in Redis or Cassandra and the index must be one of the product's tables.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import rensa

NUM_PERM = 120  # the estimate's values
BANDS = 12
ROWS = 4  # the first 48 values make the bands: P(candidate) = 1-(1-J^4)^12 is 0.998 at J=0.8, 0.81 at 0.6, 0.09 at 0.3
MIN_SHINGLES = 5  # fewer: matched by the exact hash only (a three-word record's bands would be crowded, its Jaccard coarse)
SHINGLE = 3
NEAR = 0.8  # the Jaccard from which two records are near-duplicates
# Between these estimates the shingle sets are compared exactly; outside, the estimate is more
# than 4 standard deviations (0.037 at J = 0.8 with 120 values) from the threshold.
UNSURE, SURE = 0.62, 0.96

_rng = np.random.default_rng(20261201)  # fixed: band keys must agree across processes and releases
SEED = 0x6F7665726C6170
_BAND_MIX = _rng.integers(1, 2**63, size=(ROWS,), dtype=np.uint64) | np.uint64(1)
_BAND_SALT = _rng.integers(0, 2**63, size=(BANDS,), dtype=np.uint64)

# Han, Hiragana, Katakana, Hangul: one token per character. Everything else: runs of letters and digits.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


ALGORITHM = f"rensa-r{rensa.RMinHash.ALGORITHM_VERSION}-p{NUM_PERM}-b{BANDS}x{ROWS}-k{SHINGLE}-m{MIN_SHINGLES}"  # signatures of another algorithm do not compare


MAX_TEXT = 1 << 20  # characters of one record signed at most: a 16 MiB line is 1 MiB of evidence, not 500 MB of shingles


def normalise(text: str) -> str:
    """NFKC, case folded; outside ASCII, also without format characters (zero-width spaces and
    joiners, soft hyphens: invisible, so a launderer's favourite) and combining marks (accents
    and diacritics written as separate characters), so that neither splits a word. What the
    exact hash and the shingles are computed on. Lone surrogates (valid in JSON, not in UTF-8)
    become '?'."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT]
    if text.isascii():
        return text.lower()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKD", text).translate(_invisible())).casefold()


@functools.cache
def _invisible() -> dict[int, None]:
    """Every combining mark and format character (Unicode categories Mn, Me, Cf), as a deletion
    table for str.translate (4-6 us a value; a regular expression of the same class was 3x
    slower). Built once, on first use."""
    return dict.fromkeys(c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Mn", "Me", "Cf"))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(normalise(text))


def exact_key(values: Sequence[str]) -> int:
    """A signed 64-bit hash of the record's normalised text values as a set: equal for records
    that differ only in case, width forms, punctuation, whitespace or column order and names."""
    return _exact([tokens(v) for v in values])


def _exact(toks: list[list[str]]) -> int:
    canon = sorted({" ".join(t) for t in toks} - {""})
    digest = hashlib.blake2b("\x1f".join(canon).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Signed:
    """A batch of signed records: row i describes record i."""

    exact: np.ndarray  # int64 (n,)
    signature: np.ndarray  # uint16 (n, NUM_PERM): the low 16 bits of each MinHash value
    bands: np.ndarray  # int64 (n, BANDS)
    has_text: np.ndarray  # bool (n,)
    bandable: np.ndarray  # bool (n,): enough distinct shingles to be banded

    def __len__(self) -> int:
        return len(self.exact)


def shingles(values: Sequence[str]) -> list[str]:
    """A record's shingles: three consecutive tokens within one value (a shorter value is one
    shingle). Duplicates are harmless: MinHash takes each shingle's minimum once."""
    return _shingles([tokens(v) for v in values])


def _shingles(toks: list[list[str]]) -> list[str]:
    out: list[str] = []
    for t in toks:
        if len(t) < SHINGLE:
            if t:
                out.append(" ".join(t))
            continue
        out += [f"{a} {b} {c}" for a, b, c in zip(t, t[1:], t[2:], strict=False)]
    return out


def sign(records: Sequence[Sequence[str]]) -> Signed:
    """Sign a batch of records, each given as its text values."""
    n = len(records)
    toks = [[tokens(v) for v in _capped(values)] for values in records]
    sets = [_shingles(t) for t in toks]
    exact = np.fromiter((_exact(t) for t in toks), dtype=np.int64, count=n)
    has_text = np.fromiter((bool(s) for s in sets), dtype=bool, count=n)
    bandable = np.fromiter((len(set(s)) >= MIN_SHINGLES for s in sets), dtype=bool, count=n)
    if n:
        full = np.array(rensa.RMinHash.digest_matrix_from_token_sets(sets, NUM_PERM, SEED).to_rows(), dtype=np.uint64).reshape(n, NUM_PERM)
    else:
        full = np.empty((0, NUM_PERM), dtype=np.uint64)
    return Signed(exact, (full & np.uint64(0xFFFF)).astype(np.uint16), band_keys(full), has_text, bandable)


def _capped(values: Sequence[str]) -> Sequence[str]:
    """A record's values up to MAX_TEXT characters in all."""
    if sum(len(v) for v in values) <= MAX_TEXT:
        return values
    out, left = [], MAX_TEXT
    for v in values:
        if left <= 0:
            break
        out.append(v[:left])
        left -= len(v)
    return out


def band_keys(sig: np.ndarray) -> np.ndarray:
    """Each record's BANDS keys (signed 64-bit, for a database BIGINT): band b's key depends on
    its ROWS values and on b, so equal values in different bands do not collide by design."""
    s = sig[:, : BANDS * ROWS].astype(np.uint64).reshape(len(sig), BANDS, ROWS)
    with np.errstate(over="ignore"):
        keys = (s * _BAND_MIX).sum(axis=2, dtype=np.uint64) + _BAND_SALT
        keys ^= keys >> np.uint64(29)
        keys *= np.uint64(0xBF58476D1CE4E5B9)
        keys ^= keys >> np.uint64(32)
    return keys.view(np.int64)


def estimate(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Estimated Jaccard from 16-bit signatures (rows of `a` against `b`): the share of equal
    values, corrected for the 1/65536 chance that two different minima agree in 16 bits."""
    eq = np.count_nonzero(np.asarray(a) == np.asarray(b), axis=-1) / NUM_PERM
    return np.clip((eq - 1 / 65536) / (1 - 1 / 65536), 0.0, 1.0)


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """Exact Jaccard of two records' shingle sets (for tests and the benchmark's check)."""
    sa, sb = set(shingles(a)), set(shingles(b))
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)
