"""Bad input and upstream faults become clear OpenAI errors; nothing bad is sent upstream."""

from __future__ import annotations

import json
import threading

import openai
import pytest

from antigravity import launch
from antigravity.emulator import Emulator, Fault
from tests.e2e.conftest import raw

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "Hello"}]


def chat_url(gateway: launch.Child) -> str:
    return f"{gateway.url}/v1/chat/completions"


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        (b"{not json", 400, None, "invalid_json"),
        (b"", 400, None, "invalid_json"),
        (b"[1, 2]", 400, None, "invalid_json"),
        (
            b'{"messages": [{"role": "user", "content": "hi"}]}',
            400,
            "model",
            "missing_required_parameter",
        ),
        (b'{"model": "gpt-4o"}', 400, "messages", "missing_required_parameter"),
        (b'{"model": "gpt-4o", "messages": "hi"}', 400, "messages", "invalid_value"),
        (
            b'{"model": "gpt-4o", "messages": [{"role": "robot", "content": "hi"}]}',
            400,
            "messages[0].role",
            "invalid_value",
        ),
        (
            b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], '
            b'"temperature": "hot"}',
            400,
            "temperature",
            "invalid_value",
        ),
        (
            b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], '
            b'"stream": "yes"}',
            400,
            "stream",
            "invalid_value",
        ),
        (
            b'{"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}',
            404,
            "model",
            "model_not_found",
        ),
    ],
)
def test_bad_request_gets_openai_error_naming_the_field_and_nothing_goes_upstream(
    gateway: launch.Child,
    emulator: Emulator,
    body: bytes,
    status: int,
    param: str | None,
    code: str,
) -> None:
    resp = raw(chat_url(gateway), "POST", body)
    assert resp.status == status
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-request-id"].startswith("req_")
    error = resp.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert error["code"] == code
    assert emulator.requests == []
    # The next request is served normally.
    ok = raw(chat_url(gateway), "POST", {"model": "gpt-4o", "messages": HELLO})
    assert ok.status == 200


def test_sdk_raises_bad_request_with_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[],
        )
    assert e.value.param == "messages"


def test_unknown_model_suggests_close_names(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gtp-4o", messages=HELLO)
    assert e.value.code == "model_not_found"
    assert "gpt-4o" in e.value.message


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/chat/completions/responses"), ("GET", "/v1/engines"), ("POST", "/v2/chat")],
)
def test_unknown_route_is_a_404_naming_what_was_asked_and_what_exists(
    gateway: launch.Child, emulator: Emulator, method: str, path: str
) -> None:
    resp = raw(gateway.url + path, method, {"model": "gpt-4o", "messages": HELLO})
    assert resp.status == 404
    message = resp.json()["error"]["message"]
    assert f"{method} {path}" in message
    assert "POST /v1/chat/completions" in message
    assert emulator.requests == []


def test_stacked_path_hint_mentions_base_url(gateway: launch.Child) -> None:
    resp = raw(gateway.url + "/v1/chat/completions/responses", "POST", {})
    assert "base URL" in resp.json()["error"]["message"]


def test_oversized_body_is_413(gateway: launch.Child, emulator: Emulator) -> None:
    big = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * (21 * 2**20)}]}
    resp = raw(chat_url(gateway), "POST", big)
    assert resp.status == 413
    assert resp.json()["error"]["code"] == "request_too_large"
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("kind", "status", "exc", "code"),
    [
        # Retryable failures on every account exhaust the pool: 429 when quota is the cause,
        # 503 otherwise; a 400 is the request's own fault and is not retried.
        ("429", 429, openai.RateLimitError, "rate_limit_exceeded"),
        ("503", 503, openai.InternalServerError, "upstream_unavailable"),
        ("500", 503, openai.InternalServerError, "upstream_unavailable"),
        ("400", 400, openai.BadRequestError, "invalid_request"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_upstream_error_is_translated_not_passed_raw(
    fresh_client: openai.OpenAI,
    emulator: Emulator,
    kind: str,
    status: int,
    exc: type,
    code: str,
    stream: bool,
) -> None:
    emulator.add_fault(Fault(kind=kind, times=0))
    with pytest.raises(exc) as e:
        fresh_client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=stream)
    assert e.value.status_code == status
    assert e.value.code == code
    assert "Gemini upstream error" in e.value.message
    assert e.value.response.headers["x-account-email"] in ("key-1", "key-2")
    assert e.value.response.headers["x-mapped-model"] == "gemini-2.5-flash"


def test_google_429_message_is_kept(fresh_client: openai.OpenAI, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="429", times=0, retry_delay="34.4s"))
    with pytest.raises(openai.RateLimitError) as e:
        fresh_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert "RESOURCE_EXHAUSTED" in e.value.message


