"""Bench-only agent ``bench-noop``: a run that does nothing but record that it started.

Loaded into ``keel worker`` and the enqueuing client with ``AGENT_MODULES``. The run goes
through everything keel adds around an agent (``run_create`` records and enqueues it, the
DBOS workflow calls ``run_start`` and ``run_finish``), but the agent itself makes no model
call, so what is measured is keel's dispatch, not a model. It records its start in the
same Redis sink as the Celery, django-tasks-db and raw DBOS no-op jobs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

from bench.jobs import record_start
from keel.agents.registry import AgentSpec, RunDeps, register

NAME = "bench-noop"


class NoopInput(serializers.Serializer[Any]):
    tag = serializers.CharField(max_length=200)
    job = serializers.IntegerField(min_value=0)
    enqueued_at = serializers.FloatField()


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class Result:
    output: str = ""
    usage: Usage = field(default_factory=Usage)


class NoopAgent:
    """Answer ``run`` at once, after recording the start (the shape of a pydantic-ai Agent)."""

    async def run(self, prompt: str, *, deps: RunDeps) -> Result:
        await asyncio.to_thread(
            record_start,
            str(deps.input["tag"]),
            int(deps.input["job"]),
            float(deps.input["enqueued_at"]),
        )
        return Result()


register(AgentSpec(name=NAME, agent=NoopAgent(), input_serializer=NoopInput, prompt=str))
