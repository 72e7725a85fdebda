"""WSGI application for ``keel web --server wsgi`` (gunicorn gthread)."""

from django.core.wsgi import get_wsgi_application

from keel.conf import ensure_settings_module

ensure_settings_module()

application = get_wsgi_application()
