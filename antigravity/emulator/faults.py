"""Scripted failures: what to break, for which key and model, how many times.

`key` names the account: its API key on Gemini API calls, its refresh token on Code Assist
calls (the one the bearer token was issued for). `None` matches every account.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from . import codeassist
from .errors import QUOTA_FAILURE, RETRY_INFO, GeminiError

FaultKind = Literal[
    "429",
    "500",
    "503",
    "401",
    "403",
    "400",
    "cut",
    "drop",
    "hang",
    "slow",
    "finish",
    "blocked",
    "empty",
]

_STATUS: dict[str, tuple[int, str, str]] = {
    "500": (
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    ),
    "503": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "401": (
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential.",
    ),
    "403": (403, "PERMISSION_DENIED", "The caller does not have permission"),
    "400": (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
}


class Fault(BaseModel):
    """One scripted failure; built from keywords or from the JSON of the control endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    key: str | None = None
    model: str | None = None
    times: int | None = Field(default=1, ge=0, description="0 or None: forever")
    retry_delay: str | None = Field(default="1s", pattern=r"^\d+(\.\d+)?s$")
    quota_id: str = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
    # Code Assist 429s only: ErrorInfo.metadata.quotaResetDelay (default: retry_delay).
    quota_reset_delay: str | None = Field(default=None, pattern=r"^(\d+(\.\d+)?(h|m|s|ms))+$")
    message: str | None = None
    after_chunks: int = Field(default=1, ge=0)
    seconds: float = Field(default=3600.0, ge=0)
    delay_ms: int = Field(default=100, ge=0)
    reason: str = "SAFETY"

    def matches(self, key: str | None, model: str | None) -> bool:
        return (self.key is None or self.key == key) and (self.model is None or self.model == model)

    def error(self, model: str, code_assist: bool = False) -> GeminiError | None:
        """The HTTP error this fault answers with, if it is an error-status fault.

        A 429 takes the shape of the endpoint: QuotaFailure + RetryInfo on the Gemini API,
        ErrorInfo (quotaResetDelay) + RetryInfo on Code Assist.
        """
        if self.kind == "429" and code_assist:
            return codeassist.quota_exhausted(
                model, self.quota_id, self.retry_delay, self.quota_reset_delay, self.message
            )
        if self.kind == "429":
            return quota_exhausted(model, self.quota_id, self.retry_delay, self.message)
        if self.kind in _STATUS:
            code, status, message = _STATUS[self.kind]
            return GeminiError(code, status, self.message or message)
        return None


def quota_exhausted(
    model: str, quota_id: str, retry_delay: str | None, message: str | None = None
) -> GeminiError:
    """The 429 RESOURCE_EXHAUSTED body Gemini sends, with QuotaFailure and RetryInfo."""
    metric = "generativelanguage.googleapis.com/generate_content_free_tier_" + (
        "input_token_count" if "InputTokens" in quota_id else "requests"
    )
    text = message or (
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"
        f"* Quota exceeded for metric: {metric}, limit: 10, model: {model}"
        + (f"\nPlease retry in {retry_delay}." if retry_delay else "")
    )
    details: list[dict[str, object]] = [
        {
            "@type": QUOTA_FAILURE,
            "violations": [
                {
                    "quotaMetric": metric,
                    "quotaId": quota_id,
                    "quotaDimensions": {"location": "global", "model": model},
                    "quotaValue": "10",
                }
            ],
        }
    ]
    if retry_delay:
        details.append({"@type": RETRY_INFO, "retryDelay": retry_delay})
    return GeminiError(429, "RESOURCE_EXHAUSTED", text, details)


@dataclass
class _Armed:
    fault: Fault
    left: int | None  # None: forever


class FaultBook:
    """Pending faults in the order added; thread-safe because tests script from other threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._armed.extend(_Armed(f, f.times or None) for f in faults)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [armed.fault for armed in self._armed]

    def take(self, key: str | None, model: str | None) -> Fault | None:
        """The first fault matching this request, counting one use of it."""
        with self._lock:
            for i, armed in enumerate(self._armed):
                if not armed.fault.matches(key, model):
                    continue
                if armed.left is not None:
                    armed.left -= 1
                    if armed.left == 0:
                        del self._armed[i]
                return armed.fault
        return None
