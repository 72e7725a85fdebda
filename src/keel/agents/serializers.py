from __future__ import annotations

from typing import Any

from rest_framework import serializers

from keel.agents.fields import QueryIntegerField, StrictCharField
from keel.agents.models import AgentRun, RunStatus


class RunCreateSerializer(serializers.Serializer[Any]):
    """The body of ``POST /api/runs/``; the agent's own serializer then checks ``input``.

    Its OpenAPI schema is one variant per registered agent, each with that agent's input
    (``keel.agents.schema.RunCreateSchema``).
    """

    agent = StrictCharField(max_length=100)
    input = serializers.JSONField(default=dict)


class RunListFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    agent = StrictCharField(max_length=100, required=False)
    # Read by the paginator; checked here so that ``?page=`` or ``?page=x`` is a 400
    # naming the field (DRF's paginator reads an empty page as the first).
    page = QueryIntegerField(
        min_value=1,
        max_value=1_000_000_000,
        required=False,
        help_text="A page of 50 runs, newest first.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # DRF reads an empty query value (``?status=``) of an optional field as absent,
        # and would list every run; the schema says a given filter is non-empty.
        blank = {
            name: ["This field may not be blank."]
            for name, value in data.items()
            if name in self.fields and value == ""
        }
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class RunSerializer(serializers.ModelSerializer[AgentRun]):
    class Meta:
        model = AgentRun
        fields = [
            "id",
            "agent",
            "status",
            "input",
            "output",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "input_tokens",
            "output_tokens",
            "attempts",
        ]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()
