"""Who may use the gateway, and that the client's key never stays on the flow."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from antigravity.gateway import Gateway
from tests.flows.conftest import (
    CLIENT_KEY,
    HELLO,
    LAN,
    LOOPBACK,
    answer,
    chat_flow,
    client_flow,
    error_of,
    json_body,
    run,
    send,
)

KEY_HEADERS = [
    {"authorization": f"Bearer {CLIENT_KEY}"},
    {"x_api_key": CLIENT_KEY},
    {"x_goog_api_key": CLIENT_KEY},
]


def strict(tctx: taddons.context, gateway: Gateway) -> None:
    tctx.configure(gateway, antigravity_auth_mode="strict", antigravity_api_key=CLIENT_KEY)


async def test_strict_mode_without_key_is_401_invalid_api_key(
    tctx: taddons.context, gateway: Gateway
) -> None:
    strict(tctx, gateway)
    f = client_flow("GET", "/v1/models")
    await run(gateway, "requestheaders", f)
    assert f.response is not None and f.response.status_code == 401
    error = error_of(f)
    assert error["code"] == "invalid_api_key"
    assert error["type"] == "invalid_request_error"
    assert "Bearer" in error["message"]


async def test_strict_mode_with_wrong_key_is_401(tctx: taddons.context, gateway: Gateway) -> None:
    strict(tctx, gateway)
    f = await send(gateway, client_flow("GET", "/v1/models", authorization="Bearer sk-wrong"))
    assert f.response is not None and f.response.status_code == 401
    assert error_of(f)["message"] == "Incorrect API key provided."


async def test_refused_chat_request_is_not_rewritten(
    tctx: taddons.context, gateway: Gateway
) -> None:
    strict(tctx, gateway)
    f = await send(gateway, chat_flow({"model": "gpt-4o", "messages": HELLO}))
    assert f.response is not None and f.response.status_code == 401
    assert f.request.path == "/v1/chat/completions"
    assert "x-goog-api-key" not in f.request.headers


@pytest.mark.parametrize("headers", KEY_HEADERS, ids=lambda h: next(iter(h)))
async def test_key_is_accepted_in_each_header(
    tctx: taddons.context, gateway: Gateway, headers: dict[str, str]
) -> None:
    strict(tctx, gateway)
    f = await send(gateway, client_flow("GET", "/v1/models", **headers))
    assert f.response is not None and f.response.status_code == 200
    assert json_body(f)["object"] == "list"


@pytest.mark.parametrize("headers", KEY_HEADERS, ids=lambda h: next(iter(h)))
async def test_client_key_is_masked_on_the_flow_after_requestheaders(
    tctx: taddons.context, gateway: Gateway, headers: dict[str, str]
) -> None:
    strict(tctx, gateway)
    f = client_flow("GET", "/v1/models", **headers)
    await run(gateway, "requestheaders", f)
    assert f.response is None
    assert not any(CLIENT_KEY in value for value in f.request.headers.values())
    assert "9876" in str(f.request.headers)


async def test_client_key_is_masked_even_when_auth_is_off(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = client_flow("GET", "/v1/models", authorization=f"Bearer {CLIENT_KEY}")
    await run(gateway, "requestheaders", f)
    assert CLIENT_KEY not in str(f.request.headers)


async def test_wrong_key_is_masked_too(tctx: taddons.context, gateway: Gateway) -> None:
    strict(tctx, gateway)
    wrong = "sk-someone-elses-secret-4242"
    f = client_flow("GET", "/v1/models", x_api_key=wrong)
    await run(gateway, "requestheaders", f)
    assert f.response is not None and f.response.status_code == 401
    assert wrong not in str(f.request.headers)


async def test_all_except_health_leaves_healthz_free(
    tctx: taddons.context, gateway: Gateway
) -> None:
    tctx.configure(
        gateway, antigravity_auth_mode="all_except_health", antigravity_api_key=CLIENT_KEY
    )
    assert (await answer(gateway, "GET", "/healthz")).status_code == 200
    assert (await answer(gateway, "GET", "/v1/models")).status_code == 401


async def test_strict_mode_guards_healthz_too(tctx: taddons.context, gateway: Gateway) -> None:
    strict(tctx, gateway)
    assert (await answer(gateway, "GET", "/healthz")).status_code == 401


async def test_auto_mode_on_loopback_needs_no_key(tctx: taddons.context, gateway: Gateway) -> None:
    tctx.configure(gateway, antigravity_auth_mode="auto", mode=[LOOPBACK])
    assert (await answer(gateway, "GET", "/v1/models")).status_code == 200


async def test_listening_beyond_loopback_without_key_is_refused_naming_the_option(
    tctx: taddons.context, gateway: Gateway
) -> None:
    with pytest.raises(exceptions.OptionsError, match="antigravity_api_key"):
        tctx.configure(gateway, antigravity_auth_mode="auto", mode=[LAN])


async def test_listening_beyond_loopback_with_key_guards_all_but_health(
    tctx: taddons.context, gateway: Gateway
) -> None:
    tctx.configure(gateway, antigravity_api_key=CLIENT_KEY, mode=[LAN])
    assert (await answer(gateway, "GET", "/healthz")).status_code == 200
    assert (await answer(gateway, "GET", "/v1/models")).status_code == 401


async def test_one_lan_address_among_several_turns_auth_on(
    tctx: taddons.context, gateway: Gateway
) -> None:
    with pytest.raises(exceptions.OptionsError, match="antigravity_api_key"):
        tctx.configure(gateway, mode=[LOOPBACK, LAN.replace("8045", "8046")])


@pytest.mark.parametrize("mode", ["strict", "all_except_health"])
async def test_auth_mode_that_needs_a_key_is_refused_without_one(
    tctx: taddons.context, gateway: Gateway, mode: str
) -> None:
    with pytest.raises(exceptions.OptionsError, match="antigravity_api_key"):
        tctx.configure(gateway, antigravity_auth_mode=mode)


async def test_preflight_needs_no_key_even_in_strict_mode(
    tctx: taddons.context, gateway: Gateway
) -> None:
    strict(tctx, gateway)
    f = client_flow(
        "OPTIONS",
        "/v1/chat/completions",
        origin="http://localhost:3000",
        access_control_request_method="POST",
        access_control_request_headers="authorization, content-type",
    )
    await send(gateway, f)
    assert f.response is not None and f.response.status_code == 204
