"""The functions a project declares in ``KEEL_LAMBDAS``, read and checked once.

    KEEL_LAMBDAS = {
        "orders-api": {
            "handler": "legacy.orders.app.handler",
            "timeout": 30,
            "memory": 512,
            "triggers": [{"type": "http", "path": "/orders/{id}", "format": "apigateway-v1"}],
        },
    }

Each function is its handler (imported, and called as ``handler(event, context)``), the
limits Lambda gave it and the triggers it serves (keel.lambdas.triggers). Loading checks
everything and imports every handler, as Lambda's init phase would: a wrong path or a
handler that cannot take ``(event, context)`` stops the process at start-up with the
function's name (``LambdasConfig.ready``).
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from keel.lambdas.triggers import HttpTrigger, QueueTrigger, ScheduleTrigger, Trigger, trigger_of

SETTING = "KEEL_LAMBDAS"
#: Lambda's own rules for a function name, and its limits.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Lambda's defaults: 3 s, 128 MB, two retries of an asynchronous invocation, six hours.
DEFAULTS = {"timeout": 3, "memory": 128, "retries": 2, "maximum_event_age": 21_600}
_KEYS = {"handler", "triggers", *DEFAULTS}


@dataclass(frozen=True, kw_only=True, slots=True)
class Function:
    name: str
    handler_path: str
    handler: Callable[[Any, Any], Any]
    #: Seconds the handler may run before it is stopped (1-900, as on Lambda).
    timeout: float
    #: Reported to the handler (``context.memory_limit_in_mb``); not enforced.
    memory: int
    #: Lambda's MaximumRetryAttempts of an asynchronous invocation (0-2).
    retries: int
    #: Lambda's MaximumEventAgeInSeconds (60-21600).
    maximum_event_age: int
    triggers: tuple[Trigger, ...]

    @property
    def http_triggers(self) -> tuple[HttpTrigger, ...]:
        return tuple(trigger for trigger in self.triggers if isinstance(trigger, HttpTrigger))

    @property
    def queue_triggers(self) -> tuple[QueueTrigger, ...]:
        return tuple(trigger for trigger in self.triggers if isinstance(trigger, QueueTrigger))

    @property
    def schedule_triggers(self) -> tuple[ScheduleTrigger, ...]:
        return tuple(trigger for trigger in self.triggers if isinstance(trigger, ScheduleTrigger))


_lock = threading.Lock()
_loaded: dict[str, Function] | None = None


def functions() -> dict[str, Function]:
    """Every declared function by name (loaded on first use, then kept)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = load(getattr(settings, SETTING, {}))
        return _loaded


def get(name: str) -> Function | None:
    return functions().get(name)


def reset() -> None:
    """Forget the loaded functions (tests that change the setting)."""
    global _loaded
    with _lock:
        _loaded = None


def load(declared: Any) -> dict[str, Function]:
    """Read and check every entry; raise ``ImproperlyConfigured`` listing each problem."""
    if not isinstance(declared, dict):
        raise ImproperlyConfigured(f"{SETTING} must be a dict of function name -> settings.")
    found: dict[str, Function] = {}
    problems = []
    for name, entry in declared.items():
        try:
            found[name] = function_of(name, entry)
        except ValueError as error:
            problems.append(f"{SETTING}[{name!r}]: {error}")
    routes: dict[tuple[str, str], str] = {}
    for function in found.values():
        for trigger in function.http_triggers:
            for method in trigger.methods or ("ANY",):
                other = routes.setdefault((trigger.path, method), function.name)
                if other != function.name:
                    problems.append(
                        f"{SETTING}[{function.name!r}]: {method} {trigger.path} is also "
                        f"{other!r}'s route"
                    )
    if problems:
        raise ImproperlyConfigured("; ".join(problems))
    return found


def function_of(name: Any, entry: Any) -> Function:
    """Read one function; raise ``ValueError`` with what is wrong."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError("a function name is 1-64 letters, digits, hyphens or underscores")
    if not isinstance(entry, dict):
        raise ValueError('must be a dict with at least "handler"')
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; known: {sorted(_KEYS)}")
    values = {**DEFAULTS, **entry}
    _bounded("timeout", values["timeout"], 1, 900, whole=False)
    _bounded("memory", values["memory"], 128, 10_240)
    _bounded("retries", values["retries"], 0, 2)
    _bounded("maximum_event_age", values["maximum_event_age"], 60, 21_600)
    triggers = values.get("triggers", [])
    if not isinstance(triggers, list | tuple):
        raise ValueError("triggers must be a list")
    path = values.get("handler")
    handler = handler_of(path)
    return Function(
        name=name,
        handler_path=str(path),
        handler=handler,
        timeout=float(values["timeout"]),
        memory=values["memory"],
        retries=values["retries"],
        maximum_event_age=values["maximum_event_age"],
        triggers=tuple(trigger_of(trigger) for trigger in triggers),
    )


def _bounded(key: str, value: Any, low: int, high: int, *, whole: bool = True) -> None:
    kinds = int if whole else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise ValueError(f"{key} must be a {'whole ' if whole else ''}number {low}-{high}")


def handler_of(path: Any) -> Callable[[Any, Any], Any]:
    """Import the handler at ``path`` and check it can be called ``handler(event, context)``."""
    if not isinstance(path, str) or "." not in path:
        raise ValueError(f"handler must be a dotted path module.function, not {path!r}")
    try:
        handler = import_string(path)
    except ImportError as error:
        raise ValueError(f"handler {path!r} does not import: {error}") from None
    except Exception as error:
        # The handler's module ran and failed, as Lambda's init phase would report it.
        raise ValueError(
            f"handler {path!r}: importing its module raised {type(error).__name__}: {error}"
        ) from None
    if not callable(handler):
        raise ValueError(f"handler {path!r} is not callable")
    if inspect.iscoroutinefunction(handler):
        raise ValueError(f"handler {path!r} is async; Lambda's Python handlers are sync")
    try:
        inspect.signature(handler).bind(None, None)
    except TypeError:
        raise ValueError(f"handler {path!r} cannot be called as handler(event, context)") from None
    except ValueError:
        pass  # a builtin without a signature: called as it is
    return handler
