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

from mitmproxy import command, connection, ctx, exceptions, http
from mitmproxy.proxy.mode_specs import ProxyMode

from antigravity import auth, endpoints, errorpage, inspect, media
from antigravity.accounts import Account, AccountsFile, accounts_from_env, mask
from antigravity.codeassist import CodeAssistError
from antigravity.dispatch import Answer, Dispatcher
from antigravity.errors import ApiError
from antigravity.exchange import Exchange, StreamReshaper, prepare
from antigravity.history import ResponseHistory
from antigravity.options import DEFAULT_MAPPINGS, Settings, declare, settings
from antigravity.pool import Pool
from antigravity.quota import Verdict, network_error
from antigravity.routing import MappingsFile
from antigravity.signatures import SignatureStore

log = logging.getLogger("antigravity")

_CLIENT_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")
_CORS = {
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "x-request-id, x-mapped-model, x-account-email",
}
_CORS_FIELDS = tuple((k.encode(), v.encode()) for k, v in _CORS.items())


@dataclass(slots=True)
class Live:
    """What the gateway tracks for a flow while its upstream call is under way."""

    exchange: Exchange
    request_id: str
    base_url: str  # the reverse target: where API-key attempts go
    started: float = field(default_factory=time.monotonic)
    reshaper: StreamReshaper | None = None
    timer: asyncio.TimerHandle | None = None
    timed_out: bool = False


