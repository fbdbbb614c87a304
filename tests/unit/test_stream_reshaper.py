"""Gemini SSE -> OpenAI chat chunks, fed recorded upstream streams split at every byte."""

from __future__ import annotations

import json

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from antigravity.accounts import Account
from antigravity.exchange import Exchange
from antigravity.mappers.canonical import CanonicalRequest
from antigravity.routing import Route
from antigravity.signatures import SignatureStore
from tests.conftest import gemini_sse


def exchange(include_usage: bool = True, n: int = 1) -> Exchange:
    request = CanonicalRequest(
        dialect="chat",
        model="gpt-4o",
        stream=True,
        contents=[],
        include_usage=include_usage,
        n=n,
    )
    return Exchange(
        dialect="chat",
        request=request,
        route=Route("gpt-4o", "gemini-3-pro-preview", "exact gpt-4o"),
        account=Account("key-1", "secret-key-value-123456"),
        answer_id="chatcmpl-test",
        created=1700000000,
        client_body={},
        signatures=SignatureStore(),
    )


def reshape(pieces: list[bytes], include_usage: bool = True) -> bytes:
    reshaper = exchange(include_usage).reshaper()
    out = [piece for p in [*pieces, b""] for piece in reshaper(p)]
    # mitmproxy sends each returned piece as an HTTP chunk: an empty one would end the body.
    assert b"" not in out
    return b"".join(out)


def sse_payloads(out: bytes) -> list[str]:
    assert out.endswith(b"\n\n")
    frames = out.decode().split("\n\n")[:-1]
    assert all(f.startswith("data: ") for f in frames)
    return [f[len("data: ") :] for f in frames]


def chunks(out: bytes) -> list[ChatCompletionChunk]:
    payloads = sse_payloads(out)
    assert payloads[-1] == "[DONE]"
    return [ChatCompletionChunk.model_validate_json(p) for p in payloads[:-1]]


@pytest.mark.parametrize("sep", [b"\r\n\r\n", b"\n\n"])
def test_recorded_gemini3_stream_reshapes_identically_at_every_split(sep: bytes) -> None:
    raw = gemini_sse("gemini3-stream-text.chunks.jsonl", sep)
    whole = reshape([raw])
    for cut in range(1, len(raw)):
        assert reshape([raw[:cut], raw[cut:]]) == whole, cut
    assert reshape([raw[i : i + 1] for i in range(len(raw))]) == whole


def test_recorded_stream_becomes_openai_chunk_sequence() -> None:
    out = chunks(reshape([gemini_sse("gemini3-stream-text.chunks.jsonl")]))
    first, *middle, finish, usage = out
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content == ""
    text = "".join(c.choices[0].delta.content or "" for c in middle)
    assert text == 'There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y'
    assert finish.choices[0].finish_reason == "stop"
    assert usage.choices == []
    assert usage.usage is not None
    assert usage.usage.prompt_tokens == 9
    assert usage.usage.completion_tokens == 23 + 185  # visible + thinking
    assert usage.usage.completion_tokens_details.reasoning_tokens == 185
    assert usage.usage.total_tokens == 9 + 208
    assert {c.id for c in out} == {"chatcmpl-test"}
    assert {c.model for c in out} == {"gpt-4o"}


def test_sdk_stream_state_accumulates_the_final_message() -> None:
    state = ChatCompletionStreamState()
    for chunk in chunks(reshape([gemini_sse("gemini3-stream-text.chunks.jsonl")])):
        state.handle_chunk(chunk)
    final = state.get_final_completion()
    assert final.choices[0].message.content.startswith("There are **3**")
    assert final.choices[0].finish_reason == "stop"


def test_no_usage_chunk_unless_asked() -> None:
    out = chunks(reshape([gemini_sse("gemini3-stream-text.chunks.jsonl")], include_usage=False))
    assert all(c.choices for c in out)
    assert out[-1].choices[0].finish_reason == "stop"


def test_stream_cut_before_finish_ends_with_error_event_and_done() -> None:
    raw = gemini_sse("gemini3-stream-text.chunks.jsonl")
    first_frame = raw[: raw.index(b"\r\n\r\n") + 4]
    payloads = sse_payloads(reshape([first_frame]))
    assert payloads[-1] == "[DONE]"
    error = json.loads(payloads[-2])["error"]
    assert error["code"] == "upstream_incomplete"
    assert "ended before" in error["message"]


def test_max_tokens_finish_becomes_length() -> None:
    frame = {
        "candidates": [
            {
                "content": {"parts": [{"text": "partial"}], "role": "model"},
                "finishReason": "MAX_TOKENS",
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1},
    }
    out = chunks(reshape([b"data: " + json.dumps(frame).encode() + b"\r\n\r\n"]))
    assert out[-2].choices[0].finish_reason == "length"


def test_malformed_function_call_is_an_error_the_client_sees() -> None:
    frame = {"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL", "index": 0}]}
    payloads = sse_payloads(reshape([b"data: " + json.dumps(frame).encode() + b"\r\n\r\n"]))
    error = json.loads(payloads[-2])["error"]
    assert error["code"] == "malformed_function_call"
    assert payloads[-1] == "[DONE]"
    assert payloads.count("[DONE]") == 1


def test_blocked_prompt_finishes_with_content_filter() -> None:
    frame = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    out = chunks(reshape([b"data: " + json.dumps(frame).encode() + b"\r\n\r\n"]))
    assert out[-2].choices[0].finish_reason == "content_filter"


def test_non_ascii_text_split_inside_a_character_survives() -> None:
    frame = {
        "candidates": [
            {
                "content": {"parts": [{"text": "Привет, мир ✓"}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ]
    }
    raw = b"data: " + json.dumps(frame, ensure_ascii=False).encode() + b"\r\n\r\n"
    for cut in range(1, len(raw)):
        out = chunks(reshape([raw[:cut], raw[cut:]], include_usage=False))
        assert "".join(c.choices[0].delta.content or "" for c in out) == "Привет, мир ✓"


def test_hidden_thoughts_become_keep_alive_comments_not_content() -> None:
    ex = exchange(include_usage=False)
    ex.request.hidden_thoughts = True
    reshaper = ex.reshaper()
    thought = {
        "candidates": [
            {"content": {"parts": [{"text": "hmm", "thought": True}], "role": "model"}, "index": 0}
        ]
    }
    answer = {
        "candidates": [
            {
                "content": {"parts": [{"text": "Hi"}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ]
    }
    first = b"".join(reshaper(b"data: " + json.dumps(thought).encode() + b"\r\n\r\n"))
    assert first == b": keep-alive\n\n"
    rest = b"".join(reshaper(b"data: " + json.dumps(answer).encode() + b"\r\n\r\n"))
    rest += b"".join(reshaper(b""))
    assert b"hmm" not in rest and b"reasoning_content" not in rest
    assert chunks(rest)[1].choices[0].delta.content == "Hi"
