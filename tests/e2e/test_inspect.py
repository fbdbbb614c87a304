"""Flows saved with -w load back, render in the Antigravity view, and hold no key."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from mitmproxy import contentviews, http
from mitmproxy import io as mitmio
from mitmproxy.test import taddons

from antigravity import launch
from antigravity.emulator import Emulator, Fault
from antigravity.inspect import ExchangeView
from tests.e2e.conftest import KEYS

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "Hello"}]


def saved_flows(emulator: Emulator, path: Path) -> list[http.HTTPFlow]:
    env = {"GEMINI_API_KEYS": ",".join(KEYS)}
    with launch.start_mitmdump(
        emulator.url, env=env, options={"save_stream_file": str(path)}
    ) as gw:
        client = openai.OpenAI(api_key="sk-client-key-0042", base_url=f"{gw.url}/v1", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
        list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
        emulator.add_fault(Fault(kind="503", times=0))  # on every account: the pool gives up
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4o", messages=HELLO)
        emulator.clear_faults()
        emulator.add_fault(Fault(kind="drop", after_chunks=1))
        lite = "gemini-2.5-flash-lite"  # another model: gpt-4o's accounts are cooling now
        with pytest.raises(openai.APIError):
            list(client.chat.completions.create(model=lite, messages=HELLO, stream=True))
    # mitmdump has stopped, so the file is complete.
    with path.open("rb") as f:
        return [f for f in mitmio.FlowReader(f).stream() if isinstance(f, http.HTTPFlow)]


def test_saved_flows_render_in_the_view_and_hold_no_key(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "saved.mitm"
    flows = saved_flows(emulator, path)
    assert [f.comment for f in flows] == [
        "chat · gpt-4o→gemini-2.5-flash · key-1 · whole",
        # The same conversation stays on its account.
        "chat · gpt-4o→gemini-2.5-flash · key-1 · stream",
        # key-1, key-2, then key-1 again once its short backoff ended: all 503.
        "chat · gpt-4o→gemini-2.5-flash · key-1 · 3 attempts · whole · 503",
        "chat · gemini-2.5-flash-lite→gemini-2.5-flash-lite · key-2 · stream · upstream failed",
    ]
    assert [f.marked for f in flows] == ["", "", ":warning:", ":x:"]
    saved = path.read_bytes()
    for secret in (*KEYS, "sk-client-key-0042"):
        assert secret.encode() not in saved
    contentviews.add(ExchangeView)
    with taddons.context():
        pages = []
        for f in flows:
            assert f.response is not None
            for message in (f.request, f.response):
                shown = contentviews.prettify_message(message, f)
                assert shown.view_name == "Antigravity"
                pages.append(shown.text)
    whole, streamed, failed, dropped = (pages[i : i + 2] for i in range(0, 8, 2))
    assert "    - user: Hello" in whole[0]
    assert "content: Hello from the antigravity Gemini emulator" in whole[1]
    assert "ended with [DONE]" in streamed[1]
    assert "content: Hello from the antigravity Gemini emulator" in streamed[1]
    assert "  - 1. key-1 (****0001) → 503" in failed[1]
    assert "  - 2. key-2 (****0002) → 503" in failed[1]
    assert "error: upstream_unavailable" in failed[1]
    assert "upstream failed:" in dropped[1]
    for page in pages:
        for secret in KEYS:
            assert secret not in page


def test_kept_stream_is_not_sent_to_the_client_twice(gateway: launch.Child) -> None:
    from tests.e2e.conftest import raw

    body = {"model": "gpt-4o", "messages": HELLO, "stream": True}
    resp = raw(f"{gateway.url}/v1/chat/completions", "POST", body)
    assert resp.status == 200
    assert resp.body.count(b"data: [DONE]") == 1
    assert resp.body.endswith(b"data: [DONE]\n\n")
    assert resp.body.count(b'"finish_reason": "stop"') == 1
