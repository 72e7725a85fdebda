"""Read stack configuration values: camelCase keys into dataclasses, checks that stop early."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def check(condition: bool, message: str) -> None:
    """Raise ValueError with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(message)


def camel(name: str) -> str:
    """Return a dataclass field's configuration key: ``min_count`` -> ``minCount``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def build(kind: type, values: Mapping[str, Any] | None, **fixed: Any) -> Any:
    """Build a config dataclass from camelCase keys, refusing keys it does not know.

    ``fixed`` replaces fields already built (nested sections); None leaves the default.
    """
    check(
        values is None or isinstance(values, Mapping),
        f"{kind.__name__}: expected an object of keys, not {values!r}",
    )
    values = dict(values or {})
    known = {camel(f.name): f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - set(known))
    check(not unknown, f"unknown {kind.__name__} keys: {', '.join(unknown)}")
    kwargs = {known[key]: value for key, value in values.items() if key in known}
    for key, value in fixed.items():
        if value is not None:
            kwargs[key] = value
    return kind(**kwargs)
