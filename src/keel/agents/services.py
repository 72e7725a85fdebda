"""Business logic for agent runs: every write to runs and their events goes through here."""

from __future__ import annotations

import functools
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb
from rest_framework import serializers
from rest_framework.authtoken.models import Token

from keel import constants, metrics
from keel.agents import registry
from keel.agents.conf import agent_settings
from keel.agents.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    AgentRun,
    EventType,
    RunEvent,
    RunStatus,
)
from keel.errors import DATABASE_UNAVAILABLE
from keel.tasks.conf import durable_settings

logger = logging.getLogger("keel.agents")

#: The DBOS queue every run waits in; partitioned by owner for the per-user limit.
RUN_QUEUE = "keel_agent_runs"
#: The name the run workflow is registered under (keel.agents.workflows).
RUN_WORKFLOW = "keel_agents.run_agent"
#: PostgreSQL NOTIFY channel; the payload is the run id.
EVENTS_CHANNEL = "keel_run_events"


def run_input_validate(*, agent: str, input: Any) -> dict[str, Any]:
    """Return the agent's validated input or raise ``ValidationError`` naming the field."""
    try:
        spec = registry.get(agent)
    except registry.UnknownAgent:
        raise serializers.ValidationError(
            {"agent": [f"Unknown agent {agent!r}; known: {', '.join(registry.names())}."]}
        ) from None
    if not isinstance(input, dict):
        raise serializers.ValidationError({"input": ["Must be a JSON object."]})
    limit = agent_settings().max_input_bytes
    # UTF-8, as sent: with ASCII escapes a 10,000-character prompt of emoji would count
    # 120 kB, and an input the agent's schema allows would be refused.
    if len(json.dumps(input, ensure_ascii=False).encode(errors="surrogatepass")) > limit:
        raise serializers.ValidationError({"input": [f"Must be at most {limit} bytes as JSON."]})
    serializer = spec.input_serializer(data=input)
    if not serializer.is_valid():
        raise serializers.ValidationError({"input": serializer.errors})
    return dict(serializer.validated_data)


def run_create(
    *,
    owner: User,
    agent: str,
    input: Any,
    idempotency_key: str | None = None,
) -> tuple[AgentRun, bool]:
    """Validate, record and enqueue a run; return it and whether it is new.

    A repeated ``idempotency_key`` from the same owner returns the first run unchanged
    (once the request is valid). Once the run's row has committed the run is accepted:
    if handing it to the workers fails (the DBOS system database is down, or went down
    after the row was written), the run stays ``queued`` without ``enqueued_at`` and a
    worker's sweep hands it over when it can, exactly as for a web process that died in
    between. So a run answered 201 always runs, and a 503 means the row could not be
    written: nothing was recorded, unless the database went away during the commit
    itself and took its answer along (repeating the request with the same
    ``Idempotency-Key`` then returns the run).
    """
    # Validate first: a repeated key answers with the first run only for a valid request,
    # so an invalid body is a 400 whatever key it carries.
    validated = run_input_validate(agent=agent, input=input)
    if idempotency_key:
        existing = AgentRun.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            run = AgentRun.objects.create(
                owner=owner,
                agent=agent,
                input=validated,
                idempotency_key=idempotency_key or None,
                last_sequence=1,
            )
            # Nothing can be streaming a run that did not exist: no NOTIFY for event 1.
            _event_create(run, EventType.STATUS, {"status": RunStatus.QUEUED}, notify=False)
    except IntegrityError:
        # Another request with the same key won the race.
        if idempotency_key:
            return AgentRun.objects.get(owner=owner, idempotency_key=idempotency_key), False
        raise
    # Any failure from here on leaves the run to the sweep, not only an outage: the row
    # is the promise. Marking the run failed instead would need a write to a database
    # that may be down, and when that write failed too, a run answered 503 was later
    # enqueued by the sweep and ran without its client knowing.
    try:
        run_enqueue(run=run)
    except DATABASE_UNAVAILABLE as error:
        logger.warning(
            "run %s recorded but not handed to the workers (database unavailable); "
            "the sweep hands it over",
            run.id,
            extra={"run_id": str(run.id), "exception_type": type(error).__name__},
        )
    except Exception:
        logger.exception(
            "run %s recorded but handing it to the workers failed; the sweep retries",
            run.id,
            extra={"run_id": str(run.id)},
        )
    return run, True


