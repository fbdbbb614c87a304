"""Chat Completions request -> canonical request -> Gemini body."""

from __future__ import annotations

from typing import Any

import pytest

from antigravity.errors import ApiError
from antigravity.mappers.chat_request import from_chat
from antigravity.mappers.gemini_request import gemini_body, gemini_path
from antigravity.openai.chat import ChatRequest
from antigravity.openai.parse import load_json_object, validate


def translate(target: str = "gemini-2.5-flash-lite", **fields: Any) -> dict[str, Any]:
    data = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], **fields}
    return gemini_body(from_chat(validate(ChatRequest, data), target))


def refusal(**fields: Any) -> ApiError:
    with pytest.raises(ApiError) as e:
        translate(**fields)
    return e.value


def test_system_and_developer_messages_become_system_instruction() -> None:
    body = translate(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use French."}]},
            {"role": "user", "content": "hi"},
        ]
    )
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief.\n\nUse French."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_assistant_becomes_model_and_same_role_turns_merge() -> None:
    body = translate(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "user", "content": [{"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "c"},
            {"role": "user", "content": "d"},
        ]
    )
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
        {"role": "model", "parts": [{"text": "c"}]},
        {"role": "user", "parts": [{"text": "d"}]},
    ]


def test_generation_controls_map_to_generation_config() -> None:
    body = translate(
        temperature=0.5,
        top_p=0.9,
        max_tokens=100,
        stop="END",
        n=2,
        seed=7,
        presence_penalty=0.1,
        frequency_penalty=-0.1,
    )
    assert body["generationConfig"] == {
        "temperature": 0.5,
        "topP": 0.9,
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
        "candidateCount": 2,
        "seed": 7,
        "presencePenalty": 0.1,
        "frequencyPenalty": -0.1,
    }


def test_max_completion_tokens_wins_over_max_tokens() -> None:
    body = translate(max_tokens=100, max_completion_tokens=50)
    assert body["generationConfig"]["maxOutputTokens"] == 50


def test_no_generation_config_when_nothing_is_set() -> None:
    assert "generationConfig" not in translate()


def test_routine_client_parameters_are_ignored_and_noted() -> None:
    data = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "user": "u",
        "store": False,
        "metadata": {"a": "b"},
    }
    req = from_chat(validate(ChatRequest, data), "gemini-2.5-flash")
    assert req.notes == ["ignored parameter 'store'", "ignored parameter 'metadata'"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("audio", {"voice": "alloy"}),
        ("modalities", ["audio"]),
        ("prediction", {"type": "x"}),
        ("web_search_options", {}),
    ],
)
def test_parameters_without_gemini_equivalent_are_refused_by_name(field: str, value: Any) -> None:
    err = refusal(**{field: value})
    assert err.status == 400 and err.param == field and err.code == "unsupported_parameter"


def test_only_system_messages_is_an_error() -> None:
    err = refusal(messages=[{"role": "system", "content": "x"}])
    assert err.param == "messages"


def test_too_many_stop_sequences() -> None:
    assert refusal(stop=["a", "b", "c", "d", "e", "f"]).param == "stop"


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0]",
        ),
        ({"model": 4, "messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 0}, "n"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3},
            "temperature",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "stream_options": {"include_usage": "yes"},
            },
            "stream_options.include_usage",
        ),
    ],
)
def test_validation_error_names_the_field(data: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as e:
        validate(ChatRequest, data)
    assert e.value.status == 400
    assert e.value.param == param
    assert param in e.value.message


@pytest.mark.parametrize("body", [b"", b"  ", b"{", b"[]", b"null", b"\xff"])
def test_body_that_is_not_a_json_object(body: bytes) -> None:
    with pytest.raises(ApiError) as e:
        load_json_object(body)
    assert e.value.code == "invalid_json"


def test_gemini_paths() -> None:
    assert (
        gemini_path("gemini-2.5-flash", False) == "/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert gemini_path("gemini-2.5-flash", True) == (
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
