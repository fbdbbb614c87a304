"""`just record` keeps the upstream side of each call without keys, and it replays as recorded."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from antigravity import launch
from antigravity.emulator import Fault, run_in_thread
from antigravity.replay import __main__ as cli
from antigravity.replay import runner
from antigravity.replay.scenario import load

pytestmark = pytest.mark.e2e

KEYS = ("record-key-alpha-0001", "record-key-bravo-0002")
HELLO = [{"role": "user", "content": "Hello"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def record_session(path: Path) -> None:
    with (
        run_in_thread() as emulator,
        launch.start_mitmdump(
            emulator.url,
            # One account: a recording holds each call's first attempt only, so a call the
            # gateway retried on another account could not replay (see README).
            env={"GEMINI_API_KEYS": KEYS[0]},
            options={"antigravity_record": str(path)},
        ) as gw,
    ):
        client = openai.OpenAI(api_key="sk-any", base_url=f"{gw.url}/v1", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
        list(client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True))
        ask = [{"role": "user", "content": "Weather in Paris? [call:weather]"}]
        list(
            client.chat.completions.create(
                model="gemini-3-pro-preview", messages=ask, tools=[WEATHER], stream=True
            )
        )
        emulator.add_fault(Fault(kind="429", retry_delay="5s"))
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o", messages=HELLO)
        client.models.list()  # answered by the gateway itself: not recorded


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("record") / "session.jsonl"
    record_session(path)
    return path


def test_recording_holds_both_sides_and_no_key(recording: Path) -> None:
    text = recording.read_text()
    for key in KEYS:
        assert key not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 4
    whole, streamed, tool, limited = records
    assert whole["client"] == {
        "path": "/v1/chat/completions",
        "body": {"model": "gpt-4o", "messages": HELLO},
    }
    assert whole["upstream"]["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert whole["upstream"]["request"]["contents"] == [
        {"role": "user", "parts": [{"text": "Hello"}]}
    ]
    assert whole["upstream"]["status"] == 200
    assert "candidates" in whole["upstream"]["body"]
    assert streamed["upstream"]["ended"] == "complete"
    assert streamed["upstream"]["events"][-1]["candidates"][0]["finishReason"] == "STOP"
    assert "functionCall" in json.dumps(tool["upstream"]["events"])
    assert limited["upstream"]["status"] == 429
    assert limited["upstream"]["body"]["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert limited["client_answer"]["status"] == 429


def test_recording_becomes_a_scenario_that_replays(recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "session.yaml"
    assert cli.main(["scenario", str(recording), "-o", str(out), "--name", "recorded session"]) == 0
    scenario = load(out)
    assert scenario.accounts == 1
    assert [s.expect.status for s in scenario.steps] == [200, 200, 200, 429]
    assert scenario.steps[2].expect.tool_calls is not None
    result = runner.run(scenario)
    assert result.ok, result.report()
