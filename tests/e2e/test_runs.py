"""The runs API against real processes: tenancy, validation, SSE resume, cancel, time limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agents.cluster import Cluster, cluster, read_events

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(
        tmp_path_factory.mktemp("runs"), users=["alice", "mallory"], AGENT_ENQUEUE_GRACE="1"
    ) as running:
        running.start_worker()
        yield running


#: Records a run as ``run_create`` does, then dies where a crashed web process would:
#: after the run's row committed, before DBOS heard of it.
DIE_BEFORE_ENQUEUE = """
import os
from django.contrib.auth.models import User
from keel.agents import services

def die(*, run):
    print(run.id, flush=True)
    os._exit(9)

services.run_enqueue = die
services.run_create(owner=User.objects.get(username="alice"), agent="demo",
                    input={"prompt": "stranded", "steps": 1, "step_delay": 0})
"""


def count_runs(keel: Cluster, user: str) -> int:
    with keel.client(user) as api:
        return int(api.get("/api/runs/").json()["count"])


def test_a_run_streams_tokens_and_tool_calls_and_succeeds(keel: Cluster) -> None:
    run = keel.create_run("alice", agent="demo", prompt="hello", steps=2, step_delay=0.05)
    assert run["status"] == "queued"
    with keel.client("alice") as api, api.stream("GET", f"/api/runs/{run['id']}/events/") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = read_events(stream)
    types = [event["type"] for event in events]
    assert types[0] == "status"
    assert types.count("tool_call") == types.count("tool_result") == 2
    assert "token" in types
    assert events[-1]["payload"] == {"status": "succeeded"}
    assert [event["sequence"] for event in events] == list(range(1, len(events) + 1))
    finished = keel.get_run("alice", run["id"])
    assert finished["output"] == "Done: finished all 2 steps."
    assert finished["output_tokens"] > 0


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_sse_reconnect_with_last_event_id_delivers_every_event_once_in_order(
    keel: Cluster, server: str, tmp_path: Path
) -> None:
    from tests.processes import keel_web

    with keel_web(keel.environment, server=server, log_dir=tmp_path) as web:
        run = keel.create_run("alice", agent="demo", prompt="resume", steps=4, step_delay=0.2)
        headers = {"Host": "app.example.com", "Authorization": f"Token {keel.tokens['alice']}"}
        url = f"{web.url}/api/runs/{run['id']}/events/"
        with httpx.stream("GET", url, headers=headers, timeout=15) as first:
            received = read_events(first, stop_after=6)
        # Disconnected mid-run; the client resumes as EventSource does.
        last_id = received[-1]["id"]
        with httpx.stream(
            "GET", url, headers={**headers, "Last-Event-ID": last_id}, timeout=30
        ) as second:
            received += read_events(second)
    sequences = [event["sequence"] for event in received]
    assert sequences == list(range(1, len(sequences) + 1))
    assert [event["id"] for event in received] == [str(number) for number in sequences]
    assert received[-1]["payload"] == {"status": "succeeded"}
    assert len(sequences) > 6


def test_another_users_run_is_404_on_every_endpoint_and_method(keel: Cluster) -> None:
    run = keel.create_run("alice", agent="demo", prompt="private", steps=1, step_delay=0)
    with keel.client("mallory") as api:
        assert api.get(f"/api/runs/{run['id']}/").status_code == 404
        assert api.post(f"/api/runs/{run['id']}/cancel/").status_code == 404
        assert api.get(f"/api/runs/{run['id']}/events/").status_code == 404
        listed = api.get("/api/runs/").json()["results"]
    assert run["id"] not in {item["id"] for item in listed}
    assert keel.get_run("alice", run["id"])["status"] != "cancelled"


def test_no_token_is_401_on_every_endpoint(keel: Cluster) -> None:
    run = keel.create_run("alice", agent="demo", prompt="x", steps=1, step_delay=0)
    with keel.client(None) as api:
        assert api.get("/api/runs/").status_code == 401
        assert (
            api.post("/api/runs/", json={"agent": "demo", "input": {"prompt": "x"}}).status_code
            == 401
        )
        assert api.get(f"/api/runs/{run['id']}/").status_code == 401
        assert api.post(f"/api/runs/{run['id']}/cancel/").status_code == 401
        assert api.get(f"/api/runs/{run['id']}/events/").status_code == 401
        bad = {"Authorization": "Token not-a-real-token"}
        assert api.get(f"/api/runs/{run['id']}/events/", headers=bad).status_code == 401
        assert api.get("/api/runs/", headers=bad).status_code == 401


@pytest.mark.parametrize(
    ("body", "field_path"),
    [
        ({"agent": "nope", "input": {"prompt": "x"}}, ["agent"]),
        ({"agent": "demo", "input": {"prompt": "x", "steps": "many"}}, ["input", "steps"]),
        ({"agent": "demo", "input": {"prompt": "x", "steps": 0}}, ["input", "steps"]),
        ({"agent": "demo", "input": {"prompt": "x", "steps": 21}}, ["input", "steps"]),
        ({"agent": "demo", "input": {"prompt": "x", "step_delay": 11}}, ["input", "step_delay"]),
        ({"agent": "demo", "input": {"steps": 2}}, ["input", "prompt"]),
        ({"agent": "demo", "input": ["not", "an", "object"]}, ["input"]),
        ({"agent": "demo", "input": {"prompt": "x" * 70_000}}, ["input"]),
        ({"input": {"prompt": "x"}}, ["agent"]),
    ],
)
def test_invalid_input_is_400_naming_the_field_and_creates_nothing(
    keel: Cluster, body: dict[str, object], field_path: list[str]
) -> None:
    before = count_runs(keel, "mallory")
    with keel.client("mallory") as api:
        response = api.post("/api/runs/", json=body)
    assert response.status_code == 400, response.text
    errors = response.json()
    for name in field_path:
        assert name in errors, errors
        errors = errors[name]
    assert count_runs(keel, "mallory") == before


def test_idempotency_key_returns_the_same_run(keel: Cluster) -> None:
    body = {"agent": "demo", "input": {"prompt": "once", "steps": 1, "step_delay": 0}}
    with keel.client("alice") as api:
        first = api.post("/api/runs/", json=body, headers={"Idempotency-Key": "k-1"})
        again = api.post("/api/runs/", json=body, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


def test_list_is_paginated_and_filters_by_status_and_agent(keel: Cluster) -> None:
    run = keel.create_run("alice", agent="demo", prompt="list", steps=1, step_delay=0)
    keel.wait_runs([("alice", run["id"])])
    with keel.client("alice") as api:
        succeeded = api.get("/api/runs/", params={"status": "succeeded", "agent": "demo"}).json()
        other = api.get("/api/runs/", params={"agent": "counting"}).json()
        invalid = api.get("/api/runs/", params={"status": "bogus"})
    assert {"count", "next", "previous", "results"} <= set(succeeded)
    assert run["id"] in {item["id"] for item in succeeded["results"]}
    assert all(item["status"] == "succeeded" for item in succeeded["results"])
    assert other["results"] == []
    assert invalid.status_code == 400


def test_cancel_stops_new_tool_calls_and_ends_cancelled_within_5_seconds(keel: Cluster) -> None:
    run = keel.create_run("alice", prompt="long", steps=20, step_delay=0.5)
    deadline = time.monotonic() + 20
    while not keel.side_effects()[(run["id"], 1)]:
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.02)
    asked_at, asked_at_wall = time.monotonic(), time.time()
    with keel.client("alice") as api:
        response = api.post(f"/api/runs/{run['id']}/cancel/")
    assert response.status_code == 200
    while keel.get_run("alice", run["id"])["status"] != "cancelled":
        assert time.monotonic() - asked_at < 5
        time.sleep(0.05)
    cancel_seconds = time.monotonic() - asked_at
    steps_at_cancel = sum(1 for (rid, _) in keel.side_effects() if rid == run["id"])
    time.sleep(1.5)  # three step delays: a run still going would add side effects
    finished = [at for rid, _, at in keel.side_effect_lines() if rid == run["id"]]
    # The tool call already running when the cancel arrived may still finish; no new
    # one may start, and the worker has 5 s to notice.
    assert len(finished) - steps_at_cancel <= 1
    assert max(finished) <= asked_at_wall + 5
    with keel.client("alice") as api, api.stream("GET", f"/api/runs/{run['id']}/events/") as stream:
        events = read_events(stream)
    assert events[-1]["payload"] == {"status": "cancelled"}
    print(f"cancelled {cancel_seconds:.2f} s after the request")


def test_a_run_past_its_time_limit_ends_timed_out(keel: Cluster, tmp_path: Path) -> None:
    from tests.processes import keel_web

    limited = {**keel.environment, "AGENT_RUN_TIME_LIMIT": "1.5"}
    with keel_web(limited, server="asgi", log_dir=tmp_path) as web:
        with httpx.Client(
            base_url=web.url,
            headers={"Host": "app.example.com", "Authorization": f"Token {keel.tokens['alice']}"},
            timeout=15,
        ) as api:
            api.post("/api/runs/", json={"agent": "warm-up"})
            response = api.post(
                "/api/runs/",
                json={
                    "agent": "counting",
                    "input": {"prompt": "slow", "steps": 10, "step_delay": 0.5},
                },
            )
        assert response.status_code == 201
        run_id = response.json()["id"]
        (run,) = keel.wait_runs([("alice", run_id)], timeout=20)
    assert run["status"] == "timed_out"
    assert sum(1 for (rid, _) in keel.side_effects() if rid == run_id) < 10


def test_a_run_whose_web_process_died_before_enqueueing_it_still_runs(keel: Cluster) -> None:
    from tests.processes import run_keel

    died = run_keel(["manage", "shell", "-c", DIE_BEFORE_ENQUEUE], keel.environment)
    assert died.returncode == 9, died.stdout + died.stderr
    run_id = died.stdout.strip().splitlines()[-1]
    assert keel.get_run("alice", run_id)["status"] == "queued"
    (run,) = keel.wait_runs([("alice", run_id)], timeout=30)
    assert run["status"] == "succeeded"
    assert run["attempts"] == 1
    swept = [line for line in keel.workers[0].log().splitlines() if "never handed" in line]
    assert any(run_id in line for line in swept), swept
