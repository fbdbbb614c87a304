"""Play a scenario through a real `mitmdump -s addon.py` in front of the scripted upstream.

Each scenario gets its own mitmdump, so account rotation and the signature store start fresh
and a scenario's result never depends on the ones before it.
"""

from __future__ import annotations

import http.client
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from antigravity import launch
from antigravity.replay import upstream as scripted
from antigravity.replay.answer import ClientAnswer, read_answer
from antigravity.replay.scenario import Expect, Scenario, Step, dump


@dataclass
class StepResult:
    answer: ClientAnswer
    headers: dict[str, str]
    attempts: list[scripted.Attempt]
    problems: list[str] = field(default_factory=list)


@dataclass
class Result:
    scenario: Scenario
    steps: list[StepResult] = field(default_factory=list)
    log: str = ""

    @property
    def problems(self) -> list[str]:
        return [f"step {i}: {p}" for i, s in enumerate(self.steps, 1) for p in s.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        where = f" ({self.scenario.source})" if self.scenario.source else ""
        if self.ok:
            return f"✓ {self.scenario.name}{where}"
        lines = [f"✗ {self.scenario.name}{where}", *(f"    {p}" for p in self.problems)]
        return "\n".join(lines)


def keys_for(scenario: Scenario) -> list[str]:
    """Stand-in Gemini keys: long enough that masking shows their last four characters."""
    return [f"replay-key-{i:04d}-not-a-secret" for i in range(1, scenario.accounts + 1)]


def run(scenario: Scenario) -> Result:
    keys = keys_for(scenario)
    result = Result(scenario)
    with tempfile.TemporaryDirectory(prefix="antigravity-replay-") as tmp:
        options = {"antigravity_upstream_timeout": f"{scenario.upstream_timeout:g}"}
        if scenario.mappings is not None:
            mappings = Path(tmp) / "mappings.yaml"
            dump(scenario.mappings, mappings)
            options["antigravity_mappings"] = str(mappings)
        with (
            scripted.running(keys) as upstream,
            launch.start_mitmdump(
                upstream.url, options=options, env={"GEMINI_API_KEYS": ",".join(keys)}
            ) as gateway,
        ):
            for step in scenario.steps:
                upstream.script(scenario, step.upstream)
                status, headers, body = _send(gateway.url, step)
                stream = bool(step.request.get("stream")) and headers.get(
                    "content-type", ""
                ).startswith("text/event-stream")
                answer = read_answer(status, body, stream, _dialect(step.path))
                outcome = StepResult(answer, headers, list(upstream.attempts))
                outcome.problems = check(step.expect, outcome)
                result.steps.append(outcome)
            result.log = gateway.log()
    return result


def _dialect(path: str) -> str:
    for dialect in ("chat", "responses", "completions"):
        if dialect in path:
            return dialect
    return "chat"


def _send(base: str, step: Step) -> tuple[int, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(
            "POST",
            step.path,
            json.dumps(step.request).encode(),
            {"content-type": "application/json", "authorization": "Bearer sk-replay"},
        )
        resp = conn.getresponse()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, headers, resp.read()
    finally:
        conn.close()


def check(expect: Expect, outcome: StepResult) -> list[str]:
    """Every difference between what the client got and what the step expects."""
    answer = outcome.answer
    problems: list[str] = []
    given = expect.model_fields_set | {"status"}

    def differs(what: str, want: Any, got: Any, name: str | None = None) -> None:
        # A field written as null is checked too (`finish_reason: null`: none may be sent).
        if (name or what) in given and want != got:
            problems.append(f"{what}: expected {want!r}, got {got!r}")

    choice = answer.choice(0) if answer.choices else None
    if expect.status is not None:
        differs("status", expect.status, answer.status)
    differs("content", expect.content, choice.content if choice else None)
    differs("reasoning", expect.reasoning, choice.reasoning if choice else None)
    differs("finish_reason", expect.finish_reason, choice.finish_reason if choice else None)
    differs("done", expect.done, answer.done)
    differs("error", expect.error, (answer.error or {}).get("code"))
    if expect.contains is not None and (choice is None or expect.contains not in choice.content):
        problems.append(
            f"content: expected it to contain {expect.contains!r}, got "
            f"{choice.content if choice else None!r}"
        )
    if expect.tool_calls is not None:
        got_calls = [_call(c) for c in choice.tool_calls] if choice else []
        matches = len(got_calls) == len(expect.tool_calls) and all(
            g["name"] == w.name and (w.arguments is None or g["arguments"] == w.arguments)
            for g, w in zip(got_calls, expect.tool_calls, strict=False)
        )
        if not matches:
            want_calls = [w.model_dump(exclude_none=True) for w in expect.tool_calls]
            problems.append(f"tool_calls: expected {want_calls!r}, got {got_calls!r}")
    for name, value in expect.headers.items():
        differs(f"header {name}", value, outcome.headers.get(name.lower()), "headers")
    differs("upstream_calls", expect.upstream_calls, len(outcome.attempts))
    for i, want in enumerate(expect.upstream or [], 1):
        if i > len(outcome.attempts):
            problems.append(f"upstream attempt {i}: expected one, none was made")
            continue
        got = outcome.attempts[i - 1]
        for what in ("path", "account"):
            wanted = getattr(want, what)
            if wanted is not None and wanted != getattr(got, what):
                problems.append(
                    f"upstream attempt {i} {what}: expected {wanted!r}, got {getattr(got, what)!r}"
                )
        if want.body is not None:
            problems += [f"upstream attempt {i} body{p}" for p in _subset(want.body, got.body)]
    if answer.unreadable:
        problems.append(f"unreadable answer: {answer.unreadable!r}")
    return problems


def _call(call: dict[str, Any]) -> dict[str, Any]:
    try:
        arguments = json.loads(call["arguments"] or "null")
    except ValueError:
        arguments = call["arguments"]
    return {"name": call["name"], "arguments": arguments}


def _subset(want: Any, got: Any, path: str = "") -> list[str]:
    """Where `got` does not contain `want` (dicts: the keys given; other values: equal)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object, got {got!r}"]
        out: list[str] = []
        for key, value in want.items():
            if key not in got:
                out.append(f"{path}.{key}: missing")
            else:
                out += _subset(value, got[key], f"{path}.{key}")
        return out
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: expected {want!r}, got {got!r}"]
        return [
            p
            for i, (w, g) in enumerate(zip(want, got, strict=True))
            for p in _subset(w, g, f"{path}[{i}]")
        ]
    return [] if want == got else [f"{path}: expected {want!r}, got {got!r}"]
