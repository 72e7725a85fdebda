"""``keel preflight``: catch, before a deploy, what would fail on ECS after it.

Run it with the environment the task definition gives the container (same variables,
same secrets, same database). It checks the variables are there, the timeouts line up
with the ALB and ECS numbers in ``keel.constants`` (the ones the Pulumi
components use), Django's deploy checks are clean, the database is reachable and
migrated, and finally starts the web role and health-checks it as the ALB would. Each
failure comes with its fix; any failure makes the exit status non-zero.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping

from keel import constants
from keel.conf import ensure_settings_module
from keel.runtime.preflight_alb import exit_on_sigterm
from keel.runtime.preflight_project import (
    apps_finding,
    database_finding,
    deployment_files_finding,
    simulate_task_metadata,
)
from keel.runtime.preflight_report import Finding, format_report

#: Variables without which a production task must not start.
REQUIRED_VARIABLES = ("SECRET_KEY", "ALLOWED_HOSTS")
#: The database as separate variables (the password as its own ECS secret).
DATABASE_PARTS = ("DATABASE_HOST", "DATABASE_NAME", "DATABASE_USER")
DATABASE_PASSWORDS = ("DATABASE_PASSWORD", "DATABASE_PASSWORD_SECRET_ARN")


def environment_findings(environ: Mapping[str, str]) -> list[Finding]:
    """Check the variables and secrets a production task needs are set and not empty."""
    findings = []
    for name in REQUIRED_VARIABLES:
        present = bool(environ.get(name, "").strip())
        findings.append(
            Finding(
                name=f"variable {name} is set",
                ok=present,
                detail="" if present else f"{name} is missing or empty",
                fix="" if present else _VARIABLE_FIXES[name],
            )
        )
    for whole in ("DATABASE_URL", "DATABASE_URL_SECRET_ARN"):
        if environ.get(whole, "").strip():
            findings.append(Finding(name="database configured", ok=True, detail=whole))
            return findings
    # The password as its own ECS secret, or read by keel from a Secrets Manager secret
    # that rotates (DATABASE_PASSWORD_SECRET_ARN).
    password = next((name for name in DATABASE_PASSWORDS if environ.get(name, "").strip()), None)
    missing = [name for name in DATABASE_PARTS if not environ.get(name, "").strip()]
    if password is None:
        missing.append(" or ".join(DATABASE_PASSWORDS))
    findings.append(
        Finding(
            name="database configured",
            ok=not missing,
            detail=", ".join([*DATABASE_PARTS, password or ""])
            if not missing
            else f"neither DATABASE_URL nor {', '.join(missing)} is set",
            fix=""
            if not missing
            else "Set DATABASE_URL (or DATABASE_URL_SECRET_ARN), or DATABASE_HOST, "
            "DATABASE_NAME and DATABASE_USER with DATABASE_PASSWORD as a secret or "
            "DATABASE_PASSWORD_SECRET_ARN; without them keel falls back to a SQLite file, "
            "which on ECS is neither shared nor writable.",
        )
    )
    return findings


_VARIABLE_FIXES = {
    "SECRET_KEY": "Set SECRET_KEY to a long random value (50+ characters), delivered as a "
    "secret (the task definition's `secrets`, from Secrets Manager), never in plain "
    "`environment`. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'",
    "ALLOWED_HOSTS": "Set ALLOWED_HOSTS to the site's host names, comma-separated "
    "(e.g. api.example.com). The ALB's health check does not need its IP listed: /healthz "
    "is answered before host validation. On ECS the settings also add the task's private "
    "IPs, read at start-up: ALLOWED_HOSTS = [..., *keel.ecs.task_allowed_hosts()] "
    "(system check keel.E003).",
}

#: How to mend each relation ``constants.timeout_relations`` can report broken.
_TIMEOUT_FIXES = {
    "keepalive": "Keep gunicorn's keepalive above the ALB idle timeout: unset WEB_KEEPALIVE "
    f"(default {constants.KEEPALIVE} s) or set it above {constants.ALB_IDLE_TIMEOUT} s.",
    "stop_timeout": "Fargate allows a stopTimeout of at most 120 s; lower STOP_TIMEOUT in "
    "keel.constants.",
    "web_graceful_timeout": "Keep gunicorn's graceful_timeout below the task's stopTimeout "
    f"({constants.STOP_TIMEOUT} s): unset WEB_GRACEFUL_TIMEOUT (default "
    f"{constants.WEB_GRACEFUL_TIMEOUT} s) or set it lower.",
    "worker_graceful_timeout": "Lower WORKER_GRACEFUL_TIMEOUT in keel.constants below "
    "STOP_TIMEOUT.",
    "deregistration_delay": "Lower DEREGISTRATION_DELAY in keel.constants below STOP_TIMEOUT.",
    "health_check_timeout": "Lower HEALTH_CHECK_TIMEOUT below HEALTH_CHECK_INTERVAL in "
    "keel.constants.",
    "sse_heartbeat": "Lower SSE_HEARTBEAT_INTERVAL in keel.constants below the ALB idle timeout.",
}


def timeout_findings() -> list[Finding]:
    """Compare gunicorn's effective values with the ALB and ECS numbers."""
    # The values gunicorn will really run with, read the way gunicorn reads them.
    from keel.runtime.web import gunicorn_conf

    relations = constants.timeout_relations(
        keepalive=gunicorn_conf.keepalive, web_graceful_timeout=gunicorn_conf.graceful_timeout
    )
    return [
        Finding(
            name=relation.name,
            ok=relation.holds,
            detail=relation.detail if relation.holds else relation.problem,
            fix="" if relation.holds else _TIMEOUT_FIXES[relation.key],
        )
        for relation in relations
    ]


