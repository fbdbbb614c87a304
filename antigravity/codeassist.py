"""Google accounts over OAuth on the Code Assist endpoint (cloudcode-pa, v1internal).

A google_oauth account holds a refresh token; `TokenSource` turns it into access tokens (one
refresh at a time per account), `discover_project` asks loadCodeAssist for the account's Cloud
project when the config names none, and `OAuthAccount` puts both together into the URL, headers
and body of one attempt. Code Assist takes `{model, project, request}` where the Gemini API takes
the bare request, and answers `{"response": ...}` (per SSE event when streaming): `wrap_request`,
`unwrap` and `SSEUnwrapper` translate.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from .accounts import Account, AccountKind, OAuthClient
from .quota import Verdict, classify, network_error

REFRESH_MARGIN = 60.0  # refresh a token this long before it expires
DEFAULT_LIFETIME = 3600.0  # when the token endpoint does not say
CLIENT_METADATA = {
    "ideType": "IDE_UNSPECIFIED",
    "platform": "PLATFORM_UNSPECIFIED",
    "pluginType": "GEMINI",
}
# The OAuth errors that mean the refresh token (or the client) will never work again.
_AUTH_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


def code_assist_path(stream: bool) -> str:
    return "/v1internal:streamGenerateContent?alt=sse" if stream else "/v1internal:generateContent"


def wrap_request(model: str, project: str, gemini_body: dict[str, Any]) -> dict[str, Any]:
    """A Gemini API request body as Code Assist takes it."""
    return {"model": model, "project": project, "request": gemini_body}


def unwrap(obj: Any) -> Any:
    """A Code Assist answer (`{"response": X}`) as the Gemini API answers (`X`); others pass."""
    if isinstance(obj, dict) and isinstance(obj.get("response"), dict):
        return obj["response"]
    return obj


class SSEUnwrapper:
    """Rewrites a Code Assist event stream, fed in arbitrary pieces, into Gemini API frames.

    Each `data:` event loses its `{"response": ...}` envelope and is framed as Gemini frames
    (`data: JSON\\r\\n\\r\\n`); events that are not JSON pass unchanged.
    """

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, piece: bytes) -> bytes:
        self._buffer += piece.replace(b"\r\n", b"\n")
        *events, self._buffer = self._buffer.split(b"\n\n")
        return b"".join(self._event(e) for e in events if e.strip())

    def close(self) -> bytes:
        """What remains (an unterminated last event) once the stream ends."""
        rest, self._buffer = self._buffer, b""
        return self._event(rest) if rest.strip() else b""

    @staticmethod
    def _event(event: bytes) -> bytes:
        lines = event.split(b"\n")
        data = b"\n".join(line[5:].lstrip(b" ") for line in lines if line.startswith(b"data:"))
        if not data:
            return b""
        try:
            parsed = json.loads(data)
        except ValueError:
            return b"data: " + data + b"\r\n\r\n"
        payload = json.dumps(unwrap(parsed), separators=(",", ":"), ensure_ascii=False)
        return b"data: " + payload.encode() + b"\r\n\r\n"


class CodeAssistError(Exception):
    """The token endpoint or loadCodeAssist refused or failed; `verdict` says what it means."""

    def __init__(self, message: str, verdict: Verdict) -> None:
        super().__init__(message)
        self.verdict = verdict


class TokenError(CodeAssistError):
    """Refreshing an access token failed: `status` (None without an answer) and Google's error."""

    def __init__(self, label: str, status: int | None, error: str, description: str) -> None:
        self.status = status
        self.error = error
        self.description = description
        said = f"{error}: {description}" if description else error
        message = f"{label}: token refresh failed ({status or 'no answer'} {said})"
        if status is None:
            verdict = network_error(said)
        elif error in _AUTH_ERRORS or status in (400, 401, 403):
            verdict = Verdict("auth", status, retryable=True, reason=f"token refresh: {said}")
        else:
            verdict = replace(classify(status, b""), reason=f"token refresh: {status} {said}")
        super().__init__(message, verdict)


def _token_error(label: str, status: int, body: bytes) -> TokenError:
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return TokenError(label, status, parsed["error"], str(parsed.get("error_description", "")))
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):  # Google RPC shape
        detail = parsed["error"]
        return TokenError(
            label, status, str(detail.get("status") or status), str(detail.get("message", ""))
        )
    return TokenError(label, status, f"http_{status}", body[:120].decode("utf-8", "replace"))


@dataclass
class _Token:
    value: str = field(repr=False)
    expires: float  # monotonic


