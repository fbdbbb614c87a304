"""The official openai SDK against `mitmdump -s addon.py` in front of the Gemini emulator."""

from __future__ import annotations

import openai
import pytest

from antigravity import launch
from antigravity.emulator import Emulator
from tests.e2e.conftest import KEYS, raw

pytestmark = pytest.mark.e2e

HELLO = [{"role": "user", "content": "Hello, introduce yourself"}]


def test_sdk_chat_gets_the_emulator_answer(client: openai.OpenAI, emulator: Emulator) -> None:
    answer = client.chat.completions.create(model="gemini-2.5-flash", messages=HELLO)
    assert answer.object == "chat.completion"
    assert answer.id.startswith("chatcmpl-")
    assert "antigravity Gemini emulator" in answer.choices[0].message.content
    assert "You said: Hello, introduce yourself" in answer.choices[0].message.content
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    sent = emulator.requests[-1]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.body["contents"] == [
        {"role": "user", "parts": [{"text": "Hello, introduce yourself"}]}
    ]


def test_mapped_model_and_account_headers(client: openai.OpenAI, emulator: Emulator) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=HELLO)
    assert raw.headers["x-mapped-model"] == "gemini-2.5-flash"
    assert raw.headers["x-account-email"] in ("key-1", "key-2")
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.parse().model == "gpt-4o"
    assert emulator.requests[-1].model == "gemini-2.5-flash"


def test_system_and_generation_controls_reach_gemini(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    client.chat.completions.create(
        model="gemini-2.5-flash",
        messages=[{"role": "system", "content": "Be brief."}, *HELLO],
        temperature=0.2,
        max_completion_tokens=5,
        stop=["END"],
    )
    body = emulator.requests[-1].body
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["generationConfig"] == {
        "temperature": 0.2,
        "maxOutputTokens": 5,
        "stopSequences": ["END"],
    }


def test_max_tokens_reached_gives_finish_reason_length(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gemini-2.5-flash", messages=HELLO, max_completion_tokens=3
    )
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage.completion_tokens == 3


def test_sdk_stream_yields_text_and_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gemini-2.5-flash",
            messages=HELLO,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "antigravity Gemini emulator" in text
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert len({c.id for c in chunks}) == 1


def test_stream_is_sse_ending_with_done(gateway: launch.Child) -> None:
    resp = raw(
        f"{gateway.url}/v1/chat/completions",
        "POST",
        {"model": "gpt-4o", "messages": HELLO, "stream": True},
    )
    body = resp.body.decode()
    assert resp.headers["content-type"] == "text/event-stream"
    assert resp.headers["x-mapped-model"] == "gemini-2.5-flash"
    assert body.endswith("data: [DONE]\n\n")
    # Every frame is an event, or a keep-alive comment sent while Gemini thinks.
    assert all(frame.startswith(("data: ", ": ")) for frame in body.split("\n\n") if frame)


def test_sdk_stream_helper_accumulates_final_completion(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="gemini-2.5-flash", messages=HELLO) as stream:
        final = stream.get_final_completion()
    assert "antigravity Gemini emulator" in final.choices[0].message.content


async def test_async_sdk_chat_and_stream(aclient: openai.AsyncOpenAI) -> None:
    answer = await aclient.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert "emulator" in answer.choices[0].message.content
    stream = await aclient.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    text = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "emulator" in "".join(text)


def test_conversations_are_spread_over_the_keys(client: openai.OpenAI, emulator: Emulator) -> None:
    for i in range(4):
        messages = [{"role": "user", "content": f"conversation {i}"}]
        client.chat.completions.create(model="gemini-2.5-flash", messages=messages)
    assert {r.key for r in emulator.requests} == set(KEYS)


def test_a_conversation_stays_on_its_account(client: openai.OpenAI, emulator: Emulator) -> None:
    history = [{"role": "user", "content": "remember me"}]
    for turn in range(3):
        answer = client.chat.completions.create(model="gemini-2.5-flash", messages=history)
        history += [
            {"role": "assistant", "content": answer.choices[0].message.content},
            {"role": "user", "content": f"turn {turn}"},
        ]
    assert len({r.key for r in emulator.requests}) == 1


def test_n_gives_several_choices(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="gemini-2.5-flash", messages=HELLO, n=2)
    assert [c.index for c in answer.choices] == [0, 1]
    assert answer.choices[0].message.content != answer.choices[1].message.content
