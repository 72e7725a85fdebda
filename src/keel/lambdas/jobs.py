"""The durable task every asynchronous invocation runs as (keel.tasks, ``keel worker``).

A task is an interface, like a view: it unpacks its arguments and calls the service.
Retries, their backoff and the maximum event age are set per function when the
invocation is enqueued (keel.lambdas.services.invocation_enqueue); a task that failed
its last attempt, or grew older than its function's maximum event age, is in keel.tasks'
failed list, Lambda's on-failure destination.
"""

from __future__ import annotations

from typing import Any

from keel.tasks import task


@task
def invoke_event(function_name: str, request_id: str, event: Any) -> Any:
    """Run one asynchronous invocation of ``function_name`` (one attempt per call)."""
    from keel.lambdas import services

    return services.invocation_attempt(
        function_name=function_name, request_id=request_id, event=event
    )
