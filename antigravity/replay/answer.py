"""What an OpenAI client makes of an answer: whole JSON or SSE, assembled per choice.

Chat Completions and legacy Completions answers are read by choice; a Responses answer is
read from its `response` object (the body, or the last event of a stream), so the same
`ClientAnswer` describes all three.

Shared by the replay runner (which checks what the client received) and the mitmweb view
(which shows it). Pure: bytes in, a `ClientAnswer` out; it never raises on odd input, it
notes what it could not read instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Choice:
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    refusal: str | None = None


@dataclass
class ClientAnswer:
    """One answer as the client received it."""

    status: int
    stream: bool
    choices: dict[int, Choice] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    done: bool = False  # the stream ended: `data: [DONE]`, or a Responses terminal event
    chunks: int = 0
    model: str | None = None
    unreadable: list[str] = field(default_factory=list)

    def choice(self, index: int = 0) -> Choice:
        return self.choices.setdefault(index, Choice())


_TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def read_answer(status: int, body: bytes, stream: bool, dialect: str = "chat") -> ClientAnswer:
    """Assemble an answer the way an OpenAI SDK would (chunks merged, tool calls by index)."""
    if dialect == "responses":
        return read_responses(status, body, stream)
    if stream:
        return read_stream(status, body)
    answer = ClientAnswer(status, stream=False)
    try:
        obj = json.loads(body)
    except ValueError:
        answer.unreadable.append(_clip(body.decode("utf-8", "replace")))
        return answer
    if not isinstance(obj, dict):
        answer.unreadable.append(_clip(json.dumps(obj)))
        return answer
    if isinstance(obj.get("error"), dict):
        answer.error = obj["error"]
        return answer
    answer.model = obj.get("model")
    answer.usage = obj.get("usage")
    for item in obj.get("choices") or []:
        choice = answer.choice(item.get("index", 0))
        message = item.get("message") or {}
        choice.content = message.get("content") or item.get("text") or ""
        choice.reasoning = message.get("reasoning_content") or ""
        choice.refusal = message.get("refusal")
        choice.tool_calls = [_call(c) for c in message.get("tool_calls") or []]
        choice.finish_reason = item.get("finish_reason")
    return answer


def read_stream(status: int, body: bytes) -> ClientAnswer:
    answer = ClientAnswer(status, stream=True)
    calls: dict[tuple[int, int], dict[str, Any]] = {}
    for data in _sse_payloads(body):
        if data == "[DONE]":
            answer.done = True
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            answer.unreadable.append(_clip(data))
            continue
        if not isinstance(chunk, dict):
            answer.unreadable.append(_clip(data))
            continue
        if isinstance(chunk.get("error"), dict):
            answer.error = chunk["error"]
            continue
        answer.chunks += 1
        answer.model = chunk.get("model", answer.model)
        if chunk.get("usage"):
            answer.usage = chunk["usage"]
        for item in chunk.get("choices") or []:
            index = item.get("index", 0)
            choice = answer.choice(index)
            delta = item.get("delta") or {}
            choice.content += delta.get("content") or item.get("text") or ""
            choice.reasoning += delta.get("reasoning_content") or ""
            if delta.get("refusal"):
                choice.refusal = (choice.refusal or "") + delta["refusal"]
            for part in delta.get("tool_calls") or []:
                call = calls.get((index, part.get("index", 0)))
                if call is None:
                    call = {"id": None, "name": "", "arguments": ""}
                    calls[(index, part.get("index", 0))] = call
                    choice.tool_calls.append(call)
                call["id"] = part.get("id") or call["id"]
                function = part.get("function") or {}
                call["name"] += function.get("name") or ""
                call["arguments"] += function.get("arguments") or ""
            if item.get("finish_reason"):
                choice.finish_reason = item["finish_reason"]
    return answer


def read_responses(status: int, body: bytes, stream: bool) -> ClientAnswer:
    answer = ClientAnswer(status, stream=stream)
    final: dict[str, Any] | None = None
    if not stream:
        try:
            obj = json.loads(body)
        except ValueError:
            answer.unreadable.append(_clip(body.decode("utf-8", "replace")))
            return answer
        if isinstance(obj, dict) and isinstance(obj.get("error"), dict) and "output" not in obj:
            answer.error = obj["error"]
            return answer
        final = obj if isinstance(obj, dict) else None
    else:
        deltas = answer.choice(0)
        for data in _sse_payloads(body):
            try:
                event = json.loads(data)
            except ValueError:
                answer.unreadable.append(_clip(data))
                continue
            answer.chunks += 1
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "response.output_text.delta":
                deltas.content += event.get("delta") or ""
            elif kind == "response.reasoning_summary_text.delta":
                deltas.reasoning += event.get("delta") or ""
            elif kind == "error":
                answer.error = event.get("error") or event
            elif kind in _TERMINAL:
                answer.done = True
                final = event.get("response")
    if final is not None:
        _read_response_object(answer, final)
    return answer


def _read_response_object(answer: ClientAnswer, response: dict[str, Any]) -> None:
    choice = answer.choices[0] = Choice()
    answer.model = response.get("model")
    answer.usage = response.get("usage")
    if isinstance(response.get("error"), dict):
        answer.error = response["error"]
    for item in response.get("output") or []:
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or []:
                choice.content += part.get("text") or ""
                if part.get("type") == "refusal":
                    choice.refusal = part.get("refusal")
        elif kind == "reasoning":
            choice.reasoning += "".join(p.get("text", "") for p in item.get("summary") or [])
        elif kind in ("function_call", "custom_tool_call"):
            arguments = item.get("arguments", item.get("input", ""))
            choice.tool_calls.append(
                {"id": item.get("call_id"), "name": item.get("name", ""), "arguments": arguments}
            )
    reason = response.get("status")
    details = response.get("incomplete_details") or {}
    choice.finish_reason = f"{reason} ({details['reason']})" if details.get("reason") else reason


def _sse_payloads(body: bytes) -> list[str]:
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    payloads = []
    for event in text.split("\n\n"):
        data = "\n".join(
            line[5:].lstrip() for line in event.split("\n") if line.startswith("data:")
        )
        if data:
            payloads.append(data)
    return payloads


def _call(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    return {
        "id": call.get("id"),
        "name": function.get("name", ""),
        "arguments": function.get("arguments", ""),
    }


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
