"""One client request's trip through the gateway, independent of mitmproxy.

`prepare` parses and validates the client's request in its dialect (chat, completions or
responses), restates it as a chat request, routes the model and builds the canonical request;
the resulting `Exchange` then turns whatever Gemini answers (whole, streamed, or an error) back
into the client's dialect, through the renderer of that dialect.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from antigravity import errors
from antigravity.accounts import Account
from antigravity.errors import ApiError
from antigravity.history import ResponseHistory
from antigravity.mappers import chat_response, completions, responses_request, responses_response
from antigravity.mappers.canonical import (
    CanonicalRequest,
    Dialect,
    Event,
    Failure,
    ThoughtDelta,
    ToolCall,
)
from antigravity.mappers.chat_request import from_chat
from antigravity.mappers.gemini_request import gemini_body, gemini_path
from antigravity.mappers.gemini_response import GeminiDecoder, SSESplitter, decode_whole
from antigravity.openai.chat import ChatRequest
from antigravity.openai.completions import CompletionRequest
from antigravity.openai.parse import load_json_object, validate
from antigravity.openai.responses import ResponsesRequest
from antigravity.routing import Route, RoutingTable
from antigravity.signatures import SignatureStore

_ID_PREFIX = {"chat": "chatcmpl-", "completions": "cmpl-", "responses": "resp_"}


class Renderer(Protocol):
    done: bool

    def render(self, events: list[Event]) -> bytes: ...
    def close(self) -> bytes: ...
    def abort(self, failure: Failure) -> bytes: ...


@dataclass(slots=True)
class Exchange:
    dialect: Dialect
    request: CanonicalRequest
    route: Route
    answer_id: str
    created: int
    account: Account
    client_body: dict[str, Any] = field(repr=False)
    signatures: SignatureStore = field(repr=False)
    # Responses only: what the answer needs back (tool item types) and the history to store.
    tool_kinds: dict[str, str] = field(default_factory=dict)
    history_items: list[dict[str, Any]] = field(default_factory=list, repr=False)
    history: ResponseHistory | None = field(default=None, repr=False)
    # One entry per upstream attempt, plain data for the inspector (account, status, why).
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stream(self) -> bool:
        return self.request.stream

    @property
    def upstream_path(self) -> str:
        return gemini_path(self.route.model, self.request.stream)

    def upstream_body(self) -> bytes:
        return json.dumps(gemini_body(self.request), ensure_ascii=False).encode()

    def remember(self, events: list[Event]) -> list[Event]:
        """Keep the thought signatures of tool calls for the turns that will replay them."""
        for event in events:
            if isinstance(event, ToolCall) and event.signature:
                self.signatures.put(event.call_id, event.signature)
        return events

    def renderer(self, stream: bool) -> Renderer:
        req = self.request
        if self.dialect == "responses":
            return responses_response.ResponsesRenderer(
                self.answer_id,
                self.created,
                responses_response.echo_fields(self.client_body),
                self.tool_kinds,
                stream,
            )
        if self.dialect == "completions":
            return completions.CompletionStreamRenderer(
                self.answer_id,
                self.route.requested,
                self.created,
                req.include_usage,
                req.n,
                self._echo(),
            )
        return chat_response.ChatStreamRenderer(
            self.answer_id, self.route.requested, self.created, req.include_usage, req.n
        )

    def whole_answer(self, status: int, body: bytes) -> tuple[int, bytes]:
        """Translate a complete upstream answer (success or Google error) for the client."""
        if status != 200:
            err = errors.from_google(status, body)
            return err.status, err.to_bytes()
        events = self.remember(decode_whole(body, self.request.n))
        answer = self._collect(events)
        if isinstance(answer, Failure):
            return answer.status, json.dumps(chat_response.failure_body(answer)).encode()
        return 200, json.dumps(answer, ensure_ascii=False).encode()

    def stream_whole(self, body: bytes) -> bytes:
        """A complete upstream SSE body reshaped at once (for answers that were retried)."""
        reshaper = self.reshaper()
        return b"".join([*reshaper.pieces(body), *reshaper.pieces(b"")])

    def reshaper(self) -> StreamReshaper:
        return StreamReshaper(self)

    def store(self, renderer: Renderer) -> None:
        """Responses: keep the conversation for a later `previous_response_id`."""
        if (
            isinstance(renderer, responses_response.ResponsesRenderer)
            and self.history is not None
            and renderer.response["status"] == "completed"
            and self.client_body.get("store", True)
        ):
            self.history.put(self.answer_id, self.history_items + renderer.output)

    def _collect(self, events: list[Event]) -> dict[str, Any] | Failure:
        req = self.request
        if self.dialect == "chat":
            return chat_response.collect_chat(
                events, self.answer_id, self.route.requested, self.created, req.n, req.logprobs
            )
        if self.dialect == "completions":
            return completions.collect(
                events,
                self.answer_id,
                self.route.requested,
                self.created,
                req.n,
                self._echo(),
                req.logprobs,
            )
        renderer = self.renderer(stream=False)
        assert isinstance(renderer, responses_response.ResponsesRenderer)
        renderer.render(events)
        renderer.close()
        if renderer.failure is not None:
            return renderer.failure
        self.store(renderer)
        return renderer.response

    def _echo(self) -> str | None:
        if self.client_body.get("echo"):
            prompt = self.client_body.get("prompt")
            return prompt[0] if isinstance(prompt, list) else prompt
        return None


KEEP_BYTES = 256 * 1024


class StreamReshaper:
    """mitmproxy stream callable: Gemini SSE byte pieces in, the client's SSE bytes out.

    Receives pieces split at arbitrary byte offsets and a final b"" at the end of the body.
    """

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        self._splitter = SSESplitter()
        self._decoder = GeminiDecoder(exchange.request.n)
        self._renderer = exchange.renderer(stream=True)
        self._hidden_thoughts = exchange.request.hidden_thoughts
        self.last_activity = time.monotonic()
        self.bytes_out = 0
        # What the client received, kept (bounded) so mitmweb can show the streamed answer.
        self.kept = bytearray()

    def __call__(self, data: bytes) -> list[bytes]:
        return self.pieces(data)

    def pieces(self, data: bytes) -> list[bytes]:
        # An empty bytes piece would go out as a zero-length HTTP/1 chunk, which ends the
        # client's body; pieces that complete no event therefore give an empty list.
        self.last_activity = time.monotonic()
        if not data:
            out = self._renderer.render(self._decoder.close()) + self._renderer.close()
            self._exchange.store(self._renderer)
        else:
            events: list[Event] = []
            keep_alive = False
            for payload in self._splitter.feed(data):
                try:
                    obj = json.loads(payload)
                except ValueError:
                    events.append(
                        Failure(
                            502, "Gemini sent a stream event that is not JSON.", "upstream_invalid"
                        )
                    )
                    break
                events.extend(self._decoder.decode(obj))
            if self._hidden_thoughts:
                shown: list[Event] = [e for e in events if not isinstance(e, ThoughtDelta)]
                keep_alive = len(shown) < len(events)
                events = shown
            out = self._renderer.render(self._exchange.remember(events))
            if keep_alive and not self._renderer.done:
                out = b": keep-alive\n\n" + out
        self.bytes_out += len(out)
        if len(self.kept) < KEEP_BYTES:
            self.kept += out[: KEEP_BYTES - len(self.kept)]
        return [out] if out else []

    def abort(self, message: str, code: str) -> bytes:
        """The end of a stream the upstream broke off: the dialect's error ending."""
        return self._renderer.abort(Failure(502, message, code))


