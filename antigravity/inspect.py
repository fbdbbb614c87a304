"""What a flow shows in mitmweb: a one-line comment and secret-free notes in its metadata."""

from __future__ import annotations

from typing import Any

from mitmproxy import http

from antigravity.errors import ApiError
from antigravity.exchange import Exchange, StreamReshaper

KEY = "antigravity"


def _notes(flow: http.HTTPFlow) -> dict[str, Any]:
    return flow.metadata.setdefault(KEY, {})


def record_request(flow: http.HTTPFlow, exchange: Exchange) -> None:
    route = exchange.route
    _notes(flow).update(
        dialect=exchange.dialect,
        requested_model=route.requested,
        mapped_model=route.model,
        rule=route.rule,
        account=exchange.account.label,
        stream=exchange.stream,
        translation_notes=list(exchange.request.notes),
    )
    flow.comment = summary(exchange)


def record_answer(
    flow: http.HTTPFlow, exchange: Exchange, status: int, reshaper: StreamReshaper | None = None
) -> None:
    _notes(flow)["client_status"] = status
    flow.comment = summary(exchange, status)
    if status >= 400:
        flow.marked = ":warning:"


def record_failure(flow: http.HTTPFlow, exchange: Exchange, message: str, timed_out: bool) -> None:
    notes = _notes(flow)
    notes["upstream_failure"] = "timeout" if timed_out else message
    flow.comment = summary(exchange, "timeout" if timed_out else "upstream failed")
    flow.marked = ":x:"


def record_local_error(flow: http.HTTPFlow, err: ApiError) -> None:
    _notes(flow).update(client_status=err.status, error_code=err.code)
    flow.comment = f"{err.status} {err.code or err.type}"


def summary(exchange: Exchange, outcome: int | str | None = None) -> str:
    route = exchange.route
    parts = [
        exchange.dialect,
        f"{route.requested}→{route.model}",
        exchange.account.label,
        "stream" if exchange.stream else "whole",
    ]
    if outcome is not None and outcome != 200:
        parts.append(str(outcome))
    return " · ".join(parts)