def test_stream_cut_by_upstream_ends_with_error_event(
    fresh_client: openai.OpenAI, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="cut", after_chunks=1))
    stream = fresh_client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError) as e:
        for _ in stream:
            pass
    assert "ended before it was complete" in e.value.message


def test_empty_and_blocked_answers_are_visible(
    fresh_client: openai.OpenAI, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="empty"))
    with pytest.raises(openai.APIStatusError) as e:
        fresh_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert e.value.status_code == 502
    emulator.add_fault(Fault(kind="blocked"))
    answer = fresh_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert answer.choices[0].finish_reason == "content_filter"


def test_safety_finish_is_content_filter(fresh_client: openai.OpenAI, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="finish", reason="SAFETY"))
    answer = fresh_client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert answer.choices[0].finish_reason == "content_filter"


def test_hung_upstream_gives_504_json_and_does_not_block_others(
    gateway: launch.Child, client: openai.OpenAI, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="hang", times=1))
    result: dict[str, object] = {}

    def hung() -> None:
        resp = raw(chat_url(gateway), "POST", {"model": "gpt-4o", "messages": HELLO})
        result["status"], result["body"] = resp.status, resp.json()

    t = threading.Thread(target=hung)
    t.start()
    # While one request hangs upstream, others are served (fault consumed by the first).
    while t.is_alive() and not any(r.path.endswith(":generateContent") for r in emulator.requests):
        t.join(0.05)
    answer = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert "emulator" in answer.choices[0].message.content
    t.join(60)
    assert not t.is_alive()
    assert result["status"] == 504
    assert result["body"]["error"]["code"] == "upstream_timeout"


def test_refusing_upstream_gives_502_json() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with launch.start_mitmdump(
        f"http://127.0.0.1:{port}", env={"GEMINI_API_KEYS": "k-000000000000001"}
    ) as gw:
        resp = raw(f"{gw.url}/v1/chat/completions", "POST", {"model": "gpt-4o", "messages": HELLO})
        assert resp.status == 502
        assert resp.headers["content-type"] == "application/json"
        assert resp.json()["error"]["code"] == "upstream_unreachable"
        assert raw(gw.url + "/healthz").json() == {"status": "ok"}


def test_no_secret_in_saved_flows(gateway: launch.Child, client: openai.OpenAI, flows_file) -> None:
    from tests.e2e.conftest import KEYS

    client.chat.completions.create(model="gpt-4o", messages=HELLO)
    list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
    raw(
        chat_url(gateway),
        "POST",
        {"model": "gpt-4o", "messages": HELLO},
        headers={"authorization": "Bearer sk-client-secret-value-42"},
    )
    saved = flows_file.read_bytes()
    assert saved, "flows were saved"
    for secret in (*KEYS, "sk-client-secret-value-42"):
        assert secret.encode() not in saved
    assert json.dumps("gemini-2.5-flash").strip('"').encode() in saved


def collect_until_error(
    client: openai.OpenAI, model: str = "gpt-4o"
) -> tuple[str, openai.APIError]:
    text = []
    stream = client.chat.completions.create(model=model, messages=HELLO, stream=True)
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            text.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    return "".join(text), e.value


def test_stream_dropped_mid_way_ends_with_an_error_event(
    fresh_client: openai.OpenAI, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="drop", after_chunks=1))
    # A model that does not think, so the first chunk carries text.
    text, error = collect_until_error(fresh_client, "gemini-2.5-flash-lite")
    assert text  # what arrived before the break was delivered
    assert not isinstance(error, openai.APIConnectionError)
    assert error.code == "upstream_stream_broken"


def test_stream_stalled_upstream_is_ended_after_the_timeout(
    fresh_client: openai.OpenAI, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="slow", delay_ms=8000))
    _, error = collect_until_error(fresh_client)
    assert error.code == "upstream_timeout"
    assert "antigravity_upstream_timeout" in error.message
