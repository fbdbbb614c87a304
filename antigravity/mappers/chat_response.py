"""Canonical events -> Chat Completions answers: `chat.completion` objects and SSE chunks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from antigravity.mappers.canonical import Event, Failure, Finish, TextDelta, Usage


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


def collect_chat(
    events: Iterable[Event], completion_id: str, model: str, created: int, n: int = 1
) -> dict[str, Any] | Failure:
    """A whole `chat.completion`, or the failure that replaces it."""
    texts: list[list[str]] = [[] for _ in range(n)]
    reasons: list[str | None] = [None] * n
    usage: Usage | None = None
    for event in events:
        match event:
            case TextDelta(index=i, text=text) if i < n:
                texts[i].append(text)
            case Finish(index=i, reason=reason) if i < n:
                reasons[i] = reason
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
                "message": {"role": "assistant", "content": "".join(texts[i]), "refusal": None},
                "logprobs": None,
                "finish_reason": reasons[i] or "stop",
            }
            for i in range(n)
        ],
        "usage": usage_object(usage),
    }


class ChatStreamRenderer:
    """Renders events as `chat.completion.chunk` SSE frames, in OpenAI's order.

    First chunk of a choice: role and empty content; then content deltas; then an empty delta
    with `finish_reason`; with `include_usage` a last chunk with `choices: []`; then `[DONE]`.
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
        out = bytearray()
        for event in events:
            match event:
                case TextDelta(index=i, text=text) if i < self.n:
                    if not self._started[i]:
                        out += self._start(i)
                    out += (
                        self._prefix
                        + str(i).encode()
                        + b',"delta":{"content":'
                        + json.dumps(text).encode()
                        + b'},"logprobs":null,"finish_reason":null}]}\n\n'
                    )
                case Finish(index=i, reason=reason) if i < self.n:
                    if not self._started[i]:
                        out += self._start(i)
                    out += self._chunk(
                        [{"index": i, "delta": {}, "logprobs": None, "finish_reason": reason}]
                    )
                case Usage():
                    self.usage = event
                case Failure():
                    out += self._fail(event)
        return bytes(out)

    def close(self) -> bytes:
        """The end of the stream: the usage chunk if asked for, then `[DONE]`."""
        if self.done:
            return b""
        self.done = True
        out = b""
        if self.include_usage:
            out += self._chunk([], usage=usage_object(self.usage))
        return out + b"data: [DONE]\n\n"

    def _fail(self, failure: Failure) -> bytes:
        # OpenAI clients raise on an `error` payload; [DONE] then ends the stream cleanly.
        self.done = True
        return b"data: " + json.dumps(failure_body(failure)).encode() + b"\n\ndata: [DONE]\n\n"

    def _start(self, i: int) -> bytes:
        self._started[i] = True
        delta = {"role": "assistant", "content": "", "refusal": None}
        return self._chunk([{"index": i, "delta": delta, "logprobs": None, "finish_reason": None}])

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return (
            b"data: " + json.dumps({**self._head, "choices": choices, **extra}).encode() + b"\n\n"
        )
