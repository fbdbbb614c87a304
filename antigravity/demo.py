"""`just demo`: the emulator and the gateway, checked the way the user guide checks them.

Starts the Gemini emulator and `mitmdump -s addon.py` in front of it, runs the guide's five
checks (healthz, models, SDK chat, SSE stream, X-Mapped-Model) and prints each result; then
keeps both running until Ctrl-C, or exits with `--exit`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import urllib.request
from collections.abc import Callable
from typing import Any

from antigravity import launch

_TTY = sys.stdout.isatty()
GREEN, RED, DIM, RESET = (
    ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if _TTY else ("", "", "", "")
)


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, dict(resp.headers), resp.read()


def checks(base: str) -> list[tuple[str, Callable[[], str]]]:
    from openai import OpenAI

    client = OpenAI(api_key="sk-antigravity", base_url=f"{base}/v1", max_retries=0)
    messages: Any = [{"role": "user", "content": "Hello, introduce yourself"}]

    def healthz() -> str:
        status, _, body = _get(f"{base}/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok"}, body
        return body.decode()

    def models() -> str:
        _, _, body = _get(f"{base}/v1/models")
        data = json.loads(body)
        assert data["object"] == "list" and data["data"], data
        return f"{len(data['data'])} models: " + ", ".join(m["id"] for m in data["data"][:4]) + " …"

    def chat() -> str:
        answer = client.chat.completions.create(model="gemini-2.5-flash", messages=messages)
        content = answer.choices[0].message.content
        assert content, answer
        return content

    def stream() -> str:
        text, events = [], 0
        chunk: Any
        for chunk in client.chat.completions.create(
            model="gemini-2.5-flash", messages=messages, stream=True
        ):
            events += 1
            if chunk.choices and chunk.choices[0].delta.content:
                text.append(chunk.choices[0].delta.content)
        assert text
        return f"{events} chunks, ended with [DONE]: {''.join(text)[:60]}…"

    def mapped() -> str:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=messages)
        model = raw.headers.get("x-mapped-model")
        assert model, dict(raw.headers)
        return f"gpt-4o → {model} (account {raw.headers.get('x-account-email')})"

    return [
        ("GET /healthz", healthz),
        ("GET /v1/models", models),
        ("SDK chat.completions.create", chat),
        ("SSE stream", stream),
        ("X-Mapped-Model header", mapped),
    ]


def run_checks(base: str) -> bool:
    ok = True
    for name, check in checks(base):
        try:
            detail = check()
            print(f"  {GREEN}✓{RESET} {name}  {DIM}{detail}{RESET}")
        except Exception as e:  # a demo reports every failure and goes on
            ok = False
            print(f"  {RED}✗{RESET} {name}  {type(e).__name__}: {e}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8045, help="gateway port (default 8045)")
    parser.add_argument("--exit", action="store_true", help="stop after the checks")
    args = parser.parse_args(argv)

    print("starting the Gemini emulator and the gateway …")
    with (
        launch.start_emulator() as emulator,
        launch.start_mitmdump(
            emulator.url, port=args.port, env={"GEMINI_API_KEYS": "demo-key-1,demo-key-2"}
        ) as gateway,
    ):
        print(f"  emulator: {emulator.url}  (answers say they come from the emulator)")
        print(f"  gateway:  {gateway.url}/v1  (mitmdump -s addon.py)")
        print("the user guide's checks:")
        ok = run_checks(gateway.url)
        print("all checks passed" if ok else "some checks FAILED")
        if args.exit:
            return 0 if ok else 1
        print(f"\ntry it: curl -s {gateway.url}/v1/models   —   Ctrl-C stops both")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt):
            gateway.proc.wait()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
