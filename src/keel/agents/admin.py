"""Admin for runs and events: read-only, because an edited status or sequence would
disagree with the durable workflow state and with what streams already delivered."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from keel.agents.models import AgentRun, RunEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RunEventInline(admin.TabularInline):
    model = RunEvent
    fields = ["sequence", "type", "payload", "created_at"]
    readonly_fields = ["sequence", "type", "payload", "created_at"]
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["sequence"]


@admin.register(AgentRun)
class AgentRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "agent",
        "owner",
        "status",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
    ]
    list_filter = ["status", "agent"]
    search_fields = ["id", "owner__username", "idempotency_key"]
    date_hierarchy = "created_at"
    inlines = [RunEventInline]


@admin.register(RunEvent)
class RunEventAdmin(ReadOnlyAdmin):
    list_display = ["run", "sequence", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["run__id"]
