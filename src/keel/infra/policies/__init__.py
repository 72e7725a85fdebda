"""keel's deployment invariants as pure checks, and the Pulumi policy pack built from them.

The rules are grouped by what they guard: ``compute`` (ECS services and task
definitions), ``network`` (target groups, security-group rules), ``access`` (IAM),
``data`` (database, logs), ``cutover`` (the routes moved from Lambda by weight),
``operations`` (alarms, the web ACL) and
``stack`` (relations between resources); ``rules`` says
what a rule is and how it reads a resource. ``pack`` lists them all. The policy pack in
``infra/policy`` runs them on ``pulumi preview --policy-pack``; the mock tests run them
on every resource the program registers, and on one passing and one violating case
each.
"""

from keel.infra.policies.pack import RULES, STACK_RULES, policies, stack_violations, violations
from keel.infra.policies.rules import Options

__all__ = ["RULES", "STACK_RULES", "Options", "policies", "stack_violations", "violations"]
