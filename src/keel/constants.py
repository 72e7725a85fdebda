"""The numbers the web server, preflight and the infrastructure must agree on.

Gunicorn's configuration, ``keel preflight`` and the Pulumi components all import
these, so the ALB, the ECS task definition and the server inside the container cannot
drift apart. The relations between them are stated once, in ``timeout_relations``:
preflight reports each one, the Pulumi program refuses to plan when one is broken, and
the policy pack checks the stopTimeout a task definition really carries against them.
Change a number here and all three tell you what it broke.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The settings module the Pulumi program gives the containers when the stack does not
#: set ``keel:djangoSettingsModule`` (the example project's; ``keel init`` writes a
#: project's own into its stack files). Roles themselves read it from the environment or
#: the project's manage.py (keel.conf.ensure_settings_module).
DEFAULT_SETTINGS_MODULE = "example.settings"

#: What ``<NAME>_SECRET_ARN`` of a rotated secret holds (keel.credentials reads it, the
#: Pulumi program writes it from ``keel:rotatedSecrets``): a Secrets Manager secret's
#: ARN, optionally followed by ECS's ``:json-key:version-stage:version-id``.
ROTATED_ARN_PATTERN = (
    r"^(?P<arn>arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+)"
    r"(?::(?P<key>[^:]*)(?::(?P<stage>[^:]*)(?::(?P<version>[^:]*))?)?)?$"
)
#: A rotated secret's name: an upper-case variable name (STRIPE_API_KEY).
ROTATED_NAME_PATTERN = r"^[A-Z][A-Z0-9_]*$"

#: The port every keel container listens on and the target group forwards to.
PORT = 8000

#: Liveness: answered before host validation, no I/O. The ALB target-group check.
HEALTH_PATH = "/healthz"
#: Readiness: database, migrations and the DBOS system database, as JSON.
READY_PATH = "/readyz"

#: The ALB's idle timeout (seconds). The ALB closes a connection idle this long.
ALB_IDLE_TIMEOUT = 60
#: Gunicorn keep-alive (seconds). Must exceed the ALB idle timeout, or gunicorn closes a
#: connection the ALB still believes open and users see 502s.
KEEPALIVE = 65

#: ECS stopTimeout (seconds) for every keel container: SIGTERM, then SIGKILL this much
#: later. Fargate's maximum is 120.
STOP_TIMEOUT = 120
#: Gunicorn graceful timeout (seconds) for the web role: in-flight requests get this long
#: after SIGTERM. Must be below STOP_TIMEOUT so gunicorn, not SIGKILL, ends the process.
WEB_GRACEFUL_TIMEOUT = 30
#: How long the worker role lets in-flight workflow steps finish after SIGTERM before it
#: exits; unfinished runs are recovered by another worker. Below STOP_TIMEOUT.
WORKER_GRACEFUL_TIMEOUT = 90
#: Gunicorn worker timeout (seconds): a worker silent this long is killed and replaced.
WORKER_TIMEOUT = 30

#: Target-group deregistration delay (seconds). Short on purpose: SSE clients resume with
#: Last-Event-ID, so open streams need not drain; requests in flight finish within it.
DEREGISTRATION_DELAY = 15

#: ALB target-group health check timings.
HEALTH_CHECK_INTERVAL = 10
HEALTH_CHECK_TIMEOUT = 5
HEALTH_CHECK_HEALTHY_THRESHOLD = 2
HEALTH_CHECK_UNHEALTHY_THRESHOLD = 3
HEALTH_CHECK_MATCHER = "200"
#: ECS health-check grace period (seconds) after a task starts.
HEALTH_CHECK_GRACE_PERIOD = 30

#: SSE heartbeat (seconds): a comment line sent on an idle stream, well inside the ALB
#: idle timeout so the ALB never cuts a quiet stream.
SSE_HEARTBEAT_INTERVAL = 15.0

#: Longest wait (seconds) for the ECS task metadata endpoint at start-up.
ECS_METADATA_TIMEOUT = 1.0

#: Connections queued per web worker's listening socket before it accepts them
#: (``WEB_BACKLOG``); the kernel caps it at net.core.somaxconn.
WEB_BACKLOG = 4096

#: Recycle a web worker after this many requests (plus jitter) to bound slow leaks.
MAX_REQUESTS = 10_000
MAX_REQUESTS_JITTER = 1_000

# A database that is down costs a web request seconds, never minutes: every wait a
# request can make on PostgreSQL (keel's tables or DBOS's system tables) is bounded by
# one of the numbers below, and nothing in the web role retries. A server that is down
# while its host is up (crashed, restarting, stopped) refuses or resets connections and
# costs a request nothing; the numbers matter when the host itself is gone and packets
# are dropped, where only a timeout ends a wait. docs/operations.md states the bounds.

#: One connection attempt, in seconds (libpq's ``connect_timeout``; the default of
#: ``DATABASE_CONNECT_TIMEOUT``). 2 s is the floor: libpq and psycopg read less as 2.
DATABASE_CONNECT_TIMEOUT = 2
#: Noticing that an open connection's host vanished, in seconds. Data sent and not
#: acknowledged this long ends the connection (``TCP_USER_TIMEOUT``): the health check or
#: pool ping on an idle connection fails after 1 s. A connection that has heard nothing
#: this long sends a keep-alive probe, which must be acknowledged within this long again:
#: a statement whose answer never comes fails after 2 s. A VPC's round trip is well under
#: a millisecond, so these never cut off a live server, however long its statement runs.
DATABASE_DEAD_CONNECTION_TIMEOUT = 1
#: Checking a connection out of keel's pool for the DBOS system database, in seconds.
#: The pool has a connection for every web request thread, so a checkout never waits;
#: this only bounds a leak.
DATABASE_POOL_TIMEOUT = 1
#: The longest one database call waits on a vanished host once its idle connection has
#: been found dead: a failed connection attempt, or a statement sent on a fresh
#: connection whose answer never comes.
_FAILED_CALL = max(DATABASE_CONNECT_TIMEOUT, 2 * DATABASE_DEAD_CONNECTION_TIMEOUT)
#: The longest answer to an API request while the database is down, in seconds: the
#: longest chain of the waits above that one request can meet. A request stops at its
#: first failed database call, except the hand-off of a recorded run to DBOS (the run is
#: answered 201 and handed over later), so the worst is ``POST /api/runs/``: its thread's
#: idle connection found dead (1 s), a reconnect to a server that then vanishes, the
#: hand-off's pooled connection found dead (1 s) and its failed call (2 s).
API_OUTAGE_ANSWER_BOUND = 2 * DATABASE_DEAD_CONNECTION_TIMEOUT + _FAILED_CALL
#: The same for ``/readyz``, which asks both databases: its thread's dead connection
#: (1 s), a failed call to keel's database (2 s; the checks that read keel's tables are
#: then skipped) and a failed call on a fresh connection to the system database (2 s).
READY_OUTAGE_ANSWER_BOUND = DATABASE_DEAD_CONNECTION_TIMEOUT + 2 * _FAILED_CALL

# The cutover contract: what keel.infra.cutover tags and names, and `keel cutover` finds
# by (docs/adr/0007-cutover.md). The ALB itself is named "<app>-<stack>".
#: On a route's listener rule, its target groups and its alarms: the route's name.
CUTOVER_ROUTE_TAG = "keel:cutover-route"
#: On a route's target groups: which side of the split it is.
CUTOVER_SIDE_TAG = "keel:cutover-side"
CUTOVER_SIDE_LAMBDA = "lambda"
CUTOVER_SIDE_KEEL = "keel"
#: On a route's rule: the log group every weight change is written to.
CUTOVER_LOG_GROUP_TAG = "keel:cutover-log-group"
#: On a route's rule: seconds at 100 % keel, alarms quiet, before retire reports it.
CUTOVER_RETIRE_AFTER_TAG = "keel:cutover-retire-after-seconds"
#: On a Lambda-only route's rule (no keel side yet): the route's name.
CUTOVER_LAMBDA_ONLY_TAG = "keel:lambda-route"
#: On a route's rule: the statement id of the Lambda permission keel added.
CUTOVER_PERMISSION_TAG = "keel:cutover-permission"


def cutover_alarm_prefix(prefix: str, route: str) -> str:
    """Return the name prefix of a route's alarms (``<app>-<stack>-cutover-<route>-``)."""
    return f"{prefix}-cutover-{route}-"


