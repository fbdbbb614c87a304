"""A Gemini that goes quiet gets the client a 504, or a stream that ends cleanly.

The clock is moved instead of waited on: the event loop and the gateway both read
`time.monotonic`, so moving it makes the gateway's timer due at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from mitmproxy import flow, http
from mitmproxy.test import taddons

from antigravity.gateway import Gateway
from tests.conftest import gemini_sse
from tests.flows.conftest import (
    HELLO,
    chat_flow,
    http1_server,
    parse_http1,
    run,
    send,
    upstream_answers,
    upstream_failed,
)

Advance = Callable[[float], Awaitable[None]]


@pytest.fixture
def advance(monkeypatch: pytest.MonkeyPatch) -> Advance:
    offset = 0.0
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset)

    async def advance(seconds: float) -> None:
        nonlocal offset
        offset += seconds
        # Let the loop run the timers that are now due (and any they re-arm for "now").
        for _ in range(3):
            await asyncio.sleep(0)

    return advance


async def test_gemini_silent_past_the_timeout_gets_the_client_a_504_json(
    tctx: taddons.context, gateway: Gateway, advance: Advance
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await advance(301)
    data, _close = upstream_failed(http1_server(f.client_conn))
    resp, body = parse_http1(data.data)
    assert resp.status_code == 504
    assert body["error"]["code"] == "upstream_timeout"
    assert "antigravity_upstream_timeout" in body["error"]["message"]


async def test_timed_out_flow_says_so_in_its_comment(
    tctx: taddons.context, gateway: Gateway, advance: Advance
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await advance(301)
    f.error = flow.Error("Server disconnected")
    await run(gateway, "error", f)
    assert f.comment.endswith("timeout")
    assert f.metadata["antigravity"]["upstream_failure"] == "timeout"


async def test_gemini_answering_in_time_leaves_mitmproxys_page_alone(
    tctx: taddons.context, gateway: Gateway, advance: Advance
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await advance(299)
    data, _close = upstream_failed(http1_server(f.client_conn))
    assert parse_http1(data.data)[0].status_code == 502


async def test_timeout_option_is_honoured(
    tctx: taddons.context, gateway: Gateway, advance: Advance
) -> None:
    tctx.configure(gateway, antigravity_upstream_timeout=5)
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await advance(6)
    data, _close = upstream_failed(http1_server(f.client_conn))
    assert "within 5 s" in parse_http1(data.data)[1]["error"]["message"]


async def test_answered_flow_is_not_timed_out_later(
    tctx: taddons.context, gateway: Gateway, advance: Advance
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 503, b"{}")
    await advance(301)
    data, _close = upstream_failed(http1_server(f.client_conn))
    assert parse_http1(data.data)[0].status_code == 502


async def test_stalled_stream_ends_with_an_error_event_and_done(
    tctx: taddons.context, gateway: Gateway, advance: Advance
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO, "stream": True}))
    f.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
    await run(gateway, "responseheaders", f)
    assert callable(f.response.stream)
    first_event = gemini_sse("gemini3-stream-text.chunks.jsonl").split(b"\r\n\r\n")[0]
    f.response.stream(first_event + b"\r\n\r\n")
    await advance(301)
    server = http1_server(f.client_conn)
    server.response = f.response
    chunk, end, _close = upstream_failed(server)
    size, ending = chunk.data.split(b"\r\n", 1)
    assert int(size, 16) == len(ending) - 2
    assert b'"upstream_timeout"' in ending
    assert ending.endswith(b"data: [DONE]\n\n\r\n")
    assert end.data == b"0\r\n\r\n"


async def test_broken_stream_ends_with_an_error_event_and_done(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO, "stream": True}))
    f.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
    await run(gateway, "responseheaders", f)
    server = http1_server(f.client_conn)
    server.response = f.response
    chunk, _end, _close = upstream_failed(server, "Server disconnected")
    assert b'"upstream_stream_broken"' in chunk.data
    assert b"data: [DONE]" in chunk.data
