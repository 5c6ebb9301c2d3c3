"""Catalogue: datasets, versions, files, object storage, ingest, search and previews.

Imports only the kernel (`marketplace.kernel`).
"""
