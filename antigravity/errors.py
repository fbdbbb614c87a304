"""OpenAI-shaped errors: the only error format a client of the gateway ever sees."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiError(Exception):
    """An error answered to the client as `{"error": {message, type, param, code}}`."""

    status: int
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    code: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.status} {self.code or self.type}: {self.message}"

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False).encode()


def invalid_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", param, code)


def not_found(message: str, code: str = "not_found") -> ApiError:
    return ApiError(404, message, "invalid_request_error", None, code)


def model_not_found(model: str, suggestions: list[str]) -> ApiError:
    hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
    return ApiError(
        404,
        f"The model `{model}` does not exist or is not routed by this gateway.{hint} "
        "Add it to mappings.yaml or use a model listed by GET /v1/models.",
        "invalid_request_error",
        "model",
        "model_not_found",
    )


def invalid_api_key(message: str) -> ApiError:
    return ApiError(401, message, "invalid_request_error", None, "invalid_api_key")


# Google's canonical status names mapped to the OpenAI error type and code a client acts on.
_GOOGLE_STATUS: dict[str, tuple[str, str]] = {
    "INVALID_ARGUMENT": ("invalid_request_error", "invalid_request"),
    "FAILED_PRECONDITION": ("invalid_request_error", "failed_precondition"),
    "OUT_OF_RANGE": ("invalid_request_error", "invalid_request"),
    "UNAUTHENTICATED": ("authentication_error", "upstream_unauthenticated"),
    "PERMISSION_DENIED": ("permission_error", "upstream_permission_denied"),
    "NOT_FOUND": ("invalid_request_error", "model_not_found"),
    "RESOURCE_EXHAUSTED": ("rate_limit_error", "rate_limit_exceeded"),
    "INTERNAL": ("server_error", "upstream_error"),
    "UNAVAILABLE": ("server_error", "upstream_unavailable"),
    "DEADLINE_EXCEEDED": ("server_error", "upstream_timeout"),
}

# The OpenAI status a client expects for each upstream status; 401/403 from Google concern the
# gateway's upstream account, not the client's key, so they become 502 to the client.
_CLIENT_STATUS = {401: 502, 403: 502}


def from_google(status: int, body: bytes) -> ApiError:
    """Translate a Google error answer (object or array-wrapped) into an OpenAI error.

    Google's own message is kept inside ours so nothing the upstream said is lost.
    """
    detail: dict[str, Any] = {}
    try:
        parsed = json.loads(body) if body else {}
        if isinstance(parsed, list) and parsed:
            parsed = parsed[0]
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            detail = parsed["error"]
    except (ValueError, UnicodeDecodeError):
        pass
    google_status = str(detail.get("status") or "")
    google_message = str(detail.get("message") or "").strip()
    if not google_message:
        snippet = body[:200].decode("utf-8", "replace").strip()
        google_message = snippet or "no error body"
    err_type, code = _GOOGLE_STATUS.get(
        google_status,
        ("server_error", "upstream_error") if status >= 500 else ("invalid_request_error", None),
    )
    label = f"{status} {google_status}".strip()
    return ApiError(
        _CLIENT_STATUS.get(status, status),
        f"Gemini upstream error ({label}): {google_message}",
        err_type,
        None,
        code,
    )
