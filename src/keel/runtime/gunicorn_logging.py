"""Gunicorn access log as one JSON object per request on stdout."""

from __future__ import annotations

import datetime
import json
from typing import Any

from gunicorn.glogging import Logger


class JsonAccessLogger(Logger):
    """Write each access record as JSON with the request id and the ALB trace id."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        try:
            atoms = self.atoms(resp, req, environ, request_time)
            entry = {
                "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
                "level": "INFO",
                "logger": "gunicorn.access",
                "message": atoms["r"],
                "method": atoms["m"],
                "path": atoms["U"],
                "query": atoms["q"] or None,
                "status": int(str(atoms["s"]).split()[0]),
                "bytes": atoms["B"],
                "duration_ms": round(atoms["D"] / 1000, 2),
                "remote_addr": atoms["h"],
                "user_agent": atoms["a"],
                "request_id": atoms.get("{x-request-id}o"),
                "trace_id": atoms.get("{x-amzn-trace-id}i"),
                "pid": atoms["p"].strip("<>"),
            }
            self.access_log.info(json.dumps(entry, default=str))
        except Exception:
            self.exception("could not write the access log entry")
