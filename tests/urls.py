"""The example project's URLs plus endpoints that only tests need."""

from django.urls import path

from example.urls import handler400, handler403, handler404, handler500, urlpatterns
from tests import views

urlpatterns = [
    *urlpatterns,
    path("test/boom/", views.boom),
    path("test/slow/", views.slow),
    path("test/secure/", views.secure),
    path("test/plain-stream/", views.plain_stream),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
