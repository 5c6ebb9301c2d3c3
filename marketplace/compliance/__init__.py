"""Compliance reports: per-version provenance reports and per-buyer data bills of materials."""
