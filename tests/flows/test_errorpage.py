"""Error answers mitmproxy writes itself are OpenAI JSON too (errorpage patches mitmproxy).

errorpage replaces private mitmproxy names; these tests fail loudly if mitmproxy moves them.
"""

from __future__ import annotations

import inspect
import json
from types import ModuleType

import pytest
from mitmproxy import http
from mitmproxy.connection import ConnectionState
from mitmproxy.proxy import commands
from mitmproxy.proxy.layers.http import _base, _http1, _http2, _http3

from antigravity import errorpage
from antigravity.errors import ApiError
from tests.flows.conftest import (
    http1_server,
    parse_http1,
    upstream_failed,
)

TIMEOUT = ApiError(
    504, "Gemini did not answer within 300 s.", "server_error", None, "upstream_timeout"
)


@pytest.fixture(autouse=True)
def installed() -> None:
    errorpage.install()


def test_mitmproxy_still_builds_error_pages_with_the_names_errorpage_replaces() -> None:
    original_send = errorpage._original_send
    assert original_send.__qualname__ == "Http1Server.send"
    assert "make_error_response(" in inspect.getsource(original_send)
    assert "ResponseProtocolError" in inspect.getsource(original_send)
    assert list(inspect.signature(original_send).parameters) == ["self", "event"]
    for module in (_http2, _http3):
        assert "format_error(" in inspect.getsource(module), module.__name__
    assert "def format_error(" in inspect.getsource(_base)
    assert "def make_error_response(" in inspect.getsource(_http1)


def test_install_is_idempotent() -> None:
    errorpage.install()
    errorpage.install()
    assert _http1.Http1Server.send is errorpage._send
    assert errorpage._original_send is not errorpage._send
    assert _http1.make_error_response is errorpage._make_error_response
    (data, _close) = upstream_failed(http1_server())
    assert parse_http1(data.data)[0].status_code == 502


def test_http1_error_page_is_openai_json() -> None:
    resp, body = parse_http1(_http1.make_error_response(502, "Connection refused"))
    assert resp.status_code == 502
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["connection"] == "close"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == "upstream_unreachable"
    assert "Connection refused" in body["error"]["message"]


def test_http1_request_too_large_page_is_openai_json() -> None:
    _resp, body = parse_http1(_http1.make_error_response(413, "Request body too large."))
    assert body["error"]["code"] == "request_too_large"
    assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("module", [_base, _http2, _http3], ids=lambda m: m.__name__)
def test_http2_and_http3_error_bodies_are_openai_json(module: ModuleType) -> None:
    body = json.loads(module.format_error(502, "Connection refused"))
    assert body["error"]["code"] == "upstream_unreachable"


def test_failed_upstream_gets_the_client_a_502_json_page() -> None:
    data, close = upstream_failed(http1_server(), "Connection refused")
    assert isinstance(data, commands.SendData) and isinstance(close, commands.CloseConnection)
    resp, body = parse_http1(data.data)
    assert resp.status_code == 502
    assert "Connection refused" in body["error"]["message"]


def test_decided_error_replaces_mitmproxys_page() -> None:
    server = http1_server()
    errorpage.answer_with(server.conn.id, TIMEOUT)
    data, close = upstream_failed(server)
    assert isinstance(close, commands.CloseConnection)
    resp, body = parse_http1(data.data)
    assert resp.status_code == 504
    assert resp.headers["content-type"] == "application/json"
    assert body == TIMEOUT.body()


def test_decided_error_is_used_once() -> None:
    server = http1_server()
    errorpage.answer_with(server.conn.id, TIMEOUT)
    upstream_failed(server)
    data, _close = upstream_failed(server)
    assert parse_http1(data.data)[0].status_code == 502


def test_decided_error_belongs_to_its_connection_only() -> None:
    errorpage.answer_with(http1_server().conn.id, TIMEOUT)
    data, _close = upstream_failed(http1_server())
    assert parse_http1(data.data)[0].status_code == 502


def test_forgotten_connection_gets_the_default_page() -> None:
    server = http1_server()
    errorpage.answer_with(server.conn.id, TIMEOUT)
    errorpage.forget(server.conn.id)
    data, _close = upstream_failed(server)
    assert parse_http1(data.data)[0].status_code == 502


def test_broken_stream_ends_with_the_ending_and_a_proper_chunked_end() -> None:
    server = http1_server()
    server.response = http.Response.make(
        200, b"", {"content-type": "text/event-stream", "transfer-encoding": "chunked"}
    )
    ending = b'data: {"error": {}}\n\ndata: [DONE]\n\n'
    errorpage.end_streams_with(server.conn.id, lambda: ending)
    chunk, end, close = upstream_failed(server)
    assert chunk.data == b"%x\r\n%s\r\n" % (len(ending), ending)
    assert end.data == b"0\r\n\r\n"
    assert isinstance(close, commands.CloseConnection)


def test_broken_stream_without_an_ending_is_just_closed() -> None:
    server = http1_server()
    server.response = http.Response.make(200, b"", {"transfer-encoding": "chunked"})
    assert [type(c) for c in upstream_failed(server)] == [commands.CloseConnection]


def test_closed_client_is_sent_nothing() -> None:
    server = http1_server()
    server.conn.state = ConnectionState.CLOSED
    errorpage.answer_with(server.conn.id, TIMEOUT)
    assert upstream_failed(server) == []
