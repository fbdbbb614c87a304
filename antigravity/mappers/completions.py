"""Legacy Completions: a prompt becomes a one-message chat; answers are `text_completion`s."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from antigravity.errors import invalid_request
from antigravity.mappers.canonical import Event, Failure, Finish, TextDelta, TokenLogprob, Usage
from antigravity.mappers.chat_response import DONE, error_ending
from antigravity.openai.completions import CompletionRequest


def to_chat(req: CompletionRequest) -> dict[str, Any]:
    """The chat request that serves a completion request; raises ApiError naming the field."""
    prompt: Any = req.prompt
    if isinstance(prompt, list):
        if not prompt or not all(isinstance(p, str) for p in prompt):
            raise invalid_request(
                "Token-array prompts are not supported: Gemini has no OpenAI tokenizer. Send "
                "the prompt as text.",
                "prompt",
                "unsupported_parameter",
            )
        if len(prompt) > 1:
            raise invalid_request(
                "Batches of prompts are not supported; send one request per prompt.",
                "prompt",
                "unsupported_parameter",
            )
        prompt = prompt[0]
    assert isinstance(prompt, str)
    if req.suffix:
        raise invalid_request(
            "suffix (fill-in-the-middle) is not supported: Gemini has no insertion mode.",
            "suffix",
            "unsupported_parameter",
        )
    if req.best_of is not None and req.best_of > (req.n or 1):
        raise invalid_request(
            "best_of larger than n is not supported: Gemini does not rank hidden candidates.",
            "best_of",
            "unsupported_parameter",
        )
    chat: dict[str, Any] = {"model": req.model, "messages": [{"role": "user", "content": prompt}]}
    for name in (
        "max_tokens",
        "temperature",
        "top_p",
        "n",
        "stream",
        "stream_options",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
    ):
        value = getattr(req, name)
        if value is not None:
            chat[name] = value.model_dump() if hasattr(value, "model_dump") else value
    if req.logprobs is not None:
        chat["logprobs"] = True
        if req.logprobs:
            chat["top_logprobs"] = req.logprobs
    return chat


def logprobs_object(tokens: list[TokenLogprob], offset: int) -> dict[str, Any]:
    offsets = []
    for t in tokens:
        offsets.append(offset)
        offset += len(t.token)
    return {
        "tokens": [t.token for t in tokens],
        "token_logprobs": [t.logprob for t in tokens],
        "top_logprobs": [dict(t.top) for t in tokens],
        "text_offset": offsets,
    }


def usage_object(usage: Usage | None) -> dict[str, Any]:
    u = usage or Usage(0, 0)
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
    }


def collect(
    events: Iterable[Event],
    answer_id: str,
    model: str,
    created: int,
    n: int,
    echo: str | None,
    logprobs: bool,
) -> dict[str, Any] | Failure:
    texts = [[echo or ""] for _ in range(n)]
    tokens: list[list[TokenLogprob]] = [[] for _ in range(n)]
    reasons: list[str] = ["stop"] * n
    usage = None
    for event in events:
        match event:
            case TextDelta(index=i) if i < n:
                texts[i].append(event.text)
                tokens[i].extend(event.logprobs)
            case Finish(index=i) if i < n:
                reasons[i] = event.reason
            case Usage():
                usage = event
            case Failure():
                return event
    return {
        "id": answer_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "text": "".join(texts[i]),
                "index": i,
                "logprobs": logprobs_object(tokens[i], len(echo or "")) if logprobs else None,
                "finish_reason": reasons[i],
            }
            for i in range(n)
        ],
        "usage": usage_object(usage),
    }


class CompletionStreamRenderer:
    """`text_completion` chunks, then the usage chunk if asked for, then `[DONE]`."""

    def __init__(
        self,
        answer_id: str,
        model: str,
        created: int,
        include_usage: bool,
        n: int,
        echo: str | None,
    ) -> None:
        self.head = {
            "id": answer_id,
            "object": "text_completion",
            "created": created,
            "model": model,
        }
        self.include_usage = include_usage
        self.n = n
        self.echo = echo
        self.usage: Usage | None = None
        self.done = False
        self._offsets = [len(echo or "")] * n
        self._echoed = [echo is None] * n

    def render(self, events: Iterable[Event]) -> bytes:
        if self.done:
            return b""
        out = bytearray()
        for event in events:
            match event:
                case TextDelta(index=i) if i < self.n:
                    out += self._echo(i)
                    lp = (
                        logprobs_object(list(event.logprobs), self._offsets[i])
                        if (event.logprobs)
                        else None
                    )
                    self._offsets[i] += len(event.text)
                    out += self._chunk(i, event.text, lp, None)
                case Finish(index=i) if i < self.n:
                    out += self._echo(i) + self._chunk(i, "", None, event.reason)
                case Usage():
                    self.usage = event
                case Failure():
                    out += self.abort(event)
                    break
        return bytes(out)

    def close(self) -> bytes:
        if self.done:
            return b""
        self.done = True
        out = b""
        if self.include_usage:
            body = {**self.head, "choices": [], "usage": usage_object(self.usage)}
            out += b"data: " + json.dumps(body).encode() + b"\n\n"
        return out + DONE

    def abort(self, failure: Failure) -> bytes:
        if self.done:
            return b""
        self.done = True
        return error_ending(failure)

    def _echo(self, i: int) -> bytes:
        if self._echoed[i]:
            return b""
        self._echoed[i] = True
        return self._chunk(i, self.echo or "", None, None)

    def _chunk(self, i: int, text: str, logprobs: Any, reason: str | None) -> bytes:
        choice = {"text": text, "index": i, "logprobs": logprobs, "finish_reason": reason}
        return b"data: " + json.dumps({**self.head, "choices": [choice]}).encode() + b"\n\n"
