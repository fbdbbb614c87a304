"""What a flow shows in mitmweb: a one-line comment, marks, secret-free notes, and a content view.

The gateway calls `record_*` from its hooks; they keep plain, JSON-serialisable notes in
`flow.metadata["antigravity"]` (mitmweb does not show metadata, but `-w` saves it) and set
`flow.comment` and `flow.marked`, which mitmweb shows in the flow list. `ExchangeView` turns
the notes and the flow's own messages into a readable page for the Request and Response tabs.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from mitmproxy import contentviews, ctx, http
from mitmproxy.contentviews import Metadata, SyntaxHighlight

from antigravity.errors import ApiError
from antigravity.exchange import Exchange, StreamReshaper
from antigravity.replay.answer import ClientAnswer, read_answer

log = logging.getLogger("antigravity")

KEY = "antigravity"

# Marks in the flow list (mitmweb shows them as emoji); `~marker repeat` finds retried flows.
RETRIED = ":repeat:"
ANSWERED_WITH_ERROR = ":warning:"
UPSTREAM_FAILED = ":x:"

# A client request is kept in the notes for the view: strings beyond this are shortened, so
# a request with inline media does not sit in memory (and in saved flows) twice.
STRING_LIMIT = 2000
NOTES_BUDGET = 256 * 1024


def _notes(flow: http.HTTPFlow) -> dict[str, Any]:
    return flow.metadata.setdefault(KEY, {})


# -- what the gateway records ---------------------------------------------------------------


def record_request(flow: http.HTTPFlow, exchange: Exchange) -> None:
    notes = _notes(flow)
    notes.update(_exchange_notes(exchange))
    notes["client_request"] = shorten_for_notes(exchange.client_body)
    flow.comment = summary(exchange)


def record_answer(
    flow: http.HTTPFlow, exchange: Exchange, status: int, reshaper: StreamReshaper | None = None
) -> None:
    notes = _notes(flow)
    notes.update(_attempt_notes(exchange))
    notes["client_status"] = status
    if reshaper is not None:
        _keep_streamed_answer(flow, reshaper)
    flow.comment = summary(exchange, status)
    if status >= 400:
        flow.marked = ANSWERED_WITH_ERROR
    elif len(exchange.attempts) > 1:
        flow.marked = RETRIED


def record_failure(flow: http.HTTPFlow, exchange: Exchange, message: str, timed_out: bool) -> None:
    notes = _notes(flow)
    notes.update(_attempt_notes(exchange))
    notes["upstream_failure"] = "timeout" if timed_out else message
    stream = flow.response.stream if flow.response is not None else None
    reshaper = getattr(stream, "reshaper", stream)  # the recorder may have wrapped it
    if isinstance(reshaper, StreamReshaper):
        _keep_streamed_answer(flow, reshaper)
    flow.comment = summary(exchange, "timeout" if timed_out else "upstream failed")
    flow.marked = UPSTREAM_FAILED


def record_local_error(flow: http.HTTPFlow, err: ApiError) -> None:
    _notes(flow).update(client_status=err.status, error_code=err.code)
    flow.comment = f"{err.status} {err.code or err.type}"


def summary(exchange: Exchange, outcome: int | str | None = None) -> str:
    """The flow list's one line: `chat · gpt-4o→gemini-2.5-flash · key-2 · 2 attempts · stream`."""
    route = exchange.route
    parts = [exchange.dialect, f"{route.requested}→{route.model}", exchange.account.label]
    if len(exchange.attempts) > 1:
        parts.append(f"{len(exchange.attempts)} attempts")
    parts.append("stream" if exchange.stream else "whole")
    if outcome is not None and outcome != 200:
        parts.append(str(outcome))
    return " · ".join(parts)


def _exchange_notes(exchange: Exchange) -> dict[str, Any]:
    route = exchange.route
    return {
        "dialect": exchange.dialect,
        "requested_model": route.requested,
        "mapped_model": route.model,
        "rule": route.rule,
        "stream": exchange.stream,
        "upstream_path": exchange.upstream_path,
        "translation_notes": list(exchange.request.notes),
        **_attempt_notes(exchange),
    }


