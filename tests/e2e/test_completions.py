"""POST /v1/completions (legacy) with the official SDK."""

from __future__ import annotations

import openai
import pytest

from antigravity.emulator import Emulator

pytestmark = pytest.mark.e2e


def test_prompt_gives_a_text_completion(client: openai.OpenAI, emulator: Emulator) -> None:
    answer = client.completions.create(model="gpt-4o", prompt="Say hi", max_tokens=50)
    assert answer.object == "text_completion" and answer.id.startswith("cmpl-")
    assert "antigravity Gemini emulator" in answer.choices[0].text
    assert answer.usage.total_tokens > 0
    assert emulator.requests[-1].body["contents"] == [
        {"role": "user", "parts": [{"text": "Say hi"}]}
    ]


def test_default_max_tokens_is_openais_16(client: openai.OpenAI, emulator: Emulator) -> None:
    client.completions.create(model="gemini-2.5-flash-lite", prompt="Say hi")
    assert emulator.requests[-1].body["generationConfig"]["maxOutputTokens"] == 16


def test_length_finish_and_stream(client: openai.OpenAI) -> None:
    answer = client.completions.create(model="gemini-2.5-flash-lite", prompt="hi", max_tokens=3)
    assert answer.choices[0].finish_reason == "length"
    chunks = list(
        client.completions.create(
            model="gemini-2.5-flash-lite",
            prompt="hi",
            max_tokens=50,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert "emulator" in text
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].usage.total_tokens > 0


def test_echo_puts_the_prompt_first(client: openai.OpenAI) -> None:
    answer = client.completions.create(model="gpt-4o", prompt="Say hi", echo=True, max_tokens=50)
    assert answer.choices[0].text.startswith("Say hiHello from the antigravity")


def test_logprobs_integer_form(client: openai.OpenAI) -> None:
    answer = client.completions.create(model="gpt-4o", prompt="hi", logprobs=2, max_tokens=50)
    lp = answer.choices[0].logprobs
    assert lp.tokens and len(lp.tokens) == len(lp.token_logprobs) == len(lp.text_offset)
    assert len(lp.top_logprobs[0]) == 2


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"prompt": "a", "suffix": "b"}, "suffix"),
        ({"prompt": ["a", "b"]}, "prompt"),
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"prompt": "a", "best_of": 3}, "best_of"),
    ],
)
def test_unsupported_forms_are_refused_by_name(
    client: openai.OpenAI, emulator: Emulator, kwargs: dict, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.completions.create(model="gpt-4o", **kwargs)
    assert e.value.param == param
    assert emulator.requests == []
