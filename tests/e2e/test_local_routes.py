"""Routes answered by the gateway itself: health, models, CORS."""

from __future__ import annotations

import openai
import pytest

from antigravity import launch
from tests.e2e.conftest import raw

pytestmark = pytest.mark.e2e


def test_healthz_is_ok(gateway: launch.Child) -> None:
    for path in ("/healthz", "/health"):
        resp = raw(gateway.url + path)
        assert resp.status == 200
        assert resp.json() == {"status": "ok"}


def test_models_lists_configured_models_and_mapping_keys(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "gemini-2.5-flash" in ids and "gpt-4o" in ids
    assert not any("*" in i for i in ids)


def test_model_detail_and_unknown_model(client: openai.OpenAI) -> None:
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("no-such-model")
    assert e.value.code == "model_not_found"


def test_cors_preflight_is_answered(gateway: launch.Child) -> None:
    resp = raw(
        gateway.url + "/v1/chat/completions",
        "OPTIONS",
        headers={
            "origin": "http://localhost:3000",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert resp.status == 204
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "authorization" in resp.headers["access-control-allow-headers"]


def test_missing_v1_prefix_is_tolerated(gateway: launch.Child) -> None:
    assert raw(gateway.url + "/models").json()["object"] == "list"
