"""A scripted Gemini: answers each upstream attempt with the next answer of a scenario.

It knows nothing of Gemini's rules (that is the emulator's job); it answers exactly what the
scenario says, in order, and keeps what each attempt sent so the runner can check it.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from antigravity.emulator.server import abort_connection
from antigravity.emulator.sse import frame, split
from antigravity.replay.scenario import Answer, Scenario, answer_body, answer_events, merge_events


@dataclass
class Attempt:
    """What one upstream attempt sent."""

    path: str
    account: str | None
    body: Any


class ScriptedUpstream:
    def __init__(self, keys: list[str]) -> None:
        self._keys = keys
        self._answers: deque[tuple[Scenario, Answer]] = deque()
        self._lock = threading.Lock()
        self.attempts: list[Attempt] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    def script(self, scenario: Scenario, answers: list[Answer]) -> None:
        """Answer the next attempts with these, in order; earlier unused answers are dropped."""
        with self._lock:
            self._answers = deque((scenario, a) for a in answers)
            self.attempts = []

    async def start(self, host: str = "127.0.0.1") -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        key = request.headers.get("x-goog-api-key")
        account = f"key-{self._keys.index(key) + 1}" if key in self._keys else None
        with self._lock:
            self.attempts.append(Attempt(request.path_qs, account, body))
            number = len(self.attempts)
            scripted = self._answers.popleft() if self._answers else None
        if scripted is None:
            return _google_error(
                500, f"replay: the scenario scripts no answer for attempt {number}"
            )
        scenario, answer = scripted
        events = answer_events(scenario, answer)
        streaming = request.path.endswith(":streamGenerateContent")
        if answer.status == 200 and streaming:
            if events is None:
                events = [answer_body(scenario, answer)]
            return await self._stream(request, answer, events)
        if answer.end == "drop":
            await abort_connection(request)
            return web.Response()
        whole = merge_events(events) if events is not None else answer_body(scenario, answer)
        text = whole if isinstance(whole, str) else json.dumps(whole, ensure_ascii=False)
        headers = {"content-type": "application/json; charset=UTF-8", **answer.headers}
        return web.Response(status=answer.status, body=text.encode(), headers=headers)

    async def _stream(
        self, request: web.Request, answer: Answer, events: list[Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"content-type": "text/event-stream; charset=UTF-8", **answer.headers}
        )
        await response.prepare(request)
        # Odd piece boundaries, as on a real network; seeded, so every run is the same.
        rng = random.Random(len(events))
        try:
            for event in events:
                for piece in split(frame(event), rng):
                    await response.write(piece)
            if answer.end == "drop":
                await abort_connection(request)
                return response
            await response.write_eof()
        except ConnectionError:
            pass  # the gateway went away; nothing left to tell it
        return response


def _google_error(status: int, message: str) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": "INTERNAL"}}
    return web.json_response(body, status=status)


@contextmanager
def running(keys: list[str], timeout: float = 10) -> Iterator[ScriptedUpstream]:
    """A started scripted upstream on its own event loop in a daemon thread."""
    upstream = ScriptedUpstream(keys)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="replay-upstream", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(upstream.start(), loop).result(timeout)
        yield upstream
    finally:
        try:
            asyncio.run_coroutine_threadsafe(upstream.stop(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()
