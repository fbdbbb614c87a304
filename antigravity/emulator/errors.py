"""Google-shaped errors: `{"error": {code, message, status, details}}` as the Gemini API sends."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


@dataclass(frozen=True)
class GeminiError(Exception):
    """An error answered as Google does; raise it anywhere a request is rejected."""

    code: int
    status: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code} {self.status}: {self.message}"

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "details": self.details,
            }
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.body(), indent=2, ensure_ascii=False).encode()


def invalid_argument(message: str, field_violation: bool = False) -> GeminiError:
    """400 INVALID_ARGUMENT; payload errors also carry a BadRequest field violation."""
    details = (
        [{"@type": BAD_REQUEST, "fieldViolations": [{"description": message}]}]
        if field_violation
        else []
    )
    return GeminiError(400, "INVALID_ARGUMENT", message, details)


def unknown_field(name: str, where: str | None = None) -> GeminiError:
    at = f" at '{where}'" if where else ""
    return invalid_argument(
        f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.',
        field_violation=True,
    )


def missing_key() -> GeminiError:
    return GeminiError(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
    )


def invalid_key() -> GeminiError:
    return GeminiError(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        [
            {
                "@type": ERROR_INFO,
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    )


def model_not_found(model: str, method: str = "generateContent") -> GeminiError:
    return GeminiError(
        404,
        "NOT_FOUND",
        f"models/{model} is not found for API version v1beta, or is not supported for "
        f"{method}. Call ListModels to see the list of available models and their "
        "supported methods.",
    )


def not_found(path: str) -> GeminiError:
    return GeminiError(404, "NOT_FOUND", f"The requested URL {path} was not found on this server.")


def invalid_value(where: str, value: Any, type_name: str) -> GeminiError:
    """Google's message for a value of the wrong type (a scalar TYPE_* or a message name)."""
    if not type_name.startswith(("TYPE_", "type.googleapis.com/")):
        type_name = f"type.googleapis.com/google.ai.generativelanguage.v1beta.{type_name}"
    return invalid_argument(
        f"Invalid value at '{where}' ({type_name}), {json.dumps(value, ensure_ascii=False)}",
        field_violation=True,
    )


def bad_bytes(where: str, value: Any) -> GeminiError:
    """A `bytes` field (inline data, thought signature) that is not base64."""
    return invalid_argument(
        f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed for "
        f"{json.dumps(value, ensure_ascii=False)}",
        field_violation=True,
    )


def rule_violation(where: str, message: str) -> GeminiError:
    """A request that parses but breaks one of Gemini's rules, named by its field path."""
    return invalid_argument(f"* GenerateContentRequest.{where}: {message}")
