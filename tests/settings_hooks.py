"""Settings for the role-hook tests: Django's own apps plus two apps with keel hooks."""

import os

from keel.conf import database_config
from keel.logs import logging_config

SECRET_KEY = "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    *(
        []
        if os.environ.get("KEEL_TEST_NO_HOOKS")
        else [
            "tests.hooks_app.apps.FirstHooksConfig",
            "tests.hooks_app.second.apps.SecondHooksConfig",
        ]
    ),
]
DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = logging_config("INFO")
