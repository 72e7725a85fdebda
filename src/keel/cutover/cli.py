"""``keel cutover status|step|rollback|retire``: the operator's side of a cutover.

Exit status: 0 done; 1 an error, printed as one line naming what failed (an AWS call by
its IAM action); 3 a step whose bake saw an alarm and put the weights back.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from typing import Any

from keel.logs import JsonFormatter

#: A step whose bake saw an alarm: the route is back where it was.
ROLLED_BACK = 3
ERROR = 1
_DURATION = re.compile(r"^(?P<number>\d+(\.\d+)?)(?P<unit>ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def duration(text: str) -> float:
    """Parse ``90s``, ``10m``, ``1.5h`` or plain seconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 10m or 1h")
    return float(match["number"]) * _UNITS[match["unit"]]


def percent(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole percentage from 0 to 100")
    return int(text)


def add_parser(roles: Any) -> None:
    """Add ``cutover`` and its commands to the ``keel`` command's sub-parsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", required=True, help="the Pulumi stack (dev, prod, ...)")
    common.add_argument("--app", default="keel", help="keel:app of the stack (default keel)")
    common.add_argument(
        "--region", help="AWS region (default: boto3's: AWS_DEFAULT_REGION, the profile)"
    )
    parser = roles.add_parser(
        "cutover",
        help="move routes from an existing Lambda function to keel by weight (docs/migration.md)",
    )
    commands = parser.add_subparsers(dest="cutover_command", required=True, metavar="COMMAND")
    status = commands.add_parser(
        "status", parents=[common], help="each route's weights, alarms and health on both sides"
    )
    status.add_argument("--window", type=duration, default=900.0, help="metrics window (15m)")
    status.add_argument("--json", action="store_true", help="print JSON")
    step = commands.add_parser(
        "step", parents=[common], help="move a route's weight, bake it, roll back on an alarm"
    )
    step.add_argument("route")
    step.add_argument("--to", type=percent, required=True, help="keel's share, 0-100")
    step.add_argument("--bake", type=duration, required=True, help="how long to watch: 10m")
    step.add_argument("--poll", type=duration, default=15.0, help="time between alarm checks (15s)")
    rollback = commands.add_parser(
        "rollback", parents=[common], help="put 100 %% of a route on Lambda, in one call"
    )
    rollback.add_argument("route")
    retire = commands.add_parser(
        "retire",
        parents=[common],
        help="report which old functions keel no longer reaches (removes nothing)",
    )
    retire.add_argument("--json", action="store_true", help="print JSON")


def _changes_to_stdout() -> None:
    """Print every weight change as a JSON line on stdout (keel's log format)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    changes = logging.getLogger("keel.cutover.changes")
    changes.handlers = [handler]
    changes.setLevel(logging.INFO)
    changes.propagate = False


def _progress(message: str) -> None:
    print(f"keel cutover: {message}", file=sys.stderr, flush=True)


def run(arguments: argparse.Namespace) -> int:
    """Run one ``keel cutover`` command; print errors as one line, never a traceback."""
    from keel.cutover.aws import Aws, CutoverError
    from keel.cutover.routes import Stack

    _changes_to_stdout()
    try:
        aws = Aws(region=arguments.region)
        stack = Stack(app=arguments.app, stack=arguments.stack)
        return _COMMANDS[arguments.cutover_command](arguments, aws, stack)
    except CutoverError as error:
        print(f"keel cutover {arguments.cutover_command}: {error}", file=sys.stderr)
        return ERROR


def _status(arguments: argparse.Namespace, aws: Any, stack: Any) -> int:
    from keel.cutover.health import route_health
    from keel.cutover.routes import route_list

    report = []
    for route in route_list(aws=aws, stack=stack):
        health = route_health(aws=aws, route=route, window_seconds=int(arguments.window))
        report.append((route, health))
    if arguments.json:
        print(json.dumps([_status_dict(route, health) for route, health in report], indent=2))
        return 0
    if not report:
        print(f"{stack.prefix}: no cutover routes (keel:cutover lists none)")
    for route, health in report:
        print(f"{route.name}  ({'; '.join(route.conditions)})")
        print(f"  weights  {route.weights}")
        print(f"  last {health.window_seconds // 60} min  {'requests':>9}  {'5xx':>8}  {'p95':>9}")
        for side, numbers in health.sides.items():
            rate = numbers.error_rate_percent
            p95 = numbers.p95_seconds
            print(
                f"  {side:<12}  {numbers.requests:>9.0f}  "
                f"{'-' if rate is None else f'{rate:.2f} %':>8}  "
                f"{'no data' if p95 is None else f'{p95:.3f} s':>9}"
            )
        alarms = ", ".join(f"{name} {state}" for name, state in health.alarms.items())
        print(f"  alarms   {alarms or 'none'}")
    return 0


def _status_dict(route: Any, health: Any) -> dict[str, Any]:
    return {
        "route": route.name,
        "conditions": list(route.conditions),
        "weights": route.weights.as_dict(),
        "window_seconds": health.window_seconds,
        "health": {
            side: {
                "requests": numbers.requests,
                "errors": numbers.errors,
                "error_rate_percent": numbers.error_rate_percent,
                "p95_seconds": numbers.p95_seconds,
            }
            for side, numbers in health.sides.items()
        },
        "alarms": health.alarms,
    }


def _step(arguments: argparse.Namespace, aws: Any, stack: Any) -> int:
    from keel.cutover.services import route_step

    result = route_step(
        aws=aws,
        stack=stack,
        name=arguments.route,
        to_percent=arguments.to,
        bake_seconds=arguments.bake,
        poll_seconds=arguments.poll,
        progress=_progress,
    )
    return ROLLED_BACK if result.rolled_back else 0


def _rollback(arguments: argparse.Namespace, aws: Any, stack: Any) -> int:
    from keel.cutover.services import route_rollback

    route_rollback(aws=aws, stack=stack, name=arguments.route, progress=_progress)
    return 0


def _retire(arguments: argparse.Namespace, aws: Any, stack: Any) -> int:
    from keel.cutover.retire import retire_report

    report = retire_report(aws=aws, stack=stack)
    if arguments.json:
        print(json.dumps([entry.as_dict() for entry in report], indent=2))
        return 0
    ready = [entry for entry in report if entry.ready]
    for entry in report:
        if not entry.ready:
            print(f"{entry.route}: not yet: {entry.reason}")
            continue
        print(f"{entry.route}: ready: {entry.reason}")
        print(f"  no longer reachable through keel's ALB: {entry.function_arn}")
        print(
            f"  added by keel for it: {entry.lambda_target_group}, permission {entry.permission_statement}"
        )
        if entry.invocations is not None:
            print(f"  invocations of the function since: {entry.invocations:g}")
        if entry.other_invokers:
            print("  still able to invoke it outside keel:")
            for invoker in entry.other_invokers:
                print(f"    {invoker}")
        else:
            print("  nothing else can invoke it (no other policy statement, mapping or URL)")
    if ready:
        print(
            "keel removed nothing. Remove the ready routes from keel:cutover and `pulumi up` "
            "(their rules, target groups, permissions and alarms go; the paths fall to the "
            "production rule), then delete the old functions as docs/migration.md says."
        )
    return 0


_COMMANDS = {"status": _status, "step": _step, "rollback": _rollback, "retire": _retire}
