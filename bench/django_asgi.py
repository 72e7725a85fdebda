"""Django's own ASGI application for the example project: the "native ASGI" rows.

keel's default routes the API to a WSGI pool; this is what every request costs when
Django's ASGI handler serves it all (gunicorn -k asgi, uvicorn-worker, granian ASGI).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

application = get_asgi_application()
