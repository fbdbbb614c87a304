"""The emulator's HTTP server: Gemini v1beta and Code Assist routes, OAuth, faults, control."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from . import answers, codeassist
from .answers import Answer
from .errors import (
    GeminiError,
    invalid_argument,
    invalid_key,
    missing_key,
    model_not_found,
    not_found,
)
from .faults import Fault, FaultBook
from .models import MODELS, is_gemini_model
from .oauth import OAuthError, TokenBook
from .recording import RecordedRequest, RequestLog
from .sse import frame, split
from .validation import parse_json, validate_generate_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GENERATE_METHODS = ("generateContent", "streamGenerateContent", "countTokens")
CODE_ASSIST_GENERATE = ("generateContent", "streamGenerateContent")


def _json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, indent=2, ensure_ascii=False).encode()
    return web.Response(status=status, body=body, content_type="application/json", charset="UTF-8")


def _error(error: GeminiError) -> web.Response:
    return _json(error.body(), status=error.code)


@web.middleware
async def _google_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GeminiError as error:
        return _error(error)
    except web.HTTPNotFound:
        return _error(not_found(request.path))


async def _mark(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["x-emulator"] = "antigravity"


async def abort_connection(request: web.Request) -> None:
    """Close the TCP connection abruptly, once what was written so far has left."""
    transport = request.transport
    if transport is None:
        return
    for _ in range(100):
        if transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.01)
    transport.abort()


class Emulator:
    """A Gemini API emulator on loopback: the test double and the offline demo upstream.

    Google accounts: `oauth_accounts` maps each valid refresh token to its Cloud project (None:
    one derived from the token); `/token` trades a refresh token for an access token living
    `token_lifetime` seconds, checking `oauth_client` (client_id, client_secret) when given;
    `token_refreshes[refresh_token]` counts the token requests made with each.
    """

    def __init__(
        self,
        valid_keys: Iterable[str] | None = None,
        oauth_accounts: Mapping[str, str | None] | None = None,
        *,
        oauth_client: tuple[str, str] | None = None,
        token_lifetime: float = 3600.0,
    ) -> None:
        self.valid_keys = frozenset(valid_keys) if valid_keys is not None else None
        self.oauth_client = oauth_client
        self.token_lifetime = token_lifetime
        self._tokens = TokenBook(oauth_accounts)
        self._faults = FaultBook()
        self._log = RequestLog()
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not started: await Emulator.start() first")
        return self._url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._log.all()

    @property
    def faults(self) -> list[Fault]:
        """Faults not yet used up, in the order they will be tried."""
        return self._faults.pending()

    @property
    def token_refreshes(self) -> Mapping[str, int]:
        """Token requests per refresh token (valid or not), for tests to count refreshes."""
        return self._tokens.refreshes

    def add_oauth_account(self, refresh_token: str, project: str | None = None) -> str:
        """Accept `refresh_token` at `/token`; returns the project assigned to it."""
        return self._tokens.add(refresh_token, project)

    def project_of(self, refresh_token: str) -> str | None:
        return self._tokens.project(refresh_token)

    def add_fault(self, *faults: Fault) -> None:
        self._faults.add(*faults)

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset(self) -> None:
        self._faults.clear()
        self._log.clear()
        self._tokens.refreshes.clear()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(middlewares=[_google_errors])
        app.on_response_prepare.append(_mark)
        app.router.add_get("/v1beta/models", self._list_models)
        app.router.add_get("/v1beta/models/{model}", self._get_model)
        app.router.add_post("/v1beta/models/{target}", self._call_model)
        app.router.add_post("/v1internal:{method}", self._code_assist)
        app.router.add_post("/token", self._token)
        app.router.add_get("/__emulator/faults", self._get_faults)
        app.router.add_post("/__emulator/faults", self._post_faults)
        app.router.add_delete("/__emulator/faults", self._delete_faults)
        app.router.add_get("/__emulator/requests", self._get_requests)
        app.router.add_post("/__emulator/reset", self._post_reset)
        self._stopping = asyncio.Event()
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._url = f"http://{shown}:{bound_port}"
        return self._url

    async def stop(self) -> None:
        if self._runner is None:
            return
        assert self._stopping is not None
        self._stopping.set()  # wakes hanging and slow requests so shutdown does not wait
        await self._runner.cleanup()
        self._runner = None

    async def _pause(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if the emulator is stopping."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _record(
        self, request: web.Request, body: Any, model: str | None, key: str | None = None
    ) -> str | None:
        if key is None:
            key = request.headers.get("x-goog-api-key") or request.query.get("key") or None
        self._log.add(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                key=key,
                model=model,
            )
        )
        return key

    def _authorize(self, key: str | None) -> None:
        if not key:
            raise missing_key()
        if self.valid_keys is not None and key not in self.valid_keys:
            raise invalid_key()

    async def _list_models(self, request: web.Request) -> web.Response:
        self._authorize(self._record(request, None, None))
        return _json({"models": list(MODELS.values())})

    async def _get_model(self, request: web.Request) -> web.Response:
        model = request.match_info["model"]
        self._authorize(self._record(request, None, model))
        if model not in MODELS:
            raise model_not_found(model)
        return _json(MODELS[model])

    async def _call_model(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["target"].partition(":")
        body = parse_json(await request.read())
        key = self._record(request, body, model)
        self._authorize(key)
        if method not in GENERATE_METHODS:
            raise not_found(request.path)
        if not is_gemini_model(model):
            raise model_not_found(model, method)
        if method == "countTokens":
            return self._count_tokens(body)
        answer = answers.compose(model, validate_generate_request(body, model))
        fault = self._faults.take(key, model)
        return await self._answer(request, method, answer, fault, model)

    async def _answer(
        self,
        request: web.Request,
        method: str,
        answer: Answer,
        fault: Fault | None,
        model: str,
        wrap: bool = False,
    ) -> web.StreamResponse:
        """Send `answer` (or what `fault` makes of it); `wrap`: as Code Assist does."""
        if fault is not None:
            if error := fault.error(model, code_assist=wrap):
                raise error
            if fault.kind == "hang" and await self._pause(fault.seconds):
                await abort_connection(request)
                return web.Response()
            if fault.kind == "drop" and (
                method != "streamGenerateContent" or not fault.after_chunks
            ):
                await abort_connection(request)
                return web.Response()
            answer = _reshape(answer, fault)
        if method == "generateContent":
            return await self._whole(answer, fault, wrap)
        return await self._stream(request, answer, fault, wrap)

    async def _code_assist(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        body = parse_json(await request.read())
        named = body.get("model") if isinstance(body, dict) else None
        model_named = named if isinstance(named, str) else None
        try:
            holder = self._tokens.holder(request.headers.get("authorization"))
        except GeminiError:
            self._record(request, body, model_named, None)
            raise
        self._record(request, body, model_named, holder)
        project = self._tokens.project(holder) or ""
        if method == "loadCodeAssist":
            return _json(codeassist.load_code_assist(body, project))
        if method not in CODE_ASSIST_GENERATE:
            raise not_found(request.path)
        model, inner = codeassist.validate_envelope(body, project)
        answer = answers.compose(model, inner)
        fault = self._faults.take(holder, model)
        return await self._answer(request, method, answer, fault, model, wrap=True)

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self._record(request, form, None, form.get("refresh_token") or None)
        try:
            answer = self._tokens.issue(form, self.token_lifetime, self.oauth_client)
        except OAuthError as error:
            return _json(error.body(), status=error.status)
        return _json(answer)

    def _count_tokens(self, body: Any) -> web.Response:
        if not isinstance(body, dict):
            raise invalid_argument("Invalid JSON payload received. Unexpected token.")
        request = body.get("generateContentRequest") or body
        details = answers.prompt_details(request)
        return _json(
            {
                "totalTokens": sum(d["tokenCount"] for d in details),
                "promptTokensDetails": details,
            }
        )

    async def _whole(self, answer: Answer, fault: Fault | None, wrap: bool) -> web.Response:
        if fault is not None and fault.kind == "slow":
            await self._pause(fault.delay_ms / 1000)
        whole = answers.to_response(answer)
        response = _json(codeassist.wrap(whole) if wrap else whole)
        if fault is not None and fault.kind == "cut":
            assert isinstance(response.body, bytes)
            response.body = response.body[: len(response.body) // 2]
        return response

    async def _stream(
        self, request: web.Request, answer: Answer, fault: Fault | None, wrap: bool
    ) -> web.StreamResponse:
        kind = fault.kind if fault is not None else None
        chunks = answers.to_chunks(answer)
        if fault is not None and kind == "cut":
            chunks = [answers.without_finish(c) for c in chunks[: fault.after_chunks]]
        elif fault is not None and kind == "drop":
            chunks = chunks[: fault.after_chunks]
        if wrap:
            chunks = [codeassist.wrap(c) for c in chunks]
        sse = request.query.get("alt") == "sse"
        response = web.StreamResponse()
        response.content_type = "text/event-stream" if sse else "application/json"
        response.charset = "UTF-8"
        await response.prepare(request)
        rng = random.Random(answer.response_id)
        try:
            for i, chunk in enumerate(chunks):
                if (
                    fault is not None
                    and kind == "slow"
                    and await self._pause(fault.delay_ms / 1000)
                ):
                    await abort_connection(request)
                    return response
                data = frame(chunk) if sse else _array_item(chunk, first=i == 0)
                for piece in split(data, rng):
                    await response.write(piece)
            if kind == "drop":
                await abort_connection(request)
                return response
            if not sse:
                await response.write(b"]")
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away; nothing left to tell it
        return response

    async def _get_faults(self, request: web.Request) -> web.Response:
        return _json({"faults": [f.model_dump() for f in self.faults]})

    async def _post_faults(self, request: web.Request) -> web.Response:
        data = parse_json(await request.read())
        try:
            faults = [Fault.model_validate(item) for item in _as_list(data)]
        except ValidationError as error:
            raise invalid_argument(f"Invalid fault: {error}") from None
        self.add_fault(*faults)
        return await self._get_faults(request)

    async def _delete_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return _json({"faults": []})

    async def _get_requests(self, request: web.Request) -> web.Response:
        return _json([r.to_json() for r in self.requests])

    async def _post_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return _json({})


def _as_list(data: Any) -> list[Any]:
    return data if isinstance(data, list) else [data]


def _array_item(chunk: dict[str, Any], first: bool) -> bytes:
    """Without `alt=sse` Gemini streams one JSON array, element by element."""
    return (b"[" if first else b",\r\n") + json.dumps(chunk, indent=2, ensure_ascii=False).encode()


def _reshape(answer: Answer, fault: Fault) -> Answer:
    if fault.kind == "finish":
        return answers.with_finish(answer, fault.reason)
    if fault.kind == "blocked":
        return answers.blocked(answer)
    if fault.kind == "empty":
        return answers.empty(answer)
    return answer
