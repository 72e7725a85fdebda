"""The support assistant's offline model: what a real one would do, without a provider.

Used unless ``AGENT_SUPPORT_MODEL`` names a provider. It streams a sentence, calls
``search_help`` with the question, then ``order_status`` when the run has an order id,
then answers from the tool results, so a run without a key still shows every kind of
event a real model produces.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls

#: Pause between streamed words, so a client sees them arrive one by one.
WORD_INTERVAL = 0.005
_ORDER = re.compile(r"\b[A-Z]\d{4}\b")


async def support_model(
    messages: list[ModelMessage], info: AgentInfo
) -> AsyncIterator[str | DeltaToolCalls]:
    """Search the help centre, look up the order, answer."""
    question = _question(messages)
    results: dict[str, Any] = {
        part.tool_name: part.content
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    }
    order = _ORDER.search(question)
    if "search_help" not in results:
        async for word in _words("Let me check the help centre."):
            yield word
        yield {0: _call("search_help", {"query": question}, "call-search")}
        return
    if order and "order_status" not in results:
        async for word in _words(f"Now the status of order {order.group()}."):
            yield word
        yield {0: _call("order_status", {"order_id": order.group()}, "call-order")}
        return
    articles = results["search_help"] or []
    answer = " ".join(article["text"] for article in articles) or "I found no article on that."
    status = results.get("order_status")
    if isinstance(status, dict) and "status" in status:
        answer += f" Order {status['order_id']} is {status['status']}."
    async for word in _words(answer):
        yield word


def _question(messages: list[ModelMessage]) -> str:
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def _call(tool: str, args: dict[str, str], call_id: str) -> DeltaToolCall:
    return DeltaToolCall(name=tool, json_args=json.dumps(args), tool_call_id=call_id)


async def _words(text: str) -> AsyncIterator[str]:
    for index, word in enumerate(text.split(" ")):
        await asyncio.sleep(WORD_INTERVAL)
        yield word if index == 0 else f" {word}"
