"""One client request's trip through the gateway, independent of mitmproxy.

`prepare` parses and validates the client's request, routes the model and builds the Gemini
call; the resulting `Exchange` then turns whatever Gemini answers (whole, streamed, or an
error) into the client's dialect.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from antigravity import errors
from antigravity.accounts import Account, Pool
from antigravity.errors import ApiError
from antigravity.mappers import chat_response
from antigravity.mappers.canonical import CanonicalRequest, Dialect, Event, Failure, ToolCall
from antigravity.mappers.chat_request import from_chat
from antigravity.mappers.gemini_request import gemini_body, gemini_path
from antigravity.mappers.gemini_response import GeminiDecoder, SSESplitter, decode_whole
from antigravity.openai.chat import ChatRequest
from antigravity.openai.parse import load_json_object, validate
from antigravity.routing import Route, RoutingTable
from antigravity.signatures import SignatureStore


@dataclass(slots=True)
class Exchange:
    dialect: Dialect
    request: CanonicalRequest
    route: Route
    account: Account
    answer_id: str
    created: int
    upstream_path: str
    client_body: dict[str, Any] = field(repr=False)
    signatures: SignatureStore = field(repr=False)
    # One entry per upstream attempt, plain data for the inspector (account, status, why).
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stream(self) -> bool:
        return self.request.stream

    def upstream_body(self) -> bytes:
        return json.dumps(gemini_body(self.request), ensure_ascii=False).encode()

    def remember(self, events: list[Event]) -> list[Event]:
        """Keep the thought signatures of tool calls for the turns that will replay them."""
        for event in events:
            if isinstance(event, ToolCall) and event.signature:
                self.signatures.put(event.call_id, event.signature)
        return events

    def whole_answer(self, status: int, body: bytes) -> tuple[int, bytes]:
        """Translate a complete upstream answer (success or Google error) for the client."""
        if status != 200:
            return _error(errors.from_google(status, body))
        answer = chat_response.collect_chat(
            self.remember(decode_whole(body, self.request.n)),
            self.answer_id,
            self.route.requested,
            self.created,
            self.request.n,
            self.request.logprobs,
        )
        if isinstance(answer, Failure):
            return answer.status, json.dumps(chat_response.failure_body(answer)).encode()
        return 200, json.dumps(answer, ensure_ascii=False).encode()

    def reshaper(self) -> StreamReshaper:
        return StreamReshaper(self)


KEEP_BYTES = 256 * 1024


class StreamReshaper:
    """mitmproxy stream callable: Gemini SSE byte pieces in, OpenAI SSE bytes out.

    Receives pieces split at arbitrary byte offsets and a final b"" at the end of the body.
    """

    def __init__(self, exchange: Exchange) -> None:
        self._exchange = exchange
        req = exchange.request
        self._splitter = SSESplitter()
        self._decoder = GeminiDecoder(req.n)
        self._renderer = chat_response.ChatStreamRenderer(
            exchange.answer_id,
            exchange.route.requested,
            exchange.created,
            req.include_usage,
            req.n,
        )
        self.last_activity = time.monotonic()
        self.bytes_out = 0
        # What the client received, kept (bounded) so mitmweb can show the streamed answer.
        self.kept = bytearray()

    def __call__(self, data: bytes) -> bytes | list[bytes]:
        # An empty bytes piece would go out as a zero-length HTTP/1 chunk, which ends the
        # client's body; pieces that complete no event therefore return an empty list.
        self.last_activity = time.monotonic()
        if not data:
            out = self._renderer.render(self._decoder.close()) + self._renderer.close()
        else:
            events = []
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
            out = self._renderer.render(self._exchange.remember(events))
        self.bytes_out += len(out)
        if len(self.kept) < KEEP_BYTES:
            self.kept += out[: KEEP_BYTES - len(self.kept)]
        return out if out else []

    def abort(self, message: str, code: str) -> bytes:
        """The end of a stream the upstream broke off: an error event, then the end marker."""
        if self._renderer.done:
            return b""
        return self._renderer.render([Failure(502, message, code)])


def prepare(
    dialect: Dialect, body: bytes, table: RoutingTable, pool: Pool, signatures: SignatureStore
) -> Exchange:
    """Validate, route and translate a client request; raises ApiError for the client."""
    data = load_json_object(body)
    chat = validate(ChatRequest, data)
    route = table.resolve(chat.model)
    request = from_chat(chat, route.model, signatures.get)
    account = pool.pick()
    if account is None:
        raise ApiError(
            503,
            "No upstream accounts are configured: set GEMINI_API_KEYS (comma-separated Gemini "
            "API keys) before starting the gateway.",
            "server_error",
            None,
            "no_accounts",
        )
    return Exchange(
        dialect=dialect,
        request=request,
        route=route,
        account=account,
        answer_id=f"chatcmpl-{secrets.token_hex(12)}",
        created=int(time.time()),
        upstream_path=gemini_path(route.model, request.stream),
        client_body=data,
        signatures=signatures,
    )


def _error(err: ApiError) -> tuple[int, bytes]:
    return err.status, err.to_bytes()