class TokenSource:
    """Access tokens for one google_oauth account, refreshed from its refresh token.

    A token is refreshed when missing or within `margin` seconds of expiring. Concurrent callers
    share one refresh: those who waited get its token, or its error, without asking again.
    """

    def __init__(
        self,
        account: Account,
        client: OAuthClient,
        clock: Callable[[], float] = time.monotonic,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        if account.kind is not AccountKind.GOOGLE_OAUTH:
            raise ValueError(f"{account.label} is not a google_oauth account")
        self.account = account
        self.client = client
        self.margin = margin
        self.refreshes = 0
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self._failure: TokenError | None = None
        self._finished = 0  # refreshes that ended, with a token or an error

    def _fresh(self) -> str | None:
        token = self._token
        if token is not None and token.expires - self.margin > self._clock():
            return token.value
        return None

    def invalidate(self) -> None:
        """Forget the current token (Code Assist answered 401 with it)."""
        self._token = None

    async def get(self, session: aiohttp.ClientSession) -> str:
        """A valid access token, refreshing it first if needed."""
        if (token := self._fresh()) is not None:
            return token
        seen = self._finished
        async with self._lock:
            if (token := self._fresh()) is not None:
                return token
            if self._finished != seen and self._failure is not None:
                raise self._failure  # the refresh we waited for failed; do not repeat it
            self.refreshes += 1
            try:
                fresh = await self._refresh(session)
            except TokenError as error:
                self._failure = error
                self._finished += 1
                raise
            self._token, self._failure = fresh, None
            self._finished += 1
            return fresh.value

    async def _refresh(self, session: aiohttp.ClientSession) -> _Token:
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client.client_id,
            "client_secret": self.client.client_secret,
            "refresh_token": self.account.secret,
        }
        label = self.account.label
        try:
            async with session.post(self.client.token_url, data=form) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TokenError(label, None, type(error).__name__, str(error)) from None
        if status != 200:
            raise _token_error(label, status, body)
        try:
            parsed = json.loads(body)
            value = parsed["access_token"]
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            raise TokenError(label, status, "bad_answer", "no access_token in the answer") from None
        if not isinstance(value, str) or not value:
            raise TokenError(label, status, "bad_answer", "no access_token in the answer")
        lifetime = parsed.get("expires_in", DEFAULT_LIFETIME)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
            lifetime = DEFAULT_LIFETIME
        return _Token(value, self._clock() + float(lifetime))


async def discover_project(session: aiohttp.ClientSession, base_url: str, token: str) -> str:
    """The Cloud project Code Assist assigned the account, read from loadCodeAssist."""
    url = f"{base_url.rstrip('/')}/v1internal:loadCodeAssist"
    headers = {"authorization": f"Bearer {token}"}
    try:
        async with session.post(url, json={"metadata": CLIENT_METADATA}, headers=headers) as r:
            body = await r.read()
            status = r.status
            response_headers = dict(r.headers)
    except (aiohttp.ClientError, TimeoutError) as error:
        verdict = network_error(f"{type(error).__name__}: {error}")
        raise CodeAssistError(f"loadCodeAssist: {verdict.reason}", verdict) from None
    if status != 200:
        verdict = classify(status, body, response_headers)
        raise CodeAssistError(f"loadCodeAssist: {verdict.reason}", verdict)
    try:
        project = json.loads(body).get("cloudaicompanionProject")
    except (ValueError, UnicodeDecodeError, AttributeError):
        project = None
    if isinstance(project, dict):
        project = project.get("id")
    if not isinstance(project, str) or not project:
        reason = (
            "loadCodeAssist names no project: set `project:` for this account, or sign in "
            "with the Gemini CLI once so Google sets one up"
        )
        raise CodeAssistError(reason, Verdict("auth", status, retryable=True, reason=reason))
    return project


@dataclass(frozen=True)
class Call:
    """One Code Assist attempt, ready to send."""

    url: str
    headers: dict[str, str] = field(repr=False)
    body: dict[str, Any] = field(repr=False)


class OAuthAccount:
    """A google_oauth account's tokens and project, and the Code Assist call they make."""

    def __init__(
        self,
        account: Account,
        client: OAuthClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account = account
        self.client = client
        self.tokens = TokenSource(account, client, clock)
        self._project = account.project
        self._discovering = asyncio.Lock()

    async def project(self, session: aiohttp.ClientSession) -> str:
        """The configured project, else the one loadCodeAssist names (asked once)."""
        if self._project is not None:
            return self._project
        async with self._discovering:
            if self._project is None:
                token = await self.tokens.get(session)
                self._project = await discover_project(session, self.client.code_assist_url, token)
        return self._project

    async def call(
        self,
        session: aiohttp.ClientSession,
        model: str,
        gemini_body: dict[str, Any],
        stream: bool,
    ) -> Call:
        """URL, headers and body of one attempt (raises CodeAssistError: see its verdict)."""
        project = await self.project(session)
        token = await self.tokens.get(session)
        return Call(
            url=self.client.code_assist_url + code_assist_path(stream),
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            body=wrap_request(model, project, gemini_body),
        )


class OAuthAccounts:
    """One `OAuthAccount` per google_oauth account, kept while its fingerprint and client are."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._known: dict[tuple[str, OAuthClient], OAuthAccount] = {}

    def get(self, account: Account, client: OAuthClient) -> OAuthAccount:
        key = (account.fingerprint, client)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = OAuthAccount(account, client, self._clock)
        return known

    def retain(self, accounts: list[Account] | tuple[Account, ...]) -> None:
        """Forget accounts no longer configured (after the accounts file changed)."""
        keep = {a.fingerprint for a in accounts}
        self._known = {k: v for k, v in self._known.items() if k[0] in keep}
