from django.urls import path

from keel.constants import READY_PATH
from keel.health import views

# /healthz is answered by keel.health.middleware.HealthCheckMiddleware, before routing.
urlpatterns = [
    path(READY_PATH.lstrip("/"), views.readyz, name="readyz"),
]
