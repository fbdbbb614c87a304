"""Google errors become OpenAI errors; method and path become an endpoint or a clear 404."""

from __future__ import annotations

import json

import pytest

from antigravity import endpoints
from antigravity.errors import ApiError, from_google
from tests.conftest import FIXTURES


def test_recorded_google_429_becomes_rate_limit_error_keeping_googles_message() -> None:
    body = (FIXTURES / "gemini-error-429-retryinfo.json").read_bytes()
    err = from_google(429, body)
    assert err.status == 429
    assert err.type == "rate_limit_error"
    assert err.code == "rate_limit_exceeded"
    google = json.loads(body)["error"]["message"]
    assert google in err.message
    assert "RESOURCE_EXHAUSTED" in err.message


def test_array_wrapped_google_error_is_unwrapped() -> None:
    body = json.dumps([{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}])
    err = from_google(503, body.encode())
    assert err.status == 503 and err.code == "upstream_unavailable"
    assert "overloaded" in err.message


def test_google_auth_errors_are_the_gateways_problem_not_the_clients() -> None:
    body = b'{"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}'
    assert from_google(403, body).status == 502


def test_non_json_upstream_error_body_is_quoted() -> None:
    err = from_google(502, b"<html>Bad Gateway</html>")
    assert err.status == 502 and err.type == "server_error"
    assert "Bad Gateway" in err.message


def test_error_body_shape() -> None:
    body = json.loads(ApiError(400, "m", param="p", code="c").to_bytes())
    assert body == {
        "error": {"message": "m", "type": "invalid_request_error", "param": "p", "code": "c"}
    }


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/healthz", "health"),
        ("GET", "/health", "health"),
        ("GET", "/v1/models", "models"),
        ("GET", "/models", "models"),
        ("GET", "/v1/models/gpt-4o", "model"),
        ("POST", "/v1/chat/completions", "chat"),
        ("POST", "/chat/completions", "chat"),
        ("POST", "/v1/chat/completions?foo=1", "chat"),
        ("POST", "/v1/chat/completions/", "chat"),
        ("POST", "/v1/completions", "completions"),
        ("POST", "/v1/responses", "responses"),
        ("OPTIONS", "/v1/chat/completions", "preflight"),
    ],
)
def test_known_routes(method: str, path: str, kind: str) -> None:
    assert endpoints.classify(method, path).kind == kind


def test_model_detail_carries_the_model_id() -> None:
    assert endpoints.classify("GET", "/v1/models/gemini-2.5-pro").model == "gemini-2.5-pro"


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions/responses", "/v1/v1/chat/completions", "/v1/engines", "/"]
)
def test_unknown_routes_are_404_naming_request_and_routes(path: str) -> None:
    with pytest.raises(ApiError) as e:
        endpoints.classify("POST", path)
    assert e.value.status == 404
    assert f"POST {path}" in e.value.message
    assert endpoints.ROUTES_HELP in e.value.message


def test_wrong_method_is_405_with_allow_header() -> None:
    with pytest.raises(ApiError) as e:
        endpoints.classify("GET", "/v1/chat/completions")
    assert e.value.status == 405
    assert ("allow", "POST") in e.value.headers
