"""Open event streams are capped per user and per client address, in both server modes.

A real ``keel web`` with a cap of 3 streams per user and 2 per anonymous address: the
extra stream is a 429 with ``Retry-After`` while another caller's stream opens, and a
stream that ends, or whose client goes away, gives its slot back.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.agents.cluster import Cluster, cluster
from tests.processes import KeelProcess, keel_web

pytestmark = pytest.mark.e2e

PER_USER = 3
PER_ADDRESS = 2
HOST = "app.example.com"
#: A stream that outlasts the test (a tick a second for a thousand seconds).
LONG = "/demo/stream/?count=1000&interval=1"
#: The cluster's own clients wait this long. httpx's default of 5 s is too short for the
#: first request to a web process started in the test: it loads the URLconf and views,
#: and under CI load that took over 5 s (a ReadTimeout there, with the server still
#: answering).
CLIENT_TIMEOUT = 15


@pytest.fixture(scope="module", params=["asgi", "wsgi"])
def keel(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with cluster(
        tmp_path_factory.mktemp(f"streams-{request.param}"),
        users=["alice", "bob", "carol", "dave"],
        server=request.param,
        SSE_MAX_STREAMS_PER_USER=str(PER_USER),
        SSE_MAX_STREAMS_PER_ADDRESS=str(PER_ADDRESS),
        # Anonymous streams exist only where the demo endpoints are public.
        DEMO_ENDPOINTS_PUBLIC="true",
        # Under wsgi every open stream holds one of these threads.
        WEB_THREADS="16",
    ) as running:
        yield running


@dataclass
class Stream:
    response: httpx.Response
    #: The line iterator, kept: dropping it would close the connection.
    lines: Iterator[str]

    @property
    def status_code(self) -> int:
        return self.response.status_code

    def close(self) -> None:
        self.response.close()


@contextlib.contextmanager
def open_stream(client: httpx.Client, path: str) -> Iterator[Stream]:
    """Open ``path`` and, when it streams, read its opening comment before yielding."""
    with client.stream("GET", path) as response:
        lines = response.iter_lines()
        if response.status_code == 200:
            assert next(lines) == ": stream open"
        else:
            response.read()
        yield Stream(response, lines)


def assert_refused(stream: Stream, limit: int) -> None:
    response = stream.response
    assert response.status_code == 429, response.status_code
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["error"] == "too_many_streams"
    assert f"At most {limit} event streams" in body["detail"]


def client_from(web: KeelProcess, address: str, spoofed: str = "") -> httpx.Client:
    """A client whose requests arrive through a proxy that saw ``address``."""
    forwarded = f"{spoofed}, {address}" if spoofed else address
    return httpx.Client(
        base_url=web.url,
        headers={"Host": HOST, "X-Forwarded-For": forwarded},
        timeout=CLIENT_TIMEOUT,
    )


def wait_until_opens(client: httpx.Client, path: str, timeout: float = 10.0) -> float:
    """Retry ``path`` until it streams; return how long that took."""
    started = time.monotonic()
    while True:
        with open_stream(client, path) as response:
            if response.status_code == 200:
                return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"{path} still refused after {timeout} s"
        time.sleep(0.2)


def test_a_user_beyond_the_cap_gets_429_while_another_users_stream_opens(keel: Cluster) -> None:
    run = keel.create_run("alice", agent="demo", prompt="hi", steps=1, step_delay=0)
    events = f"/api/runs/{run['id']}/events/"
    with contextlib.ExitStack() as held, keel.client("alice") as alice:
        # Three streams held open: run events and demo streams count alike.
        for path in (LONG, LONG, events):
            assert held.enter_context(open_stream(alice, path)).status_code == 200
        for path in (LONG, events):
            with open_stream(alice, path) as refused:
                assert_refused(refused, PER_USER)
        with keel.client("bob") as bob, open_stream(bob, LONG) as other:
            assert other.status_code == 200
        # Anonymous callers have their own count, by address.
        with (
            httpx.Client(base_url=keel.web.url, headers={"Host": HOST}) as anonymous,
            open_stream(anonymous, LONG) as response,
        ):
            assert response.status_code == 200


def test_a_stream_whose_client_goes_away_gives_its_slot_back(keel: Cluster) -> None:
    with contextlib.ExitStack() as held, keel.client("carol") as carol:
        streams = [held.enter_context(open_stream(carol, LONG)) for _ in range(PER_USER)]
        assert [stream.status_code for stream in streams] == [200] * PER_USER
        with open_stream(carol, LONG) as refused:
            assert_refused(refused, PER_USER)
        # The client drops one connection mid-stream; the server notices at once (asgi) or
        # at its next write (wsgi; a heartbeat or tick within a second here).
        streams[0].close()
        waited = wait_until_opens(carol, LONG)
    print(f"a dropped stream's slot was free again after {waited:.2f} s")


def test_a_stream_that_ends_gives_its_slot_back(keel: Cluster) -> None:
    with keel.client("dave") as dave:
        for _ in range(PER_USER * 3):
            with open_stream(dave, "/demo/stream/?count=2&interval=0") as response:
                assert response.status_code == 200
                assert sum(line.startswith("data:") for line in response.lines) == 2
        # All of those ended, so the whole cap is free again.
        with contextlib.ExitStack() as held:
            for _ in range(PER_USER):
                assert held.enter_context(open_stream(dave, LONG)).status_code == 200


def test_anonymous_streams_are_capped_per_client_address_as_the_proxy_saw_it(
    keel: Cluster,
) -> None:
    """Loopback is a trusted proxy by default: its X-Forwarded-For names the client."""
    with contextlib.ExitStack() as held:
        first = held.enter_context(client_from(keel.web, "203.0.113.7"))
        for _ in range(PER_ADDRESS):
            assert held.enter_context(open_stream(first, LONG)).status_code == 200
        with open_stream(first, LONG) as refused:
            assert_refused(refused, PER_ADDRESS)
        # Entries before the proxy's own are the client's to invent: they change nothing.
        with (
            client_from(keel.web, "203.0.113.7", spoofed="198.51.100.1") as spoofing,
            open_stream(spoofing, LONG) as refused,
        ):
            assert_refused(refused, PER_ADDRESS)
        with client_from(keel.web, "203.0.113.8") as second, open_stream(second, LONG) as response:
            assert response.status_code == 200


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(keel: Cluster, tmp_path: Path) -> None:
    environment = {**keel.environment, "FORWARDED_ALLOW_IPS": "10.0.0.0/16"}
    server = keel.web.args[keel.web.args.index("--server") + 1]
    with (
        keel_web(environment, server=server, log_dir=tmp_path) as web,
        contextlib.ExitStack() as held,
    ):
        for address in ("203.0.113.7", "203.0.113.8"):
            client = held.enter_context(client_from(web, address))
            assert held.enter_context(open_stream(client, LONG)).status_code == 200
        # Both counted against 127.0.0.1, the real peer, whatever the header said.
        with open_stream(client, LONG) as refused:
            assert_refused(refused, PER_ADDRESS)
