"""``keel lambdas list|invoke|import``: the functions keel runs, one run of one, and an
import of the team's template.

    keel lambdas list                                # every declared function and its triggers
    keel lambdas invoke NAME --event event.json      # run it here on a saved event
    keel lambdas import template.yaml [--output lambdas_settings.py]

``import`` needs no settings (it reads only the template); the others set Django up.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(roles: Any) -> None:
    """Add ``lambdas`` and its sub-commands to the ``keel`` parser's roles."""
    parser = roles.add_parser("lambdas", help="the Lambda handlers keel runs (docs/lambdas.md)")
    commands = parser.add_subparsers(dest="lambdas_command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="print every declared function and its triggers")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    invoke = commands.add_parser(
        "invoke", help="run a function here on a saved event; print its result and log"
    )
    invoke.add_argument("name", help="the function's name in KEEL_LAMBDAS")
    invoke.add_argument("--event", required=True, help="a JSON file with the event (- for stdin)")
    imports = commands.add_parser(
        "import", help="write KEEL_LAMBDAS entries from an AWS SAM / CloudFormation template"
    )
    imports.add_argument("template", help="template.yaml (SAM or CloudFormation) or serverless.yml")
    imports.add_argument(
        "--output", help="write the settings module here (never over an existing file)"
    )
    imports.add_argument(
        "--root",
        default=".",
        help="the directory handler modules are imported from (default: here)",
    )


def run(arguments: argparse.Namespace) -> int:
    if arguments.lambdas_command == "import":
        return _import(Path(arguments.template), arguments.output, Path(arguments.root))
    import os

    from keel.conf import ensure_settings_module
    from keel.logs import LOG_STREAM_VARIABLE

    ensure_settings_module()
    # stdout is the result's (to capture or pipe); log lines go to stderr, as keel manage's.
    os.environ.setdefault(LOG_STREAM_VARIABLE, "stderr")
    import django

    django.setup()
    if arguments.lambdas_command == "list":
        return _list(as_json=arguments.json)
    return _invoke(arguments.name, arguments.event)


def _describe(trigger: Any) -> str:
    if trigger.kind == "http":
        methods = ",".join(trigger.methods) or "ANY"
        return f"http {methods} {trigger.path} ({trigger.format})"
    if trigger.kind == "schedule":
        state = "" if trigger.enabled else " (disabled)"
        return f"schedule {trigger.expression} = cron {trigger.cron!r}{state}"
    extra = " reports batch item failures" if trigger.report_batch_item_failures else ""
    return f"{trigger.kind} {trigger.queue_url} batch {trigger.batch_size}{extra}"


def _list(*, as_json: bool) -> int:
    from keel.lambdas import registry

    functions = registry.functions()
    if as_json:
        rows = [
            {
                "name": function.name,
                "handler": function.handler_path,
                "timeout": function.timeout,
                "memory": function.memory,
                "retries": function.retries,
                "maximum_event_age": function.maximum_event_age,
                "triggers": [_describe(trigger) for trigger in function.triggers],
            }
            for function in functions.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not functions:
        print("no functions declared (KEEL_LAMBDAS is empty)")
        return 0
    for function in functions.values():
        print(
            f"{function.name}  {function.handler_path}  timeout={function.timeout:g}s  "
            f"memory={function.memory}MB  retries={function.retries}  "
            f"maximum_event_age={function.maximum_event_age}s"
        )
        for trigger in function.triggers:
            print(f"    {_describe(trigger)}")
        print(f"    invoke POST /2015-03-31/functions/{function.name}/invocations")
    return 0


def _invoke(name: str, event_path: str) -> int:
    from keel.lambdas import invocation, registry

    function = registry.get(name)
    if function is None:
        known = ", ".join(sorted(registry.functions())) or "none"
        print(f"keel lambdas invoke: no function {name!r} (declared: {known})", file=sys.stderr)
        return 2
    try:
        text = sys.stdin.read() if event_path == "-" else Path(event_path).read_text()
        event = json.loads(text)
    except (OSError, ValueError) as error:
        print(f"keel lambdas invoke: cannot read the event {event_path}: {error}", file=sys.stderr)
        return 2
    # What the handler prints is in its log (stderr): stdout carries only the result.
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = invocation.invoke(function, event, capture_log=True)
    sys.stderr.write(outcome.log)
    if outcome.failed:
        print(json.dumps(outcome.error, indent=2))
        return 1
    print(json.dumps(outcome.result, indent=2, default=repr))
    return 0


def _import(template: Path, output: str | None, root: Path) -> int:
    from keel.lambdas.importer import import_template, render

    try:
        imported = import_template(template, root=root)
    except (OSError, ValueError) as error:
        print(f"keel lambdas import: {template}: {error}", file=sys.stderr)
        return 2
    text = render(imported, source=template.name)
    if output:
        destination = Path(output)
        if destination.exists():
            print(f"keel lambdas import: {destination} exists; not overwritten", file=sys.stderr)
            return 2
        destination.write_text(text)
        print(f"wrote {destination}: {len(imported.functions)} function(s)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    for name, what in sorted(imported.variables.items()):
        print(f"set in the environment {name}: {what}", file=sys.stderr)
    for note in imported.notes:
        print(f"not translated: {note}", file=sys.stderr)
    return 0