def settings_finding() -> Finding:
    """Load the Django settings the task would load; every later check needs them."""
    ensure_settings_module()
    try:
        import django

        django.setup()
    except Exception as error:
        return Finding(
            name=f"settings {os.environ['DJANGO_SETTINGS_MODULE']} load",
            ok=False,
            detail=f"{type(error).__name__}: {error}",
            fix="Fix the variable named above; the task would crash on start with this error.",
        )
    return Finding(name=f"settings {os.environ['DJANGO_SETTINGS_MODULE']} load", ok=True)


def deploy_check_findings() -> list[Finding]:
    """Run ``check --deploy``: a deploy needs zero errors and zero warnings."""
    from django.core import checks

    messages = [
        message
        for message in checks.run_checks(include_deployment_checks=True)
        if message.is_serious(checks.WARNING) and not message.is_silenced()
    ]
    if not messages:
        return [Finding(name="check --deploy", ok=True, detail="no errors or warnings")]
    return [
        Finding(
            name=f"check --deploy {message.id}",
            ok=False,
            detail=str(message.msg),
            fix=str(message.hint or "See Django's deployment checklist for this check id."),
        )
        for message in messages
    ]


_READINESS_FIXES = {
    "database": "Make the database reachable from the task: check DATABASE_URL (or "
    "DATABASE_HOST...), the security group from the service to the database, and that the "
    "database exists.",
    "migrations": "Run `keel migrate` (the one-off migrate task) before the services update; "
    "web never migrates.",
}


def _readiness_fix(name: str, error: str) -> str:
    if error.startswith("not checked:"):
        return "Make the check it names pass first."
    return _READINESS_FIXES.get(name, "Make this check pass: its message names what is missing.")


def readiness_findings() -> list[Finding]:
    """Run the /readyz checks in this process: database reachable, migrated, and the rest."""
    from keel.health.readiness import run_checks

    return [
        Finding(
            name=f"readiness: {result.name}",
            ok=result.ok,
            detail=result.error or f"{result.duration_ms:g} ms",
            fix="" if result.ok else _readiness_fix(result.name, result.error or ""),
        )
        for result in run_checks()
    ]


def health_check_finding(*, server: str, interval: float) -> Finding:
    """Start the web role and health-check it as the ALB would."""
    from keel.runtime.preflight_alb import ALB_HOST, run_web_and_check_health

    outcome = run_web_and_check_health(server=server, interval=interval)
    name = (
        f"ALB health check GET {constants.HEALTH_PATH} Host: {ALB_HOST} "
        f"(timeout {constants.HEALTH_CHECK_TIMEOUT} s, healthy after "
        f"{constants.HEALTH_CHECK_HEALTHY_THRESHOLD}, unhealthy after "
        f"{constants.HEALTH_CHECK_UNHEALTHY_THRESHOLD})"
    )
    seen = ", ".join(outcome.probes) or "nothing"
    if outcome.healthy:
        return Finding(name=name, ok=True, detail=f"healthy in {outcome.seconds:.1f} s ({seen})")
    return Finding(
        name=name,
        ok=False,
        detail=f"unhealthy: the health checker saw {seen}",
        fix=_health_fix(outcome.probes) + "\nweb role log (end):\n" + outcome.log_tail[-1500:],
    )


def _health_fix(probes: list[str]) -> str:
    if any(probe.startswith("400") for probe in probes):
        return (
            "The health path answers 400 for an IP Host: Django's ALLOWED_HOSTS validation "
            "ran before the health check. Put keel.health.middleware.HealthCheckMiddleware "
            "first in MIDDLEWARE (system check keel.E001)."
        )
    if any(probe.startswith(("301", "302", "307", "308")) for probe in probes):
        return (
            "The health path redirects (the ALB health check is plain HTTP to the task, so "
            "SECURE_SSL_REDIRECT catches it): put keel.health.middleware.HealthCheckMiddleware "
            "first in MIDDLEWARE, before SecurityMiddleware."
        )
    if any(probe.startswith("timeout") for probe in probes):
        return (
            f"The health path took longer than {constants.HEALTH_CHECK_TIMEOUT} s: it must do "
            "no I/O; check the workers are not all busy or blocked."
        )
    return "The web role did not answer the health check; its log is below."


def run_preflight(*, server: str = "asgi", interval: float | None = None) -> int:
    """Run every check, print the report and return the exit status (0: all passed)."""
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        findings = collect_findings(server=server, interval=interval)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(format_report(findings), flush=True)
    return 0 if all(finding.ok for finding in findings) else 1


def collect_findings(*, server: str, interval: float | None) -> list[Finding]:
    findings = environment_findings(os.environ)
    if (deployment := deployment_files_finding()) is not None:
        findings.append(deployment)
    findings += _guarded("gunicorn configuration", timeout_findings)
    # Before the settings load: off ECS they see a simulated task IP (preflight_project).
    simulate_task_metadata()
    settings = settings_finding()
    findings.append(settings)
    later: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("keel's apps", lambda: [apps_finding()]),
        ("database settings", lambda: [database_finding()]),
        ("check --deploy", deploy_check_findings),
        ("readiness", readiness_findings),
        (
            "ALB health check",
            lambda: [
                health_check_finding(
                    server=server,
                    interval=constants.HEALTH_CHECK_INTERVAL if interval is None else interval,
                )
            ],
        ),
    ]
    for name, check in later:
        if settings.ok:
            findings += _guarded(name, check)
        else:
            findings.append(
                Finding(name=name, ok=False, skipped=True, detail="skipped: settings do not load")
            )
    return findings


def _guarded(name: str, check: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return check()
    except Exception as error:
        return [
            Finding(
                name=name,
                ok=False,
                detail=f"{type(error).__name__}: {error}",
                fix="Fix the error above; the task would fail the same way.",
            )
        ]
