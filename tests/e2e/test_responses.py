"""POST /v1/responses with the official SDK: objects, event streams, tools, signatures."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from antigravity.emulator import Emulator, Fault
from tests.conftest import FIXTURES
from tests.e2e.conftest import raw

pytestmark = pytest.mark.e2e

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch to files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}


def test_instructions_and_input_give_a_response_object(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="gpt-4o", instructions="Be brief.", input="Hello, introduce yourself"
    )
    assert response.id.startswith("resp_")
    assert response.object == "response" and response.status == "completed"
    assert "antigravity Gemini emulator" in response.output_text
    assert response.output[0].type == "message"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.model == "gpt-4o"


def test_input_items_with_text_and_image_parts(client: openai.OpenAI, emulator: Emulator) -> None:
    client.responses.create(
        model="gpt-4o",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "what is this?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                ],
            }
        ],
    )
    parts = emulator.requests[-1].body["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}


def event_shape(types: list[str]) -> list[str]:
    """Event types with runs of the same delta collapsed: structure, not chunking."""
    shape: list[str] = []
    for t in types:
        if not (shape and shape[-1] == t and t.endswith(".delta")):
            shape.append(t)
    return shape


def test_stream_matches_the_recorded_openai_event_structure(client: openai.OpenAI) -> None:
    recorded = [
        json.loads(line)["type"]
        for line in (FIXTURES / "openai-responses-stream-reasoning-function-call.chunks.jsonl")
        .read_text()
        .splitlines()
    ]
    with client.responses.stream(
        model="gemini-3-pro-preview",
        tools=[WEATHER],
        reasoning={"effort": "low"},
        input="weather in Paris? [call:get_weather]",
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert event_shape([e.type for e in events]) == event_shape(recorded)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    call = next(o for o in final.output if o.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments)["city"]
    assert final.status == "completed" and final.id.startswith("resp_")


def test_text_stream_event_order(client: openai.OpenAI) -> None:
    with client.responses.stream(model="gpt-4o", input="Hello stream") as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert event_shape(types) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "antigravity Gemini emulator" in final.output_text


def test_stateless_tool_loop_replays_signatures_from_encrypted_content(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    history: list = [{"role": "user", "content": "weather? [call:get_weather]"}]
    first = client.responses.create(
        model="gemini-3-pro-preview",
        tools=[WEATHER],
        input=history,
        store=False,
        include=["reasoning.encrypted_content"],
    )
    reasoning = next(o for o in first.output if o.type == "reasoning")
    assert reasoning.encrypted_content
    call = next(o for o in first.output if o.type == "function_call")
    history += [o.model_dump(exclude_none=True) for o in first.output]
    history.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny"})
    # A fresh gateway store would not know the signature: it must come from encrypted_content.
    emulator.reset()
    second = client.responses.create(
        model="gemini-3-pro-preview", tools=[WEATHER], input=history, store=False
    )
    sent = emulator.requests[-1].body["contents"]
    assert sent[1]["parts"][0]["thoughtSignature"] != "skip_thought_signature_validator"
    assert "Tool results: get_weather" in second.output_text


def test_custom_tool_call_comes_back_as_custom_tool_call_item(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="gemini-2.5-flash", tools=[APPLY_PATCH], input="patch it [call:apply_patch]"
    )
    item = response.output[-1]
    assert item.type == "custom_tool_call" and item.name == "apply_patch"
    assert isinstance(item.input, str) and item.input
    follow = client.responses.create(
        model="gemini-2.5-flash",
        tools=[APPLY_PATCH],
        input=[
            {"role": "user", "content": "patch it"},
            item.model_dump(exclude_none=True),
            {"type": "custom_tool_call_output", "call_id": item.call_id, "output": "Done!"},
        ],
    )
    assert "Done!" in follow.output_text


class Answer(BaseModel):
    city: str
    temperature: int


def test_structured_output_parses(client: openai.OpenAI) -> None:
    parsed = client.responses.parse(model="gemini-2.5-flash", input="weather", text_format=Answer)
    assert isinstance(parsed.output_parsed, Answer)


def test_max_output_tokens_ends_incomplete(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model="gemini-2.5-flash-lite", input="hello", max_output_tokens=3
    )
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    with client.responses.stream(
        model="gemini-2.5-flash-lite", input="hello", max_output_tokens=3
    ) as stream:
        types = [e.type for e in stream]
    assert types[-1] == "response.incomplete"
    assert types.count("response.completed") == 0


def test_content_filter_ends_incomplete(client: openai.OpenAI, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="finish", reason="SAFETY"))
    response = client.responses.create(model="gpt-4o", input="hello")
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "content_filter"


def test_upstream_failure_mid_stream_is_response_failed(
    fresh_client: openai.OpenAI, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="drop", after_chunks=1))
    with fresh_client.responses.stream(model="gpt-4o", input="hello") as stream:
        events = list(stream)
    assert events[-1].type == "response.failed"
    assert events[-1].response.error.code == "upstream_stream_broken"
    terminal = {"response.completed", "response.incomplete", "response.failed"}
    assert sum(e.type in terminal for e in events) == 1


def test_upstream_429_before_the_stream_is_an_http_error(
    fresh_client: openai.OpenAI, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="429", times=0))
    with pytest.raises(openai.RateLimitError):
        fresh_client.responses.create(model="gpt-4o", input="hello", stream=True)


def test_previous_response_id_continues_the_conversation(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    first = client.responses.create(model="gpt-4o", input="my name is Ada")
    client.responses.create(model="gpt-4o", input="what is my name?", previous_response_id=first.id)
    contents = emulator.requests[-1].body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[0]["parts"][0]["text"] == "my name is Ada"


def test_unknown_previous_response_id_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model="gpt-4o", input="x", previous_response_id="resp_nope")
    assert e.value.code == "previous_response_not_found"
    assert e.value.param == "previous_response_id"


def test_web_search_tool_is_dropped_and_unsupported_tools_refused(
    client: openai.OpenAI, emulator: Emulator
) -> None:
    client.responses.create(model="gpt-4o", input="hi", tools=[{"type": "web_search"}])
    assert "tools" not in emulator.requests[-1].body
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(
            model="gpt-4o", input="hi", tools=[{"type": "file_search", "vector_store_ids": ["x"]}]
        )
    assert e.value.param == "tools[0].type"


def test_bad_input_names_the_responses_field(gateway, emulator: Emulator) -> None:  # type: ignore[no-untyped-def]
    resp = raw(
        f"{gateway.url}/v1/responses",
        "POST",
        {
            "model": "gpt-4o",
            "input": [{"type": "function_call_output", "call_id": "call_x", "output": "1"}],
        },
    )
    assert resp.status == 400
    assert resp.json()["error"]["param"] == "input[0]"
    assert emulator.requests == []
