"""The run console in a real browser: Debian's Chromium, driven by Playwright, against
real ``keel web`` and ``keel worker`` processes.

Chromium is launched by its executable path (``/usr/bin/chromium``, from
``apt-get install chromium``; ``make setup`` and ``.ci/run`` install it where missing),
so no browser is downloaded. Every page records Content-Security-Policy violations
(the DOM's ``securitypolicyviolation`` events and the console's reports), and every test
ends by checking there were none.

The browser speaks plain HTTP to loopback, so these servers run with non-Secure cookies;
tests/e2e/test_console_proxy.py covers the console over HTTPS behind the load balancer.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agents.cluster import Cluster, cluster, read_events
from tests.agents.slow_agent import PREAMBLE
from tests.capabilities import needs
from tests.processes import REPO, KeelProcess, keel_web, run_keel

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.e2e,
    needs(
        shutil.which(CHROMIUM) is not None,
        f"Chromium at {CHROMIUM} (apt-get install chromium)",
    ),
]

from playwright.sync_api import (  # noqa: E402  (after the capability mark, for its message)
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

PASSWORD = "a console test password"
SCREENSHOTS = REPO / "docs" / "images"
VIEWPORT = {"width": 1100, "height": 760}
#: Functional bound for the browser's wait, from pressing "Start run" to the first token
#: on the page (the performance figures are in docs/benchmarks.md, not here).
FIRST_TOKEN_WITHIN = 1.0

#: Runs in every page before its own scripts: collects CSP violations where the test can
#: read them (Playwright's scripts are exempt from the page's policy).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""

SET_PASSWORDS = """
from django.contrib.auth.models import User
for user in User.objects.filter(username__in=%r):
    user.set_password(%r)
    user.save()
"""


def demo_text(steps: int) -> list[str]:
    """The text blocks the demo agent's scripted model says for a run of ``steps``."""
    return [f"Working on step {step} of {steps}." for step in range(1, steps + 1)] + [
        f"Done: finished all {steps} steps."
    ]


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(
        tmp_path_factory.mktemp("console"),
        users=["alice", "mallory"],
        AGENT_MODULES="keel.agents.demo,tests.agents.counting_agent,tests.agents.slow_agent",
        # The browser reaches the server as 127.0.0.1, over plain HTTP.
        ALLOWED_HOSTS="app.example.com,127.0.0.1",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        RUNS_CREATE_RATE="off",
    ) as running:
        result = run_keel(
            ["manage", "shell", "-c", SET_PASSWORDS % (["alice", "mallory"], PASSWORD)],
            running.environment,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        running.start_worker()
        # A first run warms the worker and the web process (imports, connections).
        warm = running.create_run("alice", agent="demo", prompt="warm", steps=1, step_delay=0)
        running.wait_runs([("alice", warm["id"])])
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield launch(playwright)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM)


class ConsoleSession:
    """One browser context signed in (or not) to one server, recording CSP violations."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.context: BrowserContext = browser.new_context(base_url=base_url, viewport=VIEWPORT)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.reported: list[str] = []
        self.page = self.new_page()

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._console)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.reported.append(message.text)

    def sign_in(self, username: str) -> None:
        self.page.goto("/console/")
        expect(self.page).to_have_url(re.compile(r"/console/login/\?next="))
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()

    def start_run(self, agent: str, prompt: str, steps: int, step_delay: float) -> float:
        """Fill the agent's form and submit it; return when (monotonic) it was submitted."""
        self.page.goto(f"/console/new/{agent}/")
        self.page.get_by_label("Prompt").fill(prompt)
        self.page.get_by_label("Steps").fill(str(steps))
        self.page.get_by_label("Step delay").fill(str(step_delay))
        submitted = time.monotonic()
        self.page.get_by_role("button", name="Start run").click()
        return submitted

    def violations(self) -> list[str]:
        found = list(self.reported)
        for page in self.context.pages:
            found += page.evaluate("window.__cspViolations || []")
        return found

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session(browser: Browser, keel: Cluster) -> Iterator[ConsoleSession]:
    """A fresh browser context on the module's server; no CSP violation by its end."""
    opened = ConsoleSession(browser, keel.web.url)
    try:
        yield opened
        assert opened.violations() == []
    finally:
        opened.close()


def run_id_of(page: Page) -> str:
    match = re.search(r"/console/runs/([0-9a-f-]{36})/(#.*)?$", page.url)
    assert match is not None, page.url
    return match.group(1)


