"""DBOS workflows: thin interfaces that unpack their arguments and call services.

Importing this module registers the workflows with DBOS, so the worker imports it
before ``DBOS.launch()``; a workflow's name is its durable identity, never rename one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from dbos import DBOS
from dbos._error import DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError

from keel.agents import registry, services
from keel.agents.models import RunStatus
from keel.tasks import drain
from keel.tasks.database_retry import retrying_through_outages

logger = logging.getLogger("keel.agents.workflows")

#: Raised into a workflow once DBOS cancelled it (by request or at its time limit).
CANCELLATION_ERRORS = (DBOSWorkflowCancelledError, DBOSWorkflowConflictIDError)


@DBOS.workflow(name=services.RUN_WORKFLOW)
async def run_agent(run_id: str) -> None:
    """Run one agent run to its end; resumed from the last completed step after a crash."""
    async with drain.workflow():
        await _run_agent(run_id)


async def _run_agent(run_id: str) -> None:
    run = await asyncio.to_thread(retrying_through_outages(services.run_start), run_id=run_id)
    if run is None:
        return
    try:
        spec = registry.get(run.agent)
        result = await spec.agent.run(
            spec.prompt(run.input), deps=registry.RunDeps(run_id=run_id, input=run.input)
        )
    except CANCELLATION_ERRORS:
        status = await asyncio.to_thread(
            retrying_through_outages(services.run_interrupt), run_id=run_id
        )
        logger.info("run %s stopped: %s", run_id, status)
        raise
    except Exception as error:
        logger.exception("run %s failed", run_id)
        await asyncio.to_thread(
            retrying_through_outages(services.run_finish),
            run_id=run_id,
            status=RunStatus.FAILED,
            error=error_message(error)[:2000],
        )
        return
    usage = result.usage
    await asyncio.to_thread(
        retrying_through_outages(services.run_finish),
        run_id=run_id,
        status=RunStatus.SUCCEEDED,
        output=result.output,
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
    )


def error_message(error: BaseException) -> str:
    """The run's error: the exception, and each cause down its chain that says more.

    pydantic-ai wraps a provider's failure, and an SDK may wrap the transport's failure in
    turn. A dropped OpenAI stream raises ``ModelConnectionError: Connection error.`` from
    the SDK's ``APIConnectionError: Connection error.`` from httpx's ``RemoteProtocolError:
    peer closed connection ...``, and only the last tells an operator what happened. A
    cause whose text the message already holds is not repeated.
    """
    message = f"{type(error).__name__}: {error}"
    seen = {id(error)}
    cause = error.__cause__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        text = str(cause)
        if text and text not in message:
            message += f" (caused by {type(cause).__name__}: {text})"
        cause = cause.__cause__
    return message


#: Hourly; each run deletes what has aged past the retention since the last.
PRUNE_SCHEDULE = "0 17 * * * *"
PRUNE_SCHEDULE_NAME = "keel_agents.prune_events"


@DBOS.workflow(name="keel_agents.prune_events")
def prune_events(scheduled_at: datetime, context: object) -> None:
    """Delete events of runs finished longer ago than the retention (a scheduled workflow)."""
    deleted = DBOS.run_step({"name": "keel_agents.prune_events.delete"}, services.run_events_prune)
    logger.info("pruned %d run events", deleted)
