"""The Code Assist endpoint (cloudcode-pa v1internal) as the emulator serves it.

`POST /v1internal:generateContent` and `:streamGenerateContent?alt=sse` take
`{model, project, request}` and answer the Gemini API's answer to `request` wrapped as
`{"response": ...}` (per SSE event when streaming). The caller needs a bearer token from the
emulator's `/token` endpoint, and must name the project the emulator assigned to the refresh
token behind it; `loadCodeAssist` tells which.
"""

from __future__ import annotations

from typing import Any

from .errors import ERROR_INFO, RETRY_INFO, GeminiError, invalid_argument, unknown_field
from .models import is_gemini_model
from .validation import validate_generate_request

DOMAIN = "cloudcode-pa.googleapis.com"
ENVELOPE_FIELDS = frozenset({"model", "project", "request", "user_prompt_id"})
# Code Assist accepts a session id inside the request that the Gemini API does not know.
REQUEST_EXTRA_FIELDS = ("session_id",)
TIER = {
    "id": "free-tier",
    "name": "Gemini Code Assist for individuals (antigravity emulator)",
    "description": "Served by the antigravity Gemini emulator.",
    "userDefinedCloudaicompanionProject": False,
}


def load_code_assist(body: Any, project: str) -> dict[str, Any]:
    """The loadCodeAssist answer for an account whose project is `project`."""
    if not isinstance(body, dict):
        raise invalid_argument("Invalid JSON payload received. Unexpected token.")
    for name in body:
        if name not in ("metadata", "cloudaicompanionProject"):
            raise unknown_field(name)
    return {
        "currentTier": TIER,
        "allowedTiers": [{**TIER, "isDefault": True}],
        "cloudaicompanionProject": project,
        "gcpManaged": False,
    }


def validate_envelope(body: Any, project: str) -> tuple[str, dict[str, Any]]:
    """The model and the validated Gemini request of a Code Assist call, or its GeminiError."""
    if body is None:
        raise invalid_argument("Invalid JSON payload received. Unexpected token.")
    if not isinstance(body, dict):
        raise invalid_argument(
            'Invalid JSON payload received. Unknown name "": Root element must be a message.',
            field_violation=True,
        )
    for name in body:
        if name not in ENVELOPE_FIELDS:
            raise unknown_field(name)
    if body.get("project") != project:
        named = body.get("project")
        raise GeminiError(
            403,
            "PERMISSION_DENIED",
            f"Permission denied on resource project {named if isinstance(named, str) else ''}.",
            [
                {
                    "@type": ERROR_INFO,
                    "reason": "CONSUMER_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": DOMAIN, "consumer": f"projects/{named}"},
                }
            ],
        )
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid_argument("* GenerateContentRequest.model: model is required")
    if not is_gemini_model(model):
        raise GeminiError(404, "NOT_FOUND", "Requested entity was not found.")
    request = body.get("request")
    if not isinstance(request, dict):
        raise invalid_argument("* request: the Gemini request is required", field_violation=True)
    inner = {k: v for k, v in request.items() if k not in REQUEST_EXTRA_FIELDS}
    return model, validate_generate_request(inner, model)


def quota_exhausted(
    model: str,
    quota_id: str,
    retry_delay: str | None,
    reset_delay: str | None,
    message: str | None = None,
) -> GeminiError:
    """Code Assist's 429: ErrorInfo RATE_LIMIT_EXCEEDED (or QUOTA_EXHAUSTED for a daily quota)
    with quotaResetDelay, and RetryInfo."""
    daily = "PerDay" in quota_id or "Daily" in quota_id
    reset = reset_delay or retry_delay
    metadata: dict[str, str] = {"model": model, "uiMessage": "true"}
    if reset:
        metadata["quotaResetDelay"] = reset
    details: list[dict[str, Any]] = [
        {
            "@type": ERROR_INFO,
            "reason": "QUOTA_EXHAUSTED" if daily else "RATE_LIMIT_EXCEEDED",
            "domain": DOMAIN,
            "metadata": metadata,
        }
    ]
    if retry_delay:
        details.append({"@type": RETRY_INFO, "retryDelay": retry_delay})
    when = f" Your quota will reset after {reset}." if reset else ""
    return GeminiError(
        429,
        "RESOURCE_EXHAUSTED",
        message or f"You have exhausted your capacity on this model.{when}",
        details,
    )


def wrap(answer: dict[str, Any]) -> dict[str, Any]:
    return {"response": answer}