def _attempt_notes(exchange: Exchange) -> dict[str, Any]:
    """What can change after the request went upstream: the account and the attempts."""
    return {
        "account": exchange.account.label,
        "account_masked": exchange.account.masked,
        "attempts": [_plain(a) for a in exchange.attempts],
    }


def _keep_streamed_answer(flow: http.HTTPFlow, reshaper: StreamReshaper) -> None:
    """Store what the client received as the body mitmweb shows; a streamed body is not re-sent."""
    notes = _notes(flow)
    notes["answer_bytes"] = reshaper.bytes_out
    notes["answer_kept"] = len(reshaper.kept)
    if flow.response is not None:
        flow.response.raw_content = bytes(reshaper.kept)


def shorten_for_notes(obj: Any) -> Any:
    """A JSON value with long strings shortened, within NOTES_BUDGET when serialised."""
    limit = STRING_LIMIT
    while True:
        short = _shorten(obj, limit)
        if limit <= 100 or len(json.dumps(short, ensure_ascii=False)) <= NOTES_BUDGET:
            return short
        limit //= 4


def _shorten(obj: Any, limit: int) -> Any:
    if isinstance(obj, str):
        return obj if len(obj) <= limit else f"{obj[: limit // 2]}… ({len(obj)} characters)"
    if isinstance(obj, dict):
        return {str(k): _shorten(v, limit) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_shorten(v, limit) for v in obj]
    return obj


def _plain(obj: Any) -> Any:
    """JSON-safe copy: saved flows must load back, and mitmweb must never choke on metadata."""
    return json.loads(json.dumps(obj, default=str))


# -- the addon: mitmweb columns, and Gemini's own status ------------------------------------


class Inspector:
    """Shows the comment column in mitmweb and notes Gemini's status before it is translated."""

    def running(self) -> None:
        opts = ctx.options
        if "web_columns" in opts and not opts.has_changed("web_columns"):
            # Early in the row, so a narrow window cuts the long upstream path, not the route.
            columns = list(opts.web_columns)
            columns.insert(columns.index("icon") + 1 if "icon" in columns else 0, "comment")
            opts.update(web_columns=columns)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        notes = flow.metadata.get(KEY)
        if notes is None or flow.response is None or "mapped_model" not in notes:
            return
        notes["upstream_status"] = flow.response.status_code


# -- the content view -----------------------------------------------------------------------


class ExchangeView(contentviews.Contentview):
    """Antigravity: route, account, attempts, translation notes, both requests and the answer."""

    @property
    def name(self) -> str:
        return "Antigravity"

    @property
    def syntax_highlight(self) -> SyntaxHighlight:
        return "yaml"

    def render_priority(self, data: bytes, metadata: Metadata) -> float:
        flow = metadata.flow
        if not isinstance(flow, http.HTTPFlow) or "mapped_model" not in flow.metadata.get(KEY, {}):
            return -1
        # Above the JSON view (1): these bodies only make sense next to the routing notes.
        return 2

    def prettify(self, data: bytes, metadata: Metadata) -> str:
        flow = metadata.flow
        if not isinstance(flow, http.HTTPFlow):
            raise ValueError("not an HTTP flow")
        notes = flow.metadata.get(KEY, {})
        if metadata.http_message is flow.response and flow.response is not None:
            return render_response(notes, flow.response.status_code, data, flow.error)
        return render_request(notes, data)


