"""Server-Sent Events stream unbuffered in both server modes, through gzip, and stop on disconnect."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.processes import KeelProcess

pytestmark = pytest.mark.e2e

HOST = {"Host": "app.example.com"}


def read_events(response: httpx.Response, limit: int) -> list[tuple[float, str]]:
    """Collect (arrival time, raw line) pairs for data lines and comments."""
    lines = []
    for line in response.iter_lines():
        if line.startswith(("data:", ":")):
            lines.append((time.time(), line))
        if sum(1 for _, seen in lines if seen.startswith("data:")) >= limit:
            break
    return lines


def test_events_arrive_as_produced_through_gzip_and_are_not_compressed(web: KeelProcess) -> None:
    headers = {**HOST, "Accept-Encoding": "gzip"}
    opened = time.monotonic()
    with httpx.stream(
        "GET", f"{web.url}/demo/stream/?count=8&interval=0.5", headers=headers, timeout=10
    ) as response:
        assert response.status_code == 200
        assert "content-encoding" not in response.headers
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        lines = read_events(response, limit=8)
    duration = time.monotonic() - opened

    data = [
        (arrived, json.loads(line[len("data: ") :]))
        for arrived, line in lines
        if line.startswith("data:")
    ]
    assert [payload["tick"] for _, payload in data] == list(range(1, 9))
    first_arrival, first = data[0]
    assert first_arrival - first["sent_at"] < 0.2, "the first event was held back"
    # Every event reached the client promptly, not in one burst at the end.
    assert all(arrived - payload["sent_at"] < 0.2 for arrived, payload in data)
    assert duration > 3.0
    assert data[-1][0] - data[0][0] > 3.0


def test_quiet_stream_sends_heartbeats(web: KeelProcess) -> None:
    # The module's servers run with SSE_HEARTBEAT_INTERVAL=0.3.
    with httpx.stream(
        "GET", f"{web.url}/demo/stream/?count=2&interval=1.2", headers=HOST, timeout=10
    ) as response:
        lines = read_events(response, limit=2)
    heartbeats = [line for _, line in lines if line == ": heartbeat"]
    assert len(heartbeats) >= 2


def test_last_event_id_resumes_after_the_given_event(web: KeelProcess) -> None:
    headers = {**HOST, "Last-Event-ID": "5"}
    with httpx.stream(
        "GET", f"{web.url}/demo/stream/?count=7&interval=0", headers=headers, timeout=10
    ) as response:
        lines = read_events(response, limit=2)
    ticks = [
        json.loads(line[len("data: ") :])["tick"] for _, line in lines if line.startswith("data:")
    ]
    assert ticks == [6, 7]


def test_client_disconnect_stops_the_producer(web: KeelProcess) -> None:
    marker = f"disconnect-{time.monotonic_ns()}"
    headers = {**HOST, "X-Request-ID": marker}
    with httpx.stream(
        "GET", f"{web.url}/demo/stream/?count=1000&interval=0.1", headers=headers, timeout=10
    ) as response:
        read_events(response, limit=2)
    deadline = time.monotonic() + 5
    closed: list[dict[str, object]] = []
    while time.monotonic() < deadline and not closed:
        closed = [
            entry
            for entry in map(_json_or_none, web.log().splitlines())
            if entry
            and entry.get("message") == "event stream closed"
            and entry.get("request_id") == marker
        ]
        time.sleep(0.1)
    assert closed, "the stream's producer kept running after the client left"
    assert closed[0]["reason"] == "client disconnected"
    assert int(closed[0]["events_sent"]) < 100  # type: ignore[call-overload]


def test_a_stream_from_an_undecorated_view_is_not_buffered(web: KeelProcess) -> None:
    # Under the ASGI server this view runs in the API's thread pool (it lacks
    # @streaming_view), which must pass each chunk on as the view yields it.
    arrivals: list[tuple[float, float]] = []
    with httpx.stream(
        "GET", f"{web.url}/test/plain-stream/?count=5&interval=0.4", headers=HOST, timeout=10
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                arrivals.append((time.time(), float(line.split()[1])))
    assert len(arrivals) == 5
    assert all(arrived - produced < 0.2 for arrived, produced in arrivals)
    assert arrivals[-1][0] - arrivals[0][0] > 1.2


def test_stream_with_bad_parameters_is_400(web: KeelProcess) -> None:
    response = httpx.get(f"{web.url}/demo/stream/?count=nope", headers=HOST, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def _json_or_none(line: str) -> dict[str, object] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
