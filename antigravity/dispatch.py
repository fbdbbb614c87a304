"""Which account serves each attempt, how to call it, and the retries after a failed attempt.

The first attempt of a request goes upstream through mitmproxy (the gateway rewrites the flow
with `call_for`), so a healthy answer streams through untouched. When that attempt fails in a
way another account could fix (429, 5xx, auth), the gateway's response hook calls `retry`,
which makes further attempts with its own HTTP client and returns the first usable answer, or
the error that says why none was possible. Every attempt is recorded on the exchange.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from antigravity.accounts import Account, AccountKind, AccountsConfig, OAuthClient
from antigravity.codeassist import CodeAssistError, OAuthAccounts
from antigravity.errors import ApiError, from_google
from antigravity.exchange import Exchange
from antigravity.mappers.canonical import CanonicalRequest
from antigravity.pool import Choice, Pool
from antigravity.quota import Verdict, classify, network_error

log = logging.getLogger("antigravity")

# Wait for a cooling account only this long; beyond it the client hears why right away.
MAX_WAIT = 3.0


@dataclass(frozen=True, slots=True)
class Call:
    """One attempt, ready to send: where, with which headers, what body."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class Dispatcher:
    def __init__(self, pool: Pool, max_attempts: int = 3, timeout: float = 300.0) -> None:
        self.pool = pool
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.oauth: OAuthClient | None = None
        self.oauth_accounts = OAuthAccounts()
        self._session: aiohttp.ClientSession | None = None

    def configure(self, config: AccountsConfig | None, env_accounts: list[Account]) -> None:
        """Install the accounts of the file plus the env keys the file does not have."""
        from_file = list(config.accounts) if config else []
        secrets = {a.secret for a in from_file}
        accounts = from_file + [a for a in env_accounts if a.secret not in secrets]
        self.oauth = config.oauth if config else None
        self.pool.update(accounts)
        self.oauth_accounts.retain(accounts)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"user-agent": "antigravity-gateway"})
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- choosing -------------------------------------------------------------------------

    def pick(self, model: str, request: CanonicalRequest) -> Account:
        """The account for a request's first attempt, or the error that says why none.

        Turns of one conversation stay on one healthy account (its start is the key).
        """
        if not self.pool.accounts:
            raise ApiError(
                503,
                "No upstream accounts are configured: set GEMINI_API_KEYS (comma-separated "
                "Gemini API keys) or antigravity_accounts before starting the gateway.",
                "server_error",
                None,
                "no_accounts",
            )
        head = json.dumps([request.system, request.contents[:1]], sort_keys=True)[:4096]
        account = self.pool.pick(model, f"{model}:{hash(head)}")
        if account is None:
            raise self._exhausted(model, None)
        return account

    def _exhausted(self, model: str, last: Verdict | None, said: str = "") -> ApiError:
        state = self.pool.exhausted(model)
        if state.quota:
            retry_after = max(1, math.ceil(state.retry_after or 1))
            return ApiError(
                429,
                f"Every account is rate limited for {model}: {state.reason}. Retry after "
                f"{retry_after} s.{said}",
                "rate_limit_error",
                None,
                "rate_limit_exceeded",
                (("retry-after", str(retry_after)),),
            )
        detail = f" Last upstream answer: {last.reason}." if last else ""
        return ApiError(
            503,
            f"No account can serve {model} now: {state.reason}.{detail}{said}",
            "server_error",
            None,
            "upstream_unavailable",
        )

    # -- calling --------------------------------------------------------------------------

    async def call_for(self, exchange: Exchange, base_url: str) -> Call:
        """The attempt for the exchange's current account (API key on `base_url`, or OAuth)."""
        account = exchange.account
        gemini = exchange.upstream_body()
        if account.kind != AccountKind.GOOGLE_OAUTH:
            return Call(
                base_url + exchange.upstream_path,
                {"x-goog-api-key": account.secret, "content-type": "application/json"},
                gemini,
            )
        if self.oauth is None:
            problem = "the accounts file has no oauth: section for google_oauth accounts"
            raise CodeAssistError(problem, Verdict("auth", 0, retryable=True, reason=problem))
        oauth = self.oauth_accounts.get(account, self.oauth)
        call = await oauth.call(
            self.session(), exchange.route.model, json.loads(gemini), exchange.stream
        )
        return Call(call.url, call.headers, json.dumps(call.body, ensure_ascii=False).encode())

    def record(self, exchange: Exchange, answer: Answer | Verdict) -> Verdict:
        """Classify an attempt's outcome, cool the account accordingly, note it on the flow."""
        if isinstance(answer, Verdict):
            verdict = answer
            status: int | None = None
        else:
            verdict = classify(answer.status, answer.body, answer.headers, now_wall=time.time())
            status = answer.status
        if self._stale_token(exchange, status):
            # Code Assist refused the access token, not the account: refresh it and try the
            # same account once more before judging the account.
            self.oauth_accounts.get(exchange.account, self.oauth).tokens.invalidate()  # type: ignore[arg-type]
            exchange.attempts.append(
                {
                    "account": f"{exchange.account.label} ({exchange.account.masked})",
                    "status": status,
                    "outcome": "token_refused",
                    "reason": "access token refused; retrying with a fresh one",
                    "same_account": True,
                }
            )
            return Verdict("server_error", 401, retryable=True, reason="access token refused")
        cooldown = self.pool.record(exchange.account, exchange.route.model, verdict)
        if cooldown.disabled:
            log.warning(
                f"antigravity: account {exchange.account.label} disabled until its config "
                f"changes: {cooldown.reason or verdict.reason}"
            )
        exchange.attempts.append(
            {
                "account": f"{exchange.account.label} ({exchange.account.masked})",
                "status": status,
                "outcome": verdict.kind,
                "retry_after": verdict.retry_after,
                "cooldown": round(cooldown.seconds, 3),
                "disabled": cooldown.disabled,
                "reason": cooldown.reason or verdict.reason,
            }
        )
        return verdict

    def _stale_token(self, exchange: Exchange, status: int | None) -> bool:
        """A first 401 from Code Assist for this request: the token, not the account, failed."""
        return (
            status == 401
            and exchange.account.kind == AccountKind.GOOGLE_OAUTH
            and self.oauth is not None
            and not any(a.get("outcome") == "token_refused" for a in exchange.attempts)
        )

    async def retry(
        self, exchange: Exchange, base_url: str, verdict: Verdict, failed: Answer | None = None
    ) -> Answer:
        """Further attempts after a failed one; the first usable answer, or raises ApiError.

        `failed` is the failed attempt's answer, whose Google message the final error keeps.
        """
        model = exchange.route.model
        tried = {exchange.account.label}
        last = failed
        while verdict.retryable and len(exchange.attempts) < self.max_attempts:
            if not exchange.attempts[-1].get("same_account"):  # else: again, fresh token
                choice = await self._next(model, tried)
                if choice is None:
                    break
                exchange.attempts[-1]["next"] = choice.reason
                exchange.account = choice.account
                tried.add(choice.account.label)
            answer = await self._attempt(exchange, base_url)
            if isinstance(answer, Answer) and answer.status == 200:
                self.record(exchange, answer)
                return answer
            verdict = self.record(exchange, answer)
            if isinstance(answer, Answer):
                if not verdict.retryable:
                    return answer  # the request itself is at fault: Google's answer says why
                last = answer
        said = f" {from_google(last.status, last.body).message}" if last else ""
        if len(exchange.attempts) < self.max_attempts:
            raise self._exhausted(model, verdict, said)
        raise self._gave_up(exchange, verdict, said)

    async def _next(self, model: str, tried: set[str]) -> Choice | None:
        """The account for the next attempt: an untried one, or one freeing within MAX_WAIT."""
        choice = self.pool.choose(model, exclude=frozenset(tried))
        if choice is not None:
            return choice
        wait = self.pool.soonest_free(model)
        if wait is None or wait > MAX_WAIT:
            return None
        await asyncio.sleep(wait)  # Google said when; a short wait beats a failure
        return self.pool.choose(model)

    def _gave_up(self, exchange: Exchange, verdict: Verdict, said: str) -> ApiError:
        """All allowed attempts failed although accounts remain (antigravity_max_attempts)."""
        n = len(exchange.attempts)
        if verdict.quota:
            # None from soonest_free: an account is free right now (only the attempt limit
            # stopped the gateway), so the client need not wait for the one that was tried.
            wait = self.pool.soonest_free(exchange.route.model)
            retry_after = max(1, math.ceil(wait or 1))
            return ApiError(
                429,
                f"{n} attempts were rate limited (antigravity_max_attempts={self.max_attempts}); "
                f"last: {verdict.reason}. Retry after {retry_after} s.{said}",
                "rate_limit_error",
                None,
                "rate_limit_exceeded",
                (("retry-after", str(retry_after)),),
            )
        return ApiError(
            503,
            f"{n} attempts failed (antigravity_max_attempts={self.max_attempts}); last: "
            f"{verdict.reason}.{said}",
            "server_error",
            None,
            "upstream_unavailable",
        )

    async def _attempt(self, exchange: Exchange, base_url: str) -> Answer | Verdict:
        try:
            call = await self.call_for(exchange, base_url)
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=self.timeout)
            async with self.session().post(
                call.url, data=call.body, headers=call.headers, timeout=timeout
            ) as resp:
                return Answer(resp.status, dict(resp.headers), await resp.read())
        except CodeAssistError as e:
            return e.verdict
        except (aiohttp.ClientError, TimeoutError) as e:
            return network_error(f"{type(e).__name__}: {e}")
