"""JSON instead of mitmproxy's HTML error page.

When the upstream cannot be reached, closes early or is cut by our timeout, mitmproxy answers
the client itself with an HTML page, from code no hook can reach. OpenAI clients cannot parse
that, so this module replaces the page renderer of mitmproxy's HTTP/1 server (the protocol
OpenAI clients speak to a reverse proxy) with an OpenAI-shaped JSON error. HTTP/2 and HTTP/3
clients get the JSON body under mitmproxy's `text/html` content type. The patched names are
private to mitmproxy; `tests/flows/test_errorpage.py` fails loudly if they move.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from mitmproxy import http
from mitmproxy.connection import ConnectionState
from mitmproxy.proxy import commands
from mitmproxy.proxy.layers.http import _base, _http1, _http2, _http3
from mitmproxy.proxy.layers.http._events import ResponseProtocolError

from antigravity.errors import ApiError

# Errors the addon decided for a client connection whose flow mitmproxy is about to fail
# (e.g. our own upstream timeout), keyed by client connection id.
_decided: dict[str, ApiError] = {}


def answer_with(client_conn_id: str, error: ApiError) -> None:
    """Make the next mitmproxy error page on this client connection be `error`."""
    _decided[client_conn_id] = error


def forget(client_conn_id: str) -> None:
    _decided.pop(client_conn_id, None)


def default_error(status: int, message: str) -> ApiError:
    if status == 502:
        text = f"The Gemini upstream could not be reached or closed the connection: {message}"
        return ApiError(502, text, "server_error", None, "upstream_unreachable")
    if status == 413:
        return ApiError(413, message, "invalid_request_error", None, "request_too_large")
    return ApiError(status, message, "invalid_request_error" if status < 500 else "server_error")


def _json_page(status_code: int, message: str = "") -> bytes:
    return default_error(status_code, message).to_bytes()


def _make_error_response(status_code: int, message: str = "") -> bytes:
    return _assemble(default_error(status_code, message))


def _assemble(error: ApiError) -> bytes:
    resp = http.Response.make(
        error.status,
        error.to_bytes(),
        {"content-type": "application/json", "connection": "close"},
    )
    return _http1.http1.assemble_response(resp)


_original_send = _http1.Http1Server.send


def _send(self: _http1.Http1Server, event: Any) -> Generator[Any, Any, None]:
    if isinstance(event, ResponseProtocolError):
        decided = _decided.pop(self.conn.id, None)
        if decided is not None and self.response is None:
            if not self.conn.state & ConnectionState.CAN_WRITE:
                return
            yield commands.SendData(self.conn, _assemble(decided))
            yield commands.CloseConnection(self.conn)
            return
    yield from _original_send(self, event)


def install() -> None:
    """Idempotent; called when the addon loads."""
    _http1.make_error_response = _make_error_response
    _http1.Http1Server.send = _send  # type: ignore[method-assign]
    for module in (_base, _http2, _http3):
        module.format_error = _json_page  # type: ignore[attr-defined]
