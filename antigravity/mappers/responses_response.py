"""Canonical events -> Responses API: a `response` object, or its stream of typed events.

One state machine serves both: it builds the `output` items as events arrive and, when
streaming, emits OpenAI's event sequence for them, each with a `sequence_number`:
`response.created`, `response.in_progress`, per item `output_item.added` … `output_item.done`,
then exactly one of `response.completed`, `response.incomplete` or `response.failed`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

from antigravity.mappers.canonical import (
    Event,
    Failure,
    Finish,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    Usage,
)
from antigravity.mappers.responses_request import encode_signature

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def usage_object(usage: Usage | None) -> dict[str, Any]:
    u = usage or Usage(0, 0)
    return {
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {"cached_tokens": u.cached_tokens},
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total_tokens,
    }


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


class ResponsesRenderer:
    """Builds a Responses `response`; `stream=True` also renders its SSE events."""

    def __init__(
        self,
        response_id: str,
        created: int,
        echo: dict[str, Any],
        tool_kinds: dict[str, str],
        stream: bool,
    ) -> None:
        self.stream = stream
        self.tool_kinds = tool_kinds
        self.output: list[dict[str, Any]] = []
        self.usage: Usage | None = None
        self.reason: str | None = None
        self.failure: Failure | None = None
        self.done = False
        self._seq = 0
        self._open: dict[str, Any] | None = None  # the reasoning or message item under way
        self._started = False
        self.response: dict[str, Any] = {
            "id": response_id,
            "object": "response",
            "created_at": created,
            "status": "in_progress",
            "error": None,
            "incomplete_details": None,
            "output": self.output,
            "usage": None,
            **echo,
        }

    # -- public ---------------------------------------------------------------------------

    def render(self, events: Iterable[Event]) -> bytes:
        if self.done:
            return b""
        out = bytearray(self._start())
        for event in events:
            match event:
                case TextDelta(index=0, text=text):
                    out += self._text(text)
                case ThoughtDelta(index=0, text=text):
                    out += self._thought(text)
                case ToolCall(index=0):
                    out += self._call(event)
                case Finish(index=0, reason=reason):
                    self.reason = reason
                case Usage():
                    self.usage = event
                case Failure():
                    out += self.abort(event)
                    break
        return bytes(out)

    def close(self) -> bytes:
        """Close open items and emit the terminal event."""
        if self.done:
            return b""
        out = self._start() + self._close_open()
        self.done = True
        incomplete = _INCOMPLETE.get(self.reason or "")
        self.response["usage"] = usage_object(self.usage)
        if incomplete:
            self.response["status"] = "incomplete"
            self.response["incomplete_details"] = {"reason": incomplete}
            return out + self._event("response.incomplete", response=self.response)
        self.response["status"] = "completed"
        return out + self._event("response.completed", response=self.response)

    def abort(self, failure: Failure) -> bytes:
        """End with `response.failed`, carrying an error code clients act on."""
        if self.done:
            return b""
        out = self._start() + self._close_open()
        self.done = True
        self.failure = failure
        self.response["status"] = "failed"
        self.response["error"] = {"code": failure.code, "message": failure.message}
        self.response["usage"] = usage_object(self.usage)
        return out + self._event("response.failed", response=self.response)

    # -- items ----------------------------------------------------------------------------

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._event("response.created", response=self.response) + self._event(
            "response.in_progress", response=self.response
        )

    def _text(self, text: str) -> bytes:
        out = b""
        item = self._open
        if item is None or item["type"] != "message":
            out += self._close_open()
            item = {
                "id": _id("msg"),
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            out += self._add(item)
            part = {"type": "output_text", "text": "", "annotations": []}
            item["content"].append(part)
            out += self._event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=len(self.output) - 1,
                content_index=0,
                part=part,
            )
        item["content"][0]["text"] += text
        return out + self._event(
            "response.output_text.delta",
            item_id=item["id"],
            output_index=len(self.output) - 1,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _thought(self, text: str) -> bytes:
        out = b""
        item = self._open
        if item is None or item["type"] != "reasoning":
            out += self._close_open()
            item = {"id": _id("rs"), "type": "reasoning", "summary": []}
            out += self._add(item)
            part = {"type": "summary_text", "text": ""}
            item["summary"].append(part)
            out += self._event(
                "response.reasoning_summary_part.added",
                item_id=item["id"],
                output_index=len(self.output) - 1,
                summary_index=0,
                part=part,
            )
        item["summary"][0]["text"] += text
        return out + self._event(
            "response.reasoning_summary_text.delta",
            item_id=item["id"],
            output_index=len(self.output) - 1,
            summary_index=0,
            delta=text,
        )

    def _call(self, call: ToolCall) -> bytes:
        out = b""
        if call.signature:
            # The signature belongs to the reasoning that led to this call; clients that
            # resend history (store: false) give it back in encrypted_content.
            if self._open is None or self._open["type"] != "reasoning":
                out += self._close_open()
                out += self._add({"id": _id("rs"), "type": "reasoning", "summary": []})
            self._open["encrypted_content"] = encode_signature(call.signature)  # type: ignore[index]
        out += self._close_open()
        kind = self.tool_kinds.get(call.name, "function_call")
        index = len(self.output)
        item: dict[str, Any]
        if kind == "custom_tool_call":
            value = json.loads(call.arguments).get("input", "")
            item = {
                "id": _id("ctc"),
                "type": "custom_tool_call",
                "status": "in_progress",
                "call_id": call.call_id,
                "name": call.name,
                "input": "",
            }
            out += self._add(item, keep_open=False)
            out += self._event(
                "response.custom_tool_call_input.delta",
                item_id=item["id"],
                output_index=index,
                delta=value,
            )
            out += self._event(
                "response.custom_tool_call_input.done",
                item_id=item["id"],
                output_index=index,
                input=value,
            )
            item["input"] = value
        elif kind == "local_shell_call":
            action = {"type": "exec", **json.loads(call.arguments)}
            item = {
                "id": _id("lsh"),
                "type": "local_shell_call",
                "status": "in_progress",
                "call_id": call.call_id,
                "action": action,
            }
            out += self._add(item, keep_open=False)
        else:
            item = {
                "id": _id("fc"),
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": call.call_id,
                "name": call.name,
            }
            out += self._add(item, keep_open=False)
            out += self._event(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=index,
                delta=call.arguments,
            )
            out += self._event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                arguments=call.arguments,
                name=call.name,
            )
            item["arguments"] = call.arguments
        item["status"] = "completed"
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def _add(self, item: dict[str, Any], keep_open: bool = True) -> bytes:
        self.output.append(item)
        if keep_open:
            self._open = item
        return self._event(
            "response.output_item.added", output_index=len(self.output) - 1, item=item
        )

    def _close_open(self) -> bytes:
        item, self._open = self._open, None
        if item is None:
            return b""
        index = self.output.index(item)
        out = b""
        if item["type"] == "message":
            part = item["content"][0]
            out += self._event(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=part["text"],
                logprobs=[],
            )
            out += self._event(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
            item["status"] = "completed"
        elif item["summary"]:
            part = item["summary"][0]
            out += self._event(
                "response.reasoning_summary_text.done",
                item_id=item["id"],
                output_index=index,
                summary_index=0,
                text=part["text"],
            )
            out += self._event(
                "response.reasoning_summary_part.done",
                item_id=item["id"],
                output_index=index,
                summary_index=0,
                part=part,
            )
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def _event(self, kind: str, **fields: Any) -> bytes:
        seq = self._seq
        self._seq += 1
        if not self.stream:
            return b""
        body = json.dumps({"type": kind, "sequence_number": seq, **fields}, ensure_ascii=False)
        return f"event: {kind}\ndata: {body}\n\n".encode()


def echo_fields(client: dict[str, Any]) -> dict[str, Any]:
    """The request settings a `response` object repeats back to the client."""
    reasoning = client.get("reasoning") or {}
    return {
        "instructions": client.get("instructions"),
        "max_output_tokens": client.get("max_output_tokens"),
        "model": client.get("model"),
        "parallel_tool_calls": client.get("parallel_tool_calls", True),
        "previous_response_id": client.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": client.get("store", True),
        "temperature": client.get("temperature", 1.0),
        "text": client.get("text") or {"format": {"type": "text"}},
        "tool_choice": client.get("tool_choice", "auto"),
        "tools": client.get("tools") or [],
        "top_p": client.get("top_p", 1.0),
        "truncation": client.get("truncation", "disabled"),
        "user": client.get("user"),
        "metadata": client.get("metadata") or {},
    }