def prepare(
    dialect: Dialect,
    body: bytes,
    table: RoutingTable,
    pick: Callable[[str, CanonicalRequest], Account],
    signatures: SignatureStore,
    history: ResponseHistory,
) -> Exchange:
    """Validate, route and translate a client request; raises ApiError for the client."""
    data = load_json_object(body)
    plan: responses_request.ChatPlan | None = None
    history_items: list[dict[str, Any]] = []
    if dialect == "responses":
        req = validate(ResponsesRequest, data)
        previous = None
        if req.previous_response_id:
            previous = history.get(req.previous_response_id)
            if previous is None:
                raise errors.ApiError(
                    400,
                    f"Previous response '{req.previous_response_id}' is not known to this "
                    f"gateway (it keeps the last {history.capacity} stored responses in memory, "
                    "and none across restarts). Resend the conversation as input items.",
                    "invalid_request_error",
                    "previous_response_id",
                    "previous_response_not_found",
                )
        plan = responses_request.to_chat(req, previous)
        chat = validate(ChatRequest, plan.chat)
        history_items = (previous or []) + _input_items(req)
    elif dialect == "completions":
        chat = validate(ChatRequest, completions.to_chat(validate(CompletionRequest, data)))
    else:
        chat = validate(ChatRequest, data)
    route = table.resolve(chat.model)
    known = plan.signatures if plan else {}

    def lookup(call_id: str) -> str | None:
        return known.get(call_id) or signatures.get(call_id)

    try:
        request = from_chat(chat, route.model, lookup)
    except ApiError as e:
        raise responses_request.rename_param(e, plan) if plan else e from None
    request.dialect = dialect
    if plan:
        request.notes[:0] = plan.notes
    return Exchange(
        dialect=dialect,
        request=request,
        route=route,
        account=pick(route.model, request),
        answer_id=f"{_ID_PREFIX[dialect]}{secrets.token_hex(12)}",
        created=int(time.time()),
        client_body=data,
        signatures=signatures,
        tool_kinds=plan.tool_kinds if plan else {},
        history_items=history_items,
        history=history if dialect == "responses" else None,
    )


def _input_items(req: ResponsesRequest) -> list[dict[str, Any]]:
    if isinstance(req.input, str):
        return [{"type": "message", "role": "user", "content": req.input}]
    return [item.model_dump(exclude_none=True, by_alias=True) for item in req.input]
