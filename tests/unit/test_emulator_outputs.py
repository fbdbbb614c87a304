"""What the emulator answers with: thoughts, signatures, JSON output, logprobs, media, faults."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from antigravity.emulator import Fault
from tests.unit.test_emulator import FLASH
from tests.unit.test_emulator_tools import (
    PRO3,
    RECORDED,
    WEATHER,
    ask,
    calls,
    emu,
    parts,
    post,
    rejected,
    session,
)

__all__ = ["emu", "session"]  # fixtures shared with the tools tests

PRO25 = "gemini-2.5-pro"
GREETING = f"Hello from the antigravity Gemini emulator ({FLASH}). You said: "


def thinking(**config: Any) -> dict[str, Any]:
    return {"thinkingConfig": config}


def text_of(events: list[dict[str, Any]], thought: bool = False) -> str:
    return "".join(
        p.get("text", "")
        for e in events
        for p in e["candidates"][0].get("content", {}).get("parts", [])
        if p.get("thought", False) is thought
    )


# --- thoughts ----------------------------------------------------------------------------------


async def test_include_thoughts_puts_a_thought_part_first(emu, session) -> None:
    body = ask("hi", generationConfig=thinking(includeThoughts=True))
    _, data = await post(session, emu, body)
    thought, answer = parts(data)
    assert thought["thought"] is True and thought["text"].startswith("Thinking (emulator): ")
    assert answer == {"text": GREETING + "hi"}
    usage = data["usageMetadata"]
    assert usage["thoughtsTokenCount"] == len(thought["text"].split())
    assert usage["candidatesTokenCount"] == len(answer["text"].split())
    assert usage["totalTokenCount"] == (
        usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )


async def test_thoughts_stream_in_their_own_chunks_before_the_answer(emu, session) -> None:
    body = ask("hi", generationConfig=thinking(includeThoughts=True))
    _, events = await post(session, emu, body, stream=True)
    kinds = [
        "thought" if p.get("thought") else "text"
        for e in events
        for p in e["candidates"][0]["content"]["parts"]
    ]
    assert kinds == sorted(kinds, key=lambda k: k != "thought") and "thought" in kinds
    assert all(len(e["candidates"][0]["content"]["parts"]) == 1 for e in events)
    assert text_of(events) == GREETING + "hi"
    thought_counts = [e["usageMetadata"].get("thoughtsTokenCount", 0) for e in events]
    assert thought_counts == sorted(thought_counts)
    assert thought_counts[-1] == len(text_of(events, thought=True).split())


async def test_hidden_thinking_still_spends_thought_tokens(emu, session) -> None:
    _, data = await post(session, emu, ask("hi", generationConfig=thinking(thinkingBudget=512)))
    assert parts(data) == [{"text": GREETING + "hi"}]
    assert data["usageMetadata"]["thoughtsTokenCount"] > 0


async def test_without_thinking_config_there_are_no_thoughts(emu, session) -> None:
    _, data = await post(session, emu, ask("hi"))
    assert "thoughtsTokenCount" not in data["usageMetadata"]


async def test_budget_zero_turns_thoughts_off(emu, session) -> None:
    config = thinking(thinkingBudget=0, includeThoughts=True)
    _, data = await post(session, emu, ask("hi", generationConfig=config))
    assert parts(data) == [{"text": GREETING + "hi"}]
    assert "thoughtsTokenCount" not in data["usageMetadata"]


async def test_thinking_budget_caps_the_thought(emu, session) -> None:
    config = thinking(thinkingBudget=3, includeThoughts=True)
    _, data = await post(session, emu, ask("hi", generationConfig=config))
    assert parts(data)[0]["text"] == "Thinking (emulator): I"
    assert data["usageMetadata"]["thoughtsTokenCount"] == 3


async def test_high_level_thinks_longer_than_low(emu, session) -> None:
    async def thought(level: str) -> str:
        config = thinking(thinkingLevel=level, includeThoughts=True)
        _, data = await post(session, emu, ask("hi", generationConfig=config), model=PRO3)
        return parts(data)[0]["text"]

    low, high = await thought("low"), await thought("HIGH")
    assert high.startswith(low) and len(high) > len(low)


async def test_thoughts_count_against_max_output_tokens(emu, session) -> None:
    config = {"maxOutputTokens": 15, **thinking(includeThoughts=True)}
    _, data = await post(session, emu, ask("hi", generationConfig=config))
    thought, answer = parts(data)
    spent = len(thought["text"].split())
    assert len(answer["text"].split()) == 15 - spent
    assert data["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert data["usageMetadata"]["candidatesTokenCount"] + spent == 15


async def test_thoughts_that_use_up_max_output_tokens_leave_no_answer(emu, session) -> None:
    _, shown = await post(
        session,
        emu,
        ask("hi", generationConfig={"maxOutputTokens": 2, **thinking(includeThoughts=True)}),
    )
    assert parts(shown) == [{"text": "Thinking (emulator):", "thought": True}]
    assert shown["candidates"][0]["finishReason"] == "MAX_TOKENS"
    _, hidden = await post(
        session,
        emu,
        ask("hi", generationConfig={"maxOutputTokens": 2, **thinking(thinkingBudget=-1)}),
    )
    assert hidden["candidates"][0]["content"] == {"role": "model"}
    assert hidden["usageMetadata"]["thoughtsTokenCount"] == 2
    assert hidden["usageMetadata"]["candidatesTokenCount"] == 0


async def test_thoughts_come_before_function_calls(emu, session) -> None:
    body = ask("[call:get_weather]", WEATHER, generationConfig=thinking(includeThoughts=True))
    _, data = await post(session, emu, body, model=PRO3)
    thought, call = parts(data)
    assert thought["thought"] is True and "get_weather" in thought["text"]
    assert call["functionCall"]["name"] == "get_weather" and call["thoughtSignature"]


@pytest.mark.parametrize(
    ("model", "config", "message"),
    [
        (
            PRO25,
            {"thinkingBudget": 0},
            "Budget 0 is invalid. This model only works in thinking mode.",
        ),
        (FLASH, {"thinkingLevel": "low"}, "Thinking level is not supported for this model."),
        (
            PRO3,
            {"thinkingLevel": "low", "thinkingBudget": 128},
            "You can only set only one of thinking budget and thinking level.",
        ),
        (FLASH, {"thinkingBudget": 52428}, "The thinking budget (52428) is invalid."),
        (FLASH, {"thinkingBudget": -2}, "The thinking budget (-2) is invalid."),
        (
            PRO3,
            {"thinkingLevel": "medium"},
            "Thinking level MEDIUM is not supported for this model.",
        ),
        (
            PRO3,
            {"thinkingLevel": "extreme"},
            "Invalid value at 'generation_config.thinking_config.thinking_level' "
            "(type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig."
            'ThinkingLevel), "extreme"',
        ),
        (
            FLASH,
            {"budget": 5},
            'Invalid JSON payload received. Unknown name "budget" at '
            "'generation_config.thinking_config': Cannot find field.",
        ),
    ],
)
async def test_thinking_config_is_checked_per_model(emu, session, model, config, message) -> None:
    body = ask("hi", generationConfig={"thinkingConfig": config})
    assert await rejected(session, emu, body, model=model) == message


@pytest.mark.parametrize(
    ("model", "config"),
    [
        (PRO25, {"thinkingBudget": -1}),
        (PRO25, {"thinkingBudget": 32768}),
        (FLASH, {"thinkingBudget": 0}),
        ("gemini-3-flash-preview", {"thinkingLevel": "minimal"}),
        (PRO3, {"thinkingLevel": "HIGH", "includeThoughts": False}),
    ],
)
async def test_thinking_configs_gemini_accepts_are_accepted(emu, session, model, config) -> None:
    status, _ = await post(
        session, emu, ask("hi", generationConfig={"thinkingConfig": config}), model
    )
    assert status == 200


# --- signatures on answers ---------------------------------------------------------------------


async def test_gemini3_text_answer_is_signed_on_its_last_part(emu, session) -> None:
    _, data = await post(session, emu, ask("hi"), model=PRO3)
    (answer,) = parts(data)
    assert answer["text"].endswith("You said: hi") and answer["thoughtSignature"]
    _, plain = await post(session, emu, ask("hi"))
    assert "thoughtSignature" not in parts(plain)[0]


async def test_gemini3_stream_ends_with_a_signed_empty_chunk_like_the_recording(
    emu, session
) -> None:
    lines = (RECORDED / "gemini3-stream-text.chunks.jsonl").read_text().splitlines()
    recorded = [json.loads(line) for line in lines if line.strip()]
    _, events = await post(session, emu, ask("hi"), model=PRO3, stream=True)
    last, theirs = events[-1]["candidates"][0], recorded[-1]["candidates"][0]
    assert last.keys() == theirs.keys()
    assert last["content"]["parts"][0].keys() == theirs["content"]["parts"][0].keys()
    assert last["content"]["parts"][0]["text"] == "" and last["finishReason"] == "STOP"
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])
    assert text_of(events).endswith("You said: hi")


# --- JSON output -------------------------------------------------------------------------------


async def test_json_mime_type_without_schema_gives_an_answer_object(emu, session) -> None:
    body = ask("hi", generationConfig={"responseMimeType": "application/json"})
    _, data = await post(session, emu, body)
    assert json.loads(parts(data)[0]["text"]) == {"answer": GREETING + "hi"}


async def test_json_schema_answer_is_an_instance_with_the_text_in_the_first_string(
    emu, session
) -> None:
    schema = {
        "$defs": {"Place": {"type": "object", "properties": {"city": {"type": "string"}}}},
        "type": "object",
        "properties": {
            "place": {"$ref": "#/$defs/Place"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "array", "items": {"type": "integer"}},
            "note": {"type": "string"},
        },
        "required": ["place", "unit", "days", "note"],
    }
    config = {"responseMimeType": "application/json", "responseJsonSchema": schema}
    _, data = await post(session, emu, ask("forecast", generationConfig=config))
    assert json.loads(parts(data)[0]["text"]) == {
        "place": {"city": GREETING + "forecast"},
        "unit": "celsius",
        "days": [1],
        "note": "sample note",
    }


async def test_openapi_response_schema_answer_is_an_instance(emu, session) -> None:
    schema = {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 2}
    config = {"responseMimeType": "application/json", "responseSchema": schema}
    _, data = await post(session, emu, ask("list", generationConfig=config))
    assert json.loads(parts(data)[0]["text"]) == [GREETING + "list", "sample value"]


async def test_enum_mime_type_answers_with_the_first_value(emu, session) -> None:
    schema = {"type": "STRING", "enum": ["Positive", "Negative"]}
    config = {"responseMimeType": "text/x.enum", "responseSchema": schema}
    _, data = await post(session, emu, ask("mood?", generationConfig=config))
    assert parts(data)[0]["text"] == "Positive"


async def test_streamed_json_answer_reassembles_to_json(emu, session) -> None:
    config = {"responseMimeType": "application/json"}
    _, events = await post(session, emu, ask("hi", generationConfig=config), stream=True)
    assert len(events) > 1 and "emulator" in json.loads(text_of(events))["answer"]


# --- logprobs ----------------------------------------------------------------------------------


async def test_logprobs_cover_every_word_token(emu, session) -> None:
    config = {"responseLogprobs": True, "logprobs": 3}
    _, data = await post(session, emu, ask("hi", generationConfig=config))
    candidate = data["candidates"][0]
    result = candidate["logprobsResult"]
    tokens = [c["token"] for c in result["chosenCandidates"]]
    assert "".join(tokens) == GREETING + "hi"
    assert len(result["topCandidates"]) == len(tokens)
    for step, chosen in zip(result["topCandidates"], result["chosenCandidates"], strict=True):
        assert len(step["candidates"]) == 3 and step["candidates"][0] == chosen
        probs = [c["logProbability"] for c in step["candidates"]]
        assert probs == sorted(probs, reverse=True) and probs[0] <= 0
    mean = sum(c["logProbability"] for c in result["chosenCandidates"]) / len(tokens)
    assert candidate["avgLogprobs"] == pytest.approx(mean, abs=1e-4)


async def test_logprobs_without_top_candidates_report_chosen_only(emu, session) -> None:
    _, data = await post(session, emu, ask("hi", generationConfig={"responseLogprobs": True}))
    assert data["candidates"][0]["logprobsResult"].keys() == {"chosenCandidates"}


async def test_streamed_logprobs_match_the_whole_answer(emu, session) -> None:
    config = {"responseLogprobs": True, "logprobs": 2}
    _, whole = await post(session, emu, ask("hi", generationConfig=config))
    _, events = await post(session, emu, ask("hi", generationConfig=config), stream=True)
    streamed = [
        c
        for e in events
        for c in e["candidates"][0].get("logprobsResult", {}).get("chosenCandidates", [])
    ]
    assert streamed == whole["candidates"][0]["logprobsResult"]["chosenCandidates"]
    for e in events:
        candidate = e["candidates"][0]
        if "logprobsResult" in candidate:
            chunk_tokens = [c["token"] for c in candidate["logprobsResult"]["chosenCandidates"]]
            assert "".join(chunk_tokens) == candidate["content"]["parts"][0]["text"]


async def test_logprobs_without_response_logprobs_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, ask("hi", generationConfig={"logprobs": 3}))
    assert message == (
        "* GenerateContentRequest.generation_config.logprobs: logprobs may only be set when "
        "response_logprobs is true."
    )


@pytest.mark.parametrize("top", [21, -1])
async def test_logprobs_outside_1_to_20_are_rejected(emu, session, top: int) -> None:
    config = {"responseLogprobs": True, "logprobs": top}
    message = await rejected(session, emu, ask("hi", generationConfig=config))
    assert message == (
        "* GenerateContentRequest.generation_config.logprobs: logprobs must be between 1 and 20."
    )


# --- media -------------------------------------------------------------------------------------


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def with_media(*media: dict[str, Any], text: str | None = "what is this?") -> dict[str, Any]:
    parts_ = ([{"text": text}] if text is not None else []) + list(media)
    return {"contents": [{"role": "user", "parts": parts_}]}


def inline(mime: str, data: str = PNG) -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime, "data": data}}


async def test_media_parts_are_mentioned_in_the_answer(emu, session) -> None:
    body = with_media(
        inline("image/png"),
        inline("image/jpeg"),
        {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}},
        inline("audio/wav"),
    )
    status, data = await post(session, emu, body)
    assert status == 200
    assert parts(data)[0]["text"] == GREETING + "what is this? (2 images, 1 PDF, 1 audio clip)"
    details = {d["modality"]: d["tokenCount"] for d in data["usageMetadata"]["promptTokensDetails"]}
    assert details == {"TEXT": 3, "IMAGE": 516, "DOCUMENT": 258, "AUDIO": 258}
    assert data["usageMetadata"]["promptTokenCount"] == sum(details.values())


async def test_media_without_text_is_still_mentioned(emu, session) -> None:
    _, data = await post(session, emu, with_media(inline("image/png"), text=None))
    assert parts(data)[0]["text"] == GREETING + "(1 image)"


async def test_url_safe_unpadded_base64_is_accepted(emu, session) -> None:
    data = base64.urlsafe_b64encode(b"\xfb\xff\xfe" * 3 + b"x").decode().rstrip("=")
    assert (await post(session, emu, with_media(inline("image/png", data))))[0] == 200


async def test_inline_data_that_is_not_base64_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, with_media(inline("image/png", "not*base64")))
    assert message == (
        "Invalid value at 'contents[0].parts[1].inline_data.data' (TYPE_BYTES), Base64 decoding "
        'failed for "not*base64"'
    )


async def test_inline_data_without_mime_type_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, with_media({"inlineData": {"data": PNG}}))
    assert message == (
        "* GenerateContentRequest.contents[0].parts[1].inline_data.mime_type: mime_type is not "
        "specified."
    )


async def test_file_data_without_uri_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, with_media({"fileData": {"mimeType": "image/png"}}))
    assert message == (
        "* GenerateContentRequest.contents[0].parts[1].file_data.file_uri: file_uri is not "
        "specified."
    )


async def test_count_tokens_counts_media(emu, session) -> None:
    url = f"{emu.url}/v1beta/models/{FLASH}:countTokens"
    resp = await session.post(url, json=with_media(inline("image/png")), params={"key": "k"})
    data = await resp.json()
    assert data["totalTokens"] == 3 + 258
    assert {"modality": "IMAGE", "tokenCount": 258} in data["promptTokensDetails"]


# --- faults on rich answers --------------------------------------------------------------------


async def test_max_tokens_fault_cuts_the_text_in_half(emu, session) -> None:
    emu.add_fault(Fault(kind="finish", reason="MAX_TOKENS"))
    _, data = await post(session, emu, ask("hi"))
    full = (GREETING + "hi").split()
    assert parts(data)[0]["text"].split() == full[: len(full) // 2]
    assert data["candidates"][0]["finishReason"] == "MAX_TOKENS"


async def test_finish_faults_drop_function_calls(emu, session) -> None:
    emu.add_fault(Fault(kind="finish", reason="SAFETY"))
    _, data = await post(session, emu, ask("[call:get_weather]", WEATHER), model=PRO3)
    candidate = data["candidates"][0]
    assert candidate["finishReason"] == "SAFETY" and not calls(data)
    assert "finishMessage" not in candidate


async def test_malformed_function_call_fault_on_a_tool_request(emu, session) -> None:
    emu.add_fault(Fault(kind="finish", reason="MALFORMED_FUNCTION_CALL"))
    _, events = await post(session, emu, ask("[call:get_weather]", WEATHER), stream=True)
    assert [e["candidates"] for e in events] == [
        [{"finishReason": "MALFORMED_FUNCTION_CALL", "index": 0}]
    ]
