"""The DBOS workflows that run tasks: thin interfaces over keel.tasks.execution.

Importing this module registers them with DBOS, so the worker imports it before
``DBOS.launch()``; a workflow's name is its durable identity, never rename one.
"""

from __future__ import annotations

from dbos import DBOS

from keel.tasks import drain, execution, services


@DBOS.workflow(name=services.RUN_WORKFLOW)
def run_task(task_id: str) -> None:
    """Run a sync task; resumed after its last completed step after a crash."""
    with drain.workflow_sync():
        execution.run(task_id)


@DBOS.workflow(name=services.ARUN_WORKFLOW)
async def arun_task(task_id: str) -> None:
    """Run an async task; resumed after its last completed step after a crash."""
    async with drain.workflow():
        await execution.arun(task_id)
