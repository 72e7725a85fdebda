"""A test agent whose tool leaves a side effect outside DBOS, so re-execution shows.

Each ``work`` call appends ``<run id> <step> <unix time>`` to the file named by
``COUNTING_AGENT_LOG`` after its delay: a step that completed (and was checkpointed)
before a worker died must appear exactly once, however often the run was resumed.
Worker processes in the e2e tests load it with ``AGENT_MODULES``.

A test holds every run inside one step's tool call by writing that step's number to
``<log>.hold``: a call of that step records its start, then waits until the file is gone
or names another step. So a SIGKILL lands mid-call by construction, never in the moment
between a tool's side effect and DBOS checkpointing it.
"""

from __future__ import annotations

import asyncio
import os
import time

from pydantic_ai import RunContext
from pydantic_ai.models.function import FunctionModel

from keel.agents.demo import DemoInput, scripted_model
from keel.agents.durable import durable_agent, tool_step
from keel.agents.registry import AgentSpec, RunDeps, register

counting_agent = durable_agent(
    name="counting",
    model=FunctionModel(stream_function=scripted_model, model_name="counting-scripted"),
)


@counting_agent.instructions
def _instructions(ctx: RunContext[RunDeps]) -> str:
    return f"Call the work tool {ctx.deps.input['steps']} times, then summarise."


def _record(line: str, suffix: str = "") -> None:
    # Starts go to "<log>.started" so tests can signal a worker mid-call, not between calls.
    with open(os.environ["COUNTING_AGENT_LOG"] + suffix, "a") as log:
        log.write(line)


def _held(step: int) -> bool:
    try:
        with open(os.environ["COUNTING_AGENT_LOG"] + ".hold") as hold:
            return hold.read().strip() == str(step)
    except FileNotFoundError:
        return False


@counting_agent.tool
@tool_step("counting.work")
async def work(ctx: RunContext[RunDeps], step: int) -> str:
    """Do one unit of work and record it."""
    run_id = ctx.deps.run_id
    await asyncio.to_thread(_record, f"{run_id} {step} {time.time():.3f}\n", ".started")
    # The hold is a file the test process removes: there is no event to wait on.
    while await asyncio.to_thread(_held, step):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(float(ctx.deps.input["step_delay"]))
    await asyncio.to_thread(_record, f"{run_id} {step} {time.time():.3f}\n")
    return f"step {step} done"


register(
    AgentSpec(
        name="counting",
        agent=counting_agent,
        input_serializer=DemoInput,
        prompt=lambda validated: str(validated["prompt"]),
    )
)
