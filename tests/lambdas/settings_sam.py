"""The suite's settings with KEEL_LAMBDAS from ``keel lambdas import`` of the sample SAM
template (tests/data/lambda_sam): the module the command wrote, found on PYTHONPATH."""

import importlib

from tests.settings import *  # noqa: F403

KEEL_LAMBDAS = importlib.import_module("sam_lambdas").KEEL_LAMBDAS