def render_request(notes: dict[str, Any], gemini_body: bytes) -> str:
    """The Request tab: the decisions, then the client's request and the Gemini request."""
    out = _Text()
    _header(out, notes)
    out.line("route:")
    out.field(1, "requested", notes.get("requested_model"))
    out.field(1, "mapped to", notes.get("mapped_model"))
    out.field(1, "rule", notes.get("rule"))
    out.field(1, "account", _account(notes))
    out.field(1, "sent to", f"POST {notes.get('upstream_path', '?')}")
    _attempts(out, notes)
    schema, other = _split_notes(notes.get("translation_notes") or [])
    if schema:
        out.line("schema rewrites:")
        for note in schema:
            out.item(1, note)
    if other:
        out.line("translation notes:")
        for note in other:
            out.item(1, note)
    out.blank()
    out.line(f"client request:  # {notes.get('dialect', '?')}, as the client sent it")
    _client_request(out, notes.get("client_request"))
    out.blank()
    out.line("gemini request:  # the body sent upstream (the JSON view shows all of it)")
    try:
        body = json.loads(gemini_body) if gemini_body else {}
    except ValueError:
        body = gemini_body.decode("utf-8", "replace")
    _gemini_request(out, body)
    return out.text()


def render_response(
    notes: dict[str, Any], status: int, body: bytes, error: object | None = None
) -> str:
    """The Response tab: the outcome and attempts, then the answer as the client assembled it."""
    out = _Text()
    _header(out, notes)
    stream = bool(notes.get("stream")) and status == 200
    answer = read_answer(status, body, stream, str(notes.get("dialect", "chat")))
    out.field(0, "client got", _outcome(notes, status, answer))
    route = f"{notes.get('requested_model')} → {notes.get('mapped_model')} ({notes.get('rule')})"
    out.field(0, "route", f"{route} on {_account(notes)}")
    _attempts(out, notes)
    if failure := notes.get("upstream_failure"):
        out.field(0, "upstream failed", failure)
        if stream:
            out.field(1, "then", "the gateway ended the stream with an error event and [DONE]")
    out.blank()
    _answer(out, answer)
    return out.text()


def _header(out: _Text, notes: dict[str, Any]) -> None:
    parts = [
        notes.get("dialect", "?"),
        f"{notes.get('requested_model')}→{notes.get('mapped_model')}",
        notes.get("account", "?"),
    ]
    if len(notes.get("attempts") or []) > 1:
        parts.append(f"{len(notes['attempts'])} attempts")
    parts.append("stream" if notes.get("stream") else "whole")
    out.line("# " + " · ".join(str(p) for p in parts))


def _account(notes: dict[str, Any]) -> str:
    masked = notes.get("account_masked")
    return f"{notes.get('account', '?')} ({masked})" if masked else str(notes.get("account", "?"))


def _attempts(out: _Text, notes: dict[str, Any]) -> None:
    out.line("attempts:")
    attempts = notes.get("attempts") or []
    if not attempts:
        # Before retries, the flow itself is the one attempt.
        status = notes.get("upstream_status", notes.get("client_status"))
        if status is None:
            status = "no answer" if notes.get("upstream_failure") else "…"
        out.item(1, f"1. {_account(notes)} → {status}")
        return
    for i, attempt in enumerate(attempts, 1):
        status = attempt.get("status")
        line = f"{i}. {attempt.get('account', '?')} → {'no answer' if status is None else status}"
        rest = [_detail(k, v) for k, v in attempt.items() if k not in ("account", "status")]
        out.item(1, " · ".join([line, *(r for r in rest if r)]))


def _detail(key: str, value: Any) -> str:
    """One fact about an attempt; whatever keys the retry code adds are shown as they come."""
    if value is None or value is False or value == "":
        return ""
    if value is True:
        return key
    if key in ("delay", "cooldown", "retry_after", "wait") and isinstance(value, int | float):
        return f"{key} {value:g}s"
    return f"{key} {value}"


_SCHEMA_NOTE = re.compile(r"^(\S+ parameters|response schema) ")


def _split_notes(notes: list[str]) -> tuple[list[str], list[str]]:
    schema = [n for n in notes if _SCHEMA_NOTE.match(n)]
    return schema, [n for n in notes if not _SCHEMA_NOTE.match(n)]


