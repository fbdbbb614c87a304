"""Tools, tool turns, thought signatures, media, JSON output and reasoning: OpenAI -> Gemini."""

from __future__ import annotations

import json
from typing import Any

import pytest

from antigravity.errors import ApiError
from antigravity.mappers.chat_request import IMPLIED_BUDGET, from_chat
from antigravity.mappers.gemini_request import gemini_body
from antigravity.openai.chat import ChatRequest
from antigravity.openai.parse import validate
from antigravity.signatures import DUMMY_SIGNATURE

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}
CALL2 = {
    "id": "call_2",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
}


def body(
    target: str = "gemini-2.5-flash", signatures: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    data = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    lookup = (signatures or {}).get
    return gemini_body(from_chat(validate(ChatRequest, data), target, lookup))


def refused(**fields: Any) -> ApiError:
    with pytest.raises(ApiError) as e:
        body(**fields)
    return e.value


def tool_loop(*results: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL, CALL2]},
        *results,
    ]


def test_tools_become_function_declarations_with_json_schema() -> None:
    out = body(tools=[WEATHER])
    decl = out["tools"][0]["functionDeclarations"][0]
    assert decl["name"] == "get_weather"
    assert decl["description"] == "Weather for a city"
    assert decl["parametersJsonSchema"]["properties"] == {"city": {"type": "string"}}
    assert "parameters" not in decl


def test_legacy_functions_are_tools_too() -> None:
    out = body(functions=[WEATHER["function"]], function_call={"name": "get_weather"})
    assert out["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert out["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY",
        "allowedFunctionNames": ["get_weather"],
    }


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("none", {"mode": "NONE"}),
        ("auto", None),
        ("required", {"mode": "ANY"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
    ],
)
def test_tool_choice_maps_to_function_calling_config(choice: Any, config: Any) -> None:
    out = body(tools=[WEATHER], tool_choice=choice)
    assert out.get("toolConfig", {}).get("functionCallingConfig") == config


def test_tool_choice_naming_an_undeclared_tool_is_refused() -> None:
    err = refused(tools=[WEATHER], tool_choice={"type": "function", "function": {"name": "x"}})
    assert err.param == "tool_choice"


def test_required_tool_choice_without_tools_is_refused() -> None:
    assert refused(tool_choice="required").param == "tool_choice"


def test_tool_results_become_one_user_turn_of_function_responses_named_by_call_id() -> None:
    out = body(
        messages=tool_loop(
            {"role": "tool", "tool_call_id": "call_2", "content": '{"temp": 30}'},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ),
        tools=[WEATHER],
    )
    model_turn, results = out["contents"][1], out["contents"][2]
    assert model_turn == {
        "role": "model",
        "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
        ],
    }
    assert results == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 30}}},
            {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
        ],
    }


def test_missing_tool_result_is_refused_before_gemini_sees_it() -> None:
    err = refused(
        messages=tool_loop(
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "user", "content": "and?"},
        )
    )
    assert err.code == "missing_tool_result"
    assert "call_2" in err.message


def test_result_for_an_unknown_call_is_refused() -> None:
    err = refused(
        messages=[
            {"role": "user", "content": "x"},
            {"role": "tool", "tool_call_id": "call_9", "content": "y"},
        ]
    )
    assert err.param == "messages[1].tool_call_id"


def test_invalid_call_arguments_are_refused_with_their_path() -> None:
    bad = {**CALL, "function": {"name": "get_weather", "arguments": "{not json"}}
    err = refused(
        messages=[{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [bad]}]
    )
    assert err.param == "messages[1].tool_calls[0].function.arguments"


def test_gemini3_calls_get_their_stored_signature_back() -> None:
    out = body(
        target="gemini-3-pro-preview",
        signatures={"call_1": "SIG-1"},
        messages=tool_loop(
            {"role": "tool", "tool_call_id": "call_1", "content": "a"},
            {"role": "tool", "tool_call_id": "call_2", "content": "b"},
        ),
    )
    first, second = out["contents"][1]["parts"]
    assert first["thoughtSignature"] == "SIG-1"
    assert "thoughtSignature" not in second


def test_gemini3_call_without_known_signature_gets_the_documented_dummy() -> None:
    out = body(
        target="gemini-3-pro-preview",
        messages=tool_loop(
            {"role": "tool", "tool_call_id": "call_1", "content": "a"},
            {"role": "tool", "tool_call_id": "call_2", "content": "b"},
        ),
    )
    assert out["contents"][1]["parts"][0]["thoughtSignature"] == DUMMY_SIGNATURE


def test_gemini25_calls_need_no_signature() -> None:
    out = body(
        messages=tool_loop(
            {"role": "tool", "tool_call_id": "call_1", "content": "a"},
            {"role": "tool", "tool_call_id": "call_2", "content": "b"},
        )
    )
    assert all("thoughtSignature" not in p for p in out["contents"][1]["parts"])


def test_data_uri_image_becomes_inline_data() -> None:
    out = body(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="},
                    },
                ],
            }
        ]
    )
    assert out["contents"][0]["parts"][1] == {
        "inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}
    }


