"""Tools, structured output, media, reasoning and logprobs through the real gateway and SDK."""

from __future__ import annotations

import base64
import json
from enum import StrEnum

import openai
import pytest
from pydantic import BaseModel, Field

from antigravity.emulator import Emulator

pytestmark = pytest.mark.e2e

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
    },
}


def test_three_turn_tool_loop_on_gemini3_replays_thought_signatures(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    messages: list = [
        {"role": "user", "content": "What's the weather in Paris? [call:get_weather]"}
    ]
    first = client.chat.completions.create(
        model="gemini-3-pro-preview", messages=messages, tools=[WEATHER]
    )
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content is None
    assert call.function.name == "get_weather" and "city" in json.loads(call.function.arguments)
    # The client drops everything it does not know (as real clients do) and sends the turn back.
    messages += [
        {"role": "assistant", "tool_calls": [call.model_dump(include={"id", "type", "function"})]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temp": 21})},
        {"role": "user", "content": "And the time? [call:get_time]"},
    ]
    second = client.chat.completions.create(
        model="gemini-3-pro-preview", messages=messages, tools=[WEATHER, TIME]
    )
    sent = emulator.requests[-1].body["contents"]
    assert sent[1]["parts"][0]["thoughtSignature"] not in ("", None)
    assert sent[1]["parts"][0]["thoughtSignature"] != "skip_thought_signature_validator"
    call2 = second.choices[0].message.tool_calls[0]
    messages += [
        {"role": "assistant", "tool_calls": [call2.model_dump(include={"id", "type", "function"})]},
        {"role": "tool", "tool_call_id": call2.id, "content": "12:00"},
    ]
    third = client.chat.completions.create(
        model="gemini-3-pro-preview", messages=messages, tools=[WEATHER, TIME]
    )
    assert third.choices[0].finish_reason == "stop"
    assert "Tool results" in third.choices[0].message.content


def test_parallel_calls_through_the_stream_helper(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "weather and time [parallel]"}],
        tools=[WEATHER, TIME],
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert len(calls) >= 2
    assert len({c.id for c in calls}) == len(calls)
    for c in calls:
        json.loads(c.function.arguments)
    assert final.choices[0].finish_reason == "tool_calls"


def test_stream_tool_call_deltas_carry_index_id_then_arguments(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gemini-2.5-flash",
            stream=True,
            tools=[WEATHER],
            messages=[{"role": "user", "content": "weather? [call:get_weather]"}],
        )
    )
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert deltas[0].index == 0 and deltas[0].id and deltas[0].type == "function"
    assert deltas[0].function.name == "get_weather"
    assert "".join(d.function.arguments or "" for d in deltas)


def test_tool_choice_required_forces_a_call(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gemini-2.5-flash",
        tools=[WEATHER],
        tool_choice="required",
        messages=[{"role": "user", "content": "hello"}],
    )
    assert answer.choices[0].message.tool_calls


def test_tool_choice_none_gives_text(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gemini-2.5-flash",
        tools=[WEATHER],
        tool_choice="none",
        messages=[{"role": "user", "content": "hello [call:get_weather]"}],
    )
    assert answer.choices[0].message.tool_calls is None
    assert answer.choices[0].message.content


class Unit(StrEnum):
    c = "celsius"
    f = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str | None = None


class Forecast(BaseModel):
    place: Place = Field(description="Where the forecast is for")
    unit: Unit
    days: list[int]


def test_pydantic_schema_with_defs_works_as_a_tool(client: openai.OpenAI) -> None:
    tool = openai.pydantic_function_tool(Forecast, name="forecast")
    assert "$defs" in json.dumps(tool)
    answer = client.chat.completions.create(
        model="gemini-2.5-flash",
        tools=[tool],
        messages=[{"role": "user", "content": "forecast [call:forecast]"}],
    )
    args = json.loads(answer.choices[0].message.tool_calls[0].function.arguments)
    Forecast.model_validate(args)


def test_structured_output_parses_with_the_sdk(client: openai.OpenAI) -> None:
    parsed = client.chat.completions.parse(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "forecast for Paris"}],
        response_format=Forecast,
    )
    assert isinstance(parsed.choices[0].message.parsed, Forecast)


def test_json_object_mode_returns_json(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gemini-2.5-flash",
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "give me JSON"}],
    )
    assert isinstance(json.loads(answer.choices[0].message.content), dict)


def test_data_uri_image_reaches_gemini_inline(client: openai.OpenAI, emulator: Emulator) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
    client.chat.completions.create(
        model="gemini-2.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                ],
            }
        ],
    )
    part = emulator.requests[-1].body["contents"][0]["parts"][1]
    assert part == {"inlineData": {"mimeType": "image/png", "data": png}}


def test_http_image_is_fetched_and_inlined_with_its_type(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    # The emulator's model list is a stand-in "image host" on loopback: any http URL will do;
    # what matters is that the gateway fetched it and sent its bytes with the served type.
    url = f"{emulator.url}/v1beta/models?key=x"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="gemini-2.5-flash",
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}
            ],
        )
    assert e.value.code == "invalid_media_url"
    assert "application/json" in e.value.message


def test_reasoning_effort_streams_reasoning_content(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gemini-2.5-flash",
            reasoning_effort="low",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "think first"}],
        )
    )
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        for c in chunks
        if c.choices
    )
    assert reasoning
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens > 0


def test_logprobs_come_back(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gemini-2.5-flash",
        logprobs=True,
        top_logprobs=2,
        messages=[{"role": "user", "content": "hi"}],
    )
    tokens = answer.choices[0].logprobs.content
    assert tokens and tokens[0].top_logprobs


def test_schema_gemini_rejects_never_reaches_it(client: openai.OpenAI, emulator: Emulator) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "t",
            "parameters": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"a": {"type": ["string", "null"], "const": "x", "pattern": "^x$"}},
            },
        },
    }
    client.chat.completions.create(
        model="gemini-2.5-flash",
        tools=[tool],
        messages=[{"role": "user", "content": "[call:t]"}],
    )
    assert emulator.requests[-1].body["tools"][0]["functionDeclarations"][0]["name"] == "t"


@pytest.fixture
def image_host():  # type: ignore[no-untyped-def]
    """A loopback web server with one PNG, standing in for a public image URL."""
    import http.server
    import threading

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/picture", png
    server.shutdown()
    server.server_close()


def test_http_image_url_is_fetched_and_sent_inline(
    client: openai.OpenAI, emulator: Emulator, image_host
) -> None:
    url, png = image_host
    answer = client.chat.completions.create(
        model="gemini-2.5-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "describe"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    )
    part = emulator.requests[-1].body["contents"][0]["parts"][1]
    assert part == {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}}
    assert "1 image" in answer.choices[0].message.content


def test_n_choices_stream_separately(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gemini-2.5-flash",
            n=2,
            stream=True,
            messages=[{"role": "user", "content": "hi"}],
        )
    )
    texts = {0: "", 1: ""}
    finished = set()
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
            if choice.finish_reason:
                finished.add(choice.index)
    assert finished == {0, 1}
    assert texts[0] and texts[1] and texts[0] != texts[1]


def test_safety_finish_in_a_stream_is_content_filter(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    from antigravity.emulator import Fault

    emulator.add_fault(Fault(kind="finish", reason="SAFETY"))
    chunks = list(
        client.chat.completions.create(
            model="gemini-2.5-flash",
            stream=True,
            messages=[{"role": "user", "content": "hi"}],
        )
    )
    assert chunks[-1].choices[0].finish_reason == "content_filter"
