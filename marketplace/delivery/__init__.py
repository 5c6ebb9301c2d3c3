"""Delivery: download authorisation under a grant (check, debit, audit, then presigned URLs)."""
