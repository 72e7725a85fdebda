"""A migration operation for a table that one of two apps may have created first."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class CreateModelUnlessPresent(migrations.CreateModel):
    """``CreateModel`` that leaves the database alone when the table already exists.

    The worker heartbeat table is created by whichever of keel.agents (which had the
    model first) and keel.tasks (which has it now) migrates first; the other only
    records the model in its state.
    """

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = to_state.apps.get_model(app_label, self.name)
        if model._meta.db_table in schema_editor.connection.introspection.table_names():
            return
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        """Keep the table: the other app's state may still describe it."""
