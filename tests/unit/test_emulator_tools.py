"""The emulator with tools: declaration rules, function-calling config, and the calls it makes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from antigravity.emulator import Emulator
from tests.unit.test_emulator import FLASH, endpoint, sse_events

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "tests" / "fixtures" / "recorded"
PRO3 = "gemini-3-pro-preview"

WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parametersJsonSchema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
TIME = {
    "name": "get_time",
    "parameters": {"type": "OBJECT", "properties": {"zone": {"type": "STRING"}}},
}
NO_ARGS = {"name": "ping"}


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


def ask(text: str, *decls: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if decls:
        body["tools"] = [{"functionDeclarations": list(decls)}]
    return {**body, **extra}


def calling(mode: str, *names: str) -> dict[str, Any]:
    config: dict[str, Any] = {"mode": mode}
    if names:
        config["allowedFunctionNames"] = list(names)
    return {"functionCallingConfig": config}


async def post(
    session: aiohttp.ClientSession,
    emu: Emulator,
    body: dict[str, Any],
    model: str = FLASH,
    stream: bool = False,
) -> tuple[int, Any]:
    resp = await session.post(
        endpoint(emu, model, stream), json=body, headers={"x-goog-api-key": "k"}
    )
    if stream and resp.status == 200:
        return resp.status, sse_events(await resp.read())
    return resp.status, await resp.json()


def parts(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["candidates"][0]["content"]["parts"]


def calls(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["functionCall"] for p in parts(data) if "functionCall" in p]


async def rejected(session, emu, body: dict[str, Any], model: str = FLASH) -> str:
    status, data = await post(session, emu, body, model)
    assert status == 400, data
    assert data["error"]["status"] == "INVALID_ARGUMENT"
    return data["error"]["message"]


# --- declarations ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1st", "has space", "x" * 65, "dollar$", "é"])
async def test_function_name_outside_gemini_charset_is_rejected(emu, session, name: str) -> None:
    message = await rejected(session, emu, ask("hi", {"name": name}))
    assert message == (
        "* GenerateContentRequest.tools[0].function_declarations[0].name: Invalid function name. "
        "Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain "
        "underscores, dots, colons and dashes, with a maximum length of 64."
    )


@pytest.mark.parametrize("name", ["_x", "a.b:c-d", "x" * 64, "default_api"])
async def test_function_names_gemini_allows_are_accepted(emu, session, name: str) -> None:
    status, _ = await post(session, emu, ask("hi", {"name": name}))
    assert status == 200


async def test_function_without_name_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, ask("hi", {"description": "nameless"}))
    assert message == (
        "* GenerateContentRequest.tools[0].function_declarations[0].name: Name cannot be empty."
    )


async def test_duplicate_function_names_across_tools_are_rejected(emu, session) -> None:
    body = ask("hi")
    body["tools"] = [{"functionDeclarations": [WEATHER]}, {"functionDeclarations": [WEATHER]}]
    message = await rejected(session, emu, body)
    assert message == (
        "* GenerateContentRequest.tools[1].function_declarations[0].name: Duplicate function "
        "declaration found: get_weather"
    )


async def test_parameters_and_parameters_json_schema_together_are_rejected(emu, session) -> None:
    decl = {**WEATHER, "parameters": TIME["parameters"]}
    message = await rejected(session, emu, ask("hi", decl))
    assert message == (
        "* GenerateContentRequest.tools[0].function_declarations[0]: parameters and "
        "parameters_json_schema cannot both be set."
    )


async def test_unknown_declaration_field_is_rejected_with_path(emu, session) -> None:
    message = await rejected(session, emu, ask("hi", {**NO_ARGS, "strict": True}))
    assert message == (
        'Invalid JSON payload received. Unknown name "strict" at '
        "'tools[0].function_declarations[0]': Cannot find field."
    )


async def test_openai_shaped_tool_is_rejected(emu, session) -> None:
    body = ask("hi")
    body["tools"] = [{"type": "function", "function": NO_ARGS}]
    message = await rejected(session, emu, body)
    assert message == (
        "Invalid JSON payload received. Unknown name \"type\" at 'tools[0]': Cannot find field."
    )


async def test_search_and_code_tools_are_accepted(emu, session) -> None:
    body = ask("hi")
    body["tools"] = [{"googleSearch": {}}, {"codeExecution": {}}]
    status, data = await post(session, emu, body)
    assert status == 200 and "functionCall" not in parts(data)[0]


# --- function-calling config -------------------------------------------------------------------


async def test_unknown_calling_mode_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, ask("hi", WEATHER, toolConfig=calling("REQUIRED")))
    assert message == (
        "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/"
        'google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "REQUIRED"'
    )


@pytest.mark.parametrize("mode", ["AUTO", "NONE"])
async def test_allowed_function_names_need_mode_any_or_validated(emu, session, mode) -> None:
    body = ask("hi", WEATHER, toolConfig=calling(mode, "get_weather"))
    message = await rejected(session, emu, body)
    assert message == (
        "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
        "allowed_function_names may only be set when mode is ANY or VALIDATED."
    )


async def test_allowed_function_names_must_be_declared(emu, session) -> None:
    body = ask("hi", WEATHER, toolConfig=calling("ANY", "get_weather", "launch"))
    message = await rejected(session, emu, body)
    assert message == (
        "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names[1]: "
        "function `launch` is not declared in tools."
    )


async def test_mode_any_without_declarations_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, ask("hi", toolConfig=calling("ANY")))
    assert message == (
        "* GenerateContentRequest.tool_config.function_calling_config.mode: function calling "
        "mode ANY requires function_declarations."
    )


async def test_unknown_tool_config_field_is_rejected(emu, session) -> None:
    body = ask("hi", WEATHER, toolConfig={"functionCallingConfig": {"mode": "ANY", "x": 1}})
    message = await rejected(session, emu, body)
    assert message == (
        'Invalid JSON payload received. Unknown name "x" at '
        "'tool_config.function_calling_config': Cannot find field."
    )


# --- the calls the emulator makes --------------------------------------------------------------


async def test_call_hint_calls_the_named_tool_with_schema_arguments(emu, session) -> None:
    status, data = await post(session, emu, ask("weather? [call:get_weather]", TIME, WEATHER))
    assert status == 200
    assert parts(data) == [
        {"functionCall": {"name": "get_weather", "args": {"city": "sample city", "unit": "c"}}}
    ]
    candidate = data["candidates"][0]
    assert candidate["finishReason"] == "STOP"
    assert candidate["finishMessage"] == "Model generated function call(s)."
    assert data["usageMetadata"]["candidatesTokenCount"] > 0


async def test_call_answer_has_the_shape_of_the_recorded_one(emu, session) -> None:
    recorded = json.loads((RECORDED / "gemini3-generate-tool-call.json").read_text())
    _, ours = await post(session, emu, ask("[call:get_weather]", WEATHER), model=PRO3)
    assert ours.keys() == recorded.keys()
    ours_c, recorded_c = ours["candidates"][0], recorded["candidates"][0]
    assert ours_c.keys() == recorded_c.keys()
    assert ours_c["content"]["parts"][0].keys() == recorded_c["content"]["parts"][0].keys()
    assert ours_c["content"]["parts"][0]["functionCall"].keys() == {"name", "args"}


async def test_bare_call_hint_calls_the_first_tool(emu, session) -> None:
    _, data = await post(session, emu, ask("go [call]", TIME, WEATHER))
    assert [c["name"] for c in calls(data)] == ["get_time"]


async def test_call_hint_for_an_undeclared_tool_falls_back_to_the_first(emu, session) -> None:
    _, data = await post(session, emu, ask("go [call:nope]", WEATHER, TIME))
    assert [c["name"] for c in calls(data)] == ["get_weather"]


async def test_two_call_hints_make_two_calls_in_one_turn(emu, session) -> None:
    _, data = await post(session, emu, ask("[call:get_time] [call:get_weather]", WEATHER, TIME))
    assert [c["name"] for c in calls(data)] == ["get_time", "get_weather"]


async def test_parallel_hint_calls_every_tool_in_one_turn(emu, session) -> None:
    _, data = await post(session, emu, ask("both [parallel]", WEATHER, TIME, NO_ARGS))
    assert calls(data) == [
        {"name": "get_weather", "args": {"city": "sample city", "unit": "c"}},
        {"name": "get_time", "args": {"zone": "sample zone"}},
        {"name": "ping", "args": {}},
    ]


async def test_parallel_hint_makes_two_calls_in_one_turn(emu, session) -> None:
    _, data = await post(session, emu, ask("twice [parallel]", WEATHER))
    first, second = calls(data)
    assert first["name"] == second["name"] == "get_weather"
    assert first["args"] != second["args"]
    assert second["args"] == {"city": "sample city 2", "unit": "f"}


async def test_without_hint_mode_auto_answers_in_text(emu, session) -> None:
    _, data = await post(session, emu, ask("just chat", WEATHER))
    assert parts(data) == [
        {"text": f"Hello from the antigravity Gemini emulator ({FLASH}). You said: just chat"}
    ]
    assert "finishMessage" not in data["candidates"][0]


async def test_mode_any_forces_a_call_without_hint(emu, session) -> None:
    _, data = await post(session, emu, ask("just chat", WEATHER, TIME, toolConfig=calling("ANY")))
    assert [c["name"] for c in calls(data)] == ["get_weather"]


async def test_allowed_function_names_restrict_the_choice(emu, session) -> None:
    body = ask(
        "[call:get_weather] [parallel]", WEATHER, TIME, toolConfig=calling("ANY", "get_time")
    )
    _, data = await post(session, emu, body)
    assert [c["name"] for c in calls(data)] == ["get_time", "get_time"]
    body = ask("[call:get_weather]", WEATHER, TIME, toolConfig=calling("ANY", "get_time"))
    _, data = await post(session, emu, body)
    assert [c["name"] for c in calls(data)] == ["get_time"]


async def test_mode_none_never_calls(emu, session) -> None:
    body = ask("[call:get_weather] [parallel]", WEATHER, toolConfig=calling("NONE"))
    _, data = await post(session, emu, body)
    assert "text" in parts(data)[0] and not calls(data)


async def test_mode_validated_calls_on_hint_only(emu, session) -> None:
    config = calling("VALIDATED", "get_time")
    _, hinted = await post(session, emu, ask("[call]", WEATHER, TIME, toolConfig=config))
    _, plain = await post(session, emu, ask("hello", WEATHER, TIME, toolConfig=config))
    assert [c["name"] for c in calls(hinted)] == ["get_time"]
    assert not calls(plain)


async def test_calls_carry_no_id_by_default(emu, session) -> None:
    _, data = await post(session, emu, ask("[call:get_weather]", WEATHER))
    assert "id" not in calls(data)[0]


async def test_calls_carry_ids_when_the_history_used_them(emu, session) -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "first [call:get_time]"}]},
            {"role": "model", "parts": [{"functionCall": {"id": "a1", "name": "get_time"}}]},
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"id": "a1", "name": "get_time", "response": {"t": 1}}},
                    {"text": "now [parallel]"},
                ],
            },
        ],
        "tools": [{"functionDeclarations": [WEATHER, TIME]}],
    }
    _, data = await post(session, emu, body)
    ids = [c["id"] for c in calls(data)]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(ids)


# --- arguments from schemas --------------------------------------------------------------------


async def test_arguments_follow_refs_nested_objects_arrays_and_bounds(emu, session) -> None:
    schema = {
        "$defs": {
            "Place": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "country": {"type": ["string", "null"]}},
                "required": ["city", "country"],
            },
            "Unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "type": "object",
        "properties": {
            "place": {"$ref": "#/$defs/Place"},
            "unit": {"$ref": "#/$defs/Unit"},
            "days": {"type": "array", "items": {"type": "integer", "minimum": 3}, "minItems": 2},
            "ratio": {"type": "number", "maximum": 0.5},
        },
        "required": ["place", "unit", "days", "ratio"],
    }
    _, data = await post(session, emu, ask("[call]", {"name": "f", "parametersJsonSchema": schema}))
    assert calls(data)[0]["args"] == {
        "place": {"city": "sample city", "country": "sample country"},
        "unit": "celsius",
        "days": [3, 3],
        "ratio": 0.5,
    }


async def test_arguments_fill_only_required_properties_of_large_objects(emu, session) -> None:
    props = {f"p{i}": {"type": "boolean"} for i in range(6)}
    schema = {"type": "object", "properties": props, "required": ["p4", "p1"]}
    _, data = await post(session, emu, ask("[call]", {"name": "f", "parametersJsonSchema": schema}))
    assert calls(data)[0]["args"] == {"p1": True, "p4": True}


async def test_arguments_from_openapi_parameters(emu, session) -> None:
    params = {
        "type": "OBJECT",
        "properties": {
            "when": {"type": "STRING", "format": "date-time"},
            "tags": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["a", "b"]}},
            "n": {"type": "INTEGER", "nullable": True},
            "pick": {"anyOf": [{"type": "NULL"}, {"type": "NUMBER"}]},
        },
        "propertyOrdering": ["n", "when"],
    }
    _, data = await post(session, emu, ask("[call]", {"name": "f", "parameters": params}))
    args = calls(data)[0]["args"]
    assert list(args) == ["n", "when", "tags", "pick"]
    assert args == {"n": 1, "when": "2025-01-01T00:00:00Z", "tags": ["a"], "pick": 1.5}


# --- after tool results ------------------------------------------------------------------------


def after_results(*results: tuple[str, Any], mode: str | None = None) -> dict[str, Any]:
    names = [n for n, _ in results]
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "go [parallel]"}]},
            {"role": "model", "parts": [{"functionCall": {"name": n, "args": {}}} for n in names]},
            {
                "role": "user",
                "parts": [{"functionResponse": {"name": n, "response": r}} for n, r in results],
            },
        ],
        "tools": [{"functionDeclarations": [WEATHER, TIME]}],
    }
    if mode:
        body["toolConfig"] = calling(mode)
    return body


async def test_tool_results_are_reported_in_the_answer(emu, session) -> None:
    body = after_results(("get_weather", {"temp": 21}), ("get_time", {"time": "12:00"}))
    _, data = await post(session, emu, body)
    assert parts(data) == [
        {
            "text": f"Hello from the antigravity Gemini emulator ({FLASH}). Tool results: "
            'get_weather -> {"temp": 21}; get_time -> {"time": "12:00"}'
        }
    ]


async def test_mode_any_calls_again_after_tool_results(emu, session) -> None:
    _, data = await post(session, emu, after_results(("get_weather", {"t": 1}), mode="ANY"))
    assert [c["name"] for c in calls(data)] == ["get_weather"]


# --- streaming calls ---------------------------------------------------------------------------


async def test_streamed_calls_arrive_whole_then_an_empty_final_chunk(emu, session) -> None:
    _, events = await post(session, emu, ask("[parallel]", WEATHER, TIME), stream=True)
    assert len(events) == 2
    first, last = (e["candidates"][0] for e in events)
    assert [p["functionCall"]["name"] for p in first["content"]["parts"]] == [
        "get_weather",
        "get_time",
    ]
    assert "finishReason" not in first
    assert last["content"]["parts"] == [{"text": ""}] and last["finishReason"] == "STOP"
    assert (
        events[0]["usageMetadata"]["candidatesTokenCount"]
        == events[1]["usageMetadata"]["candidatesTokenCount"]
        > 0
    )


async def test_streamed_call_has_the_shape_of_the_recorded_stream(emu, session) -> None:
    lines = (RECORDED / "gemini3-stream-tool-call.chunks.jsonl").read_text().splitlines()
    recorded = [json.loads(line) for line in lines if line.strip()]
    _, ours = await post(session, emu, ask("[call:get_weather]", WEATHER), PRO3, stream=True)
    assert len(ours) == len(recorded)
    for mine, theirs in zip(ours, recorded, strict=True):
        assert mine.keys() == theirs.keys()
        assert mine["candidates"][0].keys() == theirs["candidates"][0].keys()
        mine_parts = mine["candidates"][0]["content"]["parts"]
        their_parts = theirs["candidates"][0]["content"]["parts"]
        assert [p.keys() for p in mine_parts] == [p.keys() for p in their_parts]
