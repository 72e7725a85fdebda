"""Fixtures for keel's infrastructure tests: each deployment is built once per run."""

from __future__ import annotations

import importlib
import warnings

import pytest

#: The pulumi_aws modules keel uses. Some of their siblings warn at import time that a
#: resource type is deprecated (e.g. ec2's EncryptionControl); those warnings are about
#: types keel never uses, so they are silenced here, for those imports only.
PULUMI_AWS_MODULES = (
    "appautoscaling",
    "cloudwatch",
    "ec2",
    "ecr",
    "ecs",
    "iam",
    "lambda_",
    "lb",
    "rds",
    "secretsmanager",
    "sns",
    "vpc",
    "wafv2",
)

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_aws\.")
    for module in PULUMI_AWS_MODULES:
        # The modules load lazily: touching an attribute runs the import.
        getattr(importlib.import_module(f"pulumi_aws.{module}"), "_utilities", None)

from keel_infra_mocks import (  # noqa: E402
    Deployment,
    cutover_config,
    deploy,
    dev_config,
    existing_database_config,
    stack_file_config,
)


@pytest.fixture(scope="session")
def dev() -> Deployment:
    """The default stack: a new VPC and every default (canary web deployments)."""
    return deploy(dev_config())


@pytest.fixture(scope="session")
def prod() -> Deployment:
    """``infra/Pulumi.prod.yaml``: an existing VPC, HTTPS, extra secrets and Bedrock."""
    return deploy(stack_file_config("prod"))


@pytest.fixture(scope="session")
def dev_file() -> Deployment:
    """``infra/Pulumi.dev.yaml``."""
    return deploy(stack_file_config("dev"))


@pytest.fixture(scope="session")
def cutover() -> Deployment:
    """The dev stack with two routes being cut over from Lambda (``CUTOVER_ROUTES``)."""
    return deploy(cutover_config())


@pytest.fixture(scope="session")
def existing_database() -> Deployment:
    """``infra/Pulumi.prod.yaml`` with an existing database instead of RDS."""
    return deploy(existing_database_config())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The infrastructure tests use no database and no Django: CI runs them once."""
    for item in items:
        if "infra/tests/" in str(item.fspath):
            item.add_marker(pytest.mark.once)
