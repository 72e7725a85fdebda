"""What a support run takes: the customer's question, and their order if they have one."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from keel.agents.fields import StrictCharField


class SupportInput(serializers.Serializer[Any]):
    # Strict fields: the run's part of the OpenAPI schema accepts exactly what it says.
    question = StrictCharField(max_length=4_000, help_text="The customer's question.")
    order_id = StrictCharField(
        max_length=20,
        required=False,
        default="",
        allow_blank=True,
        help_text="The order the question is about, if any (e.g. A1001).",
    )


def support_prompt(validated: dict[str, Any]) -> str:
    """The user prompt: the question, after the order it is about."""
    order = validated.get("order_id")
    return f"About order {order}: {validated['question']}" if order else validated["question"]
