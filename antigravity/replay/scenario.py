"""The replay scenario format: what the client sends, what Gemini answers per attempt, what the
client must receive. One YAML file per scenario; see the README's "Replay scenarios".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "recorded"


class _Strict(BaseModel):
    # A misspelt key must fail loudly, or a scenario would silently test less than it says.
    model_config = ConfigDict(extra="forbid")


class Answer(_Strict):
    """What the scripted Gemini answers to one attempt.

    The same answer serves both Gemini methods: `events` become one merged JSON answer for
    `generateContent`, and a whole `body` becomes one SSE event for `streamGenerateContent`.
    """

    status: int = 200
    body: Any = None
    events: list[dict[str, Any]] | None = None
    fixture: str | None = Field(
        default=None,
        description="a recorded file: .json is a body, .jsonl one event per line; looked up "
        "beside the scenario, then in tests/fixtures/recorded/",
    )
    take: int | None = Field(default=None, ge=0, description="send only the first N events")
    end: Literal["complete", "drop"] = Field(
        default="complete",
        description="drop: abort the connection after the events (before any whole answer)",
    )
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> Answer:
        given = [n for n in ("body", "events", "fixture") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of body, events or fixture, not {' and '.join(given)}")
        return self


class ToolCall(_Strict):
    name: str
    arguments: dict[str, Any] | None = None  # compared as parsed JSON


class UpstreamCall(_Strict):
    """What one attempt must have sent to Gemini."""

    path: str | None = None
    account: str | None = None  # key-1, key-2, … in GEMINI_API_KEYS order
    body: dict[str, Any] | None = Field(
        default=None, description="a subset: every key given must match, recursively"
    )


class Expect(_Strict):
    """What the client must receive. Fields left out are not checked."""

    status: int | None = 200
    content: str | None = None
    contains: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None
    finish_reason: str | None = None
    done: bool | None = Field(default=None, description="the stream ended with data: [DONE]")
    error: str | None = Field(default=None, description="the error code the client gets")
    headers: dict[str, str] = Field(default_factory=dict)
    upstream_calls: int | None = Field(
        default=None, description="how many attempts reached Gemini during this step"
    )
    upstream: list[UpstreamCall] | None = None


class Step(_Strict):
    """One client request, the answers Gemini gives to its attempts, and the expectations."""

    request: dict[str, Any]
    path: str = "/v1/chat/completions"
    upstream: list[Answer] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)


class Scenario(_Strict):
    name: str
    description: str = ""
    accounts: int = Field(default=1, ge=1, le=20)
    mappings: dict[str, Any] | None = Field(
        default=None, description="a mappings.yaml document; the shipped one if left out"
    )
    upstream_timeout: float = 10
    steps: list[Step] = Field(min_length=1)
    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        return self._source

    def resolve(self, name: str) -> Path:
        """A fixture beside the scenario file, else one of the recorded fixtures."""
        for base in (self.source.parent if self.source else None, FIXTURES):
            if base is not None and (base / name).is_file():
                return base / name
        raise ScenarioError(f"{self.source}: fixture {name!r} not found")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


def load(path: Path) -> Scenario:
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as e:
        raise ScenarioError(f"{path}: {e}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in e.errors()
        )
        raise ScenarioError(f"{path}: {problems}") from None
    scenario._source = path
    for step in scenario.steps:
        for answer in step.upstream:
            if answer.fixture is not None:
                scenario.resolve(answer.fixture)
    return scenario


def answer_events(scenario: Scenario, answer: Answer) -> list[dict[str, Any]] | None:
    """The SSE events an answer stands for, or None when it is a whole body."""
    events = answer.events
    if answer.fixture is not None:
        path = scenario.resolve(answer.fixture)
        if path.suffix == ".jsonl":
            text = path.read_text(encoding="utf-8")
            events = [json.loads(line) for line in text.splitlines() if line.strip()]
    if events is not None and answer.take is not None:
        events = events[: answer.take]
    return events


def answer_body(scenario: Scenario, answer: Answer) -> Any:
    if answer.fixture is not None:
        path = scenario.resolve(answer.fixture)
        if path.suffix != ".jsonl":
            text = path.read_text(encoding="utf-8")
            try:
                return json.loads(text)
            except ValueError:
                return text
    return answer.body


def merge_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Streamed events as the one `generateContent` answer Gemini would have sent instead."""
    merged: dict[str, Any] = {}
    candidates: dict[int, dict[str, Any]] = {}
    for event in events:
        for cand in event.get("candidates") or []:
            index = cand.get("index", 0)
            into = candidates.setdefault(index, {"content": {"parts": [], "role": "model"}})
            into["content"]["parts"] += (cand.get("content") or {}).get("parts") or []
            into.update({k: v for k, v in cand.items() if k != "content"})
        merged.update({k: v for k, v in event.items() if k != "candidates"})
    if candidates:
        merged["candidates"] = [candidates[i] for i in sorted(candidates)]
    return merged


def dump(data: dict[str, Any], path: Path) -> None:
    """Write a scenario document as block-style YAML a person can edit."""
    yaml = YAML(typ="rt", pure=True)
    yaml.default_flow_style = False
    yaml.width = 100
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f)