def text_blocks(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#transcript .text").all_inner_texts()]


def wait_status(page: Page, status: str, timeout: float = 60) -> None:
    expect(page.locator("#status")).to_have_text(status, timeout=timeout * 1000)


def api_events(keel: Cluster, user: str, run_id: str) -> list[dict[str, Any]]:
    with keel.client(user) as api, api.stream("GET", f"/api/runs/{run_id}/events/") as stream:
        return read_events(stream)


def test_sign_in_start_a_run_and_watch_tokens_and_tool_calls_stream(
    session: ConsoleSession, keel: Cluster
) -> None:
    page = session.page
    session.sign_in("alice")
    page.screenshot(path=SCREENSHOTS / "console-runs.png")
    page.get_by_role("link", name="New demo run").click()
    expect(page.get_by_role("heading", name="New demo run")).to_be_visible()
    page.get_by_label("Prompt").fill("Summarise the quarter")
    page.get_by_label("Steps").fill("3")
    page.get_by_label("Step delay").fill("0.4")
    page.screenshot(path=SCREENSHOTS / "console-new-run.png")
    submitted = time.monotonic()
    page.get_by_role("button", name="Start run").click()
    first_token = page.locator("#transcript .text").first
    expect(first_token).to_contain_text("Working", timeout=FIRST_TOKEN_WITHIN * 1000)
    elapsed = time.monotonic() - submitted
    print(f"console: first token on the page {elapsed:.3f} s after submitting")
    assert elapsed <= FIRST_TOKEN_WITHIN, f"first token after {elapsed:.2f} s"
    # Tool call cards appear while the run is still going.
    expect(page.locator("article.tool").first).to_contain_text("Tool call: work")
    expect(page.locator("#status")).to_have_text("running")
    expect(page.locator("article.tool[data-state=done]")).to_have_count(1, timeout=10_000)
    wait_status(page, "succeeded")
    expect(page.locator("article.tool")).to_have_count(3)
    expect(page.locator("article.tool pre.result").first).to_have_text("step 1 done")
    assert json.loads(page.locator("article.tool pre.args").first.inner_text()) == {"step": 1}
    assert text_blocks(page) == demo_text(3)
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    page.screenshot(path=SCREENSHOTS / "console-run.png", full_page=True)
    assert keel.get_run("alice", run_id_of(page))["status"] == "succeeded"


def test_the_runs_list_shows_new_runs_and_their_status_live(
    session: ConsoleSession, keel: Cluster
) -> None:
    session.sign_in("alice")
    page = session.page
    # Started elsewhere (the API) after the list was drawn: the list picks it up.
    run = keel.create_run("alice", agent="demo", prompt="listed", steps=2, step_delay=0.5)
    row = page.locator(f'tr[data-run-id="{run["id"]}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=30_000)
    keel.wait_runs([("alice", run["id"])])
    assert keel.get_run("alice", run["id"])["status"] == "succeeded"


def test_cancel_stops_the_run_and_the_page_says_so(session: ConsoleSession, keel: Cluster) -> None:
    session.sign_in("alice")
    page = session.page
    session.start_run("demo", "cancel me", steps=6, step_delay=2)
    expect(page.locator("article.tool")).to_have_count(1, timeout=10_000)
    page.get_by_role("button", name="Cancel run").click()
    wait_status(page, "cancelled", timeout=15)
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    run_id = run_id_of(page)
    assert keel.get_run("alice", run_id)["status"] == "cancelled"
    events = api_events(keel, "alice", run_id)
    assert events[-1]["payload"]["status"] == "cancelled"
    assert [event["type"] for event in events].count("tool_call") < 6


def test_a_reload_mid_stream_shows_the_text_exactly_once(
    session: ConsoleSession, keel: Cluster
) -> None:
    session.sign_in("alice")
    page = session.page
    # Held inside its second tool call until released: the page reloads while the run is
    # running by construction, however slowly a loaded machine gets there.
    keel.hold(2)
    try:
        session.start_run("counting", "reload", steps=3, step_delay=0)
        expect(page.locator("article.tool")).to_have_count(2, timeout=10_000)
        run_id = run_id_of(page)
        page.reload()
        expect(page.locator("#status")).to_have_text("running")
        assert keel.get_run("alice", run_id)["status"] == "running"
        # What was said before the reload, replayed once.
        expect(page.locator("#transcript .text")).to_have_text(demo_text(3)[:2])
    finally:
        keel.hold(None)
    wait_status(page, "succeeded")
    assert text_blocks(page) == demo_text(3)
    expect(page.locator("article.tool")).to_have_count(3)


def test_a_dropped_connection_resumes_the_stream_when_the_web_role_returns(
    browser: Browser, keel: Cluster, tmp_path: Path
) -> None:
    # Stopped as a deploy stops it (SIGTERM), with open streams cut after a second rather
    # than held for the 30 s graceful timeout.
    environment = {**keel.environment, "WEB_GRACEFUL_TIMEOUT": "1"}
    with keel_web(environment, log_dir=tmp_path) as web:
        opened = ConsoleSession(browser, web.url)
        try:
            opened.sign_in("alice")
            page = opened.page
            opened.start_run("demo", "drop", steps=5, step_delay=1.5)
            expect(page.locator("article.tool")).to_have_count(1, timeout=10_000)
            web.stop()
            expect(page.locator("#run")).to_have_attribute("data-connected", "false")
            expect(page.locator("#connection")).to_contain_text("reconnecting")
            restarted = KeelProcess(
                args=web.args,
                environment=web.environment,
                log_path=tmp_path / "web-restarted.log",
                port=web.port,
            ).start()
            try:
                restarted.wait_healthy()
                wait_status(page, "succeeded")
                assert text_blocks(page) == demo_text(5)
                expect(page.locator("article.tool")).to_have_count(5)
                expect(page.locator("#connection")).to_have_text("")
                assert opened.violations() == []
            finally:
                restarted.stop()
        finally:
            opened.close()


def test_a_run_resumed_after_a_worker_crash_shows_its_text_once(
    session: ConsoleSession, keel: Cluster
) -> None:
    session.sign_in("alice")
    page = session.page
    session.start_run("slow", "crash", steps=1, step_delay=0)
    first = page.locator("#transcript .text").first
    # Killed in the middle of the first model request, a few words in.
    expect(first).to_contain_text("Let me think", timeout=10_000)
    crashed = keel.workers[-1]
    crashed.signal(signal.SIGKILL)
    crashed.wait(timeout=10)
    keel.start_worker()
    wait_status(page, "succeeded", timeout=90)
    preamble = PREAMBLE
    assert text_blocks(page) == [
        f"{preamble} Working on step 1 of 1.",
        f"{preamble} Done: finished all 1 steps.",
    ]
    expect(page.locator("article.tool")).to_have_count(1)
    # The case happened as docs/agents.md describes it: a resumed status, after which
    # the interrupted request's tokens were streamed again.
    events = api_events(keel, "alice", run_id_of(page))
    resumed = next(
        index for index, event in enumerate(events) if event["payload"].get("resumed") is True
    )
    before = "".join(e["payload"]["text"] for e in events[:resumed] if e["type"] == "token")
    assert before
    assert "Working" not in before
    first_call = next(index for index, event in enumerate(events) if event["type"] == "tool_call")
    assert first_call > resumed


def test_another_users_run_is_404(session: ConsoleSession, browser: Browser, keel: Cluster) -> None:
    run = keel.create_run("alice", agent="demo", prompt="private", steps=1, step_delay=0)
    session.sign_in("mallory")
    page = session.page
    response = page.goto(f"/console/runs/{run['id']}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert str(run["id"]) not in page.content()
    events = page.request.get(f"/api/runs/{run['id']}/events/")
    assert events.status == 404
    page.goto("/console/")
    expect(page.locator(f'tr[data-run-id="{run["id"]}"]')).to_have_count(0)


def focused(page: Page) -> str:
    """The focused element, as ``tag#id`` and its accessible text, for assertions."""
    return str(
        page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' '"
            " + (e.innerText || e.value || '').trim(); })()"
        )
    )


def test_the_keyboard_alone_signs_in_starts_and_cancels_a_run(
    session: ConsoleSession, keel: Cluster
) -> None:
    page = session.page
    keyboard = page.keyboard
    page.goto("/console/")
    # The sign-in form focuses its first field itself.
    assert focused(page).startswith("input#id_username")
    keyboard.type("alice")
    keyboard.press("Tab")
    assert focused(page).startswith("input#id_password")
    keyboard.type(PASSWORD)
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    keyboard.press("Tab")
    assert focused(page) == "a Skip to content"
    keyboard.press("Enter")
    # One "New … run" link per agent, in name order (keel.agents.registry).
    keyboard.press("Tab")
    assert focused(page) == "a New counting run"
    keyboard.press("Tab")
    assert focused(page) == "a New demo run"
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New demo run")).to_be_visible()
    keyboard.press("Tab")
    keyboard.press("Enter")
    keyboard.press("Tab")
    assert focused(page).startswith("textarea#id_prompt")
    keyboard.type("by keyboard")
    keyboard.press("Tab")
    assert focused(page).startswith("input#id_steps")
    keyboard.press("ControlOrMeta+a")
    keyboard.type("5")
    keyboard.press("Tab")
    assert focused(page).startswith("input#id_step_delay")
    keyboard.type("2")
    keyboard.press("Tab")
    assert focused(page) == "button Start run"
    keyboard.press("Enter")
    expect(page.locator("article.tool")).to_have_count(1, timeout=10_000)
    keyboard.press("Tab")
    keyboard.press("Enter")
    keyboard.press("Tab")
    assert focused(page) == "button#cancel Cancel run"
    page.screenshot(path=SCREENSHOTS / "console-keyboard.png")
    keyboard.press("Space")
    wait_status(page, "cancelled", timeout=15)
    run_id = run_id_of(page)
    run = keel.get_run("alice", run_id)
    assert run["status"] == "cancelled"
    assert run["input"] == {"prompt": "by keyboard", "steps": 5, "step_delay": 2.0}


def test_an_inline_script_is_refused_and_reported(browser: Browser, keel: Cluster) -> None:
    """The check every other test ends with can fail: the policy is on, and it reports."""
    opened = ConsoleSession(browser, keel.web.url)
    try:
        opened.sign_in("alice")
        page = opened.page
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.__ran = true'; document.body.append(s); }"
        )
        expect(page.locator("body")).to_be_visible()
        page.wait_for_function("window.__cspViolations.length > 0")
        assert page.evaluate("window.__ran === undefined")
        assert any(v.startswith("script-src") for v in opened.violations())
        header = httpx.get(f"{keel.web.url}/console/login/", headers={"Host": "app.example.com"})
        assert "script-src 'self'" in header.headers["Content-Security-Policy"]
    finally:
        opened.close()