def cutover_log_group(prefix: str) -> str:
    """Return the log group of a stack's cutover changes."""
    return f"/keel/{prefix}/cutover"


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeoutRelation:
    """One relation the timeouts must keep, evaluated for a set of values."""

    #: Stable identifier, for code that reacts to one relation (preflight's fixes).
    key: str
    #: What must hold, as a reader would say it: "keepalive > ALB idle timeout".
    name: str
    holds: bool
    #: The values compared, e.g. "65 s > 60 s".
    detail: str
    #: Why it matters when broken; empty while it holds.
    problem: str
    #: Whether the relation involves the task's stopTimeout (the policy pack checks those
    #: against the value in each task definition).
    involves_stop_timeout: bool = False


def timeout_relations(
    *,
    keepalive: float = KEEPALIVE,
    alb_idle_timeout: float = ALB_IDLE_TIMEOUT,
    web_graceful_timeout: float = WEB_GRACEFUL_TIMEOUT,
    worker_graceful_timeout: float = WORKER_GRACEFUL_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
    deregistration_delay: float = DEREGISTRATION_DELAY,
    health_check_interval: float = HEALTH_CHECK_INTERVAL,
    health_check_timeout: float = HEALTH_CHECK_TIMEOUT,
    sse_heartbeat_interval: float = SSE_HEARTBEAT_INTERVAL,
) -> tuple[TimeoutRelation, ...]:
    """Evaluate every relation between the timeouts for these values (keel's by default)."""

    def relation(
        key: str, name: str, holds: bool, detail: str, problem: str, *, stop: bool = False
    ) -> TimeoutRelation:
        return TimeoutRelation(
            key=key,
            name=name,
            holds=holds,
            detail=detail,
            problem="" if holds else f"{name} ({detail}): {problem}",
            involves_stop_timeout=stop,
        )

    return (
        relation(
            "keepalive",
            "keepalive > ALB idle timeout",
            keepalive > alb_idle_timeout,
            f"{keepalive:g} s > {alb_idle_timeout:g} s",
            "otherwise the ALB reuses sockets gunicorn closed and users see 502s",
        ),
        relation(
            "stop_timeout",
            "stopTimeout <= 120 s",
            stop_timeout <= 120,
            f"{stop_timeout:g} s <= 120 s",
            "Fargate allows at most 120 s between SIGTERM and SIGKILL",
            stop=True,
        ),
        relation(
            "web_graceful_timeout",
            "web graceful timeout < stopTimeout",
            web_graceful_timeout < stop_timeout,
            f"{web_graceful_timeout:g} s < {stop_timeout:g} s",
            "otherwise ECS SIGKILLs requests still in flight",
            stop=True,
        ),
        relation(
            "worker_graceful_timeout",
            "worker graceful timeout < stopTimeout",
            worker_graceful_timeout < stop_timeout,
            f"{worker_graceful_timeout:g} s < {stop_timeout:g} s",
            "otherwise ECS SIGKILLs the worker before the steps in flight are checkpointed",
            stop=True,
        ),
        relation(
            "deregistration_delay",
            "deregistration delay < stopTimeout",
            deregistration_delay < stop_timeout,
            f"{deregistration_delay:g} s < {stop_timeout:g} s",
            "otherwise the ALB still sends requests to a task ECS is killing",
            stop=True,
        ),
        relation(
            "health_check_timeout",
            "health-check timeout < interval",
            health_check_timeout < health_check_interval,
            f"{health_check_timeout:g} s < {health_check_interval:g} s",
            "the ALB requires it",
        ),
        relation(
            "sse_heartbeat",
            "SSE heartbeat < ALB idle timeout",
            sse_heartbeat_interval < alb_idle_timeout,
            f"{sse_heartbeat_interval:g} s < {alb_idle_timeout:g} s",
            "otherwise the ALB cuts quiet streams",
        ),
    )