def test_http_image_is_marked_for_fetching_with_a_guessed_type() -> None:
    data = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://example.org/cat.webp?x=1"}}
                ],
            }
        ],
    }
    req = from_chat(validate(ChatRequest, data), "gemini-2.5-flash")
    assert req.remote_media
    assert req.contents[0]["parts"][0]["fileData"]["mimeType"] == "image/webp"


def test_bad_base64_image_is_refused_with_its_path() -> None:
    err = refused(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}
                ],
            }
        ]
    )
    assert err.param == "messages[0].content[0].image_url.url"


def test_input_audio_and_pdf_file_become_inline_data() -> None:
    out = body(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                    {
                        "type": "file",
                        "file": {
                            "file_data": "data:application/pdf;base64,JVBERi0=",
                            "filename": "a.pdf",
                        },
                    },
                ],
            }
        ]
    )
    assert [p["inlineData"]["mimeType"] for p in out["contents"][0]["parts"]] == [
        "audio/wav",
        "application/pdf",
    ]


def test_file_id_is_refused_because_gemini_cannot_read_openai_files() -> None:
    err = refused(
        messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}]
    )
    assert err.param == "messages[0].content[0].file.file_id"


def test_json_object_response_format_asks_for_json() -> None:
    out = body(response_format={"type": "json_object"})
    assert out["generationConfig"] == {"responseMimeType": "application/json"}


def test_json_schema_response_format_becomes_response_json_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    out = body(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": schema, "strict": True},
        }
    )
    assert out["generationConfig"]["responseMimeType"] == "application/json"
    assert out["generationConfig"]["responseJsonSchema"]["properties"] == {"n": {"type": "integer"}}


@pytest.mark.parametrize(
    ("target", "effort", "config"),
    [
        ("gemini-2.5-flash", "low", {"thinkingBudget": 1024, "includeThoughts": True}),
        ("gemini-2.5-flash", "none", {"thinkingBudget": 0, "includeThoughts": False}),
        ("gemini-2.5-pro", "none", {"thinkingBudget": 128, "includeThoughts": True}),
        ("gemini-2.5-pro", "high", {"thinkingBudget": 24576, "includeThoughts": True}),
        ("gemini-3-pro-preview", "low", {"thinkingLevel": "low", "includeThoughts": True}),
        ("gemini-3-pro-preview", "high", {"thinkingLevel": "high", "includeThoughts": True}),
    ],
)
def test_reasoning_effort_maps_to_budget_or_level(target: str, effort: str, config: Any) -> None:
    assert body(target=target, reasoning_effort=effort)["generationConfig"]["thinkingConfig"] == (
        config
    )


def test_max_tokens_gets_thinking_headroom_so_it_bounds_visible_output() -> None:
    gen = body(reasoning_effort="low", max_tokens=100)["generationConfig"]
    assert gen["maxOutputTokens"] == 100 + 1024
    implied = body(max_tokens=100)["generationConfig"]
    assert implied["thinkingConfig"] == {"thinkingBudget": IMPLIED_BUDGET, "includeThoughts": False}
    assert implied["maxOutputTokens"] == 100 + IMPLIED_BUDGET


def test_max_completion_tokens_includes_reasoning_as_in_openai() -> None:
    gen = body(reasoning_effort="low", max_completion_tokens=100)["generationConfig"]
    assert gen["maxOutputTokens"] == 100


def test_models_that_do_not_think_get_no_headroom() -> None:
    gen = body(target="gemini-2.5-flash-lite", max_tokens=100)["generationConfig"]
    assert gen == {"maxOutputTokens": 100}


def test_logprobs_ask_gemini_for_logprobs() -> None:
    gen = body(logprobs=True, top_logprobs=3)["generationConfig"]
    assert gen["responseLogprobs"] is True and gen["logprobs"] == 3
    assert refused(top_logprobs=2).param == "top_logprobs"


def test_assistant_text_and_calls_in_one_turn() -> None:
    out = body(
        messages=[
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": json.dumps([1])},
        ]
    )
    assert out["contents"][1]["parts"][0] == {"text": "Let me check."}
    assert out["contents"][2]["parts"][0]["functionResponse"]["response"] == {"result": [1]}


def test_streams_on_thinking_models_ask_for_thoughts_to_keep_alive() -> None:
    data = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    req = from_chat(validate(ChatRequest, data), "gemini-2.5-flash")
    assert req.hidden_thoughts
    assert req.generation["thinkingConfig"] == {"includeThoughts": True}
    lite = from_chat(validate(ChatRequest, data), "gemini-2.5-flash-lite")
    assert not lite.hidden_thoughts and "thinkingConfig" not in lite.generation
    shown = from_chat(
        validate(ChatRequest, {**data, "reasoning_effort": "low"}), "gemini-2.5-flash"
    )
    assert not shown.hidden_thoughts
    whole = from_chat(validate(ChatRequest, {**data, "stream": False}), "gemini-2.5-flash")
    assert not whole.hidden_thoughts
