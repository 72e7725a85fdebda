"""Include at the root: ``path("", include("keel.lambdas.urls"))``.

Every declared HTTP function's paths, and Lambda's Invoke API at
``/2015-03-31/functions/<name>/invocations``.
"""

from django.urls import path, re_path

from keel.lambdas import http_views, invoke_api

app_name = "keel_lambdas"

urlpatterns = [
    path(
        "2015-03-31/functions/<str:function_name>/invocations",
        invoke_api.invoke,
        name="invoke",
    ),
    *(re_path(route.regex, route) for route in http_views.routes()),
]
