"""Chinese, Japanese and Korean text has no spaces between words, so a search index that splits
on spaces sees a whole sentence as one word and 影像 inside a card is never found. Both backends
index overlapping character pairs (bigrams) of every CJK run as well, and a CJK query is searched
as the pairs it is made of: the standard n-gram approach, with no dictionary to maintain and the
same behaviour on PostgreSQL and SQLite."""

from __future__ import annotations

import re

# Hiragana, katakana, CJK unified ideographs (with extension A and compatibility), Hangul syllables.
CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")


def pairs(run: str) -> list[str]:
    """The overlapping character pairs of one CJK run (a single character stands alone)."""
    return [run] if len(run) < 2 else [run[i:i + 2] for i in range(len(run) - 1)]


def index_terms(text: str) -> str:
    """Every CJK pair in `text`, space-separated, for the index."""
    return " ".join(p for run in CJK_RUN.findall(text) for p in pairs(run))


def query_terms(terms: list[str]) -> list[str]:
    """Query words with each CJK run replaced by its pairs (all of which must match)."""
    out: list[str] = []
    for t in terms:
        runs = CJK_RUN.findall(t)
        if runs and "".join(runs) == t:
            out.extend(pairs(t))
        else:
            out.append(t)
    return out
