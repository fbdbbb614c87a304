"""Google's OAuth token endpoint, emulated: registered refresh tokens, issued access tokens.

A refresh token is valid when registered (`Emulator(oauth_accounts={token: project})` or
`add_oauth_account`); each is assigned one Cloud project, which loadCodeAssist reports and
Code Assist calls must name. Access tokens live `lifetime` seconds (0: expired at once).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ERROR_INFO, GeminiError


@dataclass(frozen=True)
class OAuthError(Exception):
    """An answer of the token endpoint other than a token: `{"error", "error_description"}`."""

    status: int
    error: str
    description: str

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def default_project(refresh_token: str) -> str:
    """The project assigned to a refresh token registered without one: stable per token."""
    return "emulator-project-" + hashlib.sha256(refresh_token.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class _Issued:
    refresh_token: str
    expires: float


class TokenBook:
    """Registered refresh tokens and issued access tokens; thread-safe for scripting tests."""

    def __init__(
        self,
        accounts: Mapping[str, str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._projects: dict[str, str] = {}
        self._issued: dict[str, _Issued] = {}
        self.refreshes: Counter[str] = Counter()
        for token, project in (accounts or {}).items():
            self.add(token, project)

    def add(self, refresh_token: str, project: str | None = None) -> str:
        """Register a refresh token; returns its project."""
        assigned = project or default_project(refresh_token)
        with self._lock:
            self._projects[refresh_token] = assigned
        return assigned

    def project(self, refresh_token: str) -> str | None:
        with self._lock:
            return self._projects.get(refresh_token)

    def issue(
        self, form: Mapping[str, str], lifetime: float, client: tuple[str, str] | None
    ) -> dict[str, Any]:
        """Answer a token request (form fields), or raise the OAuthError Google would."""
        grant = form.get("grant_type", "")
        refresh_token = form.get("refresh_token", "")
        if refresh_token:
            with self._lock:
                self.refreshes[refresh_token] += 1
        if grant != "refresh_token":
            raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
        if not form.get("client_id"):
            raise OAuthError(400, "invalid_request", "Could not determine client ID from request.")
        if client is not None and (form.get("client_id"), form.get("client_secret")) != client:
            raise OAuthError(401, "invalid_client", "Unauthorized")
        if not refresh_token:
            raise OAuthError(400, "invalid_request", "Missing required parameter: refresh_token")
        with self._lock:
            if refresh_token not in self._projects:
                raise OAuthError(400, "invalid_grant", "Bad Request")
            serial = self.refreshes[refresh_token]
            digest = hashlib.sha256(f"{refresh_token}:{serial}".encode()).hexdigest()[:24]
            access_token = f"ya29.emulator-{digest}"
            self._issued[access_token] = _Issued(refresh_token, self._clock() + lifetime)
        return {
            "access_token": access_token,
            "expires_in": int(lifetime),
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "token_type": "Bearer",
        }

    def holder(self, authorization: str | None) -> str:
        """The refresh token behind a valid `Authorization: Bearer` header, else a 401."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated(
                "Request is missing required authentication credential. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
                "CREDENTIALS_MISSING",
            )
        with self._lock:
            issued = self._issued.get(token.strip())
            if issued is not None and issued.expires <= self._clock():
                del self._issued[token.strip()]
                raise unauthenticated(
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                    "ACCESS_TOKEN_EXPIRED",
                )
        if issued is None:
            raise unauthenticated(
                "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            )
        return issued.refresh_token


def unauthenticated(message: str, reason: str) -> GeminiError:
    return GeminiError(
        401,
        "UNAUTHENTICATED",
        message,
        [
            {
                "@type": ERROR_INFO,
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "cloudcode-pa.googleapis.com", "method": "emulator"},
            }
        ],
    )
