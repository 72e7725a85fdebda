"""The example project's URLs plus endpoints that only tests need."""

from django.urls import include, path

from example.urls import handler400, handler403, handler404, handler500, urlpatterns
from tests import views
from tests.tasks import views as task_views

urlpatterns = [
    *urlpatterns,
    path("test/boom/", views.boom),
    path("test/slow/", views.slow),
    path("test/secure/", views.secure),
    path("test/plain-stream/", views.plain_stream),
    path("test/partner/", views.partner_call),
    path("test/tasks/", task_views.enqueue),
    path("test/tasks/<str:result_id>/", task_views.result),
    # The Lambda functions of tests.lambdas.functions and the Invoke API.
    path("", include("keel.lambdas.urls")),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
