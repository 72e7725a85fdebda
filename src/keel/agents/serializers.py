from __future__ import annotations

from typing import Any

from rest_framework import serializers

from keel.agents.models import AgentRun, RunStatus


class RunCreateSerializer(serializers.Serializer[Any]):
    agent = serializers.CharField(max_length=100)
    input = serializers.JSONField(default=dict)


class RunListFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    agent = serializers.CharField(max_length=100, required=False)


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
