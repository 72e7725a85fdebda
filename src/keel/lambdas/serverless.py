"""``keel lambdas import`` of the Serverless Framework's ``serverless.yml``.

Python functions with their handler, timeout and memory, and their ``http`` (REST,
payload 1.0), ``httpApi`` (payload 2.0), ``sqs`` and ``schedule`` events; anything else is
reported. The shapes are the framework's documented ones
(https://www.serverless.com/framework/docs/providers/aws/guide/functions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from keel.lambdas.cloudformation import Resolver, Unresolved
from keel.lambdas.importer import Imported, checked, handler_path, queue_url


def import_serverless(document: dict[str, Any], *, template_dir: Path, root: Path) -> Imported:
    """The Serverless Framework's ``serverless.yml``: http, httpApi, sqs and schedule events."""
    imported = Imported()
    provider = document.get("provider") or {}
    runtime = str(provider.get("runtime", "python"))
    for name, spec in (document.get("functions") or {}).items():
        if not isinstance(spec, dict) or "handler" not in spec:
            continue
        if not str(spec.get("runtime", runtime)).startswith("python"):
            imported.notes.append(f"{name}: not a Python function; it stays on Lambda")
            continue
        module, _, function = str(spec["handler"]).rpartition(".")
        entry: dict[str, Any] = {
            "handler": handler_path(
                template_dir / Path(module).parent, f"{Path(module).name}.{function}", root
            ),
            "timeout": spec.get("timeout", provider.get("timeout", 6)),
            "memory": spec.get("memorySize", provider.get("memorySize", 1024)),
            "triggers": [],
        }
        for index, event in enumerate(spec.get("events") or []):
            where = f"{name}.events[{index}]"
            if not (isinstance(event, dict) and len(event) == 1):
                imported.notes.append(f"{where}: not an event of one kind")
                continue
            kind, value = next(iter(event.items()))
            trigger: dict[str, Any] | None = None
            if kind in ("http", "httpApi"):
                if isinstance(value, str):
                    method, _, path = value.partition(" ")
                    value = {"method": method, "path": path}
                method = str(value.get("method", "any")).upper()
                path = "/" + str(value.get("path", "")).lstrip("/")
                trigger = {
                    "type": "http",
                    "path": "/{proxy+}" if path in ("/*", "/") and kind == "httpApi" else path,
                    "methods": [] if method in ("ANY", "*") else [method],
                    "format": "apigateway-v1" if kind == "http" else "apigateway-v2",
                }
            elif kind == "sqs":
                arn = value.get("arn") if isinstance(value, dict) else value
                try:
                    url = queue_url(arn, Resolver(document), imported, where)
                except Unresolved as error:
                    imported.notes.append(f"{where}: {error}")
                    continue
                trigger = {"type": "sqs", "queue_url": url}
                if isinstance(value, dict):
                    trigger["batch_size"] = value.get("batchSize", 10)
                    trigger["report_batch_item_failures"] = bool(
                        value.get("functionResponseType") == "ReportBatchItemFailures"
                    )
            elif kind == "schedule":
                expression = value.get("rate") if isinstance(value, dict) else value
                if isinstance(expression, list):
                    expression = expression[0]
                trigger = {"type": "schedule", "expression": expression}
            else:
                imported.notes.append(f"{where}: {kind} events are not translated")
                continue
            valid = checked(trigger, where, imported)
            if valid is not None:
                entry["triggers"].append(valid)
        imported.functions[name] = entry
    return imported
