"""HTTPS behind the ALB: trusted only from the proxy range, in both server modes.

Django's SECURE_PROXY_SSL_HEADER is deliberately unset; gunicorn sets the request's
scheme from X-Forwarded-Proto only when the peer is in FORWARDED_ALLOW_IPS. Each mode
is started twice on loopback: once with a range that includes 127.0.0.1 (we are the
ALB) and once with 10.0.0.0/16 (we are anyone else forging the header). Production
defaults apply: HTTPS redirect, HSTS and secure cookies on.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.processes import KeelProcess, base_environment, keel_web, run_keel

pytestmark = pytest.mark.e2e

HOST = "app.example.com"
TRUSTED_RANGE = "127.0.0.0/8,::1"
UNTRUSTED_RANGE = "10.0.0.0/16"


def production_environment(**overrides: str) -> dict[str, str]:
    """The production variables: DEBUG off, a real key, production security defaults."""
    environment = base_environment(
        DJANGO_SETTINGS_MODULE="example.settings",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS=HOST,
        **overrides,
    )
    for name in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "DATABASE_URL", "SQLITE_PATH"):
        if name not in overrides:
            environment.pop(name, None)
    return environment


def test_check_deploy_is_clean_under_the_production_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    environment = production_environment(SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    result = run_keel(["manage", "check", "--deploy", "--fail-level", "WARNING"], environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # The same check does fail a weakened configuration, so the clean result means something.
    weakened = {**environment, "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0"}
    result = run_keel(["manage", "check", "--deploy", "--fail-level", "WARNING"], weakened)
    assert result.returncode != 0
    assert "security.W004" in result.stderr
    assert "security.W008" in result.stderr


@pytest.fixture(scope="module", params=["asgi", "wsgi"])
def servers(
    request: pytest.FixtureRequest,
    migrated_environment: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, KeelProcess]]:
    """Two servers of one mode: behind a trusted proxy, and reached from elsewhere."""
    log_dir = tmp_path_factory.mktemp(f"proxy-{request.param}")
    common = {
        **migrated_environment,
        "ALLOWED_HOSTS": HOST,
        "WEB_CONCURRENCY": "1",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "SESSION_COOKIE_SECURE": "true",
        "CSRF_COOKIE_SECURE": "true",
    }
    with (
        keel_web(
            {**common, "FORWARDED_ALLOW_IPS": TRUSTED_RANGE},
            server=request.param,
            log_dir=log_dir,
            wait=False,
        ) as trusted,
        keel_web(
            {**common, "FORWARDED_ALLOW_IPS": UNTRUSTED_RANGE},
            server=request.param,
            log_dir=log_dir,
            wait=False,
        ) as untrusted,
    ):
        trusted.wait_healthy()
        untrusted.wait_healthy()
        yield {"trusted": trusted, "untrusted": untrusted}


def get(web: KeelProcess, path: str, **headers: str) -> httpx.Response:
    return httpx.get(web.url + path, headers={"Host": HOST, **headers}, timeout=10)


def test_https_from_the_proxy_range_is_secure_with_hsts_and_secure_cookies(
    servers: dict[str, KeelProcess],
) -> None:
    response = get(servers["trusted"], "/test/secure/", **{"X-Forwarded-Proto": "https"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "is_secure": True,
        "absolute_uri": f"https://{HOST}/test/secure/",
    }
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    login = get(servers["trusted"], "/admin/login/", **{"X-Forwarded-Proto": "https"})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("csrftoken=")
    assert "Secure" in cookie


def test_plain_http_from_the_proxy_is_redirected_to_https(
    servers: dict[str, KeelProcess],
) -> None:
    response = get(servers["trusted"], "/test/secure/", **{"X-Forwarded-Proto": "http"})
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/test/secure/"


def test_a_forged_https_header_from_outside_the_proxy_range_is_not_believed(
    servers: dict[str, KeelProcess],
) -> None:
    response = get(servers["untrusted"], "/test/secure/", **{"X-Forwarded-Proto": "https"})
    # Believed, the request would be secure and answered 200; it is redirected instead.
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/test/secure/"
    assert "Strict-Transport-Security" not in response.headers


def test_health_answers_any_host_and_other_paths_refuse_it(
    servers: dict[str, KeelProcess],
) -> None:
    for web in servers.values():
        health = httpx.get(f"{web.url}/healthz", headers={"Host": "10.0.1.23"}, timeout=10)
        assert (health.status_code, health.text) == (200, "ok\n")
        for path in ("/api/runs", "/admin", "/test/secure/"):
            response = httpx.get(web.url + path, headers={"Host": "evil.example.net"}, timeout=10)
            assert response.status_code == 400, (path, response.status_code)
            assert "Location" not in response.headers
            assert "evil" not in response.text
