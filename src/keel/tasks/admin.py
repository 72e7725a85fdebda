"""Admin for tasks: read-only (the record must agree with the durable workflow), with the
failed ones as a dead-letter list that can be sent back to the workers."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from keel.tasks import services
from keel.tasks.models import TaskRecord, TaskStatus, WorkerHeartbeat


@admin.register(TaskRecord)
class TaskRecordAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "task_path",
        "queue_name",
        "status",
        "attempt_count",
        "last_error",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "queue_name", "backend"]
    search_fields = ["id", "task_path"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in TaskRecord._meta.fields]
    actions = ["retry_failed"]

    @admin.display(description="attempts")
    def attempt_count(self, record: TaskRecord) -> int:
        return record.attempts

    @admin.display(description="last error")
    def last_error(self, record: TaskRecord) -> str:
        """The exception class of the latest failed attempt (its traceback: the record)."""
        return record.errors[-1]["exception_class_path"] if record.errors else ""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # Records are never edited here, so the model's change permission is free to mean
        # "may send tasks back to the workers": viewing alone must not re-run side effects.
        return request.user.has_perm(f"{TaskRecord._meta.app_label}.change_taskrecord")

    @admin.action(description="Retry the selected failed tasks", permissions=["retry"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[TaskRecord]) -> None:
        retried = 0
        for record in queryset.filter(status=TaskStatus.FAILED):
            services.task_retry(task_id=record.id)
            retried += 1
        self.message_user(
            request, f"Sent {retried} failed task(s) back to the workers.", messages.SUCCESS
        )


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["executor_id", "application_version", "beat_at", "stopped_at", "recovered_by"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
