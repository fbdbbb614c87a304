"""The answer reader assembles real OpenAI answers the way the SDKs do."""

from __future__ import annotations

import json

from antigravity.replay.answer import read_answer
from tests.conftest import FIXTURES


def test_recorded_openai_tool_call_stream_is_assembled() -> None:
    body = (FIXTURES / "openai-chat-stream-tool-call-usage.sse").read_bytes()
    answer = read_answer(200, body, stream=True)
    call = answer.choice(0).tool_calls[0]
    assert call["id"] == "call_4XzlGBLtUe9dy3GVNV4jhq7h"
    assert call["name"] == "get_weather"
    assert isinstance(json.loads(call["arguments"]), dict)
    assert answer.choice(0).finish_reason == "tool_calls"
    assert answer.usage is not None and answer.done


def test_recorded_openai_length_stream_keeps_its_finish_reason_and_usage() -> None:
    body = (FIXTURES / "openai-chat-stream-length-usage.sse").read_bytes()
    answer = read_answer(200, body, stream=True)
    assert answer.choice(0).finish_reason == "length"
    assert answer.usage == {
        "prompt_tokens": 79,
        "completion_tokens": 1,
        "total_tokens": 80,
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def test_recorded_responses_stream_is_read_from_its_final_response() -> None:
    lines = (FIXTURES / "openai-responses-stream-reasoning-function-call.chunks.jsonl").read_text()
    body = "".join(f"data: {line}\n\n" for line in lines.splitlines() if line.strip()).encode()
    answer = read_answer(200, body, stream=True, dialect="responses")
    assert answer.done
    choice = answer.choice(0)
    assert [c["name"] for c in choice.tool_calls] == ["calculator"]
    assert choice.finish_reason == "completed"


def test_error_event_mid_stream_is_the_answers_error() -> None:
    body = b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
    body += b'data: {"error": {"code": "upstream_stream_broken", "message": "m"}}\n\n'
    body += b"data: [DONE]\n\n"
    answer = read_answer(200, body, stream=True)
    assert answer.choice(0).content == "Hi"
    assert answer.error == {"code": "upstream_stream_broken", "message": "m"}
    assert answer.done


def test_body_that_is_not_json_is_reported_not_raised() -> None:
    answer = read_answer(502, b"<html>Bad Gateway</html>", stream=False)
    assert answer.unreadable == ["<html>Bad Gateway</html>"]
