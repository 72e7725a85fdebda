"""The API against a real ``keel web``, checked by schemathesis against its own schema.

Every check schemathesis has, every phase (coverage, fuzzing and the stateful phase that
follows the schema's links from a created run to the endpoints taking its id), and any
failure fails the test: the schema must say what the server does, or a client generated
from it is wrong. A fixed seed and deterministic generation keep the requests the same
from run to run; the examples per operation bound its time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.engine import StopReason, events, from_schema
from schemathesis.engine.run import PhaseName

from tests.agents.cluster import Cluster, cluster

pytestmark = pytest.mark.e2e

HOST = "app.example.com"
SEED = 13
#: Examples per operation in each phase: 600-800 requests in all, ~15 s here.
EXAMPLES = 40
MIN_REQUESTS = 500
#: The links the schema declares (keel.agents.schema.add_run_links), as schemathesis names
#: a link it follows; schemathesis infers a few more of its own.
DECLARED_LINKS = {
    "POST /api/runs/ -> [201] GetRun -> GET /api/runs/{run_id}/",
    "POST /api/runs/ -> [201] CancelRun -> POST /api/runs/{run_id}/cancel/",
    "POST /api/runs/ -> [201] StreamRunEvents -> GET /api/runs/{run_id}/events/",
    "POST /api/runs/{run_id}/cancel/ -> [200] GetRun -> GET /api/runs/{run_id}/",
    "POST /api/runs/{run_id}/cancel/ -> [200] StreamRunEvents -> GET /api/runs/{run_id}/events/",
}
TESTING_PHASES = {PhaseName.COVERAGE, PhaseName.FUZZING, PhaseName.STATEFUL_TESTING}


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``keel web`` (production settings) and a worker, tuned so that fuzzed runs end fast.

    A run's event stream ends with the run, so every run is cut at one second, many may
    run at once, and creation is not rate-limited (each fuzzed POST may create one).
    """
    with cluster(
        tmp_path_factory.mktemp("conformance"),
        users=["fuzzer", "other"],
        AGENT_MODULES="keel.agents.demo",
        AGENT_RUN_TIME_LIMIT="1",
        AGENT_RUNS_PER_USER="20",
        RUNS_CREATE_RATE="off",
    ) as running:
        running.start_worker()
        yield running


@dataclass
class Outcome:
    """What one schemathesis run did, gathered from its events."""

    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks: Counter[str] = field(default_factory=Counter)
    links_followed: Counter[str] = field(default_factory=Counter)
    links_total: int = 0
    phases: dict[PhaseName, str] = field(default_factory=dict)
    requests: int = 0
    stop_reason: StopReason | None = None


def run_schemathesis(schema: schemathesis.BaseSchema) -> Outcome:
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted) and event.payload is not None:
            outcome.links_total = event.payload.transitions_total
        elif isinstance(event, events.PhaseFinished):
            outcome.phases[event.phase.name] = str(event.status)
        elif isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            outcome.requests += len(recorder.interactions)
            for node in recorder.cases.values():
                if node.transition is not None and node.is_transition_applied:
                    outcome.links_followed[node.transition.id] += 1
            for checks in recorder.checks.values():
                for check in checks:
                    outcome.checks[check.name] += 1
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        outcome.failures.append(
                            f"{recorder.label}: {check.name}: {failure.title}\n"
                            f"{failure.message}\n{check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{event.label} ({event.phase}): {event.info}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            outcome.stop_reason = event.stop_reason
    return outcome


def test_the_server_does_what_its_schema_says_under_every_check_and_the_stateful_phase(
    keel: Cluster,
) -> None:
    headers = {
        "Host": HOST,
        "Authorization": f"Token {keel.tokens['fuzzer']}",
        # schemathesis keeps its sessions after the run; without this their idle
        # keep-alive connections make keel web's shutdown wait its graceful timeout.
        "Connection": "close",
    }
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            # Nothing learnt by an earlier run (schemathesis caches in .schemathesis/ by
            # default) may change what this one sends.
            "cache": {"enabled": False},
            "headers": headers,
            "checks": {"enabled": True},
            "generation": {"max-examples": EXAMPLES, "deterministic": True},
            # An event stream is read for its first events only (a run's stream lasts
            # as long as the run), and no request may take longer than this.
            "max-stream-events": 2,
            "request-timeout": 10,
        }
    )
    schema = schemathesis.openapi.from_url(
        f"{keel.web.url}/api/schema/", config=config, headers=headers
    )
    outcome = run_schemathesis(schema)
    summary = (
        f"schemathesis: {outcome.requests} requests, phases {outcome.phases}, "
        f"links followed {dict(outcome.links_followed)} of {outcome.links_total}, "
        f"checks {dict(outcome.checks)}"
    )
    print(summary)
    assert outcome.stop_reason == StopReason.COMPLETED, summary
    assert outcome.errors == [], "\n\n".join(outcome.errors)
    assert outcome.failures == [], "\n\n".join(outcome.failures)
    # Every phase ran, every check schemathesis has was applied, enough was sent.
    assert {phase for phase, status in outcome.phases.items() if status != "skip"} >= (
        TESTING_PHASES
    ), outcome.phases
    assert set(outcome.checks) == set(CHECKS.get_all_names()), outcome.checks
    assert outcome.requests >= MIN_REQUESTS, summary
    # The stateful phase reached real runs through every link the schema declares.
    assert outcome.links_total >= len(DECLARED_LINKS)
    assert set(outcome.links_followed) >= DECLARED_LINKS, summary


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "HEAD"])
def test_the_events_endpoint_answers_other_methods_405_with_allow(
    keel: Cluster, method: str
) -> None:
    run = keel.create_run("other", agent="demo", prompt="hi", steps=1, step_delay=0)
    with keel.client("other") as api:
        response = api.request(method, f"/api/runs/{run['id']}/events/")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    if method != "HEAD":
        assert response.json()["error"] == "method_not_allowed"
