"""Options users set: auth modes and keys, mappings.yaml hot reload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from antigravity import launch
from antigravity.emulator import Emulator
from tests.e2e.conftest import raw

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "Hello"}]
PROXY_KEY = "sk-proxy-key-for-tests"


@pytest.fixture(scope="module")
def strict_gateway(emulator: Emulator) -> Iterator[launch.Child]:
    with launch.start_mitmdump(
        emulator.url,
        env={"GEMINI_API_KEYS": "key-strict-000000001"},
        options={"antigravity_auth_mode": "strict", "antigravity_api_key": PROXY_KEY},
    ) as child:
        yield child


def test_strict_mode_rejects_missing_and_wrong_keys_with_json_401(
    strict_gateway: launch.Child, emulator: Emulator
) -> None:
    for headers in ({}, {"authorization": "Bearer wrong"}):
        resp = raw(f"{strict_gateway.url}/v1/models", headers=headers)
        assert resp.status == 401
        assert resp.json()["error"]["code"] == "invalid_api_key"
        assert "wrong" not in resp.body.decode()
    assert raw(f"{strict_gateway.url}/healthz").status == 401
    assert emulator.requests == []


@pytest.mark.parametrize("header", ["authorization", "x-api-key", "x-goog-api-key"])
def test_key_is_accepted_in_each_header(strict_gateway: launch.Child, header: str) -> None:
    value = f"Bearer {PROXY_KEY}" if header == "authorization" else PROXY_KEY
    resp = raw(f"{strict_gateway.url}/v1/models", headers={header: value})
    assert resp.status == 200


def test_sdk_with_the_proxy_key_works(strict_gateway: launch.Child) -> None:
    client = openai.OpenAI(api_key=PROXY_KEY, base_url=f"{strict_gateway.url}/v1", max_retries=0)
    answer = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert "emulator" in answer.choices[0].message.content
    bad = openai.OpenAI(api_key="nope", base_url=f"{strict_gateway.url}/v1", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="gpt-4o", messages=HELLO)


def test_all_except_health_leaves_healthz_open(emulator: Emulator) -> None:
    with launch.start_mitmdump(
        emulator.url,
        options={"antigravity_auth_mode": "all_except_health", "antigravity_api_key": PROXY_KEY},
    ) as gw:
        assert raw(f"{gw.url}/healthz").status == 200
        assert raw(f"{gw.url}/v1/models").status == 401


def wait_for(check, timeout: float = 15) -> bool:  # type: ignore[no-untyped-def]
    """Poll a readiness condition (the gateway checks mappings.yaml at most once a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_mappings_reload_on_change_and_keep_last_good(emulator: Emulator, tmp_path: Path) -> None:
    mappings = tmp_path / "mappings.yaml"
    mappings.write_text("mappings:\n  my-model: gemini-2.5-flash\n")
    with launch.start_mitmdump(
        emulator.url,
        env={"GEMINI_API_KEYS": "key-reload-00000001"},
        options={"antigravity_mappings": str(mappings)},
    ) as gw:

        def mapped(model: str) -> str | None:
            resp = raw(f"{gw.url}/v1/chat/completions", "POST", {"model": model, "messages": HELLO})
            return resp.headers.get("x-mapped-model") if resp.status == 200 else None

        assert mapped("my-model") == "gemini-2.5-flash"
        mappings.write_text("mappings:\n  my-model: gemini-2.5-pro\n")
        assert wait_for(lambda: mapped("my-model") == "gemini-2.5-pro")
        mappings.write_text("mappings: [this is: not valid\n")
        assert wait_for(
            lambda: mapped("my-model") == "gemini-2.5-pro" and "keeping the last good" in gw.log()
        )
        assert mapped("my-model") == "gemini-2.5-pro"
        ids = [m["id"] for m in raw(f"{gw.url}/v1/models").json()["data"]]
        assert "my-model" in ids
