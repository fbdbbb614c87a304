"""Canonical events -> Chat Completions answers: `chat.completion` objects and SSE chunks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from antigravity.mappers.canonical import (
    Event,
    Failure,
    Finish,
    TextDelta,
    ThoughtDelta,
    TokenLogprob,
    ToolCall,
    Usage,
)


def usage_object(usage: Usage | None) -> dict[str, Any]:
    u = usage or Usage(0, 0)
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    }


def failure_body(failure: Failure) -> dict[str, Any]:
    return {
        "error": {
            "message": failure.message,
            "type": failure.type,
            "param": None,
            "code": failure.code,
        }
    }


DONE = b"data: [DONE]\n\n"


def error_ending(failure: Failure) -> bytes:
    """How a chat-style SSE stream ends on a failure: an `error` event (OpenAI clients raise
    on it), then `[DONE]`, so the stream still ends cleanly."""
    return b"data: " + json.dumps(failure_body(failure)).encode() + b"\n\n" + DONE


def logprob_objects(tokens: Iterable[TokenLogprob]) -> list[dict[str, Any]]:
    return [
        {
            "token": t.token,
            "logprob": t.logprob,
            "bytes": list(t.token.encode()),
            "top_logprobs": [
                {"token": tok, "logprob": lp, "bytes": list(tok.encode())} for tok, lp in t.top
            ],
        }
        for t in tokens
    ]


def tool_call_object(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


class _Choice:
    """One choice of a whole answer, accumulated from events."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thoughts: list[str] = []
        self.calls: list[ToolCall] = []
        self.logprobs: list[TokenLogprob] = []
        self.reason: str | None = None

    def message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "role": "assistant",
            # OpenAI answers content null beside tool calls when there is no text.
            "content": "".join(self.text) if self.text or not self.calls else None,
            "refusal": None,
        }
        if self.thoughts:
            msg["reasoning_content"] = "".join(self.thoughts)
        if self.calls:
            msg["tool_calls"] = [tool_call_object(c) for c in self.calls]
        return msg


def collect_chat(
    events: Iterable[Event],
    completion_id: str,
    model: str,
    created: int,
    n: int = 1,
    logprobs: bool = False,
) -> dict[str, Any] | Failure:
    """A whole `chat.completion`, or the failure that replaces it."""
    choices = [_Choice() for _ in range(n)]
    usage: Usage | None = None
    for event in events:
        match event:
            case TextDelta(index=i) if i < n:
                choices[i].text.append(event.text)
                choices[i].logprobs.extend(event.logprobs)
            case ThoughtDelta(index=i) if i < n:
                choices[i].thoughts.append(event.text)
            case ToolCall(index=i) if i < n:
                choices[i].calls.append(event)
            case Finish(index=i) if i < n:
                choices[i].reason = event.reason
            case Usage():
                usage = event
            case Failure():
                return event
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": i,
                "message": c.message(),
                "logprobs": {"content": logprob_objects(c.logprobs), "refusal": None}
                if logprobs
                else None,
                "finish_reason": c.reason or ("tool_calls" if c.calls else "stop"),
            }
            for i, c in enumerate(choices)
        ],
        "usage": usage_object(usage),
    }


class ChatStreamRenderer:
    """Renders events as `chat.completion.chunk` SSE frames, in OpenAI's order.

    First chunk of a choice: the role (with empty content, or null content before tool calls);
    then content / reasoning / tool-call deltas; then an empty delta with `finish_reason`; with
    `include_usage` a last chunk with `choices: []`; then `[DONE]`. A tool call is two deltas:
    `index`, `id`, `type` and `name` with empty arguments, then the arguments.
    """

    def __init__(
        self, completion_id: str, model: str, created: int, include_usage: bool, n: int = 1
    ) -> None:
        self.include_usage = include_usage
        self.n = n
        self.usage: Usage | None = None
        self.done = False
        self._started = [False] * n
        head = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        # Content deltas are the hot path: their frame is pre-rendered around the text.
        self._prefix = b"data: " + json.dumps(head)[:-1].encode() + b',"choices":[{"index":'
        self._head = head

    def render(self, events: Iterable[Event]) -> bytes:
        if self.done:
            return b""
        out = bytearray()
        for event in events:
            match event:
                case TextDelta(index=i, text=text) if i < self.n:
                    if not self._started[i]:
                        out += self._start(i, "")
                    if event.logprobs:
                        out += self._delta(i, {"content": text}, _logprobs(event.logprobs))
                    else:
                        out += (
                            self._prefix
                            + str(i).encode()
                            + b',"delta":{"content":'
                            + json.dumps(text).encode()
                            + b'},"logprobs":null,"finish_reason":null}]}\n\n'
                        )
                case ThoughtDelta(index=i, text=text) if i < self.n:
                    if not self._started[i]:
                        out += self._start(i, "")
                    out += self._delta(i, {"reasoning_content": text})
                case ToolCall(index=i) if i < self.n:
                    if not self._started[i]:
                        out += self._start(i, None)
                    opening = tool_call_object(event)
                    opening["function"] = {"name": event.name, "arguments": ""}
                    out += self._delta(i, {"tool_calls": [{"index": event.call_index, **opening}]})
                    arguments = {
                        "index": event.call_index,
                        "function": {"arguments": event.arguments},
                    }
                    out += self._delta(i, {"tool_calls": [arguments]})
                case Finish(index=i, reason=reason) if i < self.n:
                    if not self._started[i]:
                        out += self._start(i, "")
                    out += self._chunk(
                        [{"index": i, "delta": {}, "logprobs": None, "finish_reason": reason}]
                    )
                case Usage():
                    self.usage = event
                case Failure():
                    out += self.abort(event)
                    break
        return bytes(out)

    def close(self) -> bytes:
        """The end of the stream: the usage chunk if asked for, then `[DONE]`."""
        if self.done:
            return b""
        self.done = True
        out = b""
        if self.include_usage:
            out += self._chunk([], usage=usage_object(self.usage))
        return out + DONE

    def abort(self, failure: Failure) -> bytes:
        self.done = True
        return error_ending(failure)

    def _start(self, i: int, content: str | None) -> bytes:
        self._started[i] = True
        return self._delta(i, {"role": "assistant", "content": content, "refusal": None})

    def _delta(
        self, i: int, delta: dict[str, Any], logprobs: dict[str, Any] | None = None
    ) -> bytes:
        choice = {"index": i, "delta": delta, "logprobs": logprobs, "finish_reason": None}
        return self._chunk([choice])

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = json.dumps({**self._head, "choices": choices, **extra}, ensure_ascii=False)
        return b"data: " + body.encode() + b"\n\n"


def _logprobs(tokens: tuple[TokenLogprob, ...]) -> dict[str, Any]:
    return {"content": logprob_objects(tokens), "refusal": None}
