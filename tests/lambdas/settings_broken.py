"""The suite's settings with a function whose handler path is wrong."""

from tests.settings import *  # noqa: F403

KEEL_LAMBDAS = {"legacy-orders": {"handler": "legacy.orders.handler"}}
