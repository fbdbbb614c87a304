"""Code Assist client: token refresh, project discovery, request wrapping, against the emulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from antigravity.accounts import Account, AccountKind, OAuthClient
from antigravity.codeassist import (
    CodeAssistError,
    OAuthAccount,
    OAuthAccounts,
    SSEUnwrapper,
    TokenError,
    TokenSource,
    code_assist_path,
    discover_project,
    unwrap,
    wrap_request,
)
from antigravity.emulator import Emulator, Fault
from antigravity.quota import classify

FLASH = "gemini-2.5-flash"
REFRESH = "1//refresh-alice-0123"
PROJECT = "alice-project"
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hi there"}]}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(oauth_accounts={REFRESH: PROJECT}, oauth_client=("cid", "csecret"))
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


def client(emu: Emulator, secret: str = "csecret") -> OAuthClient:
    return OAuthClient("cid", secret, f"{emu.url}/token", emu.url)


def oauth(refresh_token: str = REFRESH, project: str | None = None) -> Account:
    return Account("alice@example.com", refresh_token, AccountKind.GOOGLE_OAUTH, project)


# --- pure helpers ------------------------------------------------------------------------------


def test_request_is_wrapped_with_model_and_project() -> None:
    assert wrap_request(FLASH, "p", GEMINI_BODY) == {
        "model": FLASH,
        "project": "p",
        "request": GEMINI_BODY,
    }


def test_paths_for_whole_and_streamed_answers() -> None:
    assert code_assist_path(False) == "/v1internal:generateContent"
    assert code_assist_path(True) == "/v1internal:streamGenerateContent?alt=sse"


def test_unwrap_takes_the_response_and_passes_anything_else() -> None:
    assert unwrap({"response": {"candidates": []}, "traceId": "t"}) == {"candidates": []}
    assert unwrap({"candidates": []}) == {"candidates": []}
    assert unwrap([1]) == [1]


def test_sse_unwrapper_reframes_events_split_anywhere() -> None:
    events = [{"response": {"n": i, "text": "é"}} for i in range(3)]
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    for cut in range(1, len(raw)):
        unwrapper = SSEUnwrapper()
        out = unwrapper.feed(raw[:cut]) + unwrapper.feed(raw[cut:]) + unwrapper.close()
        frames = out.split(b"\r\n\r\n")
        assert frames[-1] == b""
        assert [json.loads(f.removeprefix(b"data: ")) for f in frames[:-1]] == [
            e["response"] for e in events
        ]


def test_sse_unwrapper_flushes_an_unterminated_last_event() -> None:
    unwrapper = SSEUnwrapper()
    assert unwrapper.feed(b'data: {"response": {"a": 1}}') == b""
    assert unwrapper.close() == b'data: {"a":1}\r\n\r\n'


def test_token_source_is_for_oauth_accounts_only() -> None:
    with pytest.raises(ValueError):
        TokenSource(Account("k", "key"), OAuthClient("c", "s"))


# --- tokens ------------------------------------------------------------------------------------


async def test_token_is_fetched_once_and_reused_until_near_expiry(emu: Emulator, session) -> None:
    clock = Clock()
    tokens = TokenSource(oauth(), client(emu), clock)
    first = await tokens.get(session)
    assert first.startswith("ya29.emulator-")
    clock.now += 3600 - 61
    assert await tokens.get(session) == first
    assert emu.token_refreshes[REFRESH] == 1
    clock.now += 1  # 60 s before expiry: refresh ahead of time
    second = await tokens.get(session)
    assert second != first
    assert emu.token_refreshes[REFRESH] == 2


async def test_short_lived_tokens_are_refreshed_every_time(emu: Emulator, session) -> None:
    emu.token_lifetime = 30  # inside the 60 s margin
    tokens = TokenSource(oauth(), client(emu), Clock())
    await tokens.get(session)
    await tokens.get(session)
    assert emu.token_refreshes[REFRESH] == 2


async def test_concurrent_callers_share_one_refresh(emu: Emulator, session) -> None:
    tokens = TokenSource(oauth(), client(emu), Clock())
    got = await asyncio.gather(*(tokens.get(session) for _ in range(20)))
    assert len(set(got)) == 1
    assert emu.token_refreshes[REFRESH] == 1
    assert tokens.refreshes == 1


async def test_concurrent_callers_share_one_failed_refresh(emu: Emulator, session) -> None:
    tokens = TokenSource(oauth("1//revoked"), client(emu), Clock())
    results = await asyncio.gather(
        *(tokens.get(session) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, TokenError) for r in results)
    assert emu.token_refreshes["1//revoked"] == 1
    with pytest.raises(TokenError):  # a later request asks again
        await tokens.get(session)
    assert emu.token_refreshes["1//revoked"] == 2


async def test_invalid_grant_is_an_auth_failure_without_the_secret(emu: Emulator, session) -> None:
    tokens = TokenSource(oauth("1//revoked-secret"), client(emu), Clock())
    with pytest.raises(TokenError) as caught:
        await tokens.get(session)
    error = caught.value
    assert (error.status, error.error) == (400, "invalid_grant")
    assert error.verdict.kind == "auth"
    assert "1//revoked-secret" not in str(error) and "csecret" not in str(error)
    assert "alice@example.com" in str(error)


async def test_wrong_client_secret_is_an_auth_failure(emu: Emulator, session) -> None:
    tokens = TokenSource(oauth(), client(emu, "wrong"), Clock())
    with pytest.raises(TokenError) as caught:
        await tokens.get(session)
    assert (caught.value.status, caught.value.error) == (401, "invalid_client")
    assert caught.value.verdict.kind == "auth"


async def test_unreachable_token_endpoint_is_retryable(session) -> None:
    dead = OAuthClient("cid", "s", "http://127.0.0.1:9/token", "http://127.0.0.1:9")
    tokens = TokenSource(oauth(), dead, Clock())
    with pytest.raises(TokenError) as caught:
        await tokens.get(session)
    assert caught.value.status is None
    assert (caught.value.verdict.kind, caught.value.verdict.retryable) == ("server_error", True)


async def test_invalidated_token_is_refreshed(emu: Emulator, session) -> None:
    tokens = TokenSource(oauth(), client(emu), Clock())
    first = await tokens.get(session)
    tokens.invalidate()
    assert await tokens.get(session) != first


# --- project discovery -------------------------------------------------------------------------


async def test_project_is_discovered_through_load_code_assist(emu: Emulator, session) -> None:
    tokens = TokenSource(oauth(), client(emu), Clock())
    assert await discover_project(session, emu.url, await tokens.get(session)) == PROJECT
    body = emu.requests[-1].body
    assert body == {
        "metadata": {
            "ideType": "IDE_UNSPECIFIED",
            "platform": "PLATFORM_UNSPECIFIED",
            "pluginType": "GEMINI",
        }
    }


async def test_discovery_with_a_bad_token_says_auth(emu: Emulator, session) -> None:
    with pytest.raises(CodeAssistError) as caught:
        await discover_project(session, emu.url, "ya29.forged")
    assert caught.value.verdict.kind == "auth"


async def test_discovered_project_is_asked_once_per_account(emu: Emulator, session) -> None:
    account = OAuthAccount(oauth(), client(emu), Clock())
    projects = await asyncio.gather(*(account.project(session) for _ in range(5)))
    assert projects == [PROJECT] * 5
    loads = [r for r in emu.requests if r.path == "/v1internal:loadCodeAssist"]
    assert len(loads) == 1


async def test_configured_project_skips_discovery(emu: Emulator, session) -> None:
    account = OAuthAccount(oauth(project="configured"), client(emu), Clock())
    assert await account.project(session) == "configured"
    assert emu.requests == []


# --- a whole call --------------------------------------------------------------------------------


async def test_call_reaches_code_assist_and_unwraps_to_the_gemini_answer(
    emu: Emulator, session
) -> None:
    account = OAuthAccount(oauth(), client(emu), Clock())
    call = await account.call(session, FLASH, GEMINI_BODY, stream=False)
    assert call.url == f"{emu.url}/v1internal:generateContent"
    async with session.post(call.url, json=call.body, headers=call.headers) as resp:
        assert resp.status == 200
        answer = unwrap(await resp.json())
    assert answer["candidates"][0]["content"]["parts"][0]["text"].endswith("You said: hi there")


async def test_streamed_call_unwraps_to_gemini_frames(emu: Emulator, session) -> None:
    account = OAuthAccount(oauth(), client(emu), Clock())
    call = await account.call(session, FLASH, GEMINI_BODY, stream=True)
    unwrapper = SSEUnwrapper()
    out = b""
    async with session.post(call.url, json=call.body, headers=call.headers) as resp:
        async for piece in resp.content.iter_any():
            out += unwrapper.feed(piece)
    out += unwrapper.close()
    frames = [json.loads(f.removeprefix(b"data: ")) for f in out.split(b"\r\n\r\n")[:-1]]
    assert frames[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "response" not in frames[0]


async def test_code_assist_429_becomes_a_cooldown_verdict(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="429", key=REFRESH, retry_delay="0.5s", quota_reset_delay="0.5s"))
    account = OAuthAccount(oauth(), client(emu), Clock())
    call = await account.call(session, FLASH, GEMINI_BODY, stream=False)
    async with session.post(call.url, json=call.body, headers=call.headers) as resp:
        verdict = classify(resp.status, await resp.read(), resp.headers)
    assert (verdict.kind, verdict.retry_after) == ("rate_limited", 0.5)


async def test_expired_token_gets_401_and_a_refresh_fixes_it(emu: Emulator, session) -> None:
    emu.token_lifetime = 0  # tokens the emulator issues are dead on arrival
    clock = Clock()
    account = OAuthAccount(oauth(project=PROJECT), client(emu), clock)
    account.tokens.margin = -3600  # ...but the client believes the 0 s lifetime is fine
    call = await account.call(session, FLASH, GEMINI_BODY, stream=False)
    async with session.post(call.url, json=call.body, headers=call.headers) as resp:
        assert classify(resp.status, await resp.read()).kind == "auth"
    emu.token_lifetime = 3600
    account.tokens.invalidate()
    call = await account.call(session, FLASH, GEMINI_BODY, stream=False)
    async with session.post(call.url, json=call.body, headers=call.headers) as resp:
        assert resp.status == 200


def test_registry_keeps_token_state_per_account_across_reloads() -> None:
    registry = OAuthAccounts(Clock())
    shared = OAuthClient("c", "s")
    first = registry.get(oauth(), shared)
    assert registry.get(Account("renamed", REFRESH, AccountKind.GOOGLE_OAUTH), shared) is first
    assert registry.get(oauth("1//other"), shared) is not first
    registry.retain([oauth("1//other")])
    assert registry.get(oauth(), shared) is not first


@pytest.mark.parametrize(
    ("status", "kind"), [(503, "overloaded"), (500, "server_error"), (429, "rate_limited")]
)
def test_token_endpoint_trouble_is_retryable_not_auth(status: int, kind: str) -> None:
    error = TokenError("alice", status, f"http_{status}", "try later")
    assert (error.verdict.kind, error.verdict.retryable) == (kind, True)
    assert error.verdict.reason == f"token refresh: {status} http_{status}: try later"
