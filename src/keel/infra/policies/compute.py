"""Policies for what runs: ECS services and the task definitions of keel's roles."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from keel import constants
from keel.infra.config import looks_secret
from keel.infra.containers import ECS_EXEC_TAG
from keel.infra.cutover_service import CUTOVER_SERVICE_TAG
from keel.infra.policies.rules import Options, containers, get

GRADUAL_STRATEGIES = ("CANARY", "LINEAR", "BLUE_GREEN")
#: A URL with a password in it: ``scheme://user:password@host``.
_CREDENTIALS_IN_URL = "://"


def service_is_private(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    network = props.get("networkConfiguration")
    if not network:
        yield "the service has no awsvpc network configuration (tasks need private subnets)"
    elif network.get("assignPublicIp"):
        yield "the service assigns public IPs; tasks run in private subnets only"


def service_has_circuit_breaker(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    breaker = props.get("deploymentCircuitBreaker") or {}
    if not (breaker.get("enable") and breaker.get("rollback")):
        yield "the deployment circuit breaker must be enabled with rollback"


def service_rolls_back_on_alarms(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("loadBalancers"):
        return
    alarms = props.get("alarms") or {}
    if not (alarms.get("enable") and alarms.get("rollback") and alarms.get("alarmNames")):
        yield "a load-balanced service must roll back on CloudWatch alarms (enable, rollback)"


def service_shifts_traffic_gradually(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    if not props.get("loadBalancers"):
        return
    key, value = CUTOVER_SERVICE_TAG
    if (props.get("tags") or {}).get(key) == value:
        # Its routes' rules are the gradual shift, moved by `keel cutover`; a canary would
        # need ECS to own those rules (docs/adr/0007-cutover.md).
        return
    strategy = get(props, "deploymentConfiguration", "strategy") or "ROLLING"
    if strategy not in GRADUAL_STRATEGIES:
        yield f"the web service deploys with {strategy}; canary, linear or blue/green is safer"
        return
    for balancer in props.get("loadBalancers") or []:
        advanced = balancer.get("advancedConfiguration") or {}
        if not (
            advanced.get("alternateTargetGroupArn")
            and advanced.get("productionListenerRule")
            and advanced.get("roleArn")
        ):
            yield f"{strategy} needs an alternate target group, production rule and role"


def secrets_only_through_secrets(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    for container in containers(props):
        name = container.get("name", "?")
        for variable in container.get("environment") or []:
            key, value = variable.get("name", ""), str(variable.get("value", ""))
            if looks_secret(key, value):
                # ``*_SECRET_ARN`` naming a secret's ARN is a reference the process reads.
                yield f"container {name}: {key} is a secret; inject it through 'secrets'"
            elif _CREDENTIALS_IN_URL in value and "@" in value.split(_CREDENTIALS_IN_URL, 1)[1]:
                yield f"container {name}: {key} holds a URL with credentials"
        for secret in container.get("secrets") or []:
            value_from = str(secret.get("valueFrom", ""))
            if not value_from.startswith(("arn:aws:secretsmanager:", "arn:aws:ssm:")):
                yield f"container {name}: secret {secret.get('name')} must name a secret ARN"


def stop_timeout_fits(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    for container in containers(props):
        name = container.get("name", "?")
        stop_timeout = container.get("stopTimeout")
        if stop_timeout is None:
            yield f"container {name}: set stopTimeout (the default 30 s cuts runs short)"
            continue
        # The relations keel's runtime, preflight and the program share, with this
        # container's own stopTimeout (keel.constants.timeout_relations).
        for relation in constants.timeout_relations(stop_timeout=stop_timeout):
            if relation.involves_stop_timeout and not relation.holds:
                yield f"container {name}: {relation.problem}"


def root_filesystem_is_read_only(props: Mapping[str, Any], options: Options) -> Iterator[str]:
    """Containers cannot write their root filesystem; what they write is a mounted volume.

    The one exception is a task definition tagged for ECS Exec, whose agent writes into
    the container (docs/adr/0006-first-deploy.md).
    """
    exec_enabled = (props.get("tags") or {}).get(ECS_EXEC_TAG) == "enabled"
    volumes = {volume.get("name") for volume in props.get("volumes") or []}
    for container in containers(props):
        name = container.get("name", "?")
        if not container.get("readonlyRootFilesystem") and not exec_enabled:
            yield f"container {name}: set readonlyRootFilesystem (or tag {ECS_EXEC_TAG})"
        for mount in container.get("mountPoints") or []:
            if mount.get("sourceVolume") not in volumes:
                yield f"container {name}: mount {mount.get('containerPath')} has no volume"
