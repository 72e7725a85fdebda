"""Include under ``console/``: ``path("console/", include("keel.agents.console.urls"))``.

The pages call the runs API's event stream and list, so ``keel.agents.urls`` must be
included too (system check keel.E011).
"""

from django.urls import path

from keel.agents.console import views

app_name = "keel_console"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("new/<str:agent>/", views.run_new, name="run-new"),
    path("runs/<uuid:run_id>/", views.run_detail, name="run"),
    path("runs/<uuid:run_id>/cancel/", views.run_cancel, name="run-cancel"),
]
