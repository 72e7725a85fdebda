"""``keel lambdas import``: a team's SAM / CloudFormation template (or serverless.yml, in
keel.lambdas.serverless) as ``KEEL_LAMBDAS`` entries, and what could not be translated.

Translated: Python functions (``AWS::Serverless::Function``, ``AWS::Lambda::Function``)
with their handler, timeout, memory and asynchronous retry settings (SAM's
``Globals.Function`` too); their ``Api`` (REST, payload 1.0) and ``HttpApi`` (payload
2.0) routes, ``SQS`` queues (with ``ReportBatchItemFailures``) and schedules (``Schedule``,
``ScheduleV2``, or an ``AWS::Events::Rule`` with a ``ScheduleExpression`` targeting the
function); CloudFormation's ``AWS::Lambda::EventSourceMapping`` of a queue. A queue whose
URL is known only once deployed is read from an environment variable the output names.
Everything else is reported, with what to do about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keel.lambdas import triggers
from keel.lambdas.cloudformation import Resolver, Unresolved, load

SAM_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
_QUEUE_ARN = re.compile(r"^arn:aws[\w-]*:sqs:([\w-]+):(\d{12}):(.+)$")


@dataclass(frozen=True, slots=True)
class FromEnvironment:
    """A value the settings read from the environment at start-up (deploy-time values)."""

    variable: str


@dataclass
class Imported:
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Environment variables the settings read, and what each must hold.
    variables: dict[str, str] = field(default_factory=dict)


def import_template(path: Path, *, root: Path) -> Imported:
    """Translate the template at ``path``; handler paths are relative to ``root``."""
    document = load(path.read_text())
    if "functions" in document and "Resources" not in document:
        from keel.lambdas.serverless import import_serverless

        return import_serverless(document, template_dir=path.parent, root=root)
    return _cloudformation(document, template_dir=path.parent, root=root)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace("-", "_").upper()


def handler_path(code_dir: Path, handler: str, root: Path) -> str:
    """``CodeUri`` ``orders/`` with ``Handler`` ``app.handler``: ``orders.app.handler``."""
    try:
        relative = code_dir.resolve().relative_to(root.resolve())
    except ValueError:
        relative = Path()
    parts = [part for part in relative.parts if part not in (".", "")]
    module, _, function = handler.rpartition(".")
    module_parts = [*parts, *module.replace("/", ".").split(".")]
    return ".".join([*(part for part in module_parts if part), function])


def _cloudformation(document: dict[str, Any], *, template_dir: Path, root: Path) -> Imported:
    imported = Imported()
    resolver = Resolver(document)
    resources = document.get("Resources") or {}
    globals_ = (document.get("Globals") or {}).get("Function") or {}
    stages = {}
    for name, resource in resources.items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Api":
            try:
                stages[name] = str(
                    resolver.value(resource.get("Properties", {}).get("StageName", "Prod"))
                )
            except Unresolved:
                stages[name] = "Prod"
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        if kind not in (SAM_FUNCTION, LAMBDA_FUNCTION):
            continue
        properties = (
            {**globals_, **(resource.get("Properties") or {})}
            if kind == SAM_FUNCTION
            else (resource.get("Properties") or {})
        )
        entry = _function_entry(
            logical_id, properties, resolver, imported, template_dir=template_dir, root=root
        )
        if entry is None:
            continue
        for event_name, event in (properties.get("Events") or {}).items():
            trigger = _sam_event(logical_id, event_name, event, resolver, imported, stages)
            if trigger is not None:
                entry["triggers"].append(trigger)
        imported.functions[logical_id] = entry
    _cloudformation_sources(resources, resolver, imported)
    return imported


def _function_entry(
    logical_id: str,
    properties: dict[str, Any],
    resolver: Resolver,
    imported: Imported,
    *,
    template_dir: Path,
    root: Path,
) -> dict[str, Any] | None:
    try:
        runtime = str(resolver.value(properties.get("Runtime", "")))
        handler = resolver.value(properties.get("Handler"))
    except Unresolved as error:
        imported.notes.append(f"{logical_id}: its Runtime or Handler is not literal ({error})")
        return None
    if properties.get("PackageType") == "Image" or not runtime.startswith("python"):
        imported.notes.append(
            f"{logical_id}: runtime {runtime or properties.get('PackageType', '?')} is not "
            "Python; keel runs Python handlers only (it stays on Lambda)"
        )
        return None
    code = properties.get("CodeUri")
    code_dir = template_dir / code if isinstance(code, str) and "://" not in code else template_dir
    entry: dict[str, Any] = {
        "handler": handler_path(code_dir, str(handler), root),
        "timeout": properties.get("Timeout", 3),
        "memory": properties.get("MemorySize", 128),
        "triggers": [],
    }
    invoke_config = properties.get("EventInvokeConfig") or {}
    if "MaximumRetryAttempts" in invoke_config:
        entry["retries"] = invoke_config["MaximumRetryAttempts"]
    if "MaximumEventAgeInSeconds" in invoke_config:
        entry["maximum_event_age"] = invoke_config["MaximumEventAgeInSeconds"]
    if invoke_config.get("DestinationConfig"):
        imported.notes.append(
            f"{logical_id}: EventInvokeConfig destinations are keel's failed list "
            "(`keel manage failed_tasks`); nothing is sent to them"
        )
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    for variable in variables:
        imported.variables.setdefault(
            variable, "the function's environment variable (one environment for every function)"
        )
    if properties.get("FunctionUrlConfig"):
        imported.notes.append(
            f"{logical_id}: its function URL is a host of its own; mount it on a path with "
            '{"type": "http", "path": "/<prefix>/{proxy+}", "format": "apigateway-v2"}'
        )
    for key in ("Layers", "VpcConfig", "ReservedConcurrentExecutions"):
        if properties.get(key):
            imported.notes.append(f"{logical_id}: {key} has no equivalent in keel (ignored)")
    return entry


def _sam_event(
    logical_id: str,
    event_name: str,
    event: Any,
    resolver: Resolver,
    imported: Imported,
    stages: dict[str, str],
) -> dict[str, Any] | None:
    kind = event.get("Type") if isinstance(event, dict) else None
    properties = event.get("Properties") or {} if isinstance(event, dict) else {}
    where = f"{logical_id}.Events.{event_name}"
    try:
        if kind in ("Api", "HttpApi"):
            method = str(resolver.value(properties.get("Method", "ANY"))).upper()
            path = resolver.value(properties.get("Path", "/{proxy+}"))
            v1 = kind == "Api" or str(properties.get("PayloadFormatVersion", "2.0")) == "1.0"
            trigger: dict[str, Any] = {
                "type": "http",
                "path": path,
                "methods": [] if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else [method],
                "format": "apigateway-v1" if v1 else "apigateway-v2",
            }
            api = properties.get("RestApiId")
            if kind == "Api":
                api_id = api.get("Ref") if isinstance(api, dict) else None
                trigger["stage"] = stages.get(api_id, "Prod") if api_id else "Prod"
            if properties.get("Auth"):
                imported.notes.append(
                    f"{where}: its API Gateway authorizer is not run by keel; authenticate "
                    'in Django and map the caller with "authorizer" (docs/lambdas.md)'
                )
            return checked(trigger, where, imported)
        if kind == "SQS":
            trigger = {
                "type": "sqs",
                "queue_url": queue_url(properties.get("Queue"), resolver, imported, where),
                "batch_size": properties.get("BatchSize", 10),
                "report_batch_item_failures": "ReportBatchItemFailures"
                in (properties.get("FunctionResponseTypes") or []),
            }
            return checked(trigger, where, imported)
        if kind in ("Schedule", "ScheduleV2"):
            expression = resolver.value(
                properties.get("Schedule" if kind == "Schedule" else "ScheduleExpression")
            )
            trigger = {"type": "schedule", "expression": expression}
            if properties.get("Input"):
                import json

                trigger["input"] = json.loads(resolver.value(properties["Input"]))
            state = properties.get("State")
            if properties.get("Enabled") is False or state == "DISABLED":
                trigger["enabled"] = False
            return checked(trigger, where, imported)
    except Unresolved as error:
        imported.notes.append(f"{where}: {error}")
        return None
    advice = {
        "S3": "send the bucket's notifications to an SQS queue and declare an s3 trigger on it",
        "EventBridgeRule": "target the rule at an SQS queue and declare an eventbridge trigger",
        "CloudWatchEvent": "target the rule at an SQS queue and declare an eventbridge trigger",
    }.get(str(kind), "keel has no trigger of this kind; it stays on Lambda")
    imported.notes.append(f"{where}: {kind} events are not translated: {advice}")
    return None


def checked(trigger: dict[str, Any], where: str, imported: Imported) -> dict[str, Any] | None:
    if isinstance(trigger.get("queue_url"), FromEnvironment):
        probe = {**trigger, "queue_url": "https://sqs.invalid/queue"}
    else:
        probe = trigger
    try:
        triggers.trigger_of(probe)
    except ValueError as error:
        imported.notes.append(f"{where}: {error}")
        return None
    return trigger


def queue_url(queue: Any, resolver: Resolver, imported: Imported, where: str) -> Any:
    """A literal queue ARN as its URL; a queue of the stack as an environment variable."""
    try:
        arn = resolver.value(queue)
    except Unresolved:
        logical = None
        if isinstance(queue, dict):
            target = queue.get("Fn::GetAtt") or [queue.get("Ref")]
            logical = target[0] if isinstance(target, list) and target else None
        variable = f"{_snake(str(logical or where.split('.')[0]))}_URL"
        imported.variables[variable] = f"the URL of the SQS queue {logical or '?'} ({where})"
        return FromEnvironment(variable)
    found = _QUEUE_ARN.match(str(arn))
    if found is None:
        raise Unresolved(f"{arn!r} is not an SQS queue ARN")
    region, account, name = found.groups()
    return f"https://sqs.{region}.amazonaws.com/{account}/{name}"


def _cloudformation_sources(
    resources: dict[str, Any], resolver: Resolver, imported: Imported
) -> None:
    """Plain CloudFormation: event source mappings and schedule rules naming a function."""
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        if kind == "AWS::Lambda::EventSourceMapping":
            function = _function_ref(properties.get("FunctionName"))
            source = properties.get("EventSourceArn")
            if function not in imported.functions:
                imported.notes.append(f"{logical_id}: its function is not one imported here")
                continue
            text = str(source.get("Fn::GetAtt", [""])[0]) if isinstance(source, dict) else ""
            if ":sqs:" not in str(source) and "Queue" not in text:
                imported.notes.append(f"{logical_id}: only SQS event sources are translated")
                continue
            where = f"{logical_id}"
            try:
                url = queue_url(source, resolver, imported, where)
            except Unresolved as error:
                imported.notes.append(f"{where}: {error}")
                continue
            trigger = checked(
                {
                    "type": "sqs",
                    "queue_url": url,
                    "batch_size": properties.get("BatchSize", 10),
                    "report_batch_item_failures": "ReportBatchItemFailures"
                    in (properties.get("FunctionResponseTypes") or []),
                },
                where,
                imported,
            )
            if trigger is not None:
                imported.functions[function]["triggers"].append(trigger)
        elif kind == "AWS::Events::Rule" and properties.get("ScheduleExpression"):
            for target in properties.get("Targets") or []:
                function = _function_ref(target.get("Arn"))
                if function not in imported.functions:
                    continue
                trigger = {"type": "schedule", "expression": properties["ScheduleExpression"]}
                if properties.get("State") == "DISABLED":
                    trigger["enabled"] = False
                valid = checked(trigger, logical_id, imported)
                if valid is not None:
                    imported.functions[function]["triggers"].append(valid)


def _function_ref(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def render(imported: Imported, *, source: str) -> str:
    """The settings module text: ``KEEL_LAMBDAS = {...}``, with what was not translated."""
    lines = [f'"""Lambda functions imported from {source} by `keel lambdas import`.']
    if imported.variables:
        lines += ["", "Read from the environment (set them in the task definition):"]
        lines += [f"- {name}: {what}" for name, what in sorted(imported.variables.items())]
    if imported.notes:
        lines += ["", "Not translated (declare by hand, or leave on Lambda):"]
        lines += [f"- {note}" for note in imported.notes]
    lines += ['"""', ""]
    if imported.variables:
        lines += ["from keel.conf import env", ""]
    lines.append(f"KEEL_LAMBDAS = {_python(imported.functions, 0)}")
    return "\n".join(lines) + "\n"


def _python(value: Any, indent: int) -> str:
    pad, inner = "    " * indent, "    " * (indent + 1)
    if isinstance(value, FromEnvironment):
        return f"env.string({value.variable!r})"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{key!r}: {_python(item, indent + 1)}," for key, item in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [f"{inner}{_python(item, indent + 1)}," for item in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    return repr(value)
