"""Settings for the test suite: the example project's, with test-only URLs.

Process-level tests start ``keel web`` with this module too, so the servers under test
are the real example project plus a few endpoints that only tests need.
"""

import copy
import os
from typing import Any

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "app.example.com,testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from example.settings import *  # noqa: F403
from example.settings import TASKS as EXAMPLE_TASKS

ROOT_URLCONF = "tests.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Queues for the limit audits (tests/e2e/test_tasks_limits.py): "tests-audit" at most
# two of its tasks at once across workers, "tests-per-worker" two on each worker,
# "tests-rate" three starts a second, "tests-serial" one at a time on a worker.
_tasks: Any = copy.deepcopy(EXAMPLE_TASKS)
_tasks["default"]["OPTIONS"]["queues"].update(
    {
        "tests-audit": {"concurrency": 2, "worker_concurrency": 2},
        "tests-per-worker": {"worker_concurrency": 2},
        "tests-rate": {"rate_limit": {"limit": 3, "period": 1}},
        "tests-serial": {"worker_concurrency": 1},
    }
)
_tasks["default"]["QUEUES"] += ["tests-audit", "tests-per-worker", "tests-rate", "tests-serial"]
TASKS = _tasks

# Lambda handlers run unchanged (keel.lambdas, docs/lambdas.md): the handlers of
# tests/lambdas/handlers.py, written the way real ones are.
INSTALLED_APPS = [*INSTALLED_APPS, "keel.lambdas"]  # noqa: F405
from tests.lambdas.functions import KEEL_LAMBDAS  # noqa: E402, F401

# No worker of the suite polls SQS but the tests that start an SQS endpoint (moto) and
# say so with LAMBDA_SQS_POLLING=true.
KEEL_LAMBDA_SQS_POLLING = False