def run_enqueue(*, run: AgentRun) -> None:
    """Hand ``run`` to the workers and record when (idempotent: the run id is the
    workflow id, so a second enqueue of the same run is a no-op).

    The run's row commits before this: if the process dies in between or this fails,
    the run stays ``queued`` with no ``enqueued_at`` and a worker's sweep
    (``sweeps.runs_unqueued_enqueue``) enqueues it.
    """
    from keel.tasks.system_database import client, unavailable_on_outage

    queue, time_limit = run_limits(agent=run.agent)
    with unavailable_on_outage():
        client().enqueue(
            {
                "workflow_name": RUN_WORKFLOW,
                "queue_name": queue,
                "workflow_id": str(run.id),
                "queue_partition_key": str(run.owner_id),
                "workflow_timeout": time_limit,
                "app_version": durable_settings().application_version,
            },
            str(run.id),
        )
    AgentRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now())


def run_queue_name(*, agent: str) -> str:
    """The queue of an agent with a per-user limit of its own: ``keel_agent_runs.<agent>``."""
    return f"{RUN_QUEUE}.{agent}"


def run_limits(*, agent: str) -> tuple[str, float]:
    """Return the queue and the time limit (seconds) of a run of ``agent``.

    An agent declaring ``runs_per_user`` waits in a queue of its own, partitioned by owner
    with that limit; the others share ``RUN_QUEUE`` and AGENT_RUNS_PER_USER. A run of an
    agent no longer registered gets the shared defaults (it fails when it starts).
    """
    config = agent_settings()
    try:
        spec = registry.get(agent)
    except registry.UnknownAgent:
        return RUN_QUEUE, config.run_time_limit
    queue = RUN_QUEUE if spec.runs_per_user is None else run_queue_name(agent=agent)
    return queue, spec.time_limit or config.run_time_limit


def run_cancel(*, run: AgentRun) -> AgentRun:
    """Cancel ``run``: no new model or tool calls start, and it ends ``cancelled``."""
    if run.is_finished:
        return run
    from keel.tasks.system_database import client, unavailable_on_outage

    # Record the request before cancelling the workflow: a worker that notices the
    # cancellation first ends the run itself (run_interrupt), and reads this field to
    # tell a cancel from a time limit.
    AgentRun.objects.filter(pk=run.pk, cancel_requested_at__isnull=True).update(
        cancel_requested_at=timezone.now()
    )
    # A worker checks for the cancellation before every step, so no new model or tool
    # call starts after this returns.
    with unavailable_on_outage():
        client().cancel_workflow(str(run.id))
    run_finish(run_id=run.id, status=RunStatus.CANCELLED)
    run.refresh_from_db()
    return run


def run_start(*, run_id: uuid.UUID | str) -> AgentRun | None:
    """Mark the run running for one more attempt; return None if it already finished."""
    if connection.vendor == "postgresql":
        now = timezone.now()
        started = list(
            AgentRun.objects.raw(
                _append_statement(
                    assignments="attempts = attempts + 1, status = %(running)s, "
                    "started_at = CASE WHEN status = %(queued)s THEN %(now)s ELSE started_at END",
                    payload="CASE WHEN started_at = %(now)s THEN %(first)s ELSE %(resumed)s END",
                    returning="*",
                ),
                _append_parameters(
                    run_id,
                    EventType.STATUS,
                    now,
                    running=str(RunStatus.RUNNING),
                    queued=str(RunStatus.QUEUED),
                    first=Jsonb({"status": RunStatus.RUNNING}),
                    resumed=Jsonb({"status": RunStatus.RUNNING, "resumed": True}),
                ),
            )
        )
        if started:
            return started[0]
        _finished_or_missing(run_id)
        return None
    with transaction.atomic():
        run = AgentRun.objects.select_for_update().get(pk=run_id)
        if run.is_finished:
            return None
        run.attempts += 1
        fields = ["attempts"]
        payload: dict[str, Any] = {"status": RunStatus.RUNNING}
        if run.status == RunStatus.QUEUED:
            run.status = RunStatus.RUNNING
            run.started_at = timezone.now()
            fields += ["status", "started_at"]
        else:
            payload["resumed"] = True
        _append(run, EventType.STATUS, payload, fields=fields)
        return run


