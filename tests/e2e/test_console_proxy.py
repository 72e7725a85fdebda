"""The console over HTTPS behind the load balancer: session and CSRF through the proxy header.

The ALB terminates TLS and sends ``X-Forwarded-Proto: https``; gunicorn believes it only
from ``FORWARDED_ALLOW_IPS`` (Django's SECURE_PROXY_SSL_HEADER stays unset, see
tests/security/test_proxy_https.py). With the production defaults (HTTPS redirect, Secure
cookies, HSTS) a browser's requests, played here by hand with its Origin and cookies,
sign in, start a run, read its stream and cancel it, in both server modes; a form posted
from another origin is refused by the CSRF check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from tests.processes import KeelProcess, base_environment, keel_web, run_keel, scratch_database

pytestmark = pytest.mark.e2e

HOST = "app.example.com"
ORIGIN = f"https://{HOST}"
PASSWORD = "a console proxy password"
CREATE_USER = f"""
from django.contrib.auth.models import User
User.objects.create_user("alice", password={PASSWORD!r})
"""


@pytest.fixture(scope="module", params=["asgi", "wsgi"])
def web(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KeelProcess]:
    tmp_path = tmp_path_factory.mktemp(f"console-proxy-{request.param}")
    with scratch_database(tmp_path) as database:
        environment = base_environment(
            **database,
            ALLOWED_HOSTS=HOST,
            FORWARDED_ALLOW_IPS="127.0.0.0/8,::1",
            SECURE_SSL_REDIRECT="true",
            SECURE_HSTS_SECONDS="31536000",
            SESSION_COOKIE_SECURE="true",
            CSRF_COOKIE_SECURE="true",
        )
        result = run_keel(["migrate"], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        result = run_keel(["manage", "shell", "-c", CREATE_USER], environment)
        assert result.returncode == 0, result.stdout + result.stderr
        with keel_web(environment, server=request.param, log_dir=Path(tmp_path)) as process:
            yield process


class Browser:
    """Requests as a browser on https://app.example.com sends them through the ALB.

    Cookies are kept by hand: they are Secure, and the client speaks plain HTTP to the
    loopback "ALB" (httpx, rightly, would not send them).
    """

    def __init__(self, web: KeelProcess) -> None:
        self.client = httpx.Client(
            base_url=web.url,
            headers={"Host": HOST, "X-Forwarded-Proto": "https"},
            timeout=15,
        )
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, **options: object) -> httpx.Response:
        headers = dict(options.pop("headers", {}) or {})  # type: ignore[call-overload]
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **options)  # type: ignore[arg-type]
        for header in response.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def form(self, path: str, data: dict[str, str], origin: str = ORIGIN) -> httpx.Response:
        page = self.request("GET", path)
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token is not None
        return self.request(
            "POST",
            path,
            data={"csrfmiddlewaretoken": token.group(1), **data},
            headers={"Origin": origin, "Referer": f"{origin}{path}"},
        )


@pytest.fixture
def browser(web: KeelProcess) -> Iterator[Browser]:
    opened = Browser(web)
    yield opened
    opened.close()


def test_sign_in_start_stream_and_cancel_over_https_through_the_proxy(browser: Browser) -> None:
    login = browser.request("GET", "/console/login/")
    assert login.status_code == 200
    assert login.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "script-src 'self'" in login.headers["Content-Security-Policy"]
    signed_in = browser.form("/console/login/", {"username": "alice", "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.text
    assert signed_in.headers["Location"] == "/console/"
    session_cookie = next(c for c in browser.set_cookies if c.startswith("sessionid="))
    assert "Secure" in session_cookie
    assert "HttpOnly" in session_cookie
    assert all("Secure" in cookie for cookie in browser.set_cookies)

    created = browser.form("/console/new/demo/", {"prompt": "through the ALB", "steps": "1"})
    assert created.status_code == 302, created.text
    run_path = created.headers["Location"]
    run_id = run_path.rstrip("/").rsplit("/", 1)[-1]
    page = browser.request("GET", run_path)
    assert page.status_code == 200
    assert f'data-events-url="/api/runs/{run_id}/events/"' in page.text

    # The page's EventSource sends the session cookie; the stream opens with the run's
    # first event (no worker runs here, so the run waits queued).
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}
    with browser.client.stream("GET", f"/api/runs/{run_id}/events/", headers=headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                assert '"status": "queued"' in line
                break

    page = browser.request("GET", run_path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    cancel = browser.request(
        "POST",
        f"{run_path}cancel/",
        data={"csrfmiddlewaretoken": token.group(1)},
        headers={"Origin": ORIGIN, "Accept": "application/json"},
    )
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"


def test_a_form_posted_from_another_origin_is_refused(browser: Browser) -> None:
    refused = browser.form(
        "/console/login/",
        {"username": "alice", "password": PASSWORD},
        origin="https://evil.example.net",
    )
    assert refused.status_code == 403
    assert "sessionid" not in browser.cookies


def test_plain_http_through_the_proxy_is_sent_to_https(web: KeelProcess) -> None:
    response = httpx.get(
        f"{web.url}/console/",
        headers={"Host": HOST, "X-Forwarded-Proto": "http"},
        timeout=10,
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"{ORIGIN}/console/"
