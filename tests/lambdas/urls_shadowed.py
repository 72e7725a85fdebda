"""A URLconf whose own catch-all comes before keel.lambdas.urls."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path


def legacy_orders(request: HttpRequest, rest: str) -> HttpResponse:
    return HttpResponse("the old orders view")


urlpatterns = [
    re_path(r"^orders/(?P<rest>.+)$", legacy_orders),
    path("", include("keel.lambdas.urls")),
]