def check_timeouts(**values: float) -> list[str]:
    """Return the problem of each broken relation (empty when every relation holds)."""
    return [relation.problem for relation in timeout_relations(**values) if not relation.holds]


# -- Metrics: what keel's roles publish as CloudWatch embedded-metric-format log lines
# (keel.metrics), and what the Pulumi program's dashboard and alarms read.

#: The CloudWatch namespace of every keel metric.
METRICS_NAMESPACE = "Keel"
#: The one dimension every metric carries: the ECS service (``<app>-<stack>-<role>``).
METRIC_SERVICE_DIMENSION = "Service"
#: A second dimension of the finish counters: the run's or task's outcome.
METRIC_OUTCOME_DIMENSION = "Outcome"
#: A second dimension of StepDuration: ``model``, ``tool`` or ``task``.
METRIC_KIND_DIMENSION = "Kind"
#: Gauges, published by every worker at each metrics interval (the same database-wide
#: value from each: read them with Maximum).
QUEUED_RUNS = "QueuedRuns"
RUNNING_RUNS = "RunningRuns"
QUEUED_TASKS = "QueuedTasks"
RUNNING_TASKS = "RunningTasks"
#: QueuedRuns + QueuedTasks: the backlog the worker service scales on.
QUEUED_WORK = "QueuedWork"
#: Counters (Sum) and timings, published as they happen.
RUNS_FINISHED = "RunsFinished"
TASKS_FINISHED = "TasksFinished"
RUN_DURATION = "RunDuration"
STEP_DURATION = "StepDuration"
RECOVERED_WORKFLOWS = "RecoveredWorkflows"
DATABASE_ERRORS = "DatabaseConnectionErrors"
#: Open event streams of one web worker process, at each metrics interval (read with Sum).
OPEN_STREAMS = "OpenStreams"
#: The ``Outcome`` values of RunsFinished and RunDuration: an agent run's final statuses
#: (keel.agents.models.RunStatus), and those the failure-rate alarm counts as failures.
RUN_OUTCOMES = ("succeeded", "failed", "cancelled", "timed_out")
RUN_FAILURE_OUTCOMES = ("failed", "timed_out")
#: The ``Outcome`` values of TasksFinished (keel.tasks.models.TaskStatus), and the failure.
TASK_OUTCOMES = ("SUCCESSFUL", "FAILED")
TASK_FAILURE_OUTCOMES = ("FAILED",)
#: The ``Kind`` values of StepDuration.
STEP_KINDS = ("model", "tool", "task")

#: Where Lambda's Invoke API lives (keel.lambdas serves it for callers moved from
#: ``lambda.invoke``): its bodies are Lambda payloads, up to 6 MB, signed with SigV4.
LAMBDA_INVOKE_PATH_PREFIX = "/2015-03-31/functions/"
