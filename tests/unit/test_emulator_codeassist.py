"""The emulator's Google-account side: the OAuth token endpoint and the Code Assist endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from antigravity.emulator import Emulator, Fault, run_in_thread
from antigravity.emulator.oauth import default_project

FLASH = "gemini-2.5-flash"
REFRESH = "1//refresh-alice"
PROJECT = "alice-project"
GREETING = f"Hello from the antigravity Gemini emulator ({FLASH}). You said: "


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator(oauth_accounts={REFRESH: PROJECT})
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


async def refresh(
    session: aiohttp.ClientSession, emu: Emulator, token: str = REFRESH, **form: str
) -> aiohttp.ClientResponse:
    data = {
        "grant_type": "refresh_token",
        "client_id": "client-id",
        "client_secret": "client-secret",
        "refresh_token": token,
        **form,
    }
    return await session.post(f"{emu.url}/token", data=data)


async def access_token(session: aiohttp.ClientSession, emu: Emulator, token: str = REFRESH) -> str:
    resp = await refresh(session, emu, token)
    assert resp.status == 200
    return str((await resp.json())["access_token"])


def envelope(project: str = PROJECT, text: str = "hi there", **extra: Any) -> dict[str, Any]:
    request = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    return {"model": FLASH, "project": project, "request": request, **extra}


async def call(
    session: aiohttp.ClientSession,
    emu: Emulator,
    token: str | None,
    body: Any = None,
    method: str = "generateContent",
) -> aiohttp.ClientResponse:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    suffix = "?alt=sse" if method == "streamGenerateContent" else ""
    return await session.post(
        f"{emu.url}/v1internal:{method}{suffix}",
        json=envelope() if body is None else body,
        headers=headers,
    )


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    frames = raw.split(b"\r\n\r\n")
    assert frames[-1] == b""
    return [json.loads(f.removeprefix(b"data: ")) for f in frames[:-1]]


# --- token endpoint ----------------------------------------------------------------------------


async def test_registered_refresh_token_gets_an_access_token(emu: Emulator, session) -> None:
    resp = await refresh(session, emu)
    data = await resp.json()
    assert resp.status == 200
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert data["access_token"].startswith("ya29.emulator-")
    assert emu.token_refreshes[REFRESH] == 1


async def test_each_refresh_issues_a_new_token_and_is_counted(emu: Emulator, session) -> None:
    first = await access_token(session, emu)
    second = await access_token(session, emu)
    assert first != second
    assert emu.token_refreshes[REFRESH] == 2


async def test_unknown_refresh_token_is_invalid_grant(emu: Emulator, session) -> None:
    resp = await refresh(session, emu, "1//unknown")
    assert resp.status == 400
    assert await resp.json() == {"error": "invalid_grant", "error_description": "Bad Request"}
    assert emu.token_refreshes["1//unknown"] == 1


async def test_other_grant_types_are_unsupported(emu: Emulator, session) -> None:
    resp = await refresh(session, emu, grant_type="authorization_code")
    assert resp.status == 400
    assert (await resp.json())["error"] == "unsupported_grant_type"


async def test_configured_client_must_match(session) -> None:
    emulator = Emulator(oauth_accounts={REFRESH: None}, oauth_client=("client-id", "right"))
    await emulator.start()
    try:
        wrong = await refresh(session, emulator)
        assert (wrong.status, (await wrong.json())["error"]) == (401, "invalid_client")
        right = await refresh(session, emulator, client_secret="right")
        assert right.status == 200
    finally:
        await emulator.stop()


async def test_accounts_added_later_are_accepted(emu: Emulator, session) -> None:
    assert emu.add_oauth_account("1//bob") == default_project("1//bob")
    assert emu.project_of("1//bob") == default_project("1//bob")
    assert (await refresh(session, emu, "1//bob")).status == 200


# --- loadCodeAssist ----------------------------------------------------------------------------


async def test_load_code_assist_names_the_project_of_the_refresh_token(
    emu: Emulator, session
) -> None:
    token = await access_token(session, emu)
    body = {"metadata": {"ideType": "IDE_UNSPECIFIED", "pluginType": "GEMINI"}}
    resp = await call(session, emu, token, body, method="loadCodeAssist")
    data = await resp.json()
    assert resp.status == 200
    assert data["cloudaicompanionProject"] == PROJECT
    assert data["currentTier"]["id"] == "free-tier"


async def test_project_derived_from_the_token_is_stable() -> None:
    assert default_project("1//x") == default_project("1//x") != default_project("1//y")


# --- generateContent / streamGenerateContent ----------------------------------------------------


async def test_generate_answers_the_gemini_answer_wrapped_in_response(
    emu: Emulator, session
) -> None:
    token = await access_token(session, emu)
    resp = await call(session, emu, token)
    data = await resp.json()
    assert resp.status == 200
    assert resp.headers["x-emulator"] == "antigravity"
    assert list(data) == ["response"]
    assert data["response"]["candidates"][0]["content"]["parts"][0]["text"] == GREETING + "hi there"


async def test_same_answer_as_the_gemini_api(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    wrapped = await (await call(session, emu, token)).json()
    direct = await session.post(
        f"{emu.url}/v1beta/models/{FLASH}:generateContent",
        json=envelope()["request"],
        headers={"x-goog-api-key": "k"},
    )
    assert wrapped["response"] == await direct.json()


async def test_stream_wraps_every_event(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    resp = await call(session, emu, token, method="streamGenerateContent")
    events = sse_events(await resp.read())
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert len(events) > 1
    assert all(list(e) == ["response"] for e in events)
    text = "".join(e["response"]["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert text == GREETING + "hi there"
    assert events[-1]["response"]["candidates"][0]["finishReason"] == "STOP"


async def test_request_is_recorded_with_the_refresh_token_as_key(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    await call(session, emu, token)
    last = emu.requests[-1]
    assert (last.path, last.key, last.model) == ("/v1internal:generateContent", REFRESH, FLASH)


async def test_session_and_prompt_ids_are_accepted(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    body = envelope(user_prompt_id="p-1")
    body["request"]["session_id"] = "s-1"
    assert (await call(session, emu, token, body)).status == 200


# --- rejections --------------------------------------------------------------------------------


async def test_missing_bearer_token_is_unauthenticated(emu: Emulator, session) -> None:
    resp = await call(session, emu, None)
    error = (await resp.json())["error"]
    assert (resp.status, error["status"]) == (401, "UNAUTHENTICATED")
    assert error["details"][0]["reason"] == "CREDENTIALS_MISSING"
    assert emu.requests[-1].key is None


async def test_unknown_bearer_token_is_unauthenticated(emu: Emulator, session) -> None:
    resp = await call(session, emu, "ya29.forged")
    assert (resp.status, (await resp.json())["error"]["status"]) == (401, "UNAUTHENTICATED")


async def test_expired_access_token_is_unauthenticated(emu: Emulator, session) -> None:
    emu.token_lifetime = 0
    token = await access_token(session, emu)
    resp = await call(session, emu, token)
    error = (await resp.json())["error"]
    assert resp.status == 401
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"


async def test_api_key_does_not_open_code_assist(emu: Emulator, session) -> None:
    resp = await session.post(
        f"{emu.url}/v1internal:generateContent", json=envelope(), headers={"x-goog-api-key": "k"}
    )
    assert resp.status == 401


async def test_another_accounts_project_is_permission_denied(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    resp = await call(session, emu, token, envelope(project="someone-else"))
    error = (await resp.json())["error"]
    assert (resp.status, error["status"]) == (403, "PERMISSION_DENIED")
    assert "someone-else" in error["message"]


async def test_missing_project_is_permission_denied(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    body = envelope()
    del body["project"]
    assert (await call(session, emu, token, body)).status == 403


async def test_inner_request_is_validated_like_the_gemini_api(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    body = envelope()
    body["request"]["generationConfig"] = {"maxOutputTokenz": 5}
    resp = await call(session, emu, token, body)
    error = (await resp.json())["error"]
    assert (resp.status, error["status"]) == (400, "INVALID_ARGUMENT")
    assert "maxOutputTokenz" in error["message"]


async def test_unknown_envelope_field_is_rejected(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    resp = await call(session, emu, token, envelope(contents=[]))
    assert resp.status == 400
    assert 'Unknown name "contents"' in (await resp.json())["error"]["message"]


async def test_non_gemini_model_is_not_found(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    resp = await call(session, emu, token, {**envelope(), "model": "gpt-4o"})
    assert resp.status == 404


async def test_unknown_method_is_not_found(emu: Emulator, session) -> None:
    token = await access_token(session, emu)
    resp = await call(session, emu, token, {}, method="onboardUser")
    assert resp.status == 404


# --- faults ------------------------------------------------------------------------------------


async def test_429_fault_for_the_refresh_token_has_code_assist_shape(
    emu: Emulator, session
) -> None:
    emu.add_fault(Fault(kind="429", key=REFRESH, retry_delay="2.5s"))
    token = await access_token(session, emu)
    resp = await call(session, emu, token)
    error = (await resp.json())["error"]
    info, retry = error["details"]
    assert (resp.status, error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert (info["reason"], info["domain"]) == (
        "RATE_LIMIT_EXCEEDED",
        "cloudcode-pa.googleapis.com",
    )
    assert info["metadata"]["quotaResetDelay"] == "2.5s"
    assert retry == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.5s"}
    assert (await call(session, emu, token)).status == 200  # used up


async def test_daily_429_fault_is_quota_exhausted_with_its_reset_delay(
    emu: Emulator, session
) -> None:
    daily = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
    emu.add_fault(Fault(kind="429", quota_id=daily, retry_delay=None, quota_reset_delay="3h2m1s"))
    token = await access_token(session, emu)
    error = (await (await call(session, emu, token)).json())["error"]
    assert len(error["details"]) == 1
    assert error["details"][0]["reason"] == "QUOTA_EXHAUSTED"
    assert error["details"][0]["metadata"]["quotaResetDelay"] == "3h2m1s"


async def test_fault_for_another_account_spares_this_one(emu: Emulator, session) -> None:
    emu.add_oauth_account("1//bob", "bob-project")
    emu.add_fault(Fault(kind="503", key="1//bob"))
    alice = await access_token(session, emu)
    bob = await access_token(session, emu, "1//bob")
    assert (await call(session, emu, alice)).status == 200
    assert (await call(session, emu, bob, envelope(project="bob-project"))).status == 503


async def test_cut_stream_fault_applies_to_code_assist(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="cut", after_chunks=1))
    token = await access_token(session, emu)
    events = sse_events(
        await (await call(session, emu, token, method="streamGenerateContent")).read()
    )
    assert len(events) == 1
    assert "finishReason" not in events[0]["response"]["candidates"][0]


async def test_faults_do_not_touch_the_token_endpoint(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="503", key=REFRESH))
    assert (await refresh(session, emu)).status == 200
    assert len(emu.faults) == 1


async def test_reset_clears_refresh_counts_but_keeps_accounts(emu: Emulator, session) -> None:
    await access_token(session, emu)
    emu.reset()
    assert emu.token_refreshes[REFRESH] == 0
    assert (await refresh(session, emu)).status == 200


def test_run_in_thread_serves_oauth_accounts() -> None:
    async def load(url: str) -> int:
        async with aiohttp.ClientSession() as s:
            form = {"grant_type": "refresh_token", "client_id": "c", "refresh_token": REFRESH}
            async with s.post(f"{url}/token", data=form) as resp:
                return resp.status

    with run_in_thread(oauth_accounts={REFRESH: PROJECT}) as emulator:
        assert asyncio.run(load(emulator.url)) == 200
