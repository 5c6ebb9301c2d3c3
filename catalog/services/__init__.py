"""Catalogue services: datasets and versions, uploads, ingest, search."""
