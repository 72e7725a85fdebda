"""The support assistant's tools: plain functions, made durable steps by keel.

Each becomes a DBOS step named ``support.<function>`` (keel.agents.declared), so a
worker killed after a tool returned never calls it again: the recorded result is used.
Their signatures and docstrings are the schema the model sees. The data is in memory
here; a team's tools call their own services (and are steps for exactly that reason).
"""

from __future__ import annotations

from typing import Any

ARTICLES = {
    "refunds": "Refunds go back to the original payment method within 5 working days "
    "of the return reaching the warehouse.",
    "delivery": "Standard delivery takes 2-4 working days; express orders placed before "
    "noon arrive the next working day.",
    "returns": "Items can be returned within 30 days in their original packaging; start "
    "a return from the order page.",
}

ORDERS = {
    "A1001": {"status": "shipped", "carrier": "DPD", "expected": "2026-12-03"},
    "A1002": {"status": "returned", "refund": "issued 2026-11-28"},
}


def search_help(query: str) -> list[dict[str, str]]:
    """Search the help centre; return the articles whose topic or text match the query.

    Args:
        query: A few words describing the customer's problem.
    """
    words = {word.strip(".,?!").lower() for word in query.split()}
    return [
        {"topic": topic, "text": text}
        for topic, text in ARTICLES.items()
        if words & ({topic, topic.rstrip("s")} | set(text.lower().split()))
    ]


def order_status(order_id: str) -> dict[str, Any]:
    """Look up an order's status by its id.

    Args:
        order_id: The order id, e.g. A1001.
    """
    order = ORDERS.get(order_id.strip().upper())
    return {"order_id": order_id, **order} if order else {"order_id": order_id, "found": False}


TOOLS = [search_help, order_status]
