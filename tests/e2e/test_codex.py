"""OpenAI's Codex CLI (`codex exec`, wire_api = "responses") through the gateway to the emulator.

The prompt's hint makes the emulator call Codex's shell tool (`exec_command` in Codex 0.169)
with a real command; Codex runs it in its default sandbox, sends the output back, and prints
the emulator's final answer, which quotes it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from mitmproxy import http, io
from mitmproxy.exceptions import FlowReadException

from antigravity import launch
from antigravity.emulator import Emulator, RecordedRequest
from tests.e2e import codex_cli

pytestmark = pytest.mark.e2e

SHELL_TOOL = "exec_command"  # Codex 0.169's shell tool: {"cmd": "<shell command>", ...}
MARKER = "antigravity-e2e"
PROMPT = f'Print the marker. [call:{SHELL_TOOL} {{"cmd": "echo {MARKER}"}}]'
CODEX_TIMEOUT = 60.0


@pytest.fixture(scope="session")
def codex() -> Path:
    """The pinned Codex binary, installed from npm into .artifacts/codex once."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not installed: cannot run {codex_cli.PACKAGE}"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason, pytrace=False)  # CI must run this test
        pytest.skip(reason)
    if codex_cli.installed_version() == codex_cli.VERSION:
        return codex_cli.BINARY
    problem = ""
    try:
        took = codex_cli.install()
    except RuntimeError as err:
        problem = str(err)
    if problem:
        pytest.fail(problem, pytrace=False)
    print(f"installed {codex_cli.PACKAGE} in {took:.1f}s")
    return codex_cli.BINARY


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    """A fresh HOME whose ~/.codex (CODEX_HOME) gets the config; nothing of the user's own."""
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    return home


def codex_exec(
    codex: Path, home: Path, config: str, workdir: Path, prompt: str
) -> tuple[codex_cli.Run, str]:
    """Run `codex exec` non-interactively; (the run, its last message as written by -o)."""
    (home / ".codex" / "config.toml").write_text(config)
    workdir.mkdir(exist_ok=True)
    last = workdir.parent / "last-message.txt"
    argv = [
        str(codex),
        "exec",
        "--skip-git-repo-check",
        "--strict-config",  # an unknown key is an error, not silently ignored
        "--color",
        "never",
        "--output-last-message",
        str(last),
        prompt,
    ]
    env = codex_cli.exec_env(home, home / ".codex")
    run = codex_cli.run_bounded(argv, cwd=workdir, env=env, timeout=CODEX_TIMEOUT)
    return run, last.read_text() if last.exists() else ""


def generate_calls(emulator: Emulator) -> list[RecordedRequest]:
    methods = ("generateContent", "streamGenerateContent")
    return [r for r in emulator.requests if r.path.rsplit(":", 1)[-1] in methods]


# -- the gateway's saved flows ------------------------------------------------------------


def read_flows(path: Path) -> list[http.HTTPFlow] | None:
    """Every HTTP flow saved so far; None while the last one is still being written."""
    if not path.exists():
        return []
    with path.open("rb") as f:
        try:
            return [fl for fl in io.FlowReader(f).stream() if isinstance(fl, http.HTTPFlow)]
        except FlowReadException:
            return None


def flows_since(path: Path, before: int, expected: int, timeout: float = 10) -> list[http.HTTPFlow]:
    """The flows saved after the first `before`, once `expected` of them are there."""
    deadline = time.monotonic() + timeout
    flows: list[http.HTTPFlow] = []
    while time.monotonic() < deadline:
        read = read_flows(path)
        if read is not None:
            flows = read[before:]
            if len(flows) >= expected:
                break
        time.sleep(0.05)  # a flow is saved once its response has streamed; poll briefly
    return flows


def flow_problems(flow: http.HTTPFlow) -> list[str]:
    notes = flow.metadata.get("antigravity", {})
    problems = []
    if flow.error is not None:
        problems.append(f"flow error: {flow.error.msg}")
    if flow.response is None or flow.response.status_code != 200:
        problems.append(f"status {flow.response.status_code if flow.response else None}")
    if notes.get("client_status", 200) != 200:
        problems.append(f"client_status {notes['client_status']}")
    for key in ("upstream_failure", "error_code"):
        if key in notes:
            problems.append(f"{key}: {notes[key]}")
    if flow.marked:
        problems.append(f"marked {flow.marked}")
    answer = flow.response.raw_content or b"" if flow.response else b""
    if b"event: response.completed" not in answer or b"response.failed" in answer:
        problems.append(f"answer does not end in response.completed: {answer[-300:]!r}")
    return problems


def log_lines_since(gateway: launch.Child, last: str | None) -> list[str]:
    lines = list(gateway.output)
    for k in range(len(lines) - 1, -1, -1):
        if lines[k] is last:
            return lines[k + 1 :]
    return lines


# -- tests --------------------------------------------------------------------------------


def test_codex_exec_runs_the_shell_call_and_prints_the_answer(
    codex: Path,
    codex_home: Path,
    tmp_path: Path,
    gateway: launch.Child,
    emulator: Emulator,
    flows_file: Path,
) -> None:
    flows_before = len(read_flows(flows_file) or [])
    log_mark = gateway.output[-1] if gateway.output else None
    config = codex_cli.user_config(f"{gateway.url}/v1") + codex_cli.TEST_ONLY

    run, last_message = codex_exec(codex, codex_home, config, tmp_path / "work", PROMPT)

    # What the user sees: exit 0, and the final answer quoting the command's output.
    assert not run.timed_out, f"codex exec did not finish in {CODEX_TIMEOUT}s\n{run.output}"
    assert run.returncode == 0, run.output
    assert f"Tool results: {SHELL_TOOL} ->" in run.stdout, run.output
    assert MARKER in run.stdout, run.output
    assert "antigravity Gemini emulator" in last_message
    assert f"Output:\\n{MARKER}" in last_message  # echo's own output, not the prompt's text
    assert f"echo {MARKER}" in run.stderr  # Codex's transcript shows the command it ran

    # What Gemini saw: the call turn, then the answer turn with the shell call's result.
    calls = generate_calls(emulator)
    assert len(calls) >= 2, [r.path for r in emulator.requests]
    first, last = calls[0].body, calls[-1].body
    declared = [d["name"] for t in first["tools"] for d in t.get("functionDeclarations", [])]
    assert SHELL_TOOL in declared
    assert any(MARKER in p.get("text", "") for p in first["contents"][-1]["parts"])
    model_turn, results = last["contents"][-2], last["contents"][-1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][-1]["functionCall"] == {
        "name": SHELL_TOOL,
        "args": {"cmd": f"echo {MARKER}"},
    }
    assert results["role"] == "user"
    response = results["parts"][0]["functionResponse"]
    assert response["name"] == SHELL_TOOL
    assert "Process exited with code 0" in json.dumps(response["response"])
    assert MARKER in json.dumps(response["response"])

    # What the gateway recorded: one clean streamed Responses exchange per upstream call.
    flows = flows_since(flows_file, flows_before, expected=len(calls))
    assert len(flows) == len(calls), [f.request.path for f in flows]
    for flow in flows:
        assert flow.metadata["antigravity"]["dialect"] == "responses"
        assert flow_problems(flow) == [], flow.comment
    log = "".join(log_lines_since(gateway, log_mark))
    assert "Traceback" not in log and "Addon error" not in log, log
