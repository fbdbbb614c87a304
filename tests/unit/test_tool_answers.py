"""Gemini function calls, thoughts and logprobs -> OpenAI tool_calls, reasoning, logprobs."""

from __future__ import annotations

import json

from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from antigravity.mappers.chat_response import ChatStreamRenderer, collect_chat
from antigravity.mappers.gemini_response import GeminiDecoder, SSESplitter, decode_whole
from tests.conftest import FIXTURES, gemini_sse


def stream(raw: bytes, n: int = 1) -> list[ChatCompletionChunk]:
    splitter, decoder = SSESplitter(), GeminiDecoder(n)
    renderer = ChatStreamRenderer("chatcmpl-t", "gpt-4o", 1, include_usage=True, n=n)
    out = b""
    for cut in range(0, len(raw), 7):  # odd-sized pieces
        for payload in splitter.feed(raw[cut : cut + 7]):
            out += renderer.render(decoder.decode(json.loads(payload)))
    out += renderer.render(decoder.close()) + renderer.close()
    frames = [f[6:] for f in out.decode().split("\n\n") if f]
    assert frames[-1] == "[DONE]"
    return [ChatCompletionChunk.model_validate_json(f) for f in frames[:-1]]


def test_recorded_gemini3_tool_call_stream_becomes_openai_tool_call_deltas() -> None:
    chunks = stream(gemini_sse("gemini3-stream-tool-call.chunks.jsonl"))
    first = chunks[0].choices[0].delta
    assert first.role == "assistant" and first.content is None
    opening = chunks[1].choices[0].delta.tool_calls[0]
    assert opening.index == 0 and opening.id.startswith("call_") and opening.type == "function"
    assert opening.function.name == "weather" and opening.function.arguments == ""
    args = chunks[2].choices[0].delta.tool_calls[0]
    assert args.index == 0 and args.id is None
    assert json.loads(args.function.arguments) == {"location": "San Francisco"}
    assert chunks[-2].choices[0].finish_reason == "tool_calls"


def test_sdk_stream_state_accumulates_parseable_arguments() -> None:
    state = ChatCompletionStreamState()
    for chunk in stream(gemini_sse("gemini3-stream-tool-call.chunks.jsonl")):
        state.handle_chunk(chunk)
    final = state.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == {"location": "San Francisco"}
    assert final.choices[0].finish_reason == "tool_calls"


def test_recorded_gemini3_tool_call_answer_becomes_chat_completion_with_null_content() -> None:
    body = (FIXTURES / "gemini3-generate-tool-call.json").read_bytes()
    events = decode_whole(body)
    answer = ChatCompletion.model_validate(collect_chat(events, "chatcmpl-t", "gpt-4o", 1))
    message = answer.choices[0].message
    assert message.content is None
    assert message.tool_calls[0].function.name == "weather"
    assert answer.choices[0].finish_reason == "tool_calls"
    signature = json.loads(body)["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert [e.signature for e in events if hasattr(e, "signature")] == [signature]


def frame(*parts: dict, finish: str | None = "STOP", **cand: object) -> bytes:
    candidate: dict = {"content": {"role": "model", "parts": list(parts)}, "index": 0, **cand}
    if finish:
        candidate["finishReason"] = finish
    return b"data: " + json.dumps({"candidates": [candidate]}).encode() + b"\r\n\r\n"


def test_parallel_calls_get_distinct_indexes_and_ids() -> None:
    raw = frame(
        {"functionCall": {"name": "a", "args": {}}},
        {"functionCall": {"name": "b", "args": {"x": 1}}},
    )
    state = ChatCompletionStreamState()
    for chunk in stream(raw):
        state.handle_chunk(chunk)
    calls = state.get_final_completion().choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["a", "b"]
    assert len({c.id for c in calls}) == 2


def test_thoughts_become_reasoning_content_not_content() -> None:
    raw = frame({"text": "pondering", "thought": True}, finish=None) + frame({"text": "Answer"})
    chunks = stream(raw)
    reasoning = "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert reasoning == "pondering" and content == "Answer"
    whole = collect_chat(
        decode_whole(frame({"text": "t", "thought": True}, {"text": "A"})[6:-4]), "id", "m", 1
    )
    assert whole["choices"][0]["message"]["reasoning_content"] == "t"
    assert whole["choices"][0]["message"]["content"] == "A"


def test_logprobs_are_reported_in_openai_shape() -> None:
    result = {
        "chosenCandidates": [{"token": "Hi", "logProbability": -0.1}],
        "topCandidates": [
            {
                "candidates": [
                    {"token": "Hi", "logProbability": -0.1},
                    {"token": "Yo", "logProbability": -2.5},
                ]
            }
        ],
    }
    body = frame({"text": "Hi"}, logprobsResult=result)[6:-4]
    answer = ChatCompletion.model_validate(
        collect_chat(decode_whole(body), "id", "m", 1, logprobs=True)
    )
    token = answer.choices[0].logprobs.content[0]
    assert token.token == "Hi" and token.logprob == -0.1
    assert [t.token for t in token.top_logprobs] == ["Hi", "Yo"]
    chunk = next(
        c
        for c in stream(frame({"text": "Hi"}, logprobsResult=result))
        if c.choices and c.choices[0].delta.content
    )
    assert chunk.choices[0].logprobs.content[0].token == "Hi"
