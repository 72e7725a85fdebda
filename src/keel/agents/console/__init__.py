"""The run console: sign in, start a run, watch it stream, cancel it (``/console/``).

Django templates and three small static scripts (EventSource; no front-end build), under
a strict Content-Security-Policy set by the views themselves. Include it under
``console/``: ``path("console/", include("keel.agents.console.urls"))``.
"""
