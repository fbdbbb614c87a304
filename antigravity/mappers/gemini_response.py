"""Gemini answers (one JSON object, or an SSE stream of them) -> canonical events."""

from __future__ import annotations

import json
import secrets
from typing import Any

from antigravity.mappers.canonical import (
    Event,
    Failure,
    Finish,
    FinishReason,
    TextDelta,
    ThoughtDelta,
    TokenLogprob,
    ToolCall,
    Usage,
)

# Gemini finishReason -> OpenAI finish_reason. Reasons missing here are failures (below) or
# unknown future values, which end the answer normally as "stop".
FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "FINISH_REASON_UNSPECIFIED": "stop",
    "OTHER": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
}
# Outcomes that are not a reply at all: the client must see an error, not an empty answer.
FAILING_REASONS = {
    "MALFORMED_FUNCTION_CALL": "Gemini produced a malformed function call",
    "UNEXPECTED_TOOL_CALL": "Gemini called a tool that was not offered",
    "TOO_MANY_TOOL_CALLS": "Gemini made too many tool calls",
}


class GeminiDecoder:
    """Stateful: turns Gemini answer objects into events, tracking what a complete answer needs.

    Usage in Gemini chunks is cumulative, so only the last one counts; it is emitted by close().
    """

    def __init__(self, n: int = 1) -> None:
        self.n = n
        self.usage: Usage | None = None
        self.finished: set[int] = set()
        self.failed = False
        self._calls: dict[int, int] = {}  # choice index -> tool calls seen

    def decode(self, obj: dict[str, Any]) -> list[Event]:
        if "response" in obj and "candidates" not in obj:
            obj = obj["response"]  # Code Assist wraps each answer as {"response": ...}
        events: list[Event] = []
        usage = obj.get("usageMetadata")
        if usage:
            self.usage = _usage(usage)
        feedback = obj.get("promptFeedback") or {}
        if feedback.get("blockReason"):
            reason = f"prompt blocked: {feedback['blockReason']}"
            for i in range(self.n):
                if i not in self.finished:
                    self.finished.add(i)
                    events.append(Finish(i, "content_filter", reason))
            return events
        for cand in obj.get("candidates") or ():
            index = cand.get("index", 0)
            logprobs = _logprobs(cand.get("logprobsResult"))
            for part in (cand.get("content") or {}).get("parts") or ():
                text = part.get("text")
                if "functionCall" in part:
                    events.append(self._call(index, part))
                elif not text:
                    continue
                elif part.get("thought"):
                    events.append(ThoughtDelta(index, text))
                else:
                    events.append(TextDelta(index, text, logprobs))
                    logprobs = ()  # one chunk's tokens belong to its text, reported once
            reason = cand.get("finishReason")
            if reason and index not in self.finished:
                self.finished.add(index)
                if reason == "STOP" and self._calls.get(index):
                    events.append(Finish(index, "tool_calls", reason))
                elif reason in FAILING_REASONS:
                    self.failed = True
                    detail = cand.get("finishMessage") or ""
                    events.append(
                        Failure(
                            502,
                            f"{FAILING_REASONS[reason]} ({reason}). {detail}".strip(),
                            reason.lower(),
                        )
                    )
                else:
                    events.append(Finish(index, FINISH_REASONS.get(reason, "stop"), reason))
        return events

    def _call(self, index: int, part: dict[str, Any]) -> ToolCall:
        call = part["functionCall"]
        k = self._calls.get(index, 0)
        self._calls[index] = k + 1
        return ToolCall(
            index=index,
            call_index=k,
            call_id=f"call_{secrets.token_hex(12)}",
            name=call.get("name", ""),
            arguments=json.dumps(call.get("args") or {}, ensure_ascii=False),
            signature=part.get("thoughtSignature"),
        )

    def close(self) -> list[Event]:
        """Events owed at the end of the answer: a failure if it was incomplete, then usage."""
        events: list[Event] = []
        if not self.failed and len(self.finished) < self.n:
            if self.finished or self.usage is not None:
                message = "The Gemini answer ended before it was complete (no finishReason)."
                code = "upstream_incomplete"
            else:
                message = "Gemini returned no candidates and no reason."
                code = "empty_response"
            events.append(Failure(502, message, code))
        if self.usage is not None:
            events.append(self.usage)
        return events


def decode_whole(body: bytes, n: int = 1) -> list[Event]:
    """Events of a non-stream `generateContent` answer."""
    decoder = GeminiDecoder(n)
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [Failure(502, "Gemini returned a body that is not valid JSON.", "upstream_invalid")]
    if isinstance(obj, list):  # some Google front ends wrap the answer in an array
        events = [e for item in obj if isinstance(item, dict) for e in decoder.decode(item)]
    elif isinstance(obj, dict):
        events = decoder.decode(obj)
    else:
        events = []
    return events + decoder.close()


class SSESplitter:
    """Reassembles SSE `data:` payloads from byte pieces split anywhere.

    Gemini frames events with CRLF CRLF; LF LF is accepted too.
    """

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        hold = b""
        if buf.endswith(b"\r"):  # maybe half a CRLF: decide with the next piece
            buf, hold = buf[:-1], b"\r"
        *frames, rest = buf.split(b"\n\n")
        self._buf = rest + hold
        out = []
        for frame in frames:
            lines = [line[5:].lstrip(b" ") for line in frame.split(b"\n") if line[:5] == b"data:"]
            if lines:
                out.append(b"\n".join(lines))
        return out


def _logprobs(result: dict[str, Any] | None) -> tuple[TokenLogprob, ...]:
    if not result:
        return ()
    chosen = result.get("chosenCandidates") or []
    tops = result.get("topCandidates") or []
    out = []
    for k, token in enumerate(chosen):
        alternatives = tops[k].get("candidates", []) if k < len(tops) else []
        out.append(
            TokenLogprob(
                token.get("token", ""),
                token.get("logProbability", 0.0),
                tuple((a.get("token", ""), a.get("logProbability", 0.0)) for a in alternatives),
            )
        )
    return tuple(out)


def _usage(meta: dict[str, Any]) -> Usage:
    thoughts = meta.get("thoughtsTokenCount", 0)
    return Usage(
        prompt_tokens=meta.get("promptTokenCount", 0),
        completion_tokens=meta.get("candidatesTokenCount", 0) + thoughts,
        reasoning_tokens=thoughts,
        cached_tokens=meta.get("cachedContentTokenCount", 0),
    )