def run_finish(
    *,
    run_id: uuid.UUID | str,
    status: RunStatus,
    output: Any = None,
    error: str = "",
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> bool:
    """End an active run in ``status``; return False if it had already ended."""
    assert status in FINISHED_STATUSES
    finished_at = timezone.now()
    payload: dict[str, Any] = {"status": status}
    if error:
        payload["error"] = error
    if connection.vendor == "postgresql":
        output_field = AgentRun._meta.get_field("output")
        with connection.cursor() as cursor:
            cursor.execute(
                _append_statement(
                    assignments="status = %(status)s, finished_at = %(now)s, "
                    "output = %(output)s, error = %(error)s, "
                    "input_tokens = %(input_tokens)s, output_tokens = %(output_tokens)s",
                    payload="%(payload)s",
                    returning="started_at",
                ),
                _append_parameters(
                    run_id,
                    EventType.STATUS,
                    finished_at,
                    status=str(status),
                    output=output_field.get_db_prep_save(output, connection),
                    error=error,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    payload=Jsonb(payload),
                ),
            )
            row = cursor.fetchone()
        if row is None:
            _finished_or_missing(run_id)
            return False
        started_at = row[3]
    else:
        with transaction.atomic():
            run = AgentRun.objects.select_for_update().get(pk=run_id)
            if run.status not in ACTIVE_STATUSES:
                return False
            run.status = status
            run.finished_at = finished_at
            run.output = output
            run.error = error
            run.input_tokens = input_tokens
            run.output_tokens = output_tokens
            _append(
                run,
                EventType.STATUS,
                payload,
                fields=[
                    "status",
                    "finished_at",
                    "output",
                    "error",
                    "input_tokens",
                    "output_tokens",
                ],
            )
        started_at = run.started_at
    outcome = {constants.METRIC_OUTCOME_DIMENSION: str(status)}
    metrics.emit({constants.RUNS_FINISHED: 1}, dimensions=outcome)
    if started_at is not None:
        metrics.emit_duration(
            constants.RUN_DURATION, (finished_at - started_at).total_seconds(), **outcome
        )
    return True


def run_gauges() -> dict[str, float]:
    """Runs waiting and running, database-wide (published by keel.tasks.worker)."""
    from django.db.models import Count

    counts = dict(
        AgentRun.objects.filter(status__in=ACTIVE_STATUSES)
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return {
        constants.QUEUED_RUNS: counts.get(RunStatus.QUEUED, 0),
        constants.RUNNING_RUNS: counts.get(RunStatus.RUNNING, 0),
    }


def run_interrupt(*, run_id: uuid.UUID | str) -> RunStatus | None:
    """End a run whose workflow DBOS cancelled: ``cancelled`` if asked, else ``timed_out``."""
    run = AgentRun.objects.get(pk=run_id)
    status = RunStatus.CANCELLED if run.cancel_requested_at else RunStatus.TIMED_OUT
    return status if run_finish(run_id=run_id, status=status) else None


def run_event_append(
    *, run_id: uuid.UUID | str, type: EventType, payload: dict[str, Any]
) -> RunEvent | None:
    """Append an event to an active run; events for a finished run are dropped.

    Dropping keeps the terminal status event last, which is what tells a stream to end.
    """
    if connection.vendor == "postgresql":
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute(
                _append_statement(assignments="", payload="%(payload)s", returning=""),
                _append_parameters(run_id, type, now, payload=Jsonb(payload)),
            )
            row = cursor.fetchone()
        if row is None:
            _finished_or_missing(run_id)
            return None
        event_id, sequence, *_ = row
        event = RunEvent(id=event_id, run_id=run_id, sequence=sequence, type=type, payload=payload)
        event.created_at = now
        return event
    with transaction.atomic():
        run = (
            AgentRun.objects.select_for_update()
            .only("id", "status", "last_sequence")
            .get(pk=run_id)
        )
        if run.status not in ACTIVE_STATUSES:
            return None
        return _append(run, type, payload)


@functools.cache
def _append_statement(*, assignments: str, payload: str, returning: str) -> str:
    """One PostgreSQL statement appending an event to an active run.

    The run's UPDATE (which takes its row lock, as ``select_for_update`` does), the
    event's INSERT and the NOTIFY run in one statement and so one implicit transaction:
    one round trip where the ORM's transaction takes six. On the worker's hot path that
    was ~1.6 ms of CPU per call (profiled: most of it psycopg sending each statement);
    docs/benchmarks.md has the before and after. The statement yields one row (the
    event's id and sequence, then the run's ``returning`` columns) or none when the
    run is not active or does not exist.
    """
    quote = connection.ops.quote_name
    runs, events = quote(AgentRun._meta.db_table), quote(RunEvent._meta.db_table)
    returned = f"{returning}, " if returning else ""
    # Every fragment is a literal of this module; values travel as parameters.
    return f"""
        WITH run AS (
            UPDATE {runs} SET {assignments}{", " if assignments else ""}
                last_sequence = last_sequence + 1
            WHERE id = %(run_id)s AND status = ANY(%(active)s)
            RETURNING {returned}id AS appended_run_id, last_sequence AS appended_sequence
        ), event AS (
            INSERT INTO {events} (run_id, sequence, type, payload, created_at)
            SELECT appended_run_id, appended_sequence, %(type)s, {payload}, %(now)s FROM run
            RETURNING id
        )
        SELECT event.id AS event_id, run.appended_sequence AS event_sequence,
            pg_notify(%(channel)s, run.appended_run_id::text)::text AS notified, run.*
        FROM run, event
    """  # noqa: S608


def _append_parameters(
    run_id: uuid.UUID | str, type: EventType, now: Any, **values: Any
) -> dict[str, Any]:
    return {
        "run_id": uuid.UUID(str(run_id)),
        "active": sorted(str(status) for status in ACTIVE_STATUSES),
        "type": str(type),
        "now": now,
        "channel": EVENTS_CHANNEL,
        **values,
    }


def _finished_or_missing(run_id: uuid.UUID | str) -> None:
    """After an append found no active run: None if it exists, as the ORM path's ``get``."""
    if not AgentRun.objects.filter(pk=run_id).exists():
        raise AgentRun.DoesNotExist(f"no run {run_id}")


def _append(
    run: AgentRun, type: EventType, payload: dict[str, Any], *, fields: list[str] | None = None
) -> RunEvent:
    """Append inside the caller's transaction, which holds the run's row lock.

    ``fields`` of ``run`` changed by the caller are saved in the same UPDATE as the new
    ``last_sequence``: one statement per event on the hot path, not two.
    """
    run.last_sequence += 1
    run.save(update_fields=[*(fields or ()), "last_sequence"])
    return _event_create(run, type, payload)


def _event_create(
    run: AgentRun, type: EventType, payload: dict[str, Any], *, notify: bool = True
) -> RunEvent:
    """Insert the event numbered ``run.last_sequence`` and wake the run's streams."""
    event = RunEvent.objects.create(run=run, sequence=run.last_sequence, type=type, payload=payload)
    if notify and connection.vendor == "postgresql":
        # Delivered at commit; SSE streams waiting on this run wake at once.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [EVENTS_CHANNEL, str(run.pk)])
    return event


def run_events_prune(*, older_than: timedelta | None = None) -> int:
    """Delete the events of runs that finished longer ago than ``older_than``."""
    if older_than is None:
        older_than = timedelta(days=agent_settings().event_retention_days)
    cutoff = timezone.now() - older_than
    deleted, _ = RunEvent.objects.filter(
        run__status__in=FINISHED_STATUSES, run__finished_at__lt=cutoff
    ).delete()
    return deleted


def api_user_create(*, username: str, email: str = "") -> tuple[AbstractBaseUser, str]:
    """Create a user (or reuse one) with an API token; return it and the token key."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        **{user_model.USERNAME_FIELD: username}, defaults={"email": email}
    )
    if created:
        # API access is by token; a random unusable password keeps the account closed
        # to password login until an admin sets one.
        user.set_unusable_password()
        user.save(update_fields=["password"])
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key
