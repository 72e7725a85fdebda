"""Settings for the example project: 12-factor, every value from the environment.

All reads go through ``keel.conf.env``, which stops the process at start-up with the
variable's name when a value is missing or malformed. docs/configuration.md lists every
variable; the production set there passes ``keel manage check --deploy`` clean.
"""

import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from keel.conf import database_config, env
from keel.ecs import task_allowed_hosts
from keel.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DEBUG", False)
# Outside DEBUG there is no default: a forgotten key must stop the process, not sign
# sessions with a value published in this file.
SECRET_KEY = (
    env.string("SECRET_KEY", "django-insecure-local-development-only")
    if DEBUG
    else env.string("SECRET_KEY")
)
ALLOWED_HOSTS = [
    *(
        env.items("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
        if DEBUG
        else env.items("ALLOWED_HOSTS")
    ),
    # On ECS: the task's private IPs, for callers inside the VPC (keel.E003 checks).
    *task_allowed_hosts(),
]
CSRF_TRUSTED_ORIGINS = env.items("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "keel.health",
    "keel.streaming",
    "keel.tasks",
    "keel.agents",
    "example.demo",
]

MIDDLEWARE = [
    # First, always: answers the ALB's /healthz before anything validates the Host
    # header or redirects to HTTPS (system check keel.E001 enforces the position).
    "keel.health.middleware.HealthCheckMiddleware",
    "keel.middleware.RequestIdMiddleware",
    "keel.middleware.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Never Django's GZipMiddleware: it buffers event streams (system check keel.E002).
    "keel.streaming.middleware.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "keel.middleware.JsonErrorMiddleware",
]

ROOT_URLCONF = "example.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_config(base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.string("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names (cacheable forever) once collectstatic has written the manifest,
        # as the image build does; plain names before that, on a developer's machine.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if (STATIC_ROOT / "staticfiles.json").exists()
        else "whitenoise.storage.CompressedStaticFilesStorage",
    },
}
WHITENOISE_MAX_AGE = 31_536_000 if not DEBUG else 0

# Request bodies above this are refused with 413 (keel.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("MAX_REQUEST_BODY_BYTES", 1_048_576, minimum=1024)

# HTTPS. The ALB terminates TLS; gunicorn marks a request secure only when
# X-Forwarded-Proto comes from FORWARDED_ALLOW_IPS, so Django needs no
# SECURE_PROXY_SSL_HEADER (which would trust the header from anyone).
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# "<count>/<s|min|h|day>", as DRF writes rates; "off" disables the limit.
RUNS_CREATE_RATE = env.string("RUNS_CREATE_RATE", "60/min")
if RUNS_CREATE_RATE == "off":
    RUNS_CREATE_RATE = None
elif not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", RUNS_CREATE_RATE):
    raise ImproperlyConfigured(
        f"RUNS_CREATE_RATE={RUNS_CREATE_RATE!r} must look like 60/min (or be off)."
    )

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "keel.errors.exception_handler",
    # Run creation per user (keel.agents.throttles counts runs in the database, so the
    # limit holds across every process and task without a shared cache).
    "DEFAULT_THROTTLE_RATES": {"runs": RUNS_CREATE_RATE},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Keel example API",
    "DESCRIPTION": "Agent runs and their event streams.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, so a required string says minLength 1
    # (the server refuses a blank one) without claiming the same of responses.
    "COMPONENT_SPLIT_REQUEST": True,
    # The runs events stream is a plain Django view (SSE); these hooks document it and
    # link a created run's id to the endpoints that take it (keel.agents.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "keel.agents.schema.add_run_events_endpoint",
        "keel.agents.schema.add_run_links",
    ],
}

# The demo endpoints (example/demo/views.py) answer anonymous callers only where this is
# on: by default under DEBUG (`make run`), never in production (docs/configuration.md).
DEMO_ENDPOINTS_PUBLIC = env.boolean("DEMO_ENDPOINTS_PUBLIC", DEBUG)

# Background work as Django tasks (django.tasks), run durably by `keel worker`
# (keel.tasks, docs/tasks.md). Each queue has its own limits, so a slow report can never
# take the slots webhooks need.
TASKS = {
    "default": {
        "BACKEND": "keel.tasks.backend.DurableBackend",
        "QUEUES": ["default", "reports", "webhooks"],
        "OPTIONS": {
            "queues": {
                "reports": {"concurrency": 2, "worker_concurrency": 1},
                "webhooks": {"worker_concurrency": 5, "rate_limit": {"limit": 20, "period": 1}},
            }
        },
    }
}

# Agent runs (keel.agents): the modules that register this project's agents. Every other
# keel setting has its default in keel and an environment variable (docs/configuration.md).
KEEL_AGENT_MODULES = ["keel.agents.demo"]

# This project's own agents, declared (keel.agents.declared; docs/agents.md is the
# template). The model is a default: AGENT_SUPPORT_MODEL=openai:gpt-4o-mini (or
# anthropic:..., bedrock:...) in the environment puts the same agent on a provider, whose
# credentials come from its own variables or the ECS task role, never from here.
KEEL_AGENTS = {
    "support": {
        "model": "scripted:example.support.scripted.support_model",
        "instructions": (
            "You are the support assistant of an online shop. Search the help centre "
            "before answering; when the customer names an order, look up its status. "
            "Answer in two or three sentences, from what the tools returned."
        ),
        "tools": "example.support.tools",
        "input_serializer": "example.support.inputs.SupportInput",
        "prompt": "example.support.inputs.support_prompt",
        "time_limit": 300,
        "runs_per_user": 2,
    }
}

LOGGING = logging_config(env.string("LOG_LEVEL", "INFO").upper())
