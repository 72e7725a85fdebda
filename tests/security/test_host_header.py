"""Host header: only /healthz answers a disallowed host, and no URL is built from one.

Property-based (hypothesis) over Host values, in-process through the full middleware
stack; tests/security/test_proxy_https.py repeats a few examples against real servers.
A link, redirect or absolute URL built from an attacker's Host is how password-reset
poisoning and cache poisoning start, so every response to such a Host is checked.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.http.request import split_domain_port, validate_host
from django.test import Client, override_settings
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from keel.agents.models import AgentRun
from keel.agents.services import api_user_create

ALLOWED = ["app.example.com"]
HYPOTHESIS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
#: Paths that redirect (APPEND_SLASH, HTTPS), build links, need auth, or are near misses
#: of the health path; none may answer a disallowed host with anything but 400.
PATHS = [
    "/api/runs",
    "/api/runs/",
    "/api/runs/?page=2",
    "/api/schema/",
    "/api/docs",
    "/admin",
    "/admin/login/?next=/admin/",
    "/readyz",
    "/healthz/",
    "/healthz/x",
    "/demo/json/",
    "/nope",
]
BAD_REQUEST = {"error": "bad_request", "detail": "Bad request."}

label = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
hostnames = st.builds(".".join, st.lists(label, min_size=1, max_size=4))
ports = st.one_of(st.just(""), st.integers(0, 70000).map(lambda port: f":{port}"))
hosts = st.one_of(
    # Plausible names and addresses, with or without a port.
    st.builds(lambda name, port: name + port, hostnames, ports),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
    # Names built around the allowed one: suffixes, prefixes, userinfo, fragments.
    st.builds(
        lambda name, glue: glue.format(allowed=ALLOWED[0], other=name),
        hostnames,
        st.sampled_from(
            [
                "{allowed}.{other}",
                "{other}.{allowed}",
                "{other}{allowed}",
                "{allowed}@{other}",
                "{other}@{allowed}",
                "{other}#{allowed}",
                "{other}/{allowed}",
                "{allowed} {other}",
                "{allowed},{other}",
                "{allowed}:{other}",
            ]
        ),
    ),
    # Anything printable at all.
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60),
)


def is_allowed(host: str) -> bool:
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, ALLOWED)


def assert_nothing_built_from(host: str, response) -> None:  # type: ignore[no-untyped-def]
    assert "Location" not in response, response["Location"]
    content = b"" if response.streaming else response.content
    assert host.encode() not in content or len(host) < 4


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=ALLOWED)
@HYPOTHESIS
@given(
    host=hosts,
    path=st.sampled_from(PATHS),
    method=st.sampled_from(["GET", "HEAD", "POST"]),
    https_redirect=st.booleans(),
)
def test_a_disallowed_host_gets_400_and_no_url_built_from_it(
    host: str, path: str, method: str, https_redirect: bool
) -> None:
    assume(not is_allowed(host))
    with override_settings(SECURE_SSL_REDIRECT=https_redirect):
        response = Client(HTTP_HOST=host).generic(method, path)
    assert response.status_code == 400, (response.status_code, host, path)
    assert_nothing_built_from(host, response)
    if method != "HEAD":
        assert json.loads(response.content) == BAD_REQUEST


@override_settings(ALLOWED_HOSTS=ALLOWED, SECURE_SSL_REDIRECT=True)
@HYPOTHESIS
@given(host=hosts, method=st.sampled_from(["GET", "HEAD"]))
def test_healthz_answers_any_host_without_redirecting(host: str, method: str) -> None:
    response = Client(HTTP_HOST=host).generic(method, "/healthz")
    assert response.status_code == 200
    assert_nothing_built_from(host, response)


@pytest.fixture
def paginated_token() -> str:
    """A user with two pages of runs, so the list answers with a ``next`` link."""
    user, token = api_user_create(username="pager")
    AgentRun.objects.bulk_create(AgentRun(owner=user, agent="demo", input={}) for _ in range(60))
    assert get_user_model().objects.count() == 1
    return token


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=ALLOWED)
@HYPOTHESIS
@given(forwarded=hosts, path=st.sampled_from(["/api/runs/", "/api/runs", "/admin"]))
def test_links_and_redirects_use_the_allowed_host_never_a_forwarded_one(
    paginated_token: str, forwarded: str, path: str
) -> None:
    """X-Forwarded-Host is not trusted (USE_X_FORWARDED_HOST is off): links use Host."""
    assume(len(forwarded) >= 4 and forwarded not in ALLOWED[0])
    response = Client(
        HTTP_HOST=ALLOWED[0],
        HTTP_X_FORWARDED_HOST=forwarded,
        HTTP_AUTHORIZATION=f"Token {paginated_token}",
    ).get(path)
    if path == "/api/runs/":
        assert response.status_code == 200
        assert response.json()["next"] == f"http://{ALLOWED[0]}/api/runs/?page=2"
    else:
        assert response.status_code in {301, 302}
        assert response["Location"].startswith(("/", f"http://{ALLOWED[0]}/"))
    assert forwarded.encode() not in response.content
    assert forwarded not in response.get("Location", "")
