"""How a stack watches and shields itself: its alarms (``keel:alarms``) and its WAF (``keel:waf``).

The alarms read keel's own metrics (keel.constants, published by the roles as embedded
metric format log lines) and notify one SNS topic the stack creates; each alarm's
description links to its runbook entry in docs/operations.md under ``runbookBaseUrl``.
The web ACL sits in front of the ALB with AWS's managed rule groups and a rate limit
(docs/adr/0009-operations.md says what it lets through, and why).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from keel.infra.config_values import check

#: The stack a missing ``keel:waf.enabled`` leaves without a web ACL: a developer's own.
WAF_OPTIONAL_STACKS = ("dev",)
#: The stacks that must keep it (the policy pack's ``keel-waf-on-prod`` checks the same).
WAF_REQUIRED_STACKS = ("prod",)
#: The common rule set's rule that blocks any body over 8 KB, ALB's inspection limit;
#: keel's API takes up to 1 MiB and the Invoke API 6 MB, so it only ever counts.
BODY_SIZE_RULE = "SizeRestrictions_BODY"
#: AWS WAF's bounds for a rate-based rule's limit (requests per window per address).
RATE_LIMIT_RANGE = (10, 2_000_000_000)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https://[^\s#?]+$")
_RULE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")


@dataclass(frozen=True, kw_only=True)
class AlarmsConfig:
    """Where alarms go, where their runbooks live, and when each one fires."""

    #: Subscribed to the alarm topic by email (AWS asks the address to confirm once).
    email: str | None = None
    #: The URL docs/operations.md is read at, without the file name: each alarm's
    #: description links ``<runbookBaseUrl>/operations.md#<its entry>``. Required.
    runbook_base_url: str | None = None
    #: QueuedWork (runs and tasks waiting) above this ...
    backlog_threshold: int = 100
    #: ... for this many consecutive minutes.
    backlog_minutes: int = 15
    #: Failed or timed-out runs and failed tasks, as a share of all finished, per 5 minutes.
    failure_rate_percent: float = 10.0
    #: A 5-minute period counts only once this many runs and tasks finished in it.
    failure_min_finished: int = 5
    #: Workflows recovered from dead workers within 15 minutes above this (a rolling
    #: deploy recovers the few in flight; a crashing worker recovers many, again and again).
    recoveries_threshold: int = 10
    #: Database connection errors in every one of this many consecutive minutes.
    database_error_minutes: int = 5

    @property
    def runbook(self) -> str:
        """Return the URL of docs/operations.md (anchors are appended by each alarm)."""
        return f"{str(self.runbook_base_url).rstrip('/')}/operations.md"

    def check(self) -> None:
        check(
            self.runbook_base_url is not None,
            "alarms: runbookBaseUrl is required: every alarm's description links its runbook "
            "entry at <runbookBaseUrl>/operations.md (where your team reads keel's docs)",
        )
        check(
            _URL.fullmatch(str(self.runbook_base_url)) is not None,
            f"alarms: runbookBaseUrl {self.runbook_base_url!r} must be an https:// URL "
            "without a query or fragment",
        )
        check(
            self.email is None or _EMAIL.fullmatch(self.email) is not None,
            f"alarms: email {self.email!r} is not an email address",
        )
        check(self.backlog_threshold >= 1, "alarms: backlogThreshold must be at least 1")
        check(1 <= self.backlog_minutes <= 1440, "alarms: backlogMinutes must be 1 to 1440")
        check(
            0 < self.failure_rate_percent < 100,
            "alarms: failureRatePercent must be between 0 and 100",
        )
        check(self.failure_min_finished >= 1, "alarms: failureMinFinished must be at least 1")
        check(self.recoveries_threshold >= 0, "alarms: recoveriesThreshold must be 0 or more")
        check(
            1 <= self.database_error_minutes <= 60,
            "alarms: databaseErrorMinutes must be 1 to 60",
        )


@dataclass(frozen=True, kw_only=True)
class WafConfig:
    """The web ACL on the ALB: on unless the stack is a developer's and says nothing."""

    #: None: on for every stack but ``dev``. ``prod`` cannot turn it off.
    enabled: bool | None = None
    #: Requests one client address may send in 5 minutes before it is answered 429.
    rate_limit: int = 2000
    #: Common rule set rules to count instead of block, besides SizeRestrictions_BODY,
    #: e.g. CrossSiteScripting_BODY for agents whose prompts carry HTML.
    count_rules: Sequence[str] = ()

    def enabled_for(self, stack: str) -> bool:
        if self.enabled is None:
            return stack not in WAF_OPTIONAL_STACKS
        return self.enabled

    def check(self, stack: str) -> None:
        check(
            self.enabled_for(stack) or stack not in WAF_REQUIRED_STACKS,
            f"waf: the {stack} stack's public load balancer keeps its web ACL (enabled: false "
            "is refused there; policy keel-waf-on-prod checks the same)",
        )
        low, high = RATE_LIMIT_RANGE
        check(
            low <= self.rate_limit <= high,
            f"waf: rateLimit must be {low} to {high} requests per 5 minutes per address",
        )
        check(
            isinstance(self.count_rules, Sequence) and not isinstance(self.count_rules, str),
            "waf: countRules must be a list of rule names",
        )
        for name in self.count_rules:
            check(
                _RULE_NAME.fullmatch(str(name)) is not None,
                f"waf: countRules: {name!r} is not a rule name of the common rule set",
            )

    @property
    def counted_rules(self) -> tuple[str, ...]:
        """Return every common rule set rule overridden to Count, the body-size rule first."""
        return (BODY_SIZE_RULE, *sorted(set(self.count_rules) - {BODY_SIZE_RULE}))
