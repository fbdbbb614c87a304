"""OpenAI's Codex CLI for the e2e test: a pinned npm install under .artifacts/, its config, a run.

Codex reads `$CODEX_HOME/config.toml`; `user_config` is what a user writes to use the gateway
(the README shows it), `TEST_ONLY` adds what keeps a test run on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.169.0"
PACKAGE = f"@openai/codex@{VERSION}"
PREFIX = ROOT / ".artifacts" / "codex"
BINARY = PREFIX / "node_modules" / ".bin" / "codex"
INSTALL_TIMEOUT = 300.0
API_KEY_ENV = "ANTIGRAVITY_API_KEY"

# Not for users: no curated-plugin sync (git/HTTPS to github.com and chatgpt.com at startup),
# no analytics, no update check. With these, Codex connects to nothing but the gateway.
TEST_ONLY = """
[features]
plugins = false

[analytics]
enabled = false
"""


def user_config(base_url: str) -> str:
    """The config.toml a user writes; base_url is the gateway's, ending in /v1."""
    text = f"""model = "gpt-5-codex"
model_provider = "antigravity"
check_for_update_on_startup = false

[model_providers.antigravity]
name = "antigravity (Gemini)"
base_url = "{base_url}"
env_key = "{API_KEY_ENV}"
wire_api = "responses"
"""
    return text


def installed_version() -> str | None:
    manifest = PREFIX / "node_modules" / "@openai" / "codex" / "package.json"
    if not BINARY.exists() or not manifest.exists():
        return None
    return json.loads(manifest.read_text()).get("version")


def install() -> float:
    """`npm install` the pinned Codex into PREFIX; seconds taken. Raises RuntimeError on failure."""
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not on PATH")
    PREFIX.mkdir(parents=True, exist_ok=True)
    argv = [
        npm,
        "install",
        "--prefix",
        str(PREFIX),
        "--no-audit",
        "--no-fund",
        "--update-notifier=false",
        "--loglevel=error",
        PACKAGE,
    ]
    started = time.monotonic()
    result = run_bounded(argv, cwd=PREFIX, env=dict(os.environ), timeout=INSTALL_TIMEOUT)
    took = time.monotonic() - started
    if result.timed_out or result.returncode != 0 or installed_version() != VERSION:
        raise RuntimeError(
            f"`{' '.join(argv)}` failed after {took:.0f}s "
            f"(exit {result.returncode}, timed out: {result.timed_out}):\n{result.output}"
        )
    return took


@dataclass
class Run:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_bounded(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float, stdin: str | None = None
) -> Run:
    """Run argv in its own process group; on timeout kill the group (npm and codex spawn)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        timed_out = True
    return Run(proc.returncode, out, err, timed_out, time.monotonic() - started)


def exec_env(home: Path, codex_home: Path) -> dict[str, str]:
    """A clean environment: nothing of the caller's OpenAI settings, proxies or logging leaks."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        API_KEY_ENV: "sk-antigravity-e2e",
        "NO_PROXY": "127.0.0.1,localhost",
        "LANG": "C.UTF-8",
    }
