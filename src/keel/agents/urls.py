"""Include under ``api/``: ``path("api/", include("keel.agents.urls"))``."""

from django.urls import path

from keel.agents import apis

app_name = "keel_agents"

urlpatterns = [
    path("runs/", apis.RunListCreateApi.as_view(), name="runs"),
    path("runs/<uuid:run_id>/", apis.RunDetailApi.as_view(), name="run"),
    path("runs/<uuid:run_id>/cancel/", apis.RunCancelApi.as_view(), name="run-cancel"),
    path("runs/<uuid:run_id>/events/", apis.run_events, name="run-events"),
]