def _outcome(notes: dict[str, Any], status: int, answer: ClientAnswer) -> str:
    if not answer.stream:
        return f"{status} · {'error' if answer.error else 'whole answer'}"
    size = notes.get("answer_bytes")
    kept = notes.get("answer_kept")
    text = f"{status} · stream of {answer.chunks} chunks"
    if isinstance(size, int):
        text += f" ({_size(size)})"
    end = "a final response event" if notes.get("dialect") == "responses" else "[DONE]"
    text += f", ended with {end}" if answer.done else f", no {end} seen"
    if isinstance(size, int) and isinstance(kept, int) and kept < size:
        text += f"; the first {_size(kept)} are kept for display"
    return text


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} kB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def _answer(out: _Text, answer: ClientAnswer) -> None:
    out.line("answer:  # as the client assembled it (the Raw view shows the bytes)")
    if not answer.choices and not answer.error and not answer.unreadable:
        out.line("  nothing yet")
    if answer.error:
        err = answer.error
        out.field(1, "error", f"{err.get('code') or err.get('type')}: {err.get('message')}")
    several = len(answer.choices) > 1
    for index, choice in sorted(answer.choices.items()):
        depth = 1
        if several:
            out.line(f"  choice {index}:")
            depth = 2
        if choice.reasoning:
            out.field(depth, "reasoning", choice.reasoning)
        if choice.content or not choice.tool_calls:
            out.field(depth, "content", choice.content)
        if choice.refusal:
            out.field(depth, "refusal", choice.refusal)
        if choice.tool_calls:
            out.line("  " * depth + "tool calls:")
            for call in choice.tool_calls:
                out.item(depth + 1, f"{call['name']}({call['arguments']})  # {call['id']}")
        out.field(depth, "finish_reason", choice.finish_reason)
    if answer.usage:
        out.field(1, "usage", _usage(answer.usage))
    for text in answer.unreadable:
        out.field(1, "unreadable", text)


def _usage(usage: dict[str, Any]) -> str:
    # Chat and Completions count prompt/completion tokens; Responses counts input/output.
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    completion = usage.get("completion_tokens", usage.get("output_tokens"))
    text = f"prompt {prompt} · completion {completion}"
    details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    reasoning = details.get("reasoning_tokens")
    if reasoning:
        text += f" (reasoning {reasoning})"
    return text + f" · total {usage.get('total_tokens')}"


# The client's fields in reading order: what was asked for, the conversation, then the rest.
_FIRST = ("model", "stream", "instructions", "messages", "input", "prompt")


def _client_request(out: _Text, body: Any) -> None:
    if not isinstance(body, dict):
        out.field(1, "body", body)
        return
    order = [k for k in _FIRST if k in body] + [k for k in body if k not in _FIRST]
    for key in order:
        value = body[key]
        if key in ("messages", "input") and isinstance(value, list):
            out.line(f"  {key}:")
            for message in value:
                _message(out, message)
        elif key == "tools" and isinstance(value, list):
            out.line("  tools:")
            for tool in value:
                function = tool.get("function", tool) if isinstance(tool, dict) else {}
                name = function.get("name", "?") if isinstance(function, dict) else "?"
                out.item(2, f"{name}: {_compact(function.get('parameters', {}))}")
        else:
            out.field(1, key, value if isinstance(value, str) else _compact(value))


def _message(out: _Text, message: Any) -> None:
    if not isinstance(message, dict):
        out.item(2, _compact(message))
        return
    kind = message.get("type")
    if kind in ("function_call", "custom_tool_call"):
        arguments = message.get("arguments", message.get("input"))
        call = f"→ {message.get('name')}({arguments})  # {message.get('call_id')}"
        out.entry(2, "assistant", [call])
        return
    if kind in ("function_call_output", "custom_tool_call_output"):
        out.entry(2, f"tool {message.get('call_id')}", [str(message.get("output"))])
        return
    if "role" not in message:
        out.item(2, _compact(message))
        return
    role = message.get("role", "?")
    content = message.get("content")
    lines: list[str] = []
    if isinstance(content, str):
        lines.append(content)
    elif isinstance(content, list):
        lines.extend(_client_part(p) for p in content)
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        lines.append(f"→ {function.get('name')}({function.get('arguments')})  # {call.get('id')}")
    if role == "tool":
        role = f"tool {message.get('tool_call_id')}"
    out.entry(2, role, lines)


