"""What a team's own AWS needs add to keel's: task-role permissions, egress, KMS keys.

keel's roles grant only what keel itself calls, and its tasks reach only HTTPS and
keel's database. An app that reads S3, sends to SQS or SES, talks to Redis or SMTP, or
injects secrets encrypted with its own KMS key declares it here, per task role, and
``check`` refuses the wildcards AWS's own guidance refuses (keel.infra.least_privilege).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keel.infra.config_values import build, check
from keel.infra.least_privilege import (
    destination_problems,
    egress_problems,
    kms_key_problems,
    managed_policy_problems,
    statements_problems,
)

#: The task roles, one IAM role and one security group each.
TASK_ROLES = ("web", "worker", "migrate")
#: IAM's limit for a role's inline policies together (characters, whitespace excluded);
#: keel's own statements take some of it.
MAX_STATEMENTS_CHARACTERS = 8_000
#: IAM's hard limit of managed policies attached to one role.
MAX_MANAGED_POLICIES = 20

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


@dataclass(frozen=True, kw_only=True)
class RolePermissions:
    """Extra IAM permissions of one task role: inline statements and managed policies."""

    statements: Sequence[Mapping[str, Any]] = ()
    managed_policy_arns: Sequence[str] = ()

    def check(self, role: str) -> None:
        label = f"permissions.{role}"
        check(
            isinstance(self.statements, Sequence) and not isinstance(self.statements, str),
            f"{label}.statements must be a list of IAM statements",
        )
        problems = statements_problems(self.statements)
        check(not problems, f"{label}: " + "; ".join(problems))
        size = len(json.dumps(list(self.statements), separators=(",", ":")))
        check(
            size <= MAX_STATEMENTS_CHARACTERS,
            f"{label}: the statements take {size} characters; IAM allows a role about "
            f"{MAX_STATEMENTS_CHARACTERS} beside keel's own (use managed policies)",
        )
        arns = list(self.managed_policy_arns)
        problems = [problem for arn in arns for problem in managed_policy_problems(arn)]
        check(not problems, f"{label}.managedPolicyArns: " + "; ".join(problems))
        check(len(set(arns)) == len(arns), f"{label}.managedPolicyArns lists a policy twice")
        names = [managed_policy_name(arn) for arn in arns]
        repeated = sorted({name for name in names if names.count(name) > 1})
        check(
            not repeated,
            f"{label}.managedPolicyArns: two policies are named {', '.join(repeated)} "
            "(the name is part of the attachment's resource name)",
        )
        check(
            len(arns) <= MAX_MANAGED_POLICIES,
            f"{label}.managedPolicyArns: IAM attaches at most {MAX_MANAGED_POLICIES} to a role",
        )


def managed_policy_name(arn: str) -> str:
    """Return the policy's name, the last part of its ARN."""
    return arn.rsplit("/", 1)[-1]


@dataclass(frozen=True, kw_only=True)
class EgressRule:
    """Outbound traffic some task roles may send beyond HTTPS and keel's database."""

    #: Part of the rule's resource name: lowercase, stable (renaming replaces the rule).
    name: str
    #: One port, or ``from_port`` and ``to_port`` for a range.
    port: int | None = None
    from_port: int | None = None
    to_port: int | None = None
    protocol: str = "tcp"
    #: IPv4 or IPv6 networks, and managed prefix lists (``pl-...``).
    cidrs: Sequence[str] = ()
    prefix_list_ids: Sequence[str] = ()
    roles: Sequence[str] = TASK_ROLES
    description: str = ""

    @property
    def ports(self) -> tuple[int | None, int | None]:
        if self.port is not None:
            return self.port, self.port
        return self.from_port, self.to_port

    @property
    def destinations(self) -> tuple[str, ...]:
        return (*self.cidrs, *self.prefix_list_ids)

    def check(self) -> None:
        check(
            _NAME.fullmatch(str(self.name)) is not None,
            f"egress: name {self.name!r} must be lowercase letters, digits and dashes",
        )
        label = f"egress {self.name}"
        single = self.port is not None and self.from_port is None and self.to_port is None
        ranged = self.port is None and self.from_port is not None and self.to_port is not None
        check(single or ranged, f"{label}: set port, or fromPort and toPort")
        check(bool(self.destinations), f"{label}: name cidrs or prefixListIds")
        problems = [p for d in self.destinations for p in destination_problems(str(d))]
        problems += [
            f"{prefix!r} under prefixListIds is not a prefix list id"
            for prefix in self.prefix_list_ids
            if not str(prefix).startswith("pl-")
        ]
        from_port, to_port = self.ports
        problems += egress_problems(
            protocol=self.protocol,
            from_port=from_port,
            to_port=to_port,
            destinations=self.destinations,
        )
        check(not problems, f"{label}: " + "; ".join(problems))
        unknown = sorted(set(self.roles) - set(TASK_ROLES))
        check(
            bool(self.roles) and not unknown,
            f"{label}: roles must be some of {', '.join(TASK_ROLES)}, not {unknown or 'none'}",
        )


@dataclass(frozen=True, kw_only=True)
class AccessConfig:
    """The team's additions to keel's IAM and network access, checked before planning."""

    #: Task role (web, worker, migrate) -> its extra permissions.
    permissions: Mapping[str, RolePermissions] = field(default_factory=dict)
    egress: Sequence[EgressRule] = ()
    #: Customer managed keys the injected secrets are encrypted with; the execution role
    #: may decrypt with them, through Secrets Manager only.
    kms_key_arns: Sequence[str] = ()

    def check(self) -> None:
        unknown = sorted(set(self.permissions) - set(TASK_ROLES))
        check(not unknown, f"permissions: unknown roles {unknown}; use {', '.join(TASK_ROLES)}")
        for role, permissions in self.permissions.items():
            permissions.check(role)
        names = [rule.name for rule in self.egress]
        check(len(set(names)) == len(names), f"egress: rule names repeat in {names}")
        for rule in self.egress:
            rule.check()
        problems = [problem for arn in self.kms_key_arns for problem in kms_key_problems(arn)]
        check(not problems, "kmsKeyArns: " + "; ".join(problems))

    @classmethod
    def from_values(
        cls,
        *,
        permissions: Mapping[str, Any] | None,
        egress: Sequence[Any] | None,
        kms_key_arns: Sequence[str] | None,
    ) -> AccessConfig:
        """Build from the camelCase values of ``keel:permissions``, ``egress``, ``kmsKeyArns``."""
        check(
            egress is None or (isinstance(egress, Sequence) and not isinstance(egress, str)),
            "egress must be a list of rules",
        )
        return cls(
            permissions={
                role: build(RolePermissions, values)
                for role, values in dict(permissions or {}).items()
            },
            egress=tuple(build(EgressRule, _ports_as_numbers(values)) for values in egress or ()),
            kms_key_arns=tuple(kms_key_arns or ()),
        )


def _ports_as_numbers(values: Any) -> Any:
    """Return an egress rule's values with ``"6379"`` as 6379 (``config set --path`` strings)."""
    if not isinstance(values, Mapping):
        return values
    return {
        key: int(value)
        if key in ("port", "fromPort", "toPort") and isinstance(value, str) and value.isdigit()
        else value
        for key, value in values.items()
    }
