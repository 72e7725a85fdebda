from django.urls import path

from keel.health import views
from keel.runtime.constants import READY_PATH

# /healthz is answered by keel.health.middleware.HealthCheckMiddleware, before routing.
urlpatterns = [
    path(READY_PATH.lstrip("/"), views.readyz, name="readyz"),
]
