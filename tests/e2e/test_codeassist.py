"""Google accounts (google_oauth) through Code Assist, as a client of the gateway sees them.

The emulator plays Google's token endpoint and Code Assist (v1internal); the accounts file's
`oauth:` section points the gateway at it. Every test runs its own gateway: access tokens,
discovered projects, cooldowns and disabled accounts live as long as the gateway does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from antigravity import codeassist
from antigravity.emulator import Emulator, Fault, run_in_thread
from tests.e2e.conftest import raw
from tests.e2e.test_pool import (
    HELLO,
    PROBE,
    Gateway,
    ask,
    attempts,
    sse_events,
    start_gateway,
)

pytestmark = pytest.mark.e2e

CLIENT_ID = "antigravity-e2e.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-e2e-client-secret-0000"
ALICE = "1//0alice-refresh-token-000000001"  # discovers her project through loadCodeAssist
BOB = "1//0bob-refresh-token-0000000002"  # has `project:` in the file
REVOKED = "1//0revoked-refresh-token-00000009"  # the emulator does not know it: invalid_grant
BOB_PROJECT = "bob-configured-project"
API_KEY = "AIza-codeassist-fallback-key-0001"
FLASH = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """An emulator of this module's own: it knows these refresh tokens and checks the client."""
    with run_in_thread(oauth_accounts={ALICE: None, BOB: BOB_PROJECT}) as emu:
        emu.oauth_client = (CLIENT_ID, CLIENT_SECRET)
        yield emu


