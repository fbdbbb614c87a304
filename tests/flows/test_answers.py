"""Whole Gemini answers and Google errors reach the client as OpenAI JSON."""

from __future__ import annotations

import io
import json
from typing import Any

from mitmproxy import io as mitmio
from mitmproxy.test import taddons

from antigravity.gateway import Gateway
from tests.conftest import FIXTURES
from tests.flows.conftest import (
    ACCOUNT_KEY,
    CLIENT_KEY,
    HELLO,
    chat_flow,
    error_of,
    json_body,
    send,
    upstream_answers,
)


def recorded_text_answer() -> tuple[bytes, str]:
    """The recorded text stream as one generateContent answer, and the text it carries."""
    chunks = [
        json.loads(line)
        for line in (FIXTURES / "gemini3-stream-text.chunks.jsonl").read_text().splitlines()
        if line.strip()
    ]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    last = chunks[-1]
    answer: dict[str, Any] = {
        "candidates": [
            {
                "content": {"parts": parts, "role": "model"},
                "finishReason": last["candidates"][0]["finishReason"],
                "index": 0,
            }
        ],
        "usageMetadata": last["usageMetadata"],
        "modelVersion": last["modelVersion"],
        "responseId": last["responseId"],
    }
    return json.dumps(answer).encode(), "".join(p.get("text", "") for p in parts)


async def test_gemini_answer_becomes_a_chat_completion(
    tctx: taddons.context, gateway: Gateway
) -> None:
    body, text = recorded_text_answer()
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 200, body)
    assert f.response is not None and f.response.status_code == 200
    answer = json_body(f)
    assert answer["object"] == "chat.completion"
    assert answer["model"] == "gpt-4o"
    assert answer["choices"][0]["message"] == {
        "role": "assistant",
        "content": text,
        "refusal": None,
    }
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["completion_tokens_details"]["reasoning_tokens"] == 185


async def test_answer_names_mapped_model_account_and_request_id(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 200, recorded_text_answer()[0])
    assert f.response is not None
    h = f.response.headers
    assert h["x-mapped-model"] == "gemini-2.5-flash"
    assert h["x-account-email"] == "key-1"
    assert h["x-request-id"].startswith("req_")
    assert "x-mapped-model" in h["access-control-expose-headers"]


async def test_google_429_becomes_rate_limit_error_keeping_googles_message(
    tctx: taddons.context, gateway: Gateway
) -> None:
    google = (FIXTURES / "gemini-error-429-retryinfo.json").read_bytes()
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 429, google)
    assert f.response is not None and f.response.status_code == 429
    error = error_of(f)
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == "rate_limit_error"
    assert json.loads(google)["error"]["message"] in error["message"]
    assert f.response.headers["x-mapped-model"] == "gemini-2.5-flash"
    assert f.response.headers["x-account-email"] == "key-1"


async def test_google_503_becomes_503_json(tctx: taddons.context, gateway: Gateway) -> None:
    google = (
        b'{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}'
    )
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 503, google)
    assert f.response is not None and f.response.status_code == 503
    error = error_of(f)
    assert error["code"] == "upstream_unavailable"
    assert "The model is overloaded." in error["message"]


async def test_html_error_page_from_upstream_becomes_json(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 502, b"<html>Bad Gateway</html>", "text/html")
    # One account, and it failed: the pool is exhausted for a reason other than quota.
    assert f.response is not None and f.response.status_code == 503
    assert f.response.headers["content-type"] == "application/json"
    assert "Bad Gateway" in error_of(f)["message"]


async def test_failed_answer_is_marked_and_its_status_is_in_the_comment(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(
        gateway, f, 429, (FIXTURES / "gemini-error-429-retryinfo.json").read_bytes()
    )
    assert f.comment.endswith("429")
    assert f.marked


async def test_stream_request_answered_with_an_error_gets_json_not_sse(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO, "stream": True}))
    await upstream_answers(
        gateway, f, 429, (FIXTURES / "gemini-error-429-retryinfo.json").read_bytes()
    )
    assert f.response is not None and f.response.stream is False
    assert f.response.status_code == 429
    assert error_of(f)["code"] == "rate_limit_exceeded"


async def test_empty_gemini_answer_is_an_error_not_an_empty_reply(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 200, b'{"candidates": []}')
    assert f.response is not None and f.response.status_code == 502
    assert error_of(f)["code"] == "empty_response"


async def test_saved_flow_holds_no_secret(tctx: taddons.context, gateway: Gateway) -> None:
    f = chat_flow({"model": "gpt-4o", "messages": HELLO}, authorization=f"Bearer {CLIENT_KEY}")
    await send(gateway, f)
    await upstream_answers(gateway, f, 200, recorded_text_answer()[0])
    saved = io.BytesIO()
    mitmio.FlowWriter(saved).add(f)
    assert ACCOUNT_KEY.encode() not in saved.getvalue()
    assert CLIENT_KEY.encode() not in saved.getvalue()
