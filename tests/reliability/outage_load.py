"""Steady calls to health and the API during a database outage, and the answer bound.

Every response is kept with the moments it was sent and received, so a test can say of
each request that overlapped an outage how it was answered and how long it took.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

from keel.constants import API_OUTAGE_ANSWER_BOUND, READY_OUTAGE_ANSWER_BOUND
from tests.bounded import ALLOWANCE

HOST = "app.example.com"
#: The client gives up after this long: longer than any bound, so a hung request shows
#: as a late answer (or none), not as a client error.
CLIENT_TIMEOUT = 15.0


@dataclass
class Sample:
    sent: float
    received: float
    method: str
    path: str
    status: int | None
    content_type: str = ""
    body: str = ""
    retry_after: str | None = None
    #: The run a POST created (or found), when it did.
    run_id: str | None = None

    @property
    def seconds(self) -> float:
        return self.received - self.sent

    def overlaps(self, start: float, end: float) -> bool:
        return self.sent < end and self.received > start


def answer_bound(path: str) -> float:
    """Return keel's documented bound for an answer to ``path`` while a database is down."""
    return READY_OUTAGE_ANSWER_BOUND if path == "/readyz" else API_OUTAGE_ANSWER_BOUND


def late_answers(samples: list[Sample], start: float, end: float) -> list[str]:
    """Describe each request overlapping [start, end] answered later than its bound allows."""
    return [
        f"{sample.method} {sample.path}: {sample.seconds:.2f} s "
        f"(bound {answer_bound(sample.path):g} s + {ALLOWANCE:g} s), status {sample.status}"
        for sample in samples
        if sample.overlaps(start, end)
        and (sample.status is None or sample.seconds > answer_bound(sample.path) + ALLOWANCE)
    ]


def slowest(samples: list[Sample], start: float, end: float) -> dict[str, float]:
    """Return the slowest answer (seconds) per path among requests overlapping [start, end]."""
    result: dict[str, float] = {}
    for sample in samples:
        if sample.overlaps(start, end):
            key = f"{sample.method} {sample.path.split('/api/runs/')[0] or '/api/runs/'}"
            result[key] = max(result.get(key, 0.0), round(sample.seconds, 3))
    return result


@dataclass
class Load:
    """Steady calls to health and the API from one client thread, every response kept."""

    url: str
    token: str
    run_id: str
    samples: list[Sample] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def requests(self) -> list[tuple[str, str, dict[str, object] | None]]:
        return [
            ("GET", "/healthz", None),
            ("GET", "/readyz", None),
            ("GET", "/api/runs/", None),
            ("GET", f"/api/runs/{self.run_id}/", None),
            ("POST", "/api/runs/", {"agent": "demo", "input": {"prompt": "load", "steps": 1}}),
        ]

    def run(self) -> None:
        headers = {"Host": HOST, "Authorization": f"Token {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=CLIENT_TIMEOUT) as client:
            while not self.stop.is_set():
                for method, path, body in self.requests():
                    self.samples.append(self.call(client, method, path, body))
                self.stop.wait(0.1)

    @staticmethod
    def call(
        client: httpx.Client, method: str, path: str, body: dict[str, object] | None
    ) -> Sample:
        sent = time.monotonic()
        try:
            response = client.request(method, path, json=body)
        except httpx.HTTPError as error:
            return Sample(sent, time.monotonic(), method, path, None, body=repr(error))
        received = time.monotonic()
        run_id = None
        if method == "POST" and response.status_code in (200, 201):
            run_id = str(response.json()["id"])
        return Sample(
            sent,
            received,
            method,
            path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.text[:500],
            response.headers.get("Retry-After"),
            run_id,
        )

    def created_runs(self) -> list[str]:
        return [sample.run_id for sample in list(self.samples) if sample.run_id is not None]
