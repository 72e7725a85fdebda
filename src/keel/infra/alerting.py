"""Where every alarm of a stack sends its changes, and the runbook entry it links.

Each CloudWatch alarm keel creates notifies the stack's alarm topic when it fires and
when it clears, and says in its description which entry of docs/operations.md tells an
operator what to do. The policy pack refuses an alarm without either
(``keel-alarm-actionable``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

#: docs/operations.md's heading of each alarm's runbook entry -> its anchor (GitHub's
#: slug of the heading); infra/tests checks both against the file.
RUNBOOK_ENTRIES = {
    "deployment": "Alarm: a web deployment is rolling back",
    "cutover": "Alarm: a cutover route is failing",
    "backlog": "Alarm: work is piling up",
    "failures": "Alarm: runs and tasks are failing",
    "recoveries": "Alarm: workers keep dying",
    "database": "Alarm: the database refuses connections",
}


def anchor(heading: str) -> str:
    """Return GitHub's anchor of a Markdown heading: lowercase, punctuation dropped."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


@dataclass(frozen=True, kw_only=True)
class Alerting:
    """The alarm topic and the URL of docs/operations.md, shared by every alarm."""

    topic_arn: pulumi.Input[str]
    #: ``https://.../operations.md``: each alarm appends its entry's anchor.
    runbook_url: str

    def runbook(self, entry: str) -> str:
        """Return the URL of one runbook entry (``RUNBOOK_ENTRIES``)."""
        return f"{self.runbook_url}#{anchor(RUNBOOK_ENTRIES[entry])}"

    def alarm(self, entry: str, summary: str) -> Mapping[str, Any]:
        """Return what every alarm carries: a description with its runbook, and actions.

        Both firing and clearing notify the topic, so the channel says when it is over.
        """
        return {
            "alarm_description": f"{summary} Runbook: {self.runbook(entry)}",
            "alarm_actions": [self.topic_arn],
            "ok_actions": [self.topic_arn],
            "actions_enabled": True,
        }