@pytest.fixture(autouse=True)
def _token_lifetime(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.token_lifetime = 3600.0


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "probe.py"
    path.write_text(PROBE)
    return path


def accounts_file(emulator: Emulator, path: Path, *accounts: str) -> Path:
    path.write_text(
        "oauth:\n"
        f"  client_id: {CLIENT_ID}\n"
        f"  client_secret: {CLIENT_SECRET}\n"
        f"  token_url: {emulator.url}/token\n"
        f"  code_assist_url: {emulator.url}\n"
        "accounts:\n" + "".join(accounts)
    )
    return path


def google(label: str, refresh_token: str, extra: str = "") -> str:
    return (
        f'  - label: {label}\n    kind: google_oauth\n    refresh_token: "{refresh_token}"\n{extra}'
    )


def keyed(label: str = "fallback-key", extra: str = "") -> str:
    return f"  - label: {label}\n    kind: api_key\n    api_key: {API_KEY}\n{extra}"


def gateway(emulator: Emulator, probe: Path, tmp_path: Path, *accounts: str):  # type: ignore[no-untyped-def]
    path = accounts_file(emulator, tmp_path / "accounts.yaml", *accounts)
    return start_gateway(emulator.url, probe, tmp_path, (), {"antigravity_accounts": str(path)})


def calls(emulator: Emulator, path: str) -> list[Any]:
    return [r for r in emulator.requests if r.path == path]


GENERATE = "/v1internal:generateContent"
STREAM = "/v1internal:streamGenerateContent"
LOAD = "/v1internal:loadCodeAssist"


def assert_no_secrets(gw: Gateway, flows: int) -> None:
    """Neither saved flows nor the log hold a refresh token, access token or client secret."""
    gw.flows(flows)  # all saved
    for where in (gw.flows_path.read_bytes(), gw.child.log().encode()):
        for secret in (ALICE, BOB, REVOKED, CLIENT_SECRET, API_KEY, "ya29."):
            assert secret.encode() not in where


def test_google_accounts_chat_through_code_assist_on_their_project(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    with gateway(
        emulator,
        probe,
        tmp_path,
        google("alice@gmail.com", ALICE, '    models: {deny: ["gemini-2.5-pro"]}\n'),
        google(
            "bob@gmail.com",
            BOB,
            f'    project: {BOB_PROJECT}\n    models: {{allow: ["gemini-2.5-pro"]}}\n',
        ),
    ) as gw:
        client = gw.client()
        label, answer = ask(client, "Hello")
        assert label == "alice@gmail.com"
        text = answer.choices[0].message.content
        assert (
            text == "Hello from the antigravity Gemini emulator (gemini-2.5-flash). You said: Hello"
        )

        body = {"model": "gpt-4o", "messages": HELLO, "stream": True}
        resp = raw(f"{gw.url}/v1/chat/completions", "POST", body)
        assert resp.status == 200
        assert resp.headers["content-type"] == "text/event-stream"
        assert resp.headers["x-account-email"] == "alice@gmail.com"
        events = sse_events(resp.body)
        assert events[-1] == "[DONE]"
        stream = client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == text

        assert ask(client, "Hello", "gemini-2.5-pro")[0] == "bob@gmail.com"
        assert_no_secrets(gw, 4)
        flow = gw.flows(4)[0]
        assert flow.request.path == GENERATE
        assert flow.request.headers["authorization"].startswith("Bearer ****")

    # Alice's project was asked for once, and every call named it; Bob's came from the file.
    alice_project = emulator.project_of(ALICE)
    assert [r.key for r in calls(emulator, LOAD)] == [ALICE]
    assert [r.body["project"] for r in calls(emulator, GENERATE)] == [alice_project, BOB_PROJECT]
    assert [r.body["project"] for r in calls(emulator, STREAM)] == [alice_project] * 2
    assert {r.body["model"] for r in calls(emulator, STREAM)} == {FLASH}
    # One access token each, reused while valid.
    assert dict(emulator.token_refreshes) == {ALICE: 1, BOB: 1}
    assert not [r for r in emulator.requests if r.path.startswith("/v1beta/")]


def test_an_access_token_about_to_expire_is_refreshed_before_the_call(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    # Tokens living no longer than the refresh margin are stale at once: every call refreshes.
    emulator.token_lifetime = codeassist.REFRESH_MARGIN
    with gateway(emulator, probe, tmp_path, google("alice@gmail.com", ALICE)) as gw:
        client = gw.client()
        counts = []
        for n in range(3):
            assert ask(client, f"conversation {n}")[0] == "alice@gmail.com"
            counts.append(emulator.token_refreshes[ALICE])
        stream = client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
        assert "emulator" in "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        counts.append(emulator.token_refreshes[ALICE])
        assert_no_secrets(gw, 4)
    assert counts == sorted(set(counts))  # a new token for each call
    assert len(calls(emulator, GENERATE)) == 3
    # No call went out with an expired token (the emulator records those without a holder).
    assert all(r.key == ALICE for r in emulator.requests if r.path.startswith("/v1internal:"))


def test_concurrent_requests_share_one_token_refresh_and_one_project_lookup(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    with gateway(emulator, probe, tmp_path, google("alice@gmail.com", ALICE)) as gw:

        async def burst() -> list[str]:
            client = gw.aclient()
            try:
                answers = await asyncio.gather(
                    *(
                        client.chat.completions.create(
                            model="gpt-4o", messages=[{"role": "user", "content": f"hi {n}"}]
                        )
                        for n in range(8)
                    )
                )
            finally:
                await client.close()
            return [a.choices[0].message.content or "" for a in answers]

        texts = asyncio.run(burst())
    assert [t.rsplit("You said: ", 1)[-1] for t in texts] == [f"hi {n}" for n in range(8)]
    assert emulator.token_refreshes[ALICE] == 1
    assert len(calls(emulator, LOAD)) == 1
    assert len(calls(emulator, GENERATE)) == 8


def test_a_revoked_refresh_token_met_on_a_retry_disables_the_account_and_a_key_answers(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    emulator.add_fault(Fault(kind="429", key=API_KEY, retry_delay="60s"))
    with gateway(
        emulator,
        probe,
        tmp_path,
        keyed("limited-key"),
        google("revoked@gmail.com", REVOKED),
        google("alice@gmail.com", ALICE),
    ) as gw:
        client = gw.client()
        assert ask(client, "Hello")[0] == "alice@gmail.com"
        (flow,) = gw.flows(1)
        limited, revoked, served = attempts(flow)
        assert (limited["account"], limited["status"]) == ("limited-key (****0001)", 429)
        assert revoked["account"].startswith("revoked@gmail.com ")
        assert (revoked["status"], revoked["outcome"], revoked["disabled"]) == (None, "auth", True)
        assert "invalid_grant" in revoked["reason"]
        assert (served["account"].split()[0], served["status"]) == ("alice@gmail.com", 200)
        assert gw.accounts()["revoked@gmail.com"].state.startswith("disabled: token refresh")

        for n in range(3):
            assert ask(client, f"conversation {n}")[0] == "alice@gmail.com"
        assert_no_secrets(gw, 4)
    assert emulator.token_refreshes[REVOKED] == 1  # never asked again


@pytest.mark.parametrize("stream", [False, True])
def test_a_revoked_refresh_token_on_the_first_pick_disables_the_account_and_a_key_answers(
    emulator: Emulator, probe: Path, tmp_path: Path, stream: bool
) -> None:
    with gateway(
        emulator, probe, tmp_path, google("revoked@gmail.com", REVOKED), keyed("fallback-key")
    ) as gw:
        body = {"model": "gpt-4o", "messages": HELLO, "stream": stream}
        resp = raw(f"{gw.url}/v1/chat/completions", "POST", body)
        assert resp.status == 200, resp.body[:300]
        assert gw.accounts()["revoked@gmail.com"].state.startswith("disabled: token refresh")
        assert resp.headers["x-account-email"] == "fallback-key"
        content_type = "text/event-stream" if stream else "application/json"
        assert resp.headers["content-type"] == content_type
        if stream:
            assert sse_events(resp.body)[-1] == "[DONE]"
        else:
            assert "emulator" in resp.json()["choices"][0]["message"]["content"]
        assert ask(gw.client(), "Hello again")[0] == "fallback-key"
    assert emulator.token_refreshes[REVOKED] == 1  # never asked again
    assert [r.key for r in emulator.requests if r.path.startswith("/v1beta/")] == [API_KEY] * 2


def test_code_assist_quota_rests_the_account_for_google_delays_and_a_key_answers(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    daily = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
    emulator.add_fault(
        Fault(kind="429", key=ALICE, model=FLASH, quota_id=daily, quota_reset_delay="1h")
    )
    emulator.add_fault(Fault(kind="429", key=ALICE, model="gemini-2.5-pro", retry_delay="2.5s"))
    with gateway(
        emulator, probe, tmp_path, google("alice@gmail.com", ALICE), keyed("fallback-key")
    ) as gw:
        client = gw.client()
        assert ask(client, "Hello")[0] == "fallback-key"
        assert ask(client, "Hello", "gemini-2.5-pro")[0] == "fallback-key"
        flows = gw.flows(2)
        day, minute = (attempts(f)[0] for f in flows)
        # Google's quotaResetDelay and RetryInfo, as given.
        assert (day["status"], day["outcome"], day["cooldown"]) == (
            429,
            "quota_exhausted_daily",
            3600.0,
        )
        assert (minute["status"], minute["outcome"], minute["cooldown"]) == (
            429,
            "rate_limited",
            2.5,
        )
        # Alice rests for the daily model only: another model is hers again.
        assert [ask(client, f"flash {n}")[0] for n in range(3)] == ["fallback-key"] * 3
        assert ask(client, "Hello", "gemini-2.5-flash-lite")[0] == "alice@gmail.com"
        state = gw.accounts()["alice@gmail.com"].state
        assert state.startswith("cooling gemini-2.5-flash for ")
        assert "flash-lite" not in state
        assert_no_secrets(gw, 6)


def test_an_access_token_code_assist_rejects_is_replaced_and_the_account_kept(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    # One 401 on an access token the gateway still held valid (revoked early, clock skew).
    emulator.add_fault(Fault(kind="401", key=ALICE, times=1))
    with gateway(
        emulator, probe, tmp_path, google("alice@gmail.com", ALICE), keyed("fallback-key")
    ) as gw:
        label, _ = ask(gw.client(), "Hello")
        # The same account answers again, with a fresh access token.
        assert label == "alice@gmail.com"
        (flow,) = gw.flows(1)
        first, second = attempts(flow)
        assert (first["account"].split()[0], first["status"]) == ("alice@gmail.com", 401)
        assert first["outcome"] == "token_refused"
        assert (second["account"].split()[0], second["status"]) == ("alice@gmail.com", 200)
        # The refresh token is fine: the account should get a new access token, not retire.
        state = gw.accounts()["alice@gmail.com"].state
        assert not state.startswith("disabled"), state
