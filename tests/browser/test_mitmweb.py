"""mitmweb with the addon, in front of the emulator, looked at in a real headless Chromium.

Debian's chromium is driven through Playwright (`executable_path`; Playwright's own browser
download is never used). Outside CI the test skips when chromium is absent; in CI
(`CI=true`) it fails instead, since .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from antigravity import launch
from antigravity.emulator import Emulator, Fault, run_in_thread

pytestmark = pytest.mark.e2e

KEYS = ("browser-key-alpha-0001", "browser-key-bravo-0002")
PASSWORD = "antigravity-browser-test"
WAIT_MS = 30_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "default": "Paris", "pattern": "^.+$"}},
            "required": ["city"],
        },
    },
}
# What the flow list must say, in order, for the requests `traffic` sends.
COMMENTS = [
    "chat · gpt-4o→gemini-2.5-flash · key-1 · whole",
    "chat · gemini-3-pro-preview→gemini-3-pro-preview · key-2 · stream",
    # key-1 answered 429; the gateway retried on key-2, which answered.
    "chat · gpt-4o→gemini-2.5-flash · key-2 · 2 attempts · whole",
    # Both accounts answered 503 (antigravity_max_attempts=2 here): the client got a 503.
    "chat · gemini-2.5-pro→gemini-2.5-pro · key-2 · 2 attempts · whole · 503",
]
RETRIED, FAILED = COMMENTS[2], COMMENTS[3]


def _needed(what: str, hint: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing in CI; {hint}")
    pytest.skip(f"{what} is not installed ({hint})")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _needed("Debian's chromium", "apt-get install chromium; .ci/run does this")
    assert path is not None
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_ui(url: str, timeout: float = 60) -> None:
    """Poll the UI until it answers; mitmweb logs the proxy's readiness before the UI's."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


@dataclass
class Web:
    url: str
    emulator: Emulator
    proxy: launch.Child


def traffic(web: Web) -> None:
    client = openai.OpenAI(api_key="sk-any", base_url=f"{web.proxy.url}/v1", max_retries=0)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hello"}])
    ask = [{"role": "user", "content": "Weather in Paris? [call:weather]"}]
    stream = client.chat.completions.create(
        model="gemini-3-pro-preview",
        messages=ask,
        tools=[WEATHER],
        stream=True,  # type: ignore[list-item]
    )
    list(stream)
    web.emulator.add_fault(Fault(kind="429", key=KEYS[0], retry_delay="30s"))
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    web.emulator.add_fault(Fault(kind="503", times=0))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="gemini-2.5-pro", messages=[{"role": "user", "content": "Hi again"}]
        )
    web.emulator.clear_faults()


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    chromium()
    port = free_port()
    with (
        run_in_thread() as emulator,
        launch.start_mitmdump(
            emulator.url,
            tool="mitmweb",
            env={"GEMINI_API_KEYS": ",".join(KEYS)},
            options={
                "web_port": str(port),
                "web_host": "127.0.0.1",
                "web_open_browser": "false",
                # Without a password mitmweb makes a token up and prints it; a known one is
                # simpler to pass as ?token=, which also sets the session cookie.
                "web_password": PASSWORD,
                "antigravity_max_attempts": "2",
            },
        ) as proxy,
    ):
        url = f"http://127.0.0.1:{port}/?token={PASSWORD}"
        wait_for_ui(url)
        w = Web(url, emulator, proxy)
        traffic(w)
        yield w


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _needed("playwright", "pip install -e '.[dev]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, web: Web) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(web.url)
    expect(page.locator("td.col-comment")).to_have_count(len(COMMENTS))
    yield page
    context.close()


def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """Into the test's temp dir; also into $ANTIGRAVITY_SCREENSHOTS when set (for docs/)."""
    path = tmp_path / name
    page.screenshot(path=str(path))
    if target := os.environ.get("ANTIGRAVITY_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)
    return path


def row(page: Any, comment: str) -> Any:
    return page.locator("tbody tr").filter(has=page.get_by_text(comment, exact=True))


def test_flow_list_shows_each_route_and_marks_retried_and_failed_flows(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("th.col-comment")).to_have_text("Comment")
    expect(page.locator("td.col-comment")).to_have_text(COMMENTS)
    expect(row(page, RETRIED).locator(".marker")).to_have_text("🔁")
    expect(row(page, RETRIED).locator("td.col-status")).to_have_text("200")
    expect(row(page, FAILED).locator(".marker")).to_have_text("⚠")
    expect(row(page, FAILED).locator("td.col-status")).to_have_text("503")
    expect(row(page, COMMENTS[0]).locator(".marker")).to_have_text("")


def test_retried_flow_shows_each_attempt_and_the_cooldown(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    row(page, RETRIED).click()
    view = page.locator(".flow-detail .contentview pre")
    expect(view).to_contain_text("1. key-1 (****0001) → 429")
    expect(view).to_contain_text("cooldown 30s")
    expect(view).to_contain_text("2. key-2 (****0002) → 200")
    screenshot(page, "mitmweb-retry.png", tmp_path)


def test_content_view_shows_route_rewrites_and_answer(page: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    row(page, COMMENTS[1]).click()
    view = page.locator(".flow-detail .contentview")
    expect(view.locator("h5")).to_have_text("Antigravity")
    request_page = view.locator("pre")
    for text in (
        "requested: gemini-3-pro-preview",
        "mapped to: gemini-3-pro-preview",
        "rule: passthrough",
        "account: key-2 (****0002)",
        "1. key-2 (****0002) → 200",
        "schema rewrites:",
        "weather parameters /properties/city: dropped default, pattern",
        "- user: Weather in Paris? [call:weather]",
    ):
        expect(request_page).to_contain_text(text)
    shot = screenshot(page, "mitmweb.png", tmp_path)
    assert shot.stat().st_size > 10_000
    page.locator(".flow-detail nav a", has_text="Response").click()
    expect(view.locator("h5")).to_have_text("Antigravity")
    for text in (
        "client got: 200 · stream of",
        "ended with [DONE]",
        "tool calls:",
        '- weather({"city":',
        "finish_reason: tool_calls",
    ):
        expect(view.locator("pre")).to_contain_text(text)
    screenshot(page, "mitmweb-response.png", tmp_path)
    for key in KEYS:
        assert key not in page.content()


def test_failed_flow_shows_geminis_status_and_the_translated_error(page: Any) -> None:
    from playwright.sync_api import expect

    row(page, FAILED).click()
    page.locator(".flow-detail nav a", has_text="Response").click()
    view = page.locator(".flow-detail .contentview pre")
    expect(view).to_contain_text("client got: 503 · error")
    expect(view).to_contain_text("1. key-1 (****0001) → 503")
    expect(view).to_contain_text("2. key-2 (****0002) → 503")
    expect(view).to_contain_text("error: upstream_unavailable")


def test_documented_filters_find_failed_and_routed_flows(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_text("Flow List", exact=True).click()
    search = page.locator('input[placeholder="Search"]')
    search.fill("~marked")
    expect(page.locator("td.col-comment")).to_have_text([RETRIED, FAILED])
    search.fill("~marker warning")
    expect(page.locator("td.col-comment")).to_have_text([FAILED])
    search.fill("~marker repeat")
    expect(page.locator("td.col-comment")).to_have_text([RETRIED])
    search.fill("~comment gemini-3")
    expect(page.locator("td.col-comment")).to_have_text([COMMENTS[1]])
    search.fill("~comment key-1 & !~marked")
    expect(page.locator("td.col-comment")).to_have_text([COMMENTS[0]])
