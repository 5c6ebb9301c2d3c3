"""Overlap detection: which records of a version also appear, exactly or nearly, in other
published versions across the whole catalogue, and how many duplicate each other within it.

Rooms: `signing` (normalised exact hashes, MinHash signatures, LSH band keys), `records` (the
text of each record of a stored file), `models` (the persistent index and the findings),
`services` (index at ingest, findings, the publishing threshold, appeals and overrides), `api`.
"""
