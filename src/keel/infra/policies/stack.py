"""Stack-wide policies: relations between resources no single resource shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from keel.infra.least_privilege import as_list
from keel.infra.policies.rules import (
    ROLE_POLICY,
    SERVICE,
    TASK_DEFINITION,
    containers,
    get,
    reads_secrets,
    statements,
)
from keel.infra.roles import EXECUTION_POLICY_NAME, secret_arn_of

Resources = Iterable[tuple[str, Mapping[str, Any]]]


def injected_secret_arns(task_definitions: Iterable[Mapping[str, Any]]) -> set[str]:
    """Return the ARN of every secret the task definitions inject (JSON keys removed)."""
    return {
        secret_arn_of(str(secret["valueFrom"]))
        for props in task_definitions
        for container in containers(props)
        for secret in container.get("secrets") or []
    }


def readable_secret_arns(policies: Iterable[Mapping[str, Any]]) -> set[str]:
    """Return every secret ARN the IAM policies allow reading."""
    return {
        str(resource)
        for props in policies
        for statement in statements(props)
        if reads_secrets(statement)
        for resource in as_list(statement.get("Resource"))
    }


def secrets_match(resources: Resources) -> list[str]:
    """Compare what the task definitions inject with what the execution role may read.

    A task role may read other secrets by exact ARN (an app fetching its own at run
    time); the execution role, which ECS uses to inject them, reads exactly these.
    """
    resources = list(resources)
    injected = injected_secret_arns(p for t, p in resources if t == TASK_DEFINITION)
    readable = readable_secret_arns(
        p for t, p in resources if t == ROLE_POLICY and p.get("name") == EXECUTION_POLICY_NAME
    )
    messages = [f"{arn} is injected but no role may read it" for arn in sorted(injected - readable)]
    messages += [f"{arn} may be read but is never injected" for arn in sorted(readable - injected)]
    return messages


def spot_runs_x86_only(resources: Resources) -> list[str]:
    """Fargate Spot runs X86_64 tasks only: an ARM64 stack places nothing on it."""
    resources = list(resources)
    arm = sorted(
        str(props.get("family"))
        for resource_type, props in resources
        if resource_type == TASK_DEFINITION
        and get(props, "runtimePlatform", "cpuArchitecture") == "ARM64"
    )
    spot = sorted(
        str(props.get("name"))
        for resource_type, props in resources
        if resource_type == SERVICE
        and any(
            strategy.get("capacityProvider") == "FARGATE_SPOT"
            for strategy in props.get("capacityProviderStrategies") or []
        )
    )
    if arm and spot:
        return [f"{', '.join(spot)} use FARGATE_SPOT, which cannot run ARM64 ({', '.join(arm)})"]
    return []
