"""Streamed Gemini answers are reshaped into chat chunks as they pass through."""

from __future__ import annotations

import json
from typing import Any

from mitmproxy import http
from mitmproxy.test import taddons

from antigravity.gateway import Gateway
from tests.conftest import gemini_sse
from tests.flows.conftest import (
    ACCOUNT_KEY,
    HELLO,
    chat_flow,
    run,
    send,
)

STREAM = {"model": "gpt-4o", "messages": HELLO, "stream": True}


async def stream_started(gateway: Gateway, flow: http.HTTPFlow) -> None:
    flow.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
    await run(gateway, "responseheaders", flow)


def pass_through(flow: http.HTTPFlow, body: bytes, piece: int) -> bytes:
    """Feed the stream callable as mitmproxy does: pieces, then b"" at the end of the body."""
    assert flow.response is not None and callable(flow.response.stream)
    out = b""
    for data in [body[i : i + piece] for i in range(0, len(body), piece)] + [b""]:
        result = flow.response.stream(data)
        out += result if isinstance(result, bytes) else b"".join(result)
    return out


def events(sse: bytes) -> list[Any]:
    frames = [frame for frame in sse.decode().split("\n\n") if frame]
    assert all(frame.startswith("data: ") for frame in frames)
    return [f[6:] if f == "data: [DONE]" else json.loads(f[6:]) for f in frames]


async def test_stream_answer_gets_a_stream_callable_and_event_stream_headers(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, f)
    assert f.response is not None and callable(f.response.stream)
    h = f.response.headers
    assert h["content-type"] == "text/event-stream"
    assert h["cache-control"] == "no-cache"
    assert h["transfer-encoding"] == "chunked"
    assert "content-length" not in h
    assert h["x-mapped-model"] == "gemini-2.5-flash"
    assert h["x-account-email"] == "key-1"
    assert h["x-request-id"].startswith("req_")


async def test_recorded_gemini_stream_becomes_chat_chunks_ending_with_done(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, f)
    out = events(pass_through(f, gemini_sse("gemini3-stream-text.chunks.jsonl"), 7))
    assert out[-1] == "[DONE]"
    chunks = out[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "gpt-4o" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == 'There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y'
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_stream_asked_for_usage_ends_with_a_usage_chunk(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({**STREAM, "stream_options": {"include_usage": True}}))
    await stream_started(gateway, f)
    out = events(pass_through(f, gemini_sse("gemini3-stream-text.chunks.jsonl"), 64))
    assert out[-1] == "[DONE]"
    assert out[-2]["choices"] == []
    assert out[-2]["usage"]["completion_tokens_details"]["reasoning_tokens"] == 185


async def test_stream_split_at_every_byte_gives_the_same_chunks(
    tctx: taddons.context, gateway: Gateway
) -> None:
    body = gemini_sse("gemini3-stream-text.chunks.jsonl")
    whole = await send(gateway, chat_flow(STREAM))
    bytewise = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, whole)
    await stream_started(gateway, bytewise)

    def content(flow: http.HTTPFlow, piece: int) -> list[Any]:
        return [
            e if e == "[DONE]" else e["choices"] for e in events(pass_through(flow, body, piece))
        ]

    assert content(whole, len(body)) == content(bytewise, 1)


async def test_streamed_flow_is_left_alone_by_the_response_hook(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, f)
    pass_through(f, gemini_sse("gemini3-stream-text.chunks.jsonl"), 512)
    await run(gateway, "response", f)
    assert f.response is not None and f.response.status_code == 200
    assert f.response.headers["content-type"] == "text/event-stream"
    assert f.comment.endswith("stream")
    assert ACCOUNT_KEY not in str(f.request.headers)


async def test_whole_answer_gets_no_stream_callable(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    f.response = http.Response.make(200, b"", {"content-type": "application/json"})
    await run(gateway, "responseheaders", f)
    assert f.response.stream is False
