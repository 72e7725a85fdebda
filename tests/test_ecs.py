"""Private-IP discovery from the ECS task metadata endpoint, and every way it can fail."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from keel import ecs
from tests.fake_ecs import fake_metadata_server, task_document


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    ecs.task_metadata.cache_clear()
    yield
    ecs.task_metadata.cache_clear()


def test_reads_ipv4_and_ipv6_addresses_and_cpu_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    document = task_document("10.0.3.17", ipv6=("fd00::5",), cpu=0.5)
    with fake_metadata_server(document=document) as uri:
        monkeypatch.setenv(ecs.METADATA_VARIABLE, uri)
        assert ecs.task_private_ips() == ["10.0.3.17", "fd00::5"]
        assert ecs.task_cpu_limit() == 0.5


def test_off_ecs_there_is_nothing_to_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ecs.METADATA_VARIABLE, raising=False)
    assert ecs.task_private_ips() == []
    assert ecs.task_cpu_limit() is None


def test_a_slow_endpoint_is_abandoned_within_the_timeout(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with fake_metadata_server(document=task_document("10.0.3.17"), delay=3) as uri:
        monkeypatch.setenv(ecs.METADATA_VARIABLE, uri)
        started = time.monotonic()
        assert ecs.task_private_ips() == []
        assert time.monotonic() - started < 1.5
    assert "ECS task metadata unavailable" in caplog.text


def test_a_server_error_is_logged_and_ignored(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with fake_metadata_server(document=task_document("10.0.3.17"), status=500) as uri:
        monkeypatch.setenv(ecs.METADATA_VARIABLE, uri)
        assert ecs.task_private_ips() == []
    assert "ECS task metadata unavailable" in caplog.text


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_bad_json_is_logged_and_ignored(monkeypatch: pytest.MonkeyPatch, body: bytes) -> None:
    with fake_metadata_server(body=body) as uri:
        monkeypatch.setenv(ecs.METADATA_VARIABLE, uri)
        assert ecs.task_private_ips() == []
        assert ecs.task_cpu_limit() is None


def test_malformed_addresses_and_shapes_are_skipped() -> None:
    document = {
        "Limits": {"CPU": "lots"},
        "Containers": [
            {"Networks": [{"IPv4Addresses": ["10.0.0.1", "not-an-ip", 7]}]},
            {"Networks": "nope"},
            "junk",
        ],
    }
    assert ecs.task_private_ips(document) == ["10.0.0.1"]
    assert ecs.task_cpu_limit(document) is None


def test_an_unreachable_endpoint_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.processes import free_port

    monkeypatch.setenv(ecs.METADATA_VARIABLE, f"http://127.0.0.1:{free_port()}/v4/abc")
    assert ecs.task_private_ips() == []


@pytest.mark.parametrize(
    ("handed_down", "expected"),
    [('{"Limits": {"CPU": 4}}', 4.0), ("null", None), ("{broken", None)],
)
def test_a_handed_down_document_is_used_and_the_endpoint_not_asked_again(
    monkeypatch: pytest.MonkeyPatch, handed_down: str, expected: float | None
) -> None:
    requests: list[str] = []
    with fake_metadata_server(document=task_document(cpu=1.0), requests=requests) as uri:
        monkeypatch.setenv(ecs.METADATA_VARIABLE, uri)
        monkeypatch.setenv(ecs.HANDED_DOWN_VARIABLE, handed_down)
        assert ecs.task_cpu_limit() == expected
    # A read that failed in keel web's start-up check is not retried by every worker.
    assert requests == []


def test_hand_down_reads_the_endpoint_once_for_the_processes_to_come(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests: list[str] = []
    with fake_metadata_server(document=task_document(cpu=2.0), requests=requests) as uri:
        monkeypatch.setenv(ecs.METADATA_VARIABLE, uri)
        # setenv first so monkeypatch restores the variable's absence afterwards, whatever
        # hand_down_task_metadata writes into os.environ.
        monkeypatch.setenv(ecs.HANDED_DOWN_VARIABLE, "")
        monkeypatch.delenv(ecs.HANDED_DOWN_VARIABLE)
        ecs.hand_down_task_metadata()
        ecs.task_metadata.cache_clear()  # as in the exec'd process
        assert ecs.task_cpu_limit() == 2.0
    assert len(requests) == 1


def test_allowed_hosts_entries_bracket_ipv6() -> None:
    document = task_document("10.0.3.17", ipv6=("fd00::5",))
    assert ecs.task_allowed_hosts(document) == ["10.0.3.17", "[fd00::5]"]


def test_the_task_id_comes_from_the_metadata_uri_without_a_request() -> None:
    uri = "http://169.254.170.2/v4/0123456789abcdef-1111111111/"
    assert ecs.task_id({ecs.METADATA_VARIABLE: uri}) == "0123456789abcdef-1111111111"
    assert ecs.task_id({}) is None
