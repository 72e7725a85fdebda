"""A seeded mistake for ``keel preflight``: the health middleware after host validation.

With HealthCheckMiddleware behind SecurityMiddleware and CommonMiddleware, the ALB's
health check (``Host: <task IP>``) is refused with 400 before it reaches keel's answer.
"""

from tests.settings import *  # noqa: F403
from tests.settings import MIDDLEWARE

_HEALTH = "keel.health.middleware.HealthCheckMiddleware"
_COMMON = "django.middleware.common.CommonMiddleware"

MIDDLEWARE = [entry for entry in MIDDLEWARE if entry != _HEALTH]
MIDDLEWARE.insert(MIDDLEWARE.index(_COMMON) + 1, _HEALTH)
