"""The Gemini emulator: answers, stream framing, validation, scripted faults, control, CLI."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from antigravity.emulator import Emulator, Fault, run_in_thread

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_429 = ROOT / "tests" / "fixtures" / "recorded" / "gemini-error-429-retryinfo.json"
FLASH = "gemini-2.5-flash"
GREETING = f"Hello from the antigravity Gemini emulator ({FLASH}). You said: "


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        yield s


def request_body(text: str = "hi there", **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


def endpoint(emu: Emulator, model: str = FLASH, stream: bool = False) -> str:
    if stream:
        return f"{emu.url}/v1beta/models/{model}:streamGenerateContent?alt=sse"
    return f"{emu.url}/v1beta/models/{model}:generateContent"


async def generate(
    session: aiohttp.ClientSession,
    emu: Emulator,
    body: Any = None,
    key: str | None = "k1",
    model: str = FLASH,
    stream: bool = False,
) -> aiohttp.ClientResponse:
    headers = {"x-goog-api-key": key} if key else {}
    payload = request_body() if body is None else body
    return await session.post(endpoint(emu, model, stream), json=payload, headers=headers)


async def answer_text(resp: aiohttp.ClientResponse) -> str:
    data = await resp.json()
    return data["candidates"][0]["content"]["parts"][0]["text"]


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    frames = raw.split(b"\r\n\r\n")
    assert frames[-1] == b"", "the body must end with a complete frame"
    events = []
    for frame in frames[:-1]:
        assert frame.startswith(b"data: ")
        payload = frame.removeprefix(b"data: ").decode()
        event = json.loads(payload)
        assert payload == json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        events.append(event)
    return events


async def wait_for_requests(emu: Emulator, count: int) -> None:
    for _ in range(500):
        if len(emu.requests) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the emulator never saw {count} request(s)")


# --- answers ---------------------------------------------------------------------------------


async def test_answer_says_it_comes_from_the_emulator(emu: Emulator, session) -> None:
    resp = await generate(session, emu, request_body("hi there"))
    data = await resp.json()
    assert resp.status == 200
    assert resp.headers["x-emulator"] == "antigravity"
    candidate = data["candidates"][0]
    assert candidate["content"] == {"parts": [{"text": GREETING + "hi there"}], "role": "model"}
    assert candidate["finishReason"] == "STOP"
    assert candidate["index"] == 0
    assert data["modelVersion"] == FLASH
    assert data["usageMetadata"]["promptTokenCount"] == 2
    assert data["usageMetadata"]["candidatesTokenCount"] == len((GREETING + "hi there").split())
    assert data["usageMetadata"]["totalTokenCount"] == 2 + len((GREETING + "hi there").split())


async def test_response_id_is_deterministic(emu: Emulator, session) -> None:
    first = await (await generate(session, emu)).json()
    second = await (await generate(session, emu)).json()
    other = await (await generate(session, emu, request_body("else"))).json()
    assert first["responseId"] == second["responseId"] != other["responseId"]


async def test_answer_echoes_the_last_user_text_truncated(emu: Emulator, session) -> None:
    body = {
        "systemInstruction": {"parts": [{"text": "be terse"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "first"}]},
            {"role": "model", "parts": [{"text": "reply"}]},
            {"role": "user", "parts": [{"text": "x" * 300}]},
        ],
    }
    resp = await generate(session, emu, body)
    data = await resp.json()
    assert data["candidates"][0]["content"]["parts"][0]["text"] == GREETING + "x" * 200
    assert data["usageMetadata"]["promptTokenCount"] == 5


async def test_max_output_tokens_truncates_with_max_tokens(emu: Emulator, session) -> None:
    body = request_body(generationConfig={"maxOutputTokens": 4})
    data = await (await generate(session, emu, body)).json()
    candidate = data["candidates"][0]
    assert candidate["content"]["parts"][0]["text"] == "Hello from the antigravity"
    assert candidate["finishReason"] == "MAX_TOKENS"
    assert data["usageMetadata"]["candidatesTokenCount"] == 4


async def test_stop_sequence_cuts_the_answer(emu: Emulator, session) -> None:
    body = request_body(generationConfig={"stopSequences": ["Gemini"]})
    data = await (await generate(session, emu, body)).json()
    assert data["candidates"][0]["content"]["parts"][0]["text"] == "Hello from the antigravity "
    assert data["candidates"][0]["finishReason"] == "STOP"


async def test_candidate_count_returns_indexed_candidates(emu: Emulator, session) -> None:
    body = request_body(generationConfig={"candidateCount": 2})
    data = await (await generate(session, emu, body)).json()
    texts = [c["content"]["parts"][0]["text"] for c in data["candidates"]]
    assert [c["index"] for c in data["candidates"]] == [0, 1]
    assert texts == [f"[candidate {i}] {GREETING}hi there" for i in range(2)]


async def test_count_tokens_counts_words(emu: Emulator, session) -> None:
    url = f"{emu.url}/v1beta/models/{FLASH}:countTokens"
    resp = await session.post(url, json=request_body("one two three"), params={"key": "k"})
    assert (await resp.json())["totalTokens"] == 3


# --- streaming -------------------------------------------------------------------------------


async def test_stream_frames_use_crlf_and_usage_is_cumulative(emu: Emulator, session) -> None:
    resp = await generate(session, emu, stream=True)
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = sse_events(await resp.read())
    assert len(events) > 2
    counts = [e["usageMetadata"]["candidatesTokenCount"] for e in events]
    assert counts == sorted(counts) and counts[-1] == len((GREETING + "hi there").split())
    reasons = [e["candidates"][0].get("finishReason") for e in events]
    assert reasons == [None] * (len(events) - 1) + ["STOP"]
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert text == GREETING + "hi there"
    assert all(len(e["candidates"][0]["content"]["parts"][0]["text"].split()) <= 3 for e in events)


async def test_stream_frames_straddle_http_chunks(emu: Emulator, session) -> None:
    resp = await generate(session, emu, request_body("héllo wörld ✓"), stream=True)
    pieces, piece = [], b""
    async for data, end_of_http_chunk in resp.content.iter_chunks():
        piece += data
        if end_of_http_chunk and piece:
            pieces.append(piece)
            piece = b""
    raw = b"".join(pieces)
    frame_ends = {i + 4 for i in range(len(raw)) if raw.startswith(b"\r\n\r\n", i)}
    piece_ends, offset = set(), 0
    for p in pieces:
        offset += len(p)
        piece_ends.add(offset)
    assert piece_ends - frame_ends, "some HTTP chunk must end inside a frame"
    undecodable = 0
    for p in pieces:
        try:
            p.decode()
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable, "some HTTP chunk must end inside a UTF-8 character"
    assert "héllo wörld ✓" in "".join(
        e["candidates"][0]["content"]["parts"][0]["text"] for e in sse_events(raw)
    )


async def test_stream_without_alt_sse_is_a_json_array(emu: Emulator, session) -> None:
    url = f"{emu.url}/v1beta/models/{FLASH}:streamGenerateContent"
    resp = await session.post(url, json=request_body(), params={"key": "k"})
    chunks = json.loads(await resp.read())
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


# --- keys, models, validation ----------------------------------------------------------------


async def test_missing_key_is_permission_denied(emu: Emulator, session) -> None:
    resp = await generate(session, emu, key=None)
    error = (await resp.json())["error"]
    assert resp.status == 403
    assert error["status"] == "PERMISSION_DENIED"
    assert error["message"].startswith("Method doesn't allow unregistered callers")


async def test_unknown_key_is_api_key_invalid(session) -> None:
    emulator = Emulator(valid_keys={"good"})
    await emulator.start()
    try:
        bad = await generate(session, emulator, key="bad")
        url = endpoint(emulator)
        good = await session.post(url, json=request_body(), params={"key": "good"})
    finally:
        await emulator.stop()
    error = (await bad.json())["error"]
    assert bad.status == 400
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    assert good.status == 200


async def test_non_gemini_model_is_not_found(emu: Emulator, session) -> None:
    resp = await generate(session, emu, model="gpt-4o")
    error = (await resp.json())["error"]
    assert resp.status == 404
    assert error["status"] == "NOT_FOUND"
    assert error["message"].startswith("models/gpt-4o is not found for API version v1beta")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            request_body(foo=1),
            'Invalid JSON payload received. Unknown name "foo": Cannot find field.',
        ),
        (
            {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
            "Please use a valid role: user, model.",
        ),
        (
            request_body(generationConfig={"max_tokens": 5}),
            'Invalid JSON payload received. Unknown name "max_tokens" at '
            "'generation_config': Cannot find field.",
        ),
        ({"contents": []}, "* GenerateContentRequest.contents: contents is not specified"),
        ([1, 2], 'Invalid JSON payload received. Unknown name "": Root element must be a message.'),
        (
            {"contents": [{"parts": [{"text": "a", "functionCall": {"name": "f"}}]}]},
            "Invalid JSON payload received. Oneof field 'data' is already set. "
            "Cannot set 'functionCall'",
        ),
        (
            {"contents": [{"parts": [{"thought": True}]}]},
            "* GenerateContentRequest.contents[0].parts[0].data: required oneof field 'data' "
            "must have one initialized field",
        ),
    ],
)
async def test_invalid_requests_are_rejected_like_gemini(
    emu: Emulator, session, body: Any, message: str
) -> None:
    resp = await generate(session, emu, body)
    error = (await resp.json())["error"]
    assert resp.status == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == message


async def test_body_that_is_not_json_is_rejected(emu: Emulator, session) -> None:
    resp = await session.post(endpoint(emu), data=b"{nope", params={"key": "k"})
    assert resp.status == 400
    assert (await resp.json())["error"]["message"].startswith("Invalid JSON payload received.")


async def test_models_list_and_get(emu: Emulator, session) -> None:
    listing = await (await session.get(f"{emu.url}/v1beta/models", params={"key": "k"})).json()
    names = [m["name"] for m in listing["models"]]
    assert "models/gemini-2.5-flash" in names and "models/gemini-3-pro-preview" in names
    one = await session.get(f"{emu.url}/v1beta/models/gemini-2.5-pro", params={"key": "k"})
    assert (await one.json())["supportedGenerationMethods"] == ["generateContent", "countTokens"]
    missing = await session.get(f"{emu.url}/v1beta/models/gemini-0", params={"key": "k"})
    assert missing.status == 404


# --- faults ----------------------------------------------------------------------------------


async def test_429_for_one_key_does_not_affect_another(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="429", key="k2", retry_delay="2.5s"))
    assert (await generate(session, emu, key="k1")).status == 200
    assert (await generate(session, emu, key="k2")).status == 429
    assert (await generate(session, emu, key="k2")).status == 200


async def test_429_body_carries_quota_failure_and_retry_info(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="429", retry_delay="34.4s"))
    error = (await (await generate(session, emu)).json())["error"]
    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    quota, retry = error["details"]
    assert quota["@type"] == "type.googleapis.com/google.rpc.QuotaFailure"
    violation = quota["violations"][0]
    assert violation["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
    assert violation["quotaDimensions"] == {"location": "global", "model": FLASH}
    assert retry == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}


async def test_429_body_has_the_shape_of_the_recorded_one(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="429", retry_delay="34.4s"))
    ours = (await (await generate(session, emu)).json())["error"]
    recorded = json.loads(FIXTURE_429.read_text())["error"]
    assert ours.keys() == recorded.keys()
    assert [d["@type"] for d in ours["details"]] == [d["@type"] for d in recorded["details"]]
    assert ours["details"][1] == recorded["details"][1]


async def test_daily_429_without_retry_delay_omits_retry_info(emu: Emulator, session) -> None:
    daily = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
    emu.add_fault(Fault(kind="429", retry_delay=None, quota_id=daily))
    error = (await (await generate(session, emu)).json())["error"]
    assert [d["@type"].rsplit(".", 1)[1] for d in error["details"]] == ["QuotaFailure"]
    assert error["details"][0]["violations"][0]["quotaId"] == daily


async def test_fault_times_counts_matching_requests(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="503", times=2))
    statuses = [(await generate(session, emu)).status for _ in range(3)]
    assert statuses == [503, 503, 200]


async def test_fault_with_zero_times_applies_forever(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="500", times=0))
    statuses = [(await generate(session, emu)).status for _ in range(3)]
    assert statuses == [500, 500, 500]
    assert len(emu.faults) == 1


async def test_fault_for_a_model_spares_other_models(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="503", model="gemini-2.5-pro"))
    assert (await generate(session, emu, model=FLASH)).status == 200
    resp = await generate(session, emu, model="gemini-2.5-pro")
    assert resp.status == 503
    assert (await resp.json())["error"][
        "message"
    ] == "The model is overloaded. Please try again later."


async def test_faults_apply_in_the_order_added(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="401"), Fault(kind="400", message="bad thing"))
    assert (await generate(session, emu)).status == 401
    resp = await generate(session, emu)
    assert (await resp.json())["error"]["message"] == "bad thing"


async def test_cut_stream_ends_cleanly_without_finish_reason(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="cut", after_chunks=2))
    resp = await generate(session, emu, stream=True)
    events = sse_events(await resp.read())
    assert len(events) == 2
    assert all("finishReason" not in e["candidates"][0] for e in events)


async def test_cut_whole_answer_is_truncated_json(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="cut"))
    resp = await generate(session, emu)
    assert resp.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(await resp.read())


async def test_drop_closes_the_connection_before_answering(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="drop"))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await generate(session, emu)


async def test_drop_breaks_a_stream_after_some_chunks(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="drop", after_chunks=1))
    resp = await generate(session, emu, stream=True)
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()


async def test_hang_does_not_block_a_second_request(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="hang", key="k2"))
    hung = asyncio.create_task(generate(session, emu, key="k2"))
    await wait_for_requests(emu, 1)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as other:
        assert (await generate(other, emu, key="k1")).status == 200
    assert not hung.done()
    hung.cancel()


async def test_stop_returns_while_a_request_hangs(session) -> None:
    emulator = Emulator()
    await emulator.start()
    emulator.add_fault(Fault(kind="hang"))
    hung = asyncio.create_task(generate(session, emulator))
    await wait_for_requests(emulator, 1)
    await asyncio.wait_for(emulator.stop(), timeout=10)
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(hung, timeout=10)


async def test_slow_stream_still_completes(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="slow", delay_ms=1))
    events = sse_events(await (await generate(session, emu, stream=True)).read())
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"


async def test_finish_safety_carries_a_high_rating(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="finish", reason="SAFETY"))
    events = sse_events(await (await generate(session, emu, stream=True)).read())
    last = events[-1]["candidates"][0]
    assert last["finishReason"] == "SAFETY"
    assert any(r["probability"] == "HIGH" for r in last["safetyRatings"])


async def test_malformed_function_call_has_no_content(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="finish", reason="MALFORMED_FUNCTION_CALL"))
    data = await (await generate(session, emu)).json()
    assert data["candidates"] == [{"finishReason": "MALFORMED_FUNCTION_CALL", "index": 0}]


async def test_blocked_prompt_has_feedback_and_no_candidates(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="blocked"))
    data = await (await generate(session, emu)).json()
    assert data["promptFeedback"]["blockReason"] == "SAFETY"
    assert "candidates" not in data


async def test_empty_answer_has_no_candidates(emu: Emulator, session) -> None:
    emu.add_fault(Fault(kind="empty"))
    events = sse_events(await (await generate(session, emu, stream=True)).read())
    assert [e["candidates"] for e in events] == [[]]
    assert events[0]["usageMetadata"]["promptTokenCount"] == 2


# --- recording and control -------------------------------------------------------------------


async def test_requests_are_recorded_even_when_rejected(emu: Emulator, session) -> None:
    await generate(session, emu, request_body(foo=1), key="k9")
    await generate(session, emu, key=None)
    first, second = emu.requests
    assert first.method == "POST" and first.key == "k9" and first.model == FLASH
    assert first.body == request_body(foo=1)
    assert first.headers["x-goog-api-key"] == "k9"
    assert second.key is None


async def test_control_endpoints_script_and_inspect(emu: Emulator, session) -> None:
    faults = [{"kind": "503", "key": "k2"}, {"kind": "429", "key": "k3"}]
    added = await session.post(f"{emu.url}/__emulator/faults", json=faults)
    assert [f["kind"] for f in (await added.json())["faults"]] == ["503", "429"]
    assert (await generate(session, emu, key="k2")).status == 503
    recorded = await (await session.get(f"{emu.url}/__emulator/requests")).json()
    assert [(r["key"], r["model"]) for r in recorded] == [("k2", FLASH)]
    await session.delete(f"{emu.url}/__emulator/faults")
    assert (await generate(session, emu, key="k3")).status == 200
    await session.post(f"{emu.url}/__emulator/reset")
    assert emu.requests == [] and emu.faults == []


async def test_control_endpoint_rejects_an_unknown_fault(emu: Emulator, session) -> None:
    resp = await session.post(f"{emu.url}/__emulator/faults", json={"kind": "meltdown"})
    assert resp.status == 400
    assert emu.faults == []


def test_run_in_thread_serves_and_is_scriptable() -> None:
    with run_in_thread(valid_keys={"k1"}) as emulator:
        emulator.add_fault(Fault(kind="503", times=1))
        request = urllib.request.Request(
            endpoint(emulator),
            data=json.dumps(request_body()).encode(),
            headers={"x-goog-api-key": "k1", "content-type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(request, timeout=10)
        assert failed.value.code == 503
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.headers["x-emulator"] == "antigravity"
            assert GREETING in resp.read().decode()
        assert len(emulator.requests) == 2


async def test_cli_prints_the_listening_line_and_exits_cleanly() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "antigravity.emulator",
        "--port",
        "0",
        "--keys",
        "a,b",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        prefix = "antigravity emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix) and line.strip().removeprefix(prefix).isdigit()
        url = line.split()[-1]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
            resp = await s.get(f"{url}/v1beta/models", params={"key": "b"})
            assert resp.status == 200
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert out == b"" and b"Traceback" not in err
