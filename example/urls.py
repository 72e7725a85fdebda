from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from example.demo import views as demo
from example.demo.home import home

urlpatterns = [
    path("", home, name="home"),
    path("", include("keel.health.urls")),
    path("admin/", admin.site.urls),
    path("api/ping/", demo.PingApi.as_view(), name="ping"),
    path("api/echo/", demo.EchoApi.as_view(), name="echo"),
    path("api/", include("keel.agents.urls")),
    # The run console (keel.agents.console): sign in, start runs, watch them stream.
    path("console/", include("keel.agents.console.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("demo/json/", demo.hello_json, name="demo-json"),
    path("demo/stream/", demo.demo_stream, name="demo-stream"),
]

handler400 = "keel.errors.bad_request"
handler403 = "keel.errors.permission_denied"
handler404 = "keel.errors.not_found"
handler500 = "keel.errors.server_error"
