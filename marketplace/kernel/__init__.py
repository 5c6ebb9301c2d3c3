"""The kernel shared by every domain: configuration, database, errors, identity, audit.

The kernel imports no domain package (`catalog`, `licensing`, commerce...). Domains import it.
"""
