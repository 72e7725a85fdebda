"""The numbers the web server, preflight and the infrastructure must agree on.

Gunicorn's configuration, ``keel preflight`` and the Pulumi components all import
these, so the ALB, the ECS task definition and the server inside the container cannot
drift apart. The relations between them are checked by ``check_timeouts`` (and by the
infrastructure policy pack); change a number here and both will tell you what it broke.
"""

from __future__ import annotations

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

#: Recycle a web worker after this many requests (plus jitter) to bound slow leaks.
MAX_REQUESTS = 10_000
MAX_REQUESTS_JITTER = 1_000


def check_timeouts(
    *,
    keepalive: float = KEEPALIVE,
    alb_idle_timeout: float = ALB_IDLE_TIMEOUT,
    graceful_timeout: float = WEB_GRACEFUL_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
    deregistration_delay: float = DEREGISTRATION_DELAY,
    health_check_interval: float = HEALTH_CHECK_INTERVAL,
    health_check_timeout: float = HEALTH_CHECK_TIMEOUT,
    sse_heartbeat_interval: float = SSE_HEARTBEAT_INTERVAL,
) -> list[str]:
    """Return a message for each broken relation between the timeouts (empty when sound)."""
    problems = []
    if keepalive <= alb_idle_timeout:
        problems.append(
            f"keepalive ({keepalive:g} s) must exceed the ALB idle timeout "
            f"({alb_idle_timeout:g} s), or the ALB reuses sockets gunicorn closed (502s)"
        )
    if stop_timeout > 120:
        problems.append(f"stopTimeout ({stop_timeout:g} s) must be at most 120 s on Fargate")
    if graceful_timeout >= stop_timeout:
        problems.append(
            f"graceful_timeout ({graceful_timeout:g} s) must be below stopTimeout "
            f"({stop_timeout:g} s), or ECS SIGKILLs requests still in flight"
        )
    if deregistration_delay >= stop_timeout:
        problems.append(
            f"deregistration delay ({deregistration_delay:g} s) must be below stopTimeout "
            f"({stop_timeout:g} s)"
        )
    if health_check_timeout >= health_check_interval:
        problems.append(
            f"health-check timeout ({health_check_timeout:g} s) must be below its interval "
            f"({health_check_interval:g} s)"
        )
    if sse_heartbeat_interval >= alb_idle_timeout:
        problems.append(
            f"SSE heartbeat ({sse_heartbeat_interval:g} s) must be below the ALB idle timeout "
            f"({alb_idle_timeout:g} s), or the ALB cuts quiet streams"
        )
    return problems
