"""Policies for who may do what: the IAM policies and managed policies of keel's roles."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from keel.infra.least_privilege import (
    as_list,
    managed_policy_problems,
    statements_problems,
)
from keel.infra.policies.rules import Options, reads_secrets, statements


def secret_reads_name_arns(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    for statement in statements(props):
        if not reads_secrets(statement):
            continue
        for resource in as_list(statement.get("Resource")):
            if "*" in str(resource):
                yield f"secrets may be read only by exact ARN, not {resource!r}"


def statements_are_least_privilege(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    """No whole-service actions, no ``*`` resources but where AWS offers nothing else."""
    yield from statements_problems(statements(props))


def managed_policy_is_not_broad(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    yield from managed_policy_problems(props.get("policyArn"))