def _client_part(part: Any) -> str:
    if not isinstance(part, dict):
        return _compact(part)
    kind = part.get("type")
    if kind in ("text", "input_text", "output_text"):
        return str(part.get("text", ""))
    if kind == "image_url":
        url = (part.get("image_url") or {}).get("url", "")
        return f"[image {url[:60]}{'…' if len(url) > 60 else ''}]"
    return f"[{kind}] {_compact({k: v for k, v in part.items() if k != 'type'})}"


def _gemini_request(out: _Text, body: Any) -> None:
    if not isinstance(body, dict):
        out.field(1, "body", body if isinstance(body, str) else _compact(body))
        return
    for key, value in body.items():
        if key == "contents" and isinstance(value, list):
            out.line("  contents:")
            for content in value:
                if isinstance(content, dict):
                    parts = [_gemini_part(p) for p in content.get("parts") or []]
                    out.entry(2, str(content.get("role", "?")), parts)
        elif key == "systemInstruction" and isinstance(value, dict):
            texts = [str(p.get("text", "")) for p in value.get("parts") or []]
            out.field(1, key, "\n".join(texts))
        elif key == "tools" and isinstance(value, list):
            out.line("  tools:")
            for tool in value:
                for decl in (tool or {}).get("functionDeclarations") or []:
                    schema = decl.get("parametersJsonSchema", decl.get("parameters", {}))
                    out.item(2, f"{decl.get('name')}: {_compact(schema)}")
                for name in set(tool or {}) - {"functionDeclarations"}:
                    out.item(2, f"{name}: {_compact(tool[name])}")
        else:
            out.field(1, key, _compact(value))


def _gemini_part(part: Any) -> str:
    if not isinstance(part, dict):
        return _compact(part)
    signed = "  # +thought signature" if part.get("thoughtSignature") else ""
    if "functionCall" in part:
        call = part["functionCall"]
        return f"→ {call.get('name')}({_compact(call.get('args', {}))}){signed}"
    if "functionResponse" in part:
        answer = part["functionResponse"]
        return f"← {answer.get('name')}: {_compact(answer.get('response'))}{signed}"
    if "inlineData" in part:
        data = part["inlineData"]
        size = len(data.get("data", "")) * 3 // 4
        return f"[{data.get('mimeType')}, {_size(size)} inline]"
    if "text" in part:
        prefix = "(thought) " if part.get("thought") else ""
        return prefix + str(part["text"]) + signed
    return _compact(part)


def _compact(value: Any, limit: int = STRING_LIMIT) -> str:
    text = json.dumps(_shorten(value, 200), ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[:limit] + "…"


class _Text:
    """A YAML-looking page: keys, list items, and block scalars for text with line breaks."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"

    def line(self, text: str) -> None:
        self._lines.append(text)

    def blank(self) -> None:
        self._lines.append("")

    def field(self, depth: int, key: str, value: Any) -> None:
        self._value("  " * depth + f"{key}:", depth, value)

    def item(self, depth: int, value: Any) -> None:
        self._value("  " * depth + "-", depth, value)

    def entry(self, depth: int, key: str, lines: list[str]) -> None:
        """A list item `- key: text`, or `- key:` with one sub-item per line."""
        if len(lines) == 1:
            self._value("  " * depth + f"- {key}:", depth + 1, lines[0])
            return
        self._lines.append("  " * depth + f"- {key}:")
        for text in lines:
            self.item(depth + 2, text)

    def _value(self, lead: str, depth: int, value: Any) -> None:
        if value is None:
            self._lines.append(f"{lead} null")
            return
        text = str(value)
        if "\n" in text:
            self._lines.append(f"{lead} |")
            pad = "  " * (depth + 1)
            self._lines.extend(pad + row if row else "" for row in text.split("\n"))
        else:
            self._lines.append(f"{lead} {text}" if text else f'{lead} ""')
