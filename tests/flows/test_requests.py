"""Client chat requests become Gemini calls; bad ones are answered locally and go nowhere."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from mitmproxy import flow, http
from mitmproxy.test import taddons

from antigravity.gateway import Gateway
from tests.flows.conftest import (
    ACCOUNT_KEY,
    CLIENT_KEY,
    HELLO,
    answer,
    chat_flow,
    client_flow,
    error_of,
    run,
    running,
    send,
    upstream_answers,
)


async def test_chat_request_becomes_generate_content_for_the_mapped_model(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    assert f.response is None
    assert f.request.method == "POST"
    assert f.request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    body = json.loads(f.request.content or b"")
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hello"}]}]


async def test_stream_request_asks_for_sse(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(
        gateway, chat_flow({"model": "claude-sonnet-4", "messages": HELLO, "stream": True})
    )
    assert f.request.path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"


async def test_upstream_request_carries_the_account_key_and_none_of_the_clients_headers(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = chat_flow(
        {"model": "gpt-4o", "messages": HELLO},
        authorization=f"Bearer {CLIENT_KEY}",
        openai_organization="org-123",
        x_stainless_lang="python",
        accept_encoding="gzip, br",
    )
    await send(gateway, f)
    h = f.request.headers
    assert h["x-goog-api-key"] == ACCOUNT_KEY
    assert h["content-type"] == "application/json"
    assert h["accept-encoding"] == "identity"
    for dropped in ("authorization", "openai-organization", "x-stainless-lang"):
        assert dropped not in h
    assert CLIENT_KEY not in str(h)


async def test_account_key_is_masked_once_gemini_answers(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    f.response = http.Response.make(200, b"{}", {"content-type": "application/json"})
    await run(gateway, "responseheaders", f)
    assert ACCOUNT_KEY not in str(f.request.headers)
    assert f.request.headers["x-goog-api-key"] == "****0001"


async def test_account_key_is_masked_after_a_whole_answer(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    await upstream_answers(gateway, f, 500, b'{"error": {"message": "boom"}}')
    assert ACCOUNT_KEY not in str(f.request.headers)


async def test_account_key_is_masked_when_the_upstream_fails(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    f.error = flow.Error("connection refused")
    await run(gateway, "error", f)
    assert ACCOUNT_KEY not in str(f.request.headers)
    assert f.comment.endswith("upstream failed")
    assert f.marked


async def test_flow_comment_names_requested_and_mapped_model_and_account(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    assert "gpt-4o→gemini-2.5-flash" in f.comment
    assert "key-1" in f.comment
    assert ACCOUNT_KEY not in f.comment
    notes = f.metadata["antigravity"]
    assert notes["mapped_model"] == "gemini-2.5-flash"
    assert notes["rule"] == "exact gpt-4o"


async def test_unprefixed_path_is_translated_too(tctx: taddons.context, gateway: Gateway) -> None:
    body = json.dumps({"model": "gpt-4o", "messages": HELLO}).encode()
    f = await send(gateway, client_flow("POST", "/chat/completions", body))
    assert f.request.path == "/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        (b"{not json", 400, None, "invalid_json"),
        (b"", 400, None, "invalid_json"),
        (b"[1, 2]", 400, None, "invalid_json"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', 400, "model", None),
        (b'{"model": "gpt-4o"}', 400, "messages", None),
        (b'{"model": "gpt-4o", "messages": "hi"}', 400, "messages", None),
        (b'{"model": 4, "messages": [{"role": "user", "content": "hi"}]}', 400, "model", None),
        (
            b'{"model": "gpt-4o", "messages": [{"role": "robot", "content": "hi"}]}',
            400,
            "messages[0].role",
            None,
        ),
        (
            b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], '
            b'"stream": "yes"}',
            400,
            "stream",
            None,
        ),
        (
            b'{"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}',
            404,
            "model",
            "model_not_found",
        ),
    ],
)
async def test_bad_request_is_answered_locally_naming_the_field(
    tctx: taddons.context,
    gateway: Gateway,
    body: bytes,
    status: int,
    param: str | None,
    code: str | None,
) -> None:
    f = await send(gateway, chat_flow(body))
    assert f.response is not None and f.response.status_code == status
    error = error_of(f)
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert f.response.headers["x-request-id"].startswith("req_")
    assert f.request.path == "/v1/chat/completions"
    assert "x-goog-api-key" not in f.request.headers


async def test_unknown_model_suggests_close_names(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, chat_flow({"model": "team-fats", "messages": HELLO}))
    assert "team-fast" in error_of(f)["message"]


async def test_declared_oversized_body_is_413_before_it_is_read(
    tctx: taddons.context, gateway: Gateway
) -> None:
    tctx.configure(gateway, antigravity_max_body="1k")
    f = chat_flow({"model": "gpt-4o", "messages": HELLO})
    f.request.headers["content-length"] = "2048"
    await run(gateway, "requestheaders", f)
    assert f.response is not None and f.response.status_code == 413
    error = error_of(f)
    assert error["code"] == "request_too_large"
    assert "antigravity_max_body" in error["message"]


async def test_oversized_body_without_content_length_is_413(
    tctx: taddons.context, gateway: Gateway
) -> None:
    tctx.configure(gateway, antigravity_max_body="1k")
    text = "x" * 2000
    f = chat_flow({"model": "gpt-4o", "messages": [{"role": "user", "content": text}]})
    del f.request.headers["content-length"]
    f.request.headers["transfer-encoding"] = "chunked"
    await send(gateway, f)
    assert f.response is not None and f.response.status_code == 413
    assert f.request.path == "/v1/chat/completions"


async def test_without_accounts_model_requests_get_503_naming_gemini_api_keys(
    gateway: Gateway, mappings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEMINI_API_KEYS", raising=False)
    with running(gateway, mappings):
        f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
        assert f.response is not None and f.response.status_code == 503
        assert "GEMINI_API_KEYS" in error_of(f)["message"]
        assert (await answer(gateway, "GET", "/healthz")).status_code == 200


async def test_gzip_compressed_request_is_translated(
    tctx: taddons.context, gateway: Gateway
) -> None:
    raw = gzip.compress(json.dumps({"model": "gpt-4o", "messages": HELLO}).encode())
    f = await send(gateway, chat_flow(raw, content_encoding="gzip"))
    assert f.response is None
    assert f.request.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert "content-encoding" not in f.request.headers


async def test_body_that_does_not_decode_is_400(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, chat_flow(b"not gzip at all", content_encoding="gzip"))
    assert f.response is not None and f.response.status_code == 400
    assert error_of(f)["code"] == "invalid_body"


async def test_compressed_body_inflating_beyond_the_limit_is_413(
    tctx: taddons.context, gateway: Gateway
) -> None:
    tctx.configure(gateway, antigravity_max_body="1k")
    big = [{"role": "user", "content": "x" * 100_000}]
    raw = gzip.compress(json.dumps({"model": "gpt-4o", "messages": big}).encode())
    assert len(raw) < 1024
    f = await send(gateway, chat_flow(raw, content_encoding="gzip"))
    assert f.response is not None and f.response.status_code == 413
