"""Turn rules for function calling, and Gemini 3 thought signatures on the way back in."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.unit.test_emulator_tools import (
    PRO3,
    TIME,
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

TOOLS = [{"functionDeclarations": [WEATHER, TIME]}]
RESPONSE_AFTER_CALL = (
    "Please ensure that function response turn comes immediately after a function call turn."
)
SAME_COUNT = (
    "Please ensure that the number of function response parts is equal to the number of "
    "function call parts of the function call turn."
)


def user(*parts_: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts_)}


def model(*parts_: dict[str, Any]) -> dict[str, Any]:
    return {"role": "model", "parts": list(parts_)}


def text(value: str) -> dict[str, Any]:
    return {"text": value}


def call(name: str, signature: str | None = None, **extra: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"functionCall": {"name": name, "args": {}, **extra}}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def result(name: str, response: Any = None, **extra: Any) -> dict[str, Any]:
    return {"functionResponse": {"name": name, "response": response or {"ok": True}, **extra}}


def history(*contents: dict[str, Any]) -> dict[str, Any]:
    return {"contents": list(contents), "tools": TOOLS}


# --- call / response pairing -------------------------------------------------------------------


async def test_call_turn_followed_by_text_is_rejected(emu, session) -> None:
    body = history(user(text("go")), model(call("get_weather")), user(text("well?")))
    assert await rejected(session, emu, body) == RESPONSE_AFTER_CALL


async def test_call_turn_followed_by_a_model_turn_is_rejected(emu, session) -> None:
    body = history(user(text("go")), model(call("get_weather")), model(text("done")))
    assert await rejected(session, emu, body) == RESPONSE_AFTER_CALL


async def test_fewer_responses_than_calls_are_rejected(emu, session) -> None:
    body = history(
        user(text("go")),
        model(call("get_weather"), call("get_time")),
        user(result("get_weather")),
    )
    assert await rejected(session, emu, body) == SAME_COUNT


async def test_responses_may_come_in_any_order(emu, session) -> None:
    body = history(
        user(text("go")),
        model(call("get_weather"), call("get_time")),
        user(result("get_time"), result("get_weather")),
    )
    status, _ = await post(session, emu, body)
    assert status == 200


async def test_response_names_must_match_the_calls(emu, session) -> None:
    body = history(user(text("go")), model(call("get_weather")), user(result("get_time")))
    assert await rejected(session, emu, body) == (
        "Please ensure that the function response parts answer the function call parts of the "
        "function call turn: their names must match."
    )


async def test_responses_are_matched_by_id_when_calls_have_ids(emu, session) -> None:
    calls_ = model(call("get_weather", id="a"), call("get_weather", id="b"))
    good = history(
        user(text("go")), calls_, user(result("get_weather", id="b"), result("get_weather", id="a"))
    )
    bad = history(
        user(text("go")), calls_, user(result("get_weather", id="a"), result("get_weather", id="a"))
    )
    assert (await post(session, emu, good))[0] == 200
    assert await rejected(session, emu, bad) == (
        "Please ensure that the function response parts answer the function call parts of the "
        "function call turn: their ids must match."
    )


async def test_response_without_a_preceding_call_is_rejected(emu, session) -> None:
    body = history(user(text("go")), model(text("ok")), user(result("get_weather")))
    assert await rejected(session, emu, body) == RESPONSE_AFTER_CALL
    assert await rejected(session, emu, history(user(result("get_weather")))) == (
        RESPONSE_AFTER_CALL
    )


async def test_call_turn_right_after_a_model_turn_is_rejected(emu, session) -> None:
    body = history(
        user(text("go")), model(text("let me see")), model(call("get_weather")), user(result("x"))
    )
    assert await rejected(session, emu, body) == (
        "Please ensure that function call turn comes immediately after a user turn or after a "
        "function response turn."
    )


async def test_conversation_may_start_with_a_model_turn(emu, session) -> None:
    body = history(model(text("Hi, how can I help?")), user(text("hello")))
    assert (await post(session, emu, body))[0] == 200


async def test_function_response_must_be_an_object(emu, session) -> None:
    body = history(
        user(text("go")),
        model(call("get_weather")),
        user({"functionResponse": {"name": "get_weather", "response": "sunny"}}),
    )
    assert await rejected(session, emu, body) == (
        "Invalid value at 'contents[2].parts[0].function_response.response' "
        '(type.googleapis.com/google.protobuf.Struct), "sunny"'
    )


async def test_function_call_args_must_be_an_object(emu, session) -> None:
    body = history(
        user(text("go")),
        model({"functionCall": {"name": "get_weather", "args": "{}"}}),
        user(result("get_weather")),
    )
    assert await rejected(session, emu, body) == (
        "Invalid value at 'contents[1].parts[0].function_call.args' "
        '(type.googleapis.com/google.protobuf.Struct), "{}"'
    )


async def test_unknown_field_in_a_function_call_is_rejected(emu, session) -> None:
    body = history(
        user(text("go")),
        model({"functionCall": {"name": "get_weather", "arguments": "{}"}}),
        user(result("get_weather")),
    )
    assert await rejected(session, emu, body) == (
        'Invalid JSON payload received. Unknown name "arguments" at '
        "'contents[1].parts[0].function_call': Cannot find field."
    )


# --- Gemini 3 thought signatures ---------------------------------------------------------------


async def issued_call(emu, session, hint: str = "[call:get_weather]") -> dict[str, Any]:
    """The model turn the emulator answered with, as a client would send it back."""
    _, data = await post(session, emu, ask(hint, WEATHER, TIME), model=PRO3)
    return data["candidates"][0]["content"]


def missing(name: str, position: int) -> str:
    return (
        "Function call is missing a thought_signature in functionCall parts. This is required "
        "for tools to work correctly, and missing thought_signature may lead to degraded model "
        f"performance. Additional data, function call `default_api:{name}` , position "
        f"{position}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures "
        "for more details."
    )


async def test_gemini3_call_carries_a_signature_on_the_first_call_only(emu, session) -> None:
    turn = await issued_call(emu, session, "[parallel]")
    signed = ["thoughtSignature" in p for p in turn["parts"]]
    assert signed == [True, False]


async def test_gemini25_call_carries_no_signature(emu, session) -> None:
    _, data = await post(session, emu, ask("[call:get_weather]", WEATHER))
    assert "thoughtSignature" not in parts(data)[0]


async def test_gemini3_history_with_the_issued_signature_is_accepted(emu, session) -> None:
    turn = await issued_call(emu, session)
    body = history(user(text("[call:get_weather]")), turn, user(result("get_weather")))
    status, data = await post(session, emu, body, model=PRO3)
    assert status == 200
    assert "Tool results" in parts(data)[0]["text"]


async def test_gemini3_call_history_without_signature_is_rejected(emu, session) -> None:
    body = history(user(text("go")), model(call("get_weather")), user(result("get_weather")))
    assert await rejected(session, emu, body, model=PRO3) == missing("get_weather", 2)


async def test_gemini25_call_history_without_signature_is_accepted(emu, session) -> None:
    body = history(user(text("go")), model(call("get_weather")), user(result("get_weather")))
    assert (await post(session, emu, body))[0] == 200


async def test_only_the_first_call_of_a_parallel_turn_needs_a_signature(emu, session) -> None:
    turn = await issued_call(emu, session, "[parallel]")
    body = history(user(text("[parallel]")), turn, user(result("get_weather"), result("get_time")))
    assert (await post(session, emu, body, model=PRO3))[0] == 200
    unsigned_first = model(turn["parts"][1], turn["parts"][0])  # signature now on the second
    body["contents"][1] = unsigned_first
    assert await rejected(session, emu, body, model=PRO3) == missing("get_time", 2)


async def test_every_step_of_the_current_turn_needs_its_signature(emu, session) -> None:
    first = await issued_call(emu, session)
    body = history(
        user(text("go")),
        first,
        user(result("get_weather")),
        model(call("get_time")),
        user(result("get_time")),
    )
    assert await rejected(session, emu, body, model=PRO3) == missing("get_time", 4)


async def test_earlier_turns_are_not_checked_for_missing_signatures(emu, session) -> None:
    body = history(
        user(text("go")),
        model(call("get_weather")),
        user(result("get_weather")),
        model(text("It is sunny.")),
        user(text("thanks")),
    )
    assert (await post(session, emu, body, model=PRO3))[0] == 200


@pytest.mark.parametrize(
    "dummy", ["skip_thought_signature_validator", "context_engineering_is_the_way_to_go"]
)
async def test_documented_dummy_signatures_are_accepted(emu, session, dummy: str) -> None:
    body = history(user(text("go")), model(call("get_weather", dummy)), user(result("get_weather")))
    assert (await post(session, emu, body, model=PRO3))[0] == 200


async def test_forged_signature_is_corrupted(emu, session) -> None:
    forged = base64.b64encode(b"\x12" * 40).decode()
    body = history(
        user(text("go")), model(call("get_weather", forged)), user(result("get_weather"))
    )
    assert await rejected(session, emu, body, model=PRO3) == "Corrupted thought signature."


async def test_tampered_emulator_signature_is_corrupted(emu, session) -> None:
    turn = await issued_call(emu, session)
    raw = bytearray(base64.b64decode(turn["parts"][0]["thoughtSignature"]))
    raw[-1] ^= 1
    turn["parts"][0]["thoughtSignature"] = base64.b64encode(bytes(raw)).decode()
    body = history(user(text("go")), turn, user(result("get_weather")))
    assert await rejected(session, emu, body, model=PRO3) == "Corrupted thought signature."


async def test_signature_moved_to_another_function_is_corrupted(emu, session) -> None:
    turn = await issued_call(emu, session, "[call:get_time]")
    signature = turn["parts"][0]["thoughtSignature"]
    body = history(
        user(text("go")), model(call("get_weather", signature)), user(result("get_weather"))
    )
    assert await rejected(session, emu, body, model=PRO3) == "Corrupted thought signature."


async def test_forged_signature_in_an_earlier_turn_is_still_corrupted(emu, session) -> None:
    forged = base64.b64encode(b"not a signature").decode()
    body = history(
        user(text("go")),
        model(call("get_weather", forged)),
        user(result("get_weather")),
        model(text("sunny")),
        user(text("thanks")),
    )
    assert await rejected(session, emu, body, model=PRO3) == "Corrupted thought signature."


async def test_text_signature_comes_back_on_a_text_part(emu, session) -> None:
    _, data = await post(session, emu, ask("hello"), model=PRO3)
    answer = data["candidates"][0]["content"]
    assert "thoughtSignature" in answer["parts"][-1]
    body = {"contents": [user(text("hello")), answer, user(text("again"))]}
    assert (await post(session, emu, body, model=PRO3))[0] == 200
    moved = answer["parts"][-1]["thoughtSignature"]
    body = history(user(text("go")), model(call("get_weather", moved)), user(result("get_weather")))
    assert await rejected(session, emu, body, model=PRO3) == "Corrupted thought signature."


async def test_signature_that_is_not_base64_is_rejected_as_bytes(emu, session) -> None:
    body = history(
        user(text("go")), model(call("get_weather", "not base64!")), user(result("get_weather"))
    )
    assert await rejected(session, emu, body) == (
        "Invalid value at 'contents[1].parts[0].thought_signature' (TYPE_BYTES), Base64 decoding "
        'failed for "not base64!"'
    )


async def test_three_turn_tool_loop_with_signatures_replayed(emu, session) -> None:
    first = await issued_call(emu, session)
    contents = [user(text("[call:get_weather]")), first]
    contents.append(user(result("get_weather", {"temp": 21}), text("and time? [call:get_time]")))
    status, data = await post(session, emu, {"contents": contents, "tools": TOOLS}, model=PRO3)
    assert status == 200 and [c["name"] for c in calls(data)] == ["get_time"]
    contents += [data["candidates"][0]["content"], user(result("get_time", {"t": "12:00"}))]
    status, data = await post(session, emu, {"contents": contents, "tools": TOOLS}, model=PRO3)
    assert status == 200
    assert parts(data)[-1]["text"].endswith('Tool results: get_time -> {"t": "12:00"}')
