"""JSON instead of mitmproxy's HTML error page, and clean ends for broken streams.

When the upstream cannot be reached, closes early or is cut by our timeout, mitmproxy answers
the client itself, from code no hook can reach: an HTML page before the response started, a
bare connection close after. OpenAI clients can parse neither, so this module patches the
client side of mitmproxy's HTTP/1 server (the protocol OpenAI clients speak to a reverse
proxy): error pages become OpenAI-shaped JSON, and a stream that breaks mid-way gets the
dialect's error event and end marker, then a proper end of the chunked body. HTTP/2 and HTTP/3
clients get the JSON body under mitmproxy's `text/html` content type, and a reset stream.
The patched names are private to mitmproxy; `tests/flows/test_errorpage.py` fails loudly if
they move.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
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


# For streams under way: how to end the client's stream if the upstream breaks off.
_endings: dict[str, Callable[[], bytes]] = {}


def end_streams_with(client_conn_id: str, ending: Callable[[], bytes]) -> None:
    """If this connection's streamed response breaks, send `ending()` and end the body."""
    _endings[client_conn_id] = ending


def forget(client_conn_id: str) -> None:
    _decided.pop(client_conn_id, None)
    _endings.pop(client_conn_id, None)


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
        ending = _endings.pop(self.conn.id, None)
        writable = self.conn.state & ConnectionState.CAN_WRITE
        if writable and self.response is None and decided is not None:
            yield commands.SendData(self.conn, _assemble(decided))
            yield commands.CloseConnection(self.conn)
            return
        chunked = self.response is not None and "chunked" in self.response.headers.get(
            "transfer-encoding", ""
        )
        if writable and chunked and ending is not None:
            data = ending()
            if data:
                yield commands.SendData(self.conn, b"%x\r\n%s\r\n" % (len(data), data))
            yield commands.SendData(self.conn, b"0\r\n\r\n")
            yield commands.CloseConnection(self.conn)
            return
    yield from _original_send(self, event)


def install() -> None:
    """Idempotent; called when the addon loads."""
    _http1.make_error_response = _make_error_response
    _http1.Http1Server.send = _send  # type: ignore[method-assign]
    for module in (_base, _http2, _http3):
        module.format_error = _json_page  # type: ignore[attr-defined]
