"""Routes the gateway answers itself, without calling Gemini."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from antigravity.gateway import Gateway
from tests.flows.conftest import (
    answer,
    client_flow,
    error_of,
    json_body,
    send,
)


async def test_healthz_answers_ok(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, client_flow("GET", "/healthz"))
    assert f.response is not None and f.response.status_code == 200
    assert json_body(f) == {"status": "ok"}


async def test_models_lists_configured_models_and_mapping_keys_but_no_wildcards(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, client_flow("GET", "/v1/models"))
    body = json_body(f)
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["gemini-2.5-pro", "gpt-4o", "team-fast"]
    assert all(m["object"] == "model" for m in body["data"])


async def test_one_model_is_answered_as_a_model_object(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, client_flow("GET", "/v1/models/gpt-4o"))
    assert json_body(f)["id"] == "gpt-4o"


async def test_unknown_model_detail_is_404_naming_the_model(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = await send(gateway, client_flow("GET", "/v1/models/no-such-model"))
    assert f.response is not None and f.response.status_code == 404
    error = error_of(f)
    assert error["code"] == "model_not_found"
    assert "no-such-model" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nope"),
        ("POST", "/v1/chat/completions/responses"),
        ("POST", "/v1/embeddings"),
    ],
)
async def test_unknown_route_is_404_naming_method_and_path(
    tctx: taddons.context, gateway: Gateway, method: str, path: str
) -> None:
    f = await send(gateway, client_flow(method, path))
    assert f.response is not None and f.response.status_code == 404
    error = error_of(f)
    assert f"{method} {path}" in error["message"]
    assert error["code"] == "unknown_route"


async def test_stacked_path_hints_at_the_base_url(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, client_flow("POST", "/v1/chat/completions/responses"))
    assert "base URL" in error_of(f)["message"]


async def test_wrong_method_is_405_with_allow(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, client_flow("GET", "/v1/chat/completions"))
    assert f.response is not None and f.response.status_code == 405
    assert f.response.headers["allow"] == "POST"
    assert error_of(f)["code"] == "method_not_allowed"


async def test_preflight_gets_204_with_cors_headers(
    tctx: taddons.context, gateway: Gateway
) -> None:
    f = client_flow(
        "OPTIONS",
        "/v1/chat/completions",
        origin="http://localhost:3000",
        access_control_request_method="POST",
        access_control_request_headers="authorization, content-type, x-stainless-os",
    )
    await send(gateway, f)
    assert f.response is not None and f.response.status_code == 204
    assert f.response.content == b""
    h = f.response.headers
    assert h["access-control-allow-origin"] == "*"
    assert "POST" in h["access-control-allow-methods"]
    assert h["access-control-allow-headers"] == "authorization, content-type, x-stainless-os"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/v1/models"),
        ("OPTIONS", "/v1/models"),
        ("GET", "/v1/nope"),
        ("GET", "/v1/chat/completions"),
    ],
)
async def test_local_answers_carry_request_id_and_cors(
    tctx: taddons.context, gateway: Gateway, method: str, path: str
) -> None:
    f = await send(gateway, client_flow(method, path))
    assert f.response is not None
    assert f.response.headers["x-request-id"].startswith("req_")
    assert f.response.headers["access-control-allow-origin"] == "*"


async def test_each_answer_gets_its_own_request_id(tctx: taddons.context, gateway: Gateway) -> None:
    first = await answer(gateway, "GET", "/healthz")
    second = await answer(gateway, "GET", "/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_local_answers_send_nothing_upstream(tctx: taddons.context, gateway: Gateway) -> None:
    f = await send(gateway, client_flow("GET", "/v1/models"))
    assert f.request.path == "/v1/models"
    assert "x-goog-api-key" not in f.request.headers


async def test_edited_mappings_take_effect_without_a_restart(
    tctx: taddons.context, gateway: Gateway, mappings: Path
) -> None:
    assert gateway.mappings is not None
    gateway.mappings.check_interval = 0
    mappings.write_text("mappings:\n  house-model: gemini-2.5-pro\n")
    f = await send(gateway, client_flow("GET", "/v1/models"))
    assert [m["id"] for m in json_body(f)["data"]] == ["house-model"]


async def test_broken_edit_keeps_the_last_good_mappings(
    tctx: taddons.context, gateway: Gateway, mappings: Path
) -> None:
    assert gateway.mappings is not None
    gateway.mappings.check_interval = 0
    mappings.write_text("mappings: [\n")
    f = await send(gateway, client_flow("GET", "/v1/models"))
    assert [m["id"] for m in json_body(f)["data"]] == ["gemini-2.5-pro", "gpt-4o", "team-fast"]


async def test_invalid_mappings_file_is_refused_naming_the_option(
    tctx: taddons.context, gateway: Gateway, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("mappings:\n  gpt-4o: 1.5\n")
    with pytest.raises(exceptions.OptionsError, match="antigravity_mappings"):
        tctx.configure(gateway, antigravity_mappings=str(broken))
