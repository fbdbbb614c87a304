"""Start mitmdump (with or without the gateway) and the emulator as child processes.

Used by `just demo`, the end-to-end tests and the bench. Processes listen on loopback; the
port is read from their own log line, and their output is drained continuously so a chatty
child never blocks on a full pipe.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon.py"

_MITM_LISTENING = re.compile(r"listening at .*?:(\d+)")
_EMULATOR_LISTENING = re.compile(r"listening on http://[^:]+:(\d+)")


@dataclass
class Child:
    """A running child process, its port and the tail of its output."""

    proc: subprocess.Popen[str]
    port: int
    output: deque[str] = field(default_factory=lambda: deque(maxlen=500))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return "".join(self.output)

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _mitm_binary(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def start(
    argv: Sequence[str],
    ready: re.Pattern[str],
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Child:
    """Run argv, wait for its readiness line, and keep draining its output."""
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        cwd=ROOT,
    )
    output: deque[str] = deque(maxlen=500)
    port: list[int] = []
    found = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if not port and (m := ready.search(line)):
                port.append(int(m.group(1)))
                found.set()
        found.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not found.wait(0.1):
        if time.monotonic() > deadline:
            break
    if not port:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"{argv[0]} did not start:\n{''.join(output)}")
    return Child(proc, port[0], output)


def start_emulator(port: int = 0, keys: str | None = None) -> Child:
    argv = [sys.executable, "-m", "antigravity.emulator", "--port", str(port)]
    if keys:
        argv += ["--keys", keys]
    return start(argv, _EMULATOR_LISTENING)


def start_mitmdump(
    upstream: str,
    port: int = 0,
    gateway: bool = True,
    options: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    tool: str = "mitmdump",
) -> Child:
    """mitmdump (or mitmweb) in reverse mode in front of `upstream`, with or without the addon."""
    argv = [
        _mitm_binary(tool),
        "--mode",
        f"reverse:{upstream}@127.0.0.1:{port}",
        "--set",
        "connection_strategy=lazy",
        "--set",
        "termlog_verbosity=info",
        "--set",
        "flow_detail=0",
    ]
    if gateway:
        argv += ["-s", str(ADDON)]
    for key, value in (options or {}).items():
        argv += ["--set", f"{key}={value}"]
    return start(argv, _MITM_LISTENING, env=env)
