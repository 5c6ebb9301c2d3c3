"""The application: the factory that wires every domain and port (`create_app`), the Celery
worker, the server's CLI (`marketplace`), the demo seed, and the health endpoints.

gunicorn: `'marketplace.app:create_app()'`.
"""

from marketplace.app.factory import create_app

__all__ = ["create_app"]
