"""Bench-only settings: the example project plus django-tasks-db, measured beside keel."""

from example.settings import *  # noqa: F403
from example.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
