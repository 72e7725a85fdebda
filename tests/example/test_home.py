"""``/`` tells a newcomer, and an API client, where to go next."""

from __future__ import annotations

from django.test import Client
from pytest_django.fixtures import Settings


def test_the_home_page_links_what_the_server_offers(client: Client) -> None:
    response = client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for href in ["/api/docs/", "/api/schema/", "/readyz", "/healthz", "/admin/"]:
        assert f'href="{href}"' in page
    assert "docs/configuration.md" in page
    assert "<script" not in page  # nothing a strict Content-Security-Policy would block


def test_a_client_that_asks_for_json_gets_the_links_as_json(client: Client) -> None:
    response = client.get("/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    hrefs = [link["href"] for link in response.json()["links"]]
    assert "/api/docs/" in hrefs
    assert "README.md" in response.json()["documentation"]


def test_the_demo_stream_is_offered_only_while_developing(
    client: Client, settings: Settings
) -> None:
    settings.DEBUG = False
    assert "/demo/stream/" not in client.get("/").content.decode()
    settings.DEBUG = True
    assert 'href="/demo/stream/"' in client.get("/").content.decode()


def test_only_safe_methods(client: Client) -> None:
    assert client.post("/").status_code == 405
