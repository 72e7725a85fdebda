"""WSGI application for ``keel web --server wsgi`` (gunicorn gthread).

The project's own (``settings.WSGI_APPLICATION``, as ``runserver`` uses it), else Django's.
"""

from django.core.servers.basehttp import get_internal_wsgi_application

from keel.conf import ensure_settings_module

ensure_settings_module()

application = get_internal_wsgi_application()
