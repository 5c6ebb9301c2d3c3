"""gunicorn settings for the image and the benchmarks: `gunicorn -c python:marketplace.app.gunicorn_conf 'marketplace.app:create_app()'`.

gunicorn names itself and its version in every `Server:` header; a banner tells an attacker
which advisories to try, so it says only "marketplace"."""

import gunicorn.http.wsgi

gunicorn.http.wsgi.SERVER = "marketplace"
