"""The call hint's optional JSON arguments: `[call:NAME {...}]` (used by the Codex e2e test)."""

from __future__ import annotations

from typing import Any

import pytest

from antigravity.emulator.tools import call_hints, plan_calls

SHELL = {
    "name": "exec_command",
    "parametersJsonSchema": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"}},
        "required": ["cmd"],
    },
}
LOCAL_SHELL = {
    "name": "local_shell",
    "parametersJsonSchema": {
        "type": "object",
        "properties": {"command": {"type": "array", "items": {"type": "string"}}},
        "required": ["command"],
    },
}
TIME = {
    "name": "get_time",
    "parameters": {"type": "OBJECT", "properties": {"zone": {"type": "STRING"}}},
}


def ask(text: str, *decls: dict[str, Any]) -> dict[str, Any]:
    return {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
        "tools": [{"functionDeclarations": list(decls)}],
    }


def planned(text: str, *decls: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.args) for c in plan_calls(ask(text, *decls), "nonce")]


def test_json_arguments_are_used_as_given() -> None:
    text = 'Run it. [call:exec_command {"cmd": "echo antigravity-e2e"}]'
    assert planned(text, SHELL) == [("exec_command", {"cmd": "echo antigravity-e2e"})]


def test_json_arguments_may_hold_brackets_and_nested_objects() -> None:
    text = '[call:local_shell {"command": ["echo", "a]b"], "env": {"X": "}]"}} ] done'
    assert planned(text, LOCAL_SHELL) == [
        ("local_shell", {"command": ["echo", "a]b"], "env": {"X": "}]"}})
    ]


def test_unparsable_json_falls_back_to_generated_arguments() -> None:
    generated = planned("[call:exec_command]", SHELL)
    assert planned("[call:exec_command {cmd: echo}]", SHELL) == generated
    assert generated[0][1]["cmd"]  # the schema's sample, not the hint's text


def test_a_json_value_that_is_not_an_object_falls_back_to_generated_arguments() -> None:
    assert planned('[call:exec_command {"cmd": 1} extra]', SHELL) == planned(
        "[call:exec_command]", SHELL
    )


def test_arguments_for_an_undeclared_name_do_not_leak_into_the_fallback() -> None:
    text = '[call:nope {"cmd": "rm -rf /"}]'
    assert planned(text, SHELL) == planned("[call:nope]", SHELL)


def test_hints_with_and_without_arguments_mix_in_one_turn() -> None:
    text = '[call:get_time] then [call:exec_command {"cmd": "ls"}] and [call]'
    assert planned(text, TIME, SHELL) == [
        ("get_time", {"zone": "sample zone"}),
        ("exec_command", {"cmd": "ls"}),
        ("get_time", {"zone": "sample zone 2"}),  # a second call varies, as before
    ]


@pytest.mark.parametrize(
    ("text", "hints"),
    [
        ("[call]", [("", None)]),
        ("[call:f]", [("f", None)]),
        ('[call:f {"a": 1}]', [("f", {"a": 1})]),
        ('[call:f   {"a": [1, 2]}  ]', [("f", {"a": [1, 2]})]),
        ('[call:f {"a": 1}', []),  # never closed: not a hint
        ("[call:f {oops]", [("f", None)]),
        ("[call:f x]", []),  # as before: only JSON may follow the name
        ("no hint here [call", []),
    ],
)
def test_call_hints(text: str, hints: list[tuple[str, Any]]) -> None:
    assert call_hints(text) == hints
