"""What mitmweb shows of a gateway flow: comment, marks, the kept stream, the Antigravity view."""

from __future__ import annotations

import json

from mitmproxy import contentviews, flow, http
from mitmproxy.test import taddons

from antigravity import inspect
from antigravity.exchange import KEEP_BYTES
from antigravity.gateway import Gateway
from antigravity.inspect import ExchangeView, Inspector
from tests.conftest import FIXTURES, gemini_sse
from tests.flows.conftest import (
    ACCOUNT_KEY,
    HELLO,
    chat_flow,
    client_flow,
    run,
    send,
    upstream_answers,
)
from tests.flows.test_streaming import STREAM, pass_through, stream_started

TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "default": "Paris"}},
        },
    },
}


def view_of(f: http.HTTPFlow, message: http.Message) -> contentviews.ContentviewResult:
    contentviews.add(ExchangeView)
    return contentviews.prettify_message(message, f)


def whole_text_answer() -> bytes:
    from tests.flows.test_answers import recorded_text_answer

    return recorded_text_answer()[0]


async def test_comment_names_dialect_route_account_and_shape(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 200, whole_text_answer())
    assert f.comment == "chat · gpt-4o→gemini-2.5-flash · key-1 · whole"
    assert not f.marked


async def test_retried_flow_counts_its_attempts_and_is_marked(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow(STREAM))
    exchange = gateway._live[f.id].exchange
    await stream_started(gateway, f)
    reshaper = gateway._live[f.id].reshaper
    pass_through(f, gemini_sse("gemini3-stream-text.chunks.jsonl"), 100)
    # The attempts as the retry code notes them; the inspector shows whatever keys they carry.
    exchange.attempts[:] = [
        {
            "account": "key-1",
            "status": 429,
            "retry_after": 34.4,
            "cooldown": 34.4,
            "disabled": False,
            "reason": "quota",
            "next": "least recently used",
        },
        {"account": "key-2", "status": None, "outcome": "unreachable", "disabled": True},
        {"account": "key-1", "status": 200, "delay": 0},
    ]
    inspect.record_answer(f, exchange, 200, reshaper)
    assert f.comment == "chat · gpt-4o→gemini-2.5-flash · key-1 · 3 attempts · stream"
    assert f.marked == inspect.RETRIED
    page = view_of(f, f.response).text  # type: ignore[arg-type]
    assert (
        "  - 1. key-1 → 429 · retry_after 34.4s · cooldown 34.4s · reason quota"
        " · next least recently used\n"
        "  - 2. key-2 → no answer · outcome unreachable · disabled\n"
        "  - 3. key-1 → 200 · delay 0s\n"
    ) in page