class Gateway:
    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.mappings: MappingsFile | None = None
        self.auth_mode = auth.AuthMode.OFF
        self.dispatch = Dispatcher(Pool([]))
        self.accounts_file: AccountsFile | None = None
        self._env_accounts: list[Account] = []
        self._live: dict[str, Live] = {}
        self._reported_error: str | None = None
        self._reported_accounts_error: str | None = None
        self._accounts_loaded = False
        self.signatures = SignatureStore()
        self.history = ResponseHistory()

    # -- lifecycle ------------------------------------------------------------------------

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        declare(loader)
        errorpage.install()
        self._env_accounts = accounts_from_env(os.environ.get("GEMINI_API_KEYS", ""))
        self.dispatch.configure(None, self._env_accounts)

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if opts.connection_strategy != "lazy":
            log.warning(
                "antigravity: connection_strategy=lazy is required (an eager upstream dial "
                "drops clients even on local routes); switching it on."
            )
            opts.update(connection_strategy="lazy")  # configures again, with the fix
            return
        if opts.stream_large_bodies:
            log.warning(
                "antigravity: stream_large_bodies would send request bodies upstream before "
                "they are translated; switching it off."
            )
            opts.update(stream_large_bodies=None)
            return
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
        self.dispatch.max_attempts = self.settings.max_attempts
        self.dispatch.timeout = self.settings.upstream_timeout
        if "antigravity_accounts" in updated or not self._accounts_loaded:
            self._load_accounts()

    def _load_accounts(self) -> None:
        assert self.settings is not None
        path = self.settings.accounts
        self.accounts_file = AccountsFile(path) if path else None
        if self.accounts_file and self.accounts_file.error:
            raise exceptions.OptionsError(f"antigravity_accounts: {self.accounts_file.error}")
        config = self.accounts_file.config if self.accounts_file else None
        self.dispatch.configure(config, self._env_accounts)
        self._accounts_loaded = True
        accounts = self.dispatch.pool.accounts
        if accounts:
            shown = ", ".join(f"{a.label} ({a.kind}, {a.masked})" for a in accounts)
            log.info(f"antigravity: {len(accounts)} Gemini account(s): {shown}")
        else:
            log.warning(
                "antigravity: no Gemini accounts; set GEMINI_API_KEYS=key1,key2 or "
                "antigravity_accounts (model requests get 503 until then)"
            )

    @command.command("antigravity.accounts")
    def accounts(self) -> str:
        """The account pool: cooldowns, disabled accounts and counters."""
        text = self.dispatch.pool.describe()
        log.info(text)
        return text

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
                    session = self.dispatch.session()
                    notes = await media.inline_remote(exchange.request.contents, session)
                    exchange.request.notes.extend(notes)
                await self._forward(flow, exchange)
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

    async def response(self, flow: http.HTTPFlow) -> None:
        live = self._live.pop(flow.id, None)
        if live is None or flow.response is None:
            return
        self._stop_timer(live)
        errorpage.forget(flow.client_conn.id)
        resp, exchange = flow.response, live.exchange
        if live.reshaper is not None:  # streamed through: the first attempt succeeded
            self.dispatch.record(exchange, Answer(200, {}, b""))
        else:
            answer = Answer(resp.status_code, resp.headers, resp.content or b"")
            await self._deliver(flow, live, self.dispatch.record(exchange, answer), answer)
        inspect.record_answer(flow, exchange, flow.response.status_code, live.reshaper)

    def error(self, flow: http.HTTPFlow) -> None:
        live = self._live.pop(flow.id, None)
        if live is None:
            return
        self._stop_timer(live)
        self._mask_upstream_key(flow, live)
        problem = "timed out" if live.timed_out else flow.error.msg if flow.error else "failed"
        self.dispatch.record(live.exchange, network_error(problem))
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
        # done() must stay sync; the HTTP client closes on the running loop.
        asyncio.get_event_loop().create_task(self.dispatch.close())

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
        self._reload_accounts()
        return prepare(
            endpoint.kind, body, table, self.dispatch.pick, self.signatures, self.history
        )

    def _reload_accounts(self) -> None:
        file = self.accounts_file
        if file is None:
            return
        if file.maybe_reload():
            self.dispatch.configure(file.config, self._env_accounts)
            log.info(f"antigravity: reloaded {file.path}")
        elif file.error and file.error != self._reported_accounts_error:
            log.warning(f"antigravity: {file.error}; keeping the last good accounts")
        self._reported_accounts_error = file.error

    def _reload_mappings(self) -> None:
        assert self.mappings is not None
        if self.mappings.maybe_reload():
            log.info(f"antigravity: reloaded {self.mappings.path}")
        elif self.mappings.error and self.mappings.error != self._reported_error:
            log.warning(f"antigravity: {self.mappings.error}; keeping the last good mappings")
        self._reported_error = self.mappings.error

    async def _forward(self, flow: http.HTTPFlow, exchange: Exchange) -> None:
        """Rewrite the flow into the first attempt; mitmproxy sends it upstream."""
        req = flow.request
        live = Live(exchange, _request_id(), f"{req.scheme}://{req.host}:{req.port}")
        try:
            call = await self.dispatch.call_for(exchange, live.base_url)
        except CodeAssistError as e:  # no token or project for this account: the next one
            inspect.record_request(flow, exchange)
            await self._deliver(flow, live, self.dispatch.record(exchange, e.verdict), None)
            assert flow.response is not None
            inspect.record_answer(flow, exchange, flow.response.status_code)
            return
        if call.url.startswith(live.base_url + "/"):
            req.path = call.url[len(live.base_url) :]  # same host: cheaper than a new URL
        else:
            req.url = call.url  # another host (Code Assist)
        req.method = "POST"
        req.headers = http.Headers(
            [
                (b"host", (req.host_header or req.host).encode()),
                (b"accept-encoding", b"identity"),
                (b"user-agent", b"antigravity-gateway"),
                *((k.encode(), v.encode()) for k, v in call.headers.items()),
            ]
        )
        req.content = call.body
        self._live[flow.id] = live
        self._arm_timer(flow, live)
        inspect.record_request(flow, exchange)

    async def _deliver(
        self, flow: http.HTTPFlow, live: Live, verdict: Verdict, answer: Answer | None
    ) -> None:
        """Retry if another account could do better, then give the client the outcome."""
        exchange = live.exchange
        try:
            if answer is None or (answer.status != 200 and verdict.retryable):
                answer = await self.dispatch.retry(exchange, live.base_url, verdict, answer)
        except ApiError as e:
            self._replace_answer(flow, live, e.status, e.to_bytes(), dict(e.headers))
            return
        if exchange.stream and answer.status == 200:
            # A retried stream is reshaped and delivered whole (see README).
            body = exchange.stream_whole(answer.body)
            self._replace_answer(flow, live, 200, body, {}, "text/event-stream")
        else:
            status, body = exchange.whole_answer(answer.status, answer.body)
            self._replace_answer(flow, live, status, body)

    def _replace_answer(
        self,
        flow: http.HTTPFlow,
        live: Live,
        status: int,
        body: bytes,
        extra: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Give the client this answer (translated, retried or an error) in place of Gemini's."""
        headers = self._client_headers(flow, live, content_type, streamed=False)
        headers.update(extra or {})
        if flow.response is None:
            flow.response = http.Response.make(status, body, headers)
            return
        flow.response.status_code = status
        flow.response.reason = ""
        flow.response.headers = headers
        flow.response.content = body

    def _client_headers(
        self, flow: http.HTTPFlow, live: Live, content_type: str, streamed: bool = True
    ) -> http.Headers:
        # Built from raw fields: mitmproxy's item-by-item header setter is slow per request.
        fields = [(b"content-type", content_type.encode())]
        if content_type == "text/event-stream":
            fields.append((b"cache-control", b"no-cache"))
            if streamed and flow.request.http_version.startswith("HTTP/1"):
                fields.append((b"transfer-encoding", b"chunked"))
        fields += [
            (b"x-request-id", live.request_id.encode()),
            (b"x-mapped-model", live.exchange.route.model.encode()),
            (b"x-account-email", live.exchange.account.label.encode()),
            *_CORS_FIELDS,
        ]
        return http.Headers(fields)

    def _mask_upstream_key(self, flow: http.HTTPFlow, live: Live) -> None:
        headers = flow.request.headers
        if "x-goog-api-key" in headers:
            headers["x-goog-api-key"] = live.exchange.account.masked
        if "authorization" in headers:  # a Code Assist access token
            headers["authorization"] = "Bearer " + mask(headers["authorization"])

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
