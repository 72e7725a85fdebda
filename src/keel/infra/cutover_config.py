"""The routes a stack moves from an existing Lambda function to keel, by weight (``keel:cutover``).

Each route is one listener rule on keel's ALB, ahead of the production rule, that
forwards a share of the route's requests to a Lambda target group over the existing
function (looked up, never changed) and the rest to a keel target group of its own
(docs/adr/0007-cutover.md). ``keelPercent`` is the share the rule is created with; after
that ``keel cutover`` owns the weights and Pulumi ignores them.

A route with ``weighted: false`` is served by its function alone, through keel's ALB: the
host can point at keel's ALB before any of its functions moves, and a route becomes
weighted (at ``keelPercent``, 0 by default) when its turn comes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keel.infra.config_values import build, check

#: ECS attaches at most five target groups to one service (Registering multiple target
#: groups with an Amazon ECS service, "Considerations"); the cutover service registers
#: one per weighted route.
MAX_WEIGHTED_ROUTES = 5
#: An ALB has at most 100 target groups and 100 rules (its default quotas); a route
#: takes two target groups and one rule, the web service two more.
MAX_ROUTES = 40
#: The production rule's priority: evaluated last, after every cutover rule (ALB rules
#: are evaluated from the lowest number up, 1 to 50,000).
PRODUCTION_RULE_PRIORITY = 50_000
#: A Lambda-only route's rule sits this far behind its configured priority, so the
#: weighted rule that replaces it is created ahead of it before it is deleted.
LAMBDA_ONLY_PRIORITY_OFFSET = 25_000
#: An ALB rule takes at most five condition values (path patterns and host names together).
MAX_CONDITION_VALUES = 5
#: Target-group names allow 32 characters; keel names a route's "<prefix>-<route>-keel".
MAX_TARGET_GROUP_NAME = 32
TARGET_GROUP_SUFFIXES = ("-fn", "-keel")

_ROUTE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_FUNCTION = re.compile(r"^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}$")
_QUALIFIER = re.compile(r"^(\$LATEST|[0-9]+|[A-Za-z0-9_-]{1,128})$")
_PATH = re.compile(r"^/[A-Za-z0-9_\-.$/~\"'@:+*?&=%]{0,127}$")
_HOST = re.compile(r"^[a-z0-9*?]([a-z0-9*?.-]{0,126})$")


@dataclass(frozen=True, kw_only=True)
class CutoverRoute:
    """One route: which requests, which existing function, the first weight and its alarms."""

    #: Part of every name the route's resources get: lowercase, stable (renaming replaces them).
    name: str
    #: The existing function, by name or ARN; looked up read-only.
    function_name: str
    #: An alias or version of it; the target group then invokes that qualifier.
    qualifier: str | None = None
    #: ALB path patterns (``/orders/*``) and host names (``api.example.com``); at least one.
    paths: Sequence[str] = ()
    hosts: Sequence[str] = ()
    #: The rule's place ahead of the production rule: unique, 1 to 24,999.
    priority: int = 0
    #: False: the function alone serves the route, through keel's ALB, until its turn.
    weighted: bool = True
    #: keel's share when the rule is created; ``keel cutover`` moves it afterwards.
    keel_percent: int = 0
    #: The route's alarms on keel's side: the 5xx share of its requests and latency p95.
    error_rate_percent: float = 5.0
    error_rate_min_requests: int = 20
    latency_p95_seconds: float = 2.0
    #: How long the route runs at 100 % keel with quiet alarms before ``keel cutover
    #: retire`` reports its function unreachable through keel.
    retire_after_hours: float = 168.0

    @property
    def values(self) -> int:
        return len(self.paths) + len(self.hosts)

    def check(self, prefix: str) -> None:
        check(
            _ROUTE_NAME.fullmatch(str(self.name)) is not None,
            f"cutover: route name {self.name!r} must be 1-20 lowercase letters, digits, dashes",
        )
        label = f"cutover route {self.name}"
        longest = f"{prefix}-{self.name}{max(TARGET_GROUP_SUFFIXES, key=len)}"
        check(
            len(longest) <= MAX_TARGET_GROUP_NAME,
            f"{label}: target-group name {longest!r} is longer than "
            f"{MAX_TARGET_GROUP_NAME} characters; use a shorter route name",
        )
        check(
            _FUNCTION.fullmatch(str(self.function_name)) is not None,
            f"{label}: functionName {self.function_name!r} is not a Lambda function name or ARN",
        )
        check(
            self.qualifier is None or _QUALIFIER.fullmatch(str(self.qualifier)) is not None,
            f"{label}: qualifier {self.qualifier!r} is not an alias or version",
        )
        check(self.values >= 1, f"{label}: name paths or hosts (the requests it moves)")
        check(
            self.values <= MAX_CONDITION_VALUES,
            f"{label}: an ALB rule takes at most {MAX_CONDITION_VALUES} paths and hosts together",
        )
        for path in self.paths:
            check(
                _PATH.fullmatch(str(path)) is not None, f"{label}: {path!r} is not a path pattern"
            )
        for host in self.hosts:
            check(_HOST.fullmatch(str(host)) is not None, f"{label}: {host!r} is not a host name")
        check(
            isinstance(self.priority, int) and 1 <= self.priority < LAMBDA_ONLY_PRIORITY_OFFSET,
            f"{label}: priority must be 1 to {LAMBDA_ONLY_PRIORITY_OFFSET - 1} "
            "(ahead of the production rule)",
        )
        check(isinstance(self.weighted, bool), f"{label}: weighted must be true or false")
        check(
            isinstance(self.keel_percent, int) and 0 <= self.keel_percent <= 100,
            f"{label}: keelPercent must be a whole number from 0 to 100",
        )
        check(
            0 < self.error_rate_percent < 100,
            f"{label}: errorRatePercent must be between 0 and 100",
        )
        check(self.error_rate_min_requests >= 1, f"{label}: errorRateMinRequests must be >= 1")
        check(self.latency_p95_seconds > 0, f"{label}: latencyP95Seconds must be positive")
        check(self.retire_after_hours > 0, f"{label}: retireAfterHours must be positive")


@dataclass(frozen=True, kw_only=True)
class CutoverConfig:
    """The routes in flight and the small service that serves keel's side of them."""

    routes: Sequence[CutoverRoute] = ()
    #: The cutover service (keel's web image, rolling deployments) that the routes'
    #: keel target groups register; it exists only while routes do.
    min_count: int = 1
    max_count: int = 2
    cpu_target_percent: float = 60.0

    def check(self, prefix: str) -> None:
        check(
            len(self.routes) <= MAX_ROUTES,
            f"cutover: at most {MAX_ROUTES} routes (an ALB's quotas: 100 target groups, 100 rules)",
        )
        weighted = [route.name for route in self.routes if route.weighted]
        check(
            len(weighted) <= MAX_WEIGHTED_ROUTES,
            f"cutover: at most {MAX_WEIGHTED_ROUTES} weighted routes at a time (ECS attaches "
            f"at most {MAX_WEIGHTED_ROUTES} target groups to a service), not {len(weighted)}; "
            "retire one, or set weighted: false on a route that has not started",
        )
        names = [route.name for route in self.routes]
        check(len(set(names)) == len(names), f"cutover: route names repeat in {names}")
        priorities = [route.priority for route in self.routes]
        check(
            len(set(priorities)) == len(priorities),
            f"cutover: route priorities repeat in {priorities}",
        )
        for route in self.routes:
            route.check(prefix)
        check(
            1 <= self.min_count <= self.max_count,
            "cutover: need 1 <= minCount <= maxCount",
        )
        check(
            10 <= self.cpu_target_percent <= 90,
            "cutover: cpuTargetPercent must be 10 to 90",
        )

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | None) -> CutoverConfig:
        """Build from ``keel:cutover``'s camelCase values."""
        values = dict(values or {})
        routes = values.pop("routes", None) or ()
        check(
            isinstance(routes, Sequence) and not isinstance(routes, str),
            "cutover: routes must be a list",
        )
        return build(
            cls,
            values,
            routes=tuple(build(CutoverRoute, _numbers(route)) for route in routes),
        )


_INTEGERS = ("priority", "keelPercent", "errorRateMinRequests")
_BOOLEANS = {"true": True, "false": False}


def _numbers(values: Any) -> Any:
    """Return a route's values with ``"25"`` as 25 and ``"false"`` as False
    (``pulumi config set --path`` stores strings)."""
    if not isinstance(values, Mapping):
        return values
    typed = dict(values)
    for key, value in values.items():
        if key in _INTEGERS and isinstance(value, str) and value.isdigit():
            typed[key] = int(value)
        elif key == "weighted" and isinstance(value, str) and value.lower() in _BOOLEANS:
            typed[key] = _BOOLEANS[value.lower()]
    return typed