async def test_error_answer_is_marked_as_a_warning(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    body = (FIXTURES / "gemini-error-429-retryinfo.json").read_bytes()
    await upstream_answers(gateway, f, 429, body)
    assert f.marked == inspect.ANSWERED_WITH_ERROR
    assert f.comment.endswith("· 429")


async def test_streamed_answer_is_kept_as_the_body_mitmweb_shows(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, f)
    sent = pass_through(f, gemini_sse("gemini3-stream-text.chunks.jsonl"), 37)
    await run(gateway, "response", f)
    assert f.response is not None
    assert f.response.raw_content == sent
    assert f.metadata["antigravity"]["answer_bytes"] == len(sent)


async def test_kept_stream_is_bounded(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, f)
    event = {"candidates": [{"content": {"parts": [{"text": "x" * 1000}]}, "index": 0}]}
    frame = b"data: " + json.dumps(event).encode() + b"\r\n\r\n"
    sent = pass_through(f, frame * 400, 4096)
    await run(gateway, "response", f)
    assert len(sent) > KEEP_BYTES
    assert f.response is not None and f.response.raw_content == sent[:KEEP_BYTES]
    page = view_of(f, f.response).text
    assert "kB are kept for display" in page


async def test_broken_stream_keeps_what_the_client_got(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, f)
    first = gemini_sse("gemini3-stream-text.chunks.jsonl").split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert f.response is not None and callable(f.response.stream)
    f.response.stream(first)
    f.error = flow.Error("peer closed connection")
    await run(gateway, "error", f)
    assert f.marked == inspect.UPSTREAM_FAILED
    assert b"There are **3**" in (f.response.raw_content or b"")
    page = view_of(f, f.response).text
    assert "upstream failed: peer closed connection" in page
    assert "content: There are **3**" in page


async def test_view_is_chosen_for_gateway_flows_only(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 200, whole_text_answer())
    assert view_of(f, f.request).view_name == "Antigravity"
    assert view_of(f, f.response).view_name == "Antigravity"  # type: ignore[arg-type]
    local = await send(gateway, client_flow("GET", "/v1/models"))
    assert local.response is not None
    assert view_of(local, local.response).view_name == "JSON"


async def test_request_tab_shows_route_notes_and_both_requests(
    tctx: taddons.context, gateway: Gateway
) -> None:
    body = {"model": "gpt-4o", "messages": HELLO, "tools": [TOOL], "store": True}
    f = await send(gateway, chat_flow(body))
    await upstream_answers(gateway, f, 200, whole_text_answer())
    page = view_of(f, f.request).text
    for line in (
        "  requested: gpt-4o",
        "  mapped to: gemini-2.5-flash",
        "  rule: exact gpt-4o",
        "  account: key-1 (****0001)",
        "  sent to: POST /v1beta/models/gemini-2.5-flash:generateContent",
        "attempts:\n  - 1. key-1",
        "schema rewrites:\n  - weather parameters /properties/city: dropped default",
        "translation notes:\n  - ignored parameter 'store'",
        "client request:  # chat, as the client sent it\n  model: gpt-4o",
        "    - user: Hello",
        '    - weather: {"type": "object", "properties": {"city": {"type": "string", "default"',
        "gemini request:",
        '    - weather: {"type": "object", "properties": {"city": {"type": "string"}}}',
    ):
        assert line in page, line
    assert ACCOUNT_KEY not in page


async def test_response_tab_shows_the_answer_as_the_client_assembled_it(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow(STREAM))
    await stream_started(gateway, f)
    pass_through(f, gemini_sse("gemini3-stream-tool-call.chunks.jsonl"), 64)
    await run(gateway, "response", f)
    page = view_of(f, f.response).text  # type: ignore[arg-type]
    assert "client got: 200 · stream of" in page
    assert "ended with [DONE]" in page
    assert '    - weather({"location": "San Francisco"})  # call_' in page
    assert "  finish_reason: tool_calls" in page


async def test_notes_are_plain_json_without_secrets(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO, "tools": [TOOL]}))
    await upstream_answers(gateway, f, 200, whole_text_answer())
    saved = json.dumps(f.metadata)
    assert json.loads(saved) == f.metadata
    assert ACCOUNT_KEY not in saved


def test_long_strings_are_shortened_in_the_notes() -> None:
    image = "data:image/png;base64," + "A" * 100_000
    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "url": image}]}]}
    short = inspect.shorten_for_notes(body)
    text = short["messages"][0]["content"][0]["url"]
    assert text.startswith("data:image/png;base64,AAA")
    assert text.endswith("(100022 characters)")
    assert len(text) < inspect.STRING_LIMIT
    many = {"messages": [{"role": "user", "content": "y" * 1500}] * 1000}
    assert len(json.dumps(inspect.shorten_for_notes(many))) <= inspect.NOTES_BUDGET


def test_mitmweb_gets_the_comment_column_unless_columns_were_chosen() -> None:
    from mitmproxy.tools.web.webaddons import WebAddon

    with taddons.context(WebAddon(), Inspector()) as tctx:
        tctx.master.addons.get("inspector").running()
        assert "comment" in tctx.options.web_columns
        assert "path" in tctx.options.web_columns
    with taddons.context(WebAddon(), Inspector()) as tctx:
        tctx.options.update(web_columns=["path", "status"])
        tctx.master.addons.get("inspector").running()
        assert tctx.options.web_columns == ["path", "status"]


async def test_attempt_shows_geminis_own_status_before_translation(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    exchange = gateway._live[f.id].exchange
    exchange.attempts.clear()  # before retries, the flow itself is the one attempt
    f.response = http.Response.make(403, b'{"error": {"code": 403, "message": "denied"}}')
    Inspector().responseheaders(f)
    f.response.status_code = 502  # what the client got, translated
    inspect.record_answer(f, exchange, 502)
    page = view_of(f, f.response).text
    assert "  - 1. key-1 (****0001) → 403" in page


async def test_responses_flow_shows_its_input_and_assembled_output(
    tctx: taddons.context, gateway: Gateway
) -> None:
    body = {"model": "gpt-4o", "instructions": "Be terse", "input": "How many r's?"}
    f = await send(
        gateway,
        client_flow(
            "POST", "/v1/responses", json.dumps(body).encode(), content_type="application/json"
        ),
    )
    await upstream_answers(gateway, f, 200, whole_text_answer())
    request_page = view_of(f, f.request).text
    assert "client request:  # responses, as the client sent it" in request_page
    assert "  instructions: Be terse\n  input: How many r's?" in request_page
    page = view_of(f, f.response).text  # type: ignore[arg-type]
    assert 'content: |\n    There are **3** "r"s in strawberry.\n\n    st**r**awbe' in page
    assert "finish_reason: completed" in page
    assert "usage: prompt 9 · completion 208 (reasoning 185)" in page
