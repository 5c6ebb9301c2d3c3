"""Dataset marketplace and licensing registry.

This package imports nothing on its own: the server is wired by `marketplace.app.create_app()`
(gunicorn: `'marketplace.app:create_app()'`), and the SDK (`marketplace.sdk`) loads no server
code, so a training cluster can use the client without Flask or SQLAlchemy.
"""
