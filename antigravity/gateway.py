"""The mitmproxy addon: hooks only, each delegating to the module that does the work.

requestheaders  authenticate the client, mask its key before anything can show it
request         answer local routes, or translate the request into a Gemini call
responseheaders streaming answers get a reshaping stream callable
response        whole answers and upstream errors are translated
error           the upstream failed; mitmproxy answers with our JSON error page
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
import zlib
from dataclasses import dataclass, field

import aiohttp
from mitmproxy import connection, ctx, exceptions, http
from mitmproxy.proxy.mode_specs import ProxyMode

from antigravity import auth, endpoints, errorpage, inspect, media
from antigravity.accounts import Pool, accounts_from_env, mask
from antigravity.errors import ApiError
from antigravity.exchange import Exchange, StreamReshaper, prepare
from antigravity.history import ResponseHistory
from antigravity.options import DEFAULT_MAPPINGS, Settings, declare, settings
from antigravity.routing import MappingsFile
from antigravity.signatures import SignatureStore

log = logging.getLogger("antigravity")

_CLIENT_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")
_CORS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "x-request-id, x-mapped-model, x-account-email",
}


@dataclass(slots=True)
class Live:
    """What the gateway tracks for a flow while its upstream call is under way."""

    exchange: Exchange
    request_id: str
    started: float = field(default_factory=time.monotonic)
    reshaper: StreamReshaper | None = None
    timer: asyncio.TimerHandle | None = None
    timed_out: bool = False


class Gateway:
    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.mappings: MappingsFile | None = None
        self.auth_mode = auth.AuthMode.OFF
        self.pool = Pool([])
        self._live: dict[str, Live] = {}
        self._reported_error: str | None = None
        self.signatures = SignatureStore()
        self.history = ResponseHistory()
        self._http: aiohttp.ClientSession | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        declare(loader)
        errorpage.install()
        self.pool = Pool(accounts_from_env(os.environ.get("GEMINI_API_KEYS", "")))
        if self.pool.accounts:
            shown = ", ".join(f"{a.label} ({a.masked})" for a in self.pool.accounts)
            log.info(f"antigravity: {len(self.pool)} Gemini account(s): {shown}")
        else:
            log.warning(
                "antigravity: no Gemini accounts; set GEMINI_API_KEYS=key1,key2 "
                "(model requests will get 503 until then)"
            )

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if opts.connection_strategy != "lazy":
            log.warning(
                "antigravity: connection_strategy=lazy is required (an eager upstream dial "
                "drops clients even on local routes); switching it on."
            )
            opts.update(connection_strategy="lazy")
        if opts.stream_large_bodies:
            log.warning(
                "antigravity: stream_large_bodies would send request bodies upstream before "
                "they are translated; switching it off."
            )
            opts.update(stream_large_bodies=None)
        self.settings = settings(opts)
        if "antigravity_mappings" in updated or self.mappings is None:
            path = self.settings.mappings
            self.mappings = MappingsFile(path)
            if self.mappings.error:
                if path.exists() or path != DEFAULT_MAPPINGS:
                    raise exceptions.OptionsError(f"antigravity_mappings: {self.mappings.error}")
                log.warning(f"antigravity: {path} not found; using the built-in model routes")
            self._reported_error = self.mappings.error
        self.auth_mode = _effective_auth(self.settings, opts)

    # -- hooks ----------------------------------------------------------------------------

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.is_replay or flow.response or self.settings is None:
            return
        headers = flow.request.headers
        denied = None
        if flow.request.method != "OPTIONS":  # browsers send no credentials on preflights
            denied = auth.check(self.auth_mode, self.settings.api_key, headers, flow.request.path)
        for name in _CLIENT_KEY_HEADERS:
            if name in headers:
                headers[name] = mask(headers[name])
        if denied is None and _declared_length(flow) > self.settings.max_body:
            denied = _too_large(self.settings.max_body)
        if denied is not None:
            self._answer_error(flow, denied)

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.is_replay or flow.response or self.settings is None:
            return
        try:
            endpoint = endpoints.classify(flow.request.method, flow.request.path)
            exchange = self._serve(flow, endpoint)
            if exchange is not None:
                if exchange.request.remote_media:
                    notes = await media.inline_remote(exchange.request.contents, self._session())
                    exchange.request.notes.extend(notes)
                self._forward(flow, exchange)
        except ApiError as e:
            self._answer_error(flow, e)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        live = self._live.get(flow.id)
        if live is None or flow.response is None:
            return
        self._mask_upstream_key(flow, live)
        live.started = time.monotonic()
        if live.exchange.stream and flow.response.status_code == 200:
            live.reshaper = live.exchange.reshaper()
            flow.response.stream = live.reshaper
            flow.response.headers = self._client_headers(flow, live, "text/event-stream")
            errorpage.end_streams_with(flow.client_conn.id, lambda: self._stream_ending(live))

    def response(self, flow: http.HTTPFlow) -> None:
        live = self._live.pop(flow.id, None)
        if live is None or flow.response is None:
            return
        self._stop_timer(live)
        errorpage.forget(flow.client_conn.id)
        resp = flow.response
        if live.reshaper is None:
            status, body = live.exchange.whole_answer(resp.status_code, resp.content or b"")
            resp.status_code = status
            resp.reason = ""
            resp.headers = self._client_headers(flow, live, "application/json")
            resp.content = body
        inspect.record_answer(flow, live.exchange, resp.status_code, live.reshaper)

    def error(self, flow: http.HTTPFlow) -> None:
        live = self._live.pop(flow.id, None)
        if live is None:
            return
        self._stop_timer(live)
        self._mask_upstream_key(flow, live)
        inspect.record_failure(
            flow, live.exchange, flow.error.msg if flow.error else "", live.timed_out
        )

    def client_disconnected(self, client: connection.Client) -> None:
        # Whatever errorpage still holds for this connection can no longer be sent.
        errorpage.forget(client.id)

    def done(self) -> None:
        for live in self._live.values():
            self._stop_timer(live)
        self._live.clear()
        if self._http is not None and not self._http.closed:
            # done() must stay sync; the session's connector closes on the running loop.
            asyncio.get_event_loop().create_task(self._http.close())
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(headers={"user-agent": "antigravity-gateway"})
        return self._http

    # -- work -----------------------------------------------------------------------------

    def _serve(self, flow: http.HTTPFlow, endpoint: endpoints.Endpoint) -> Exchange | None:
        """Answer a local route, or return the exchange to send upstream."""
        assert self.mappings is not None and self.settings is not None
        if endpoint.kind == "preflight":
            self._answer(flow, 204, b"", _preflight_headers(flow))
            return None
        if endpoint.kind == "health":
            self._answer_json(flow, 200, {"status": "ok"})
            return None
        self._reload_mappings()
        table = self.mappings.table
        if endpoint.kind == "models":
            self._answer_json(flow, 200, endpoints.models_list(table))
            return None
        if endpoint.kind == "model":
            assert endpoint.model is not None
            self._answer_json(flow, 200, endpoints.model_detail(table, endpoint.model))
            return None
        body = _client_body(flow, self.settings.max_body)
        assert endpoint.kind in ("chat", "completions", "responses")
        return prepare(
            endpoint.kind,
            body,
            table,
            lambda model: self.pool.pick(),
            self.signatures,
            self.history,
        )

    def _reload_mappings(self) -> None:
        assert self.mappings is not None
        if self.mappings.maybe_reload():
            log.info(f"antigravity: reloaded {self.mappings.path}")
        elif self.mappings.error and self.mappings.error != self._reported_error:
            log.warning(f"antigravity: {self.mappings.error}; keeping the last good mappings")
        self._reported_error = self.mappings.error

    def _forward(self, flow: http.HTTPFlow, exchange: Exchange) -> None:
        """Rewrite the flow into the Gemini call; mitmproxy sends it upstream."""
        req = flow.request
        req.method = "POST"
        req.path = exchange.upstream_path
        req.headers = http.Headers(
            host=req.headers.get("host", req.host),
            content_type="application/json",
            accept_encoding="identity",
            user_agent="antigravity-gateway",
            x_goog_api_key=exchange.account.secret,
        )
        req.content = exchange.upstream_body()
        live = Live(exchange, _request_id())
        self._live[flow.id] = live
        self._arm_timer(flow, live)
        inspect.record_request(flow, exchange)

    def _client_headers(self, flow: http.HTTPFlow, live: Live, content_type: str) -> http.Headers:
        h = http.Headers(content_type=content_type)
        if content_type == "text/event-stream":
            h["cache-control"] = "no-cache"
            if flow.request.http_version.startswith("HTTP/1"):
                h["transfer-encoding"] = "chunked"
        h["x-request-id"] = live.request_id
        h["x-mapped-model"] = live.exchange.route.model
        h["x-account-email"] = live.exchange.account.label
        h.update(_CORS)
        return h

    def _mask_upstream_key(self, flow: http.HTTPFlow, live: Live) -> None:
        if "x-goog-api-key" in flow.request.headers:
            flow.request.headers["x-goog-api-key"] = live.exchange.account.masked

    # -- upstream timeout -----------------------------------------------------------------

    def _arm_timer(self, flow: http.HTTPFlow, live: Live, delay: float | None = None) -> None:
        assert self.settings is not None
        loop = asyncio.get_running_loop()
        live.timer = loop.call_later(
            delay if delay is not None else self.settings.upstream_timeout,
            self._check_timeout,
            flow,
        )

    def _check_timeout(self, flow: http.HTTPFlow) -> None:
        live = self._live.get(flow.id)
        if live is None or self.settings is None:
            return
        last = live.reshaper.last_activity if live.reshaper else live.started
        idle = time.monotonic() - last
        if idle < self.settings.upstream_timeout:
            self._arm_timer(flow, live, self.settings.upstream_timeout - idle)
            return
        live.timed_out = True
        if flow.response is None:
            errorpage.answer_with(
                flow.client_conn.id,
                ApiError(
                    504,
                    f"Gemini did not answer within {self.settings.upstream_timeout:g} s "
                    "(antigravity_upstream_timeout).",
                    "server_error",
                    None,
                    "upstream_timeout",
                ),
            )
        _close_upstream(flow)

    def _stream_ending(self, live: Live) -> bytes:
        assert live.reshaper is not None and self.settings is not None
        if live.timed_out:
            message = (
                f"Gemini sent nothing for {self.settings.upstream_timeout:g} s "
                "(antigravity_upstream_timeout); the stream was ended."
            )
            return live.reshaper.abort(message, "upstream_timeout")
        return live.reshaper.abort(
            "The connection to Gemini broke off before the answer was complete.",
            "upstream_stream_broken",
        )

    @staticmethod
    def _stop_timer(live: Live) -> None:
        if live.timer is not None:
            live.timer.cancel()
            live.timer = None

    # -- local answers --------------------------------------------------------------------

    def _answer_json(self, flow: http.HTTPFlow, status: int, obj: object) -> None:
        self._answer(flow, status, json.dumps(obj).encode(), {"content-type": "application/json"})

    def _answer_error(self, flow: http.HTTPFlow, err: ApiError) -> None:
        headers = {"content-type": "application/json", **dict(err.headers)}
        self._answer(flow, err.status, err.to_bytes(), headers)
        inspect.record_local_error(flow, err)

    @staticmethod
    def _answer(flow: http.HTTPFlow, status: int, body: bytes, headers: dict[str, str]) -> None:
        flow.response = http.Response.make(
            status, body, {**headers, "x-request-id": _request_id(), **_CORS}
        )


def _effective_auth(s: Settings, opts) -> auth.AuthMode:  # type: ignore[no-untyped-def]
    """`auto` looks at every address the proxy listens on: one beyond loopback turns auth on."""
    hosts = [ProxyMode.parse(m).listen_host(opts.listen_host) for m in opts.mode]
    modes = {auth.effective_mode(s.auth_mode, host) for host in hosts or [opts.listen_host]}
    # Only `auto` can differ per address, and only between off and all_except_health.
    modes.discard(auth.AuthMode.OFF)
    mode = modes.pop() if modes else auth.AuthMode.OFF
    if mode != auth.AuthMode.OFF and not s.api_key:
        raise exceptions.OptionsError(
            f"antigravity_auth_mode={s.auth_mode.value} requires a key here (the proxy listens "
            "beyond loopback): set antigravity_api_key, listen on 127.0.0.1, or set "
            "antigravity_auth_mode=off."
        )
    return mode


def _request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def _declared_length(flow: http.HTTPFlow) -> int:
    try:
        return int(flow.request.headers.get("content-length", "0"))
    except ValueError:
        return 0


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body is larger than {limit} bytes (antigravity_max_body).",
        "invalid_request_error",
        None,
        "request_too_large",
    )


def _client_body(flow: http.HTTPFlow, limit: int) -> bytes:
    """The decoded request body, never inflated beyond `limit` (compressed bodies included)."""
    raw = flow.request.raw_content or b""
    if len(raw) > limit:
        raise _too_large(limit)
    encoding = flow.request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "identity":
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ApiError(
            415,
            f"Unsupported content-encoding '{encoding}'; send the body plain, gzip or deflate.",
            "invalid_request_error",
            None,
            "unsupported_encoding",
        )
    for wbits in (47, -15):  # gzip or zlib (auto-detected), then raw deflate
        inflater = zlib.decompressobj(wbits=wbits)
        try:
            body = inflater.decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(body) > limit:
            raise _too_large(limit)
        if inflater.eof:
            return body
    raise ApiError(
        400,
        f"The request body could not be decoded as {encoding}.",
        "invalid_request_error",
        None,
        "invalid_body",
    )


def _preflight_headers(flow: http.HTTPFlow) -> dict[str, str]:
    asked = flow.request.headers.get("access-control-request-headers", "")
    return {
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": asked or "authorization, content-type, x-api-key",
        "access-control-max-age": "86400",
    }


def _close_upstream(flow: http.HTTPFlow) -> None:
    """Close a flow's upstream connection; mitmproxy then fails the flow (see errorpage)."""
    proxyserver = ctx.master.addons.get("proxyserver")
    handler = proxyserver.connections.get(flow.client_conn.id) if proxyserver else None
    if handler is not None and flow.server_conn in handler.transports:
        handler.close_connection(flow.server_conn)
