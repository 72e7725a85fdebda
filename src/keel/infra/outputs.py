"""Plain Python over other resources' outputs that also runs in a targeted ``pulumi up``.

``pulumi up --target ...`` runs the whole program. A resource outside the target list
that does not exist yet is a "skipped create": the engine answers its registration
with no ID and no outputs. Before Pulumi 3.256.0 that answer reaches the Python SDK as
a success like any other, and every output the resource did not get as an input
resolves as a known ``None``, so ``apply`` callbacks run on it; from 3.256.0 the engine
marks the answer unknown and they do not run (docs/adr/0006-first-deploy.md, section 2).
docs/deploy.md's first ``up`` is such an update: everything but the image repository is
skipped.

So every callback that joins, parses or checks another resource's output goes through
``when_created``: while a value it is given is ``None`` it returns a placeholder instead
of raising. The placeholder can only reach resources that are not created in that
update (a resource that depends on a skipped create is refused by the engine) and the
stack's outputs, which the next full ``up`` replaces. A full ``up`` or a preview never
calls a callback with ``None`` where these helpers are used (AWS computes every such
output; unknown values skip the callback), so what it produces is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulumi


def when_created[V, T](callback: Callable[[V], T], *, otherwise: T) -> Callable[[V], T]:
    """Return ``callback``, answering ``otherwise`` while any value it gets is ``None``.

    The value is looked into as ``Output.all`` builds it: lists, tuples and dicts.
    """

    def call(value: V) -> T:
        return otherwise if _missing(value) else callback(value)

    return call


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, list | tuple):
        return any(_missing(item) for item in value)
    if isinstance(value, dict):
        return any(_missing(item) for item in value.values())
    return False


def join(separator: str, parts: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
    """``separator.join(parts)`` over outputs, ``""`` while a part is missing."""
    return pulumi.Output.all(*parts).apply(when_created(separator.join, otherwise=""))


def concat(*parts: pulumi.Input[str]) -> pulumi.Output[str]:
    """``pulumi.Output.concat`` (which raises on ``None``), ``""`` while a part is missing."""
    return join("", parts)
