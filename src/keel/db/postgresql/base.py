"""Django's PostgreSQL backend; a connection refused for its password reads the secret again."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from keel import credentials


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        # No password in conn_params: libpq reads it from keel's password file, which
        # credentials.connect_retrying fills from the secret and refreshes when refused.
        return credentials.connect_retrying(
            lambda: super(DatabaseWrapper, self).get_new_connection(conn_params)
        )
