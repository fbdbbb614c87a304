"""The Gateway addon in a mitmproxy test context, and flows shaped like what clients send."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import connection, ctx, http
from mitmproxy.addons.proxyserver import Proxyserver
from mitmproxy.net.http import http1
from mitmproxy.options import Options
from mitmproxy.proxy.commands import StartHook
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import (
    ErrorCode,
    HttpErrorHook,
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
    HttpResponseHook,
    ResponseProtocolError,
)
from mitmproxy.proxy.layers.http._http1 import Http1Server
from mitmproxy.test import taddons, tflow, tutils

from antigravity.gateway import Gateway

ACCOUNT_KEY = "AIzaSy-account-secret-0001"
CLIENT_KEY = "sk-gateway-client-secret-9876"
LOOPBACK = "reverse:http://127.0.0.1:1@127.0.0.1:8045"
LAN = "reverse:http://127.0.0.1:1@0.0.0.0:8045"
MAPPINGS = """\
models:
  - gemini-2.5-pro
mappings:
  gpt-4o: gemini-2.5-flash
  team-fast: gemini-2.5-flash-lite
  "claude-*": gemini-2.5-pro
"""
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    path = tmp_path / "mappings.yaml"
    path.write_text(MAPPINGS)
    return path


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


@contextmanager
def running(gateway: Gateway, mappings: Path) -> Iterator[taddons.context]:
    """The gateway loaded (reading GEMINI_API_KEYS now) and configured to listen on loopback.

    Proxyserver declares `mode` and `connection_strategy`, which the gateway reads.
    """
    with taddons.context(Proxyserver(), gateway) as tctx:
        tctx.configure(gateway, antigravity_mappings=str(mappings), mode=[LOOPBACK])
        # Hook errors other than OptionsError are only logged; fail here instead.
        assert gateway.settings is not None
        yield tctx
        gateway.done()


@pytest.fixture
async def tctx(
    gateway: Gateway, mappings: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[taddons.context]:
    """One account, the test mappings, auth off. Async: hooks arm timers on the running loop."""
    monkeypatch.setenv("GEMINI_API_KEYS", ACCOUNT_KEY)
    with running(gateway, mappings) as tctx:
        yield tctx


def client_flow(method: str, path: str, body: bytes = b"", /, **headers: str) -> http.HTTPFlow:
    """A flow as mitmproxy hands it to addons: client request only, nothing upstream yet.

    Header names are given as keywords, `_` standing for `-`.
    """
    fields = {"host": "127.0.0.1:8045", "content-length": str(len(body))}
    fields.update((name.replace("_", "-"), value) for name, value in headers.items())
    req = tutils.treq(
        method=method.encode(),
        path=path.encode(),
        host="127.0.0.1",
        port=1,
        headers=http.Headers([(k.encode(), v.encode()) for k, v in fields.items()]),
        content=body,
    )
    return tflow.tflow(req=req)


def chat_flow(body: dict[str, Any] | bytes, /, **headers: str) -> http.HTTPFlow:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client_flow(
        "POST", "/v1/chat/completions", raw, content_type="application/json", **headers
    )


_HOOKS: dict[str, type[StartHook]] = {
    hook.name: hook
    for hook in (
        HttpRequestHeadersHook,
        HttpRequestHook,
        HttpResponseHeadersHook,
        HttpResponseHook,
        HttpErrorHook,
    )
}


async def run(gateway: Gateway, hook: str, flow: http.HTTPFlow) -> None:
    """Call one of the gateway's hooks as mitmproxy does (awaited if it is async)."""
    await ctx.master.addons.invoke_addon(gateway, _HOOKS[hook](flow))


async def send(gateway: Gateway, flow: http.HTTPFlow) -> http.HTTPFlow:
    """The client's side of the hooks: headers, then the whole request."""
    await run(gateway, "requestheaders", flow)
    await run(gateway, "request", flow)
    return flow


async def answer(gateway: Gateway, method: str, path: str, /, **headers: str) -> http.Response:
    """The gateway's own answer to a request that has no body."""
    f = await send(gateway, client_flow(method, path, **headers))
    assert f.response is not None
    return f.response


async def upstream_answers(
    gateway: Gateway,
    flow: http.HTTPFlow,
    status: int,
    body: bytes,
    content_type: str = "application/json",
) -> http.HTTPFlow:
    """Gemini's side of the hooks for a whole (not streamed) answer."""
    flow.response = http.Response.make(status, body, {"content-type": content_type})
    await run(gateway, "responseheaders", flow)
    await run(gateway, "response", flow)
    return flow


def json_body(flow: http.HTTPFlow) -> Any:
    assert flow.response is not None
    assert flow.response.headers["content-type"] == "application/json"
    return json.loads(flow.response.content or b"")


def error_of(flow: http.HTTPFlow) -> dict[str, Any]:
    error = json_body(flow)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def http1_server(client: connection.Client | None = None) -> Http1Server:
    """mitmproxy's HTTP/1 server layer for one client connection, as errorpage patches it."""
    return Http1Server(Context(client or tflow.tclient_conn(), Options()))


def upstream_failed(server: Http1Server, message: str = "Server disconnected") -> list[Any]:
    """What mitmproxy makes the client layer send when the flow's upstream fails."""
    event = ResponseProtocolError(server.stream_id, message, ErrorCode.GENERIC_SERVER_ERROR)
    return list(server.send(event))


def parse_http1(raw: bytes) -> tuple[http.Response, Any]:
    """An assembled HTTP/1 response: its head, and its body as JSON."""
    head, body = raw.split(b"\r\n\r\n", 1)
    resp = http1.read_response_head(head.split(b"\r\n"))
    assert int(resp.headers["content-length"]) == len(body)
    return resp, json.loads(body)
