"""`just record`: keep the upstream side of each Gemini call, and turn recordings into scenarios.

With `--set antigravity_record=FILE` the gateway appends one JSON line per flow: the client's
request body, the Gemini request (path and body) and Gemini's answer (status, content type,
and the JSON body or the SSE events), plus what the client received. Headers are not kept
(the account key travels in one), and every Gemini key of GEMINI_API_KEYS that might still
appear is replaced by its mask before the line is written.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import IO, Any

from mitmproxy import ctx, exceptions, http

from antigravity.accounts import accounts_from_env, mask
from antigravity.mappers.gemini_response import SSESplitter
from antigravity.replay.answer import read_answer

log = logging.getLogger("antigravity")

KEY = "antigravity"  # the inspector's notes, which say which flows are the gateway's
CAPTURE_LIMIT = 16 * 1024 * 1024
CLIENT_PATHS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "responses": "/v1/responses",
}


class Tap:
    """Wraps the gateway's stream callable and keeps a bounded copy of what Gemini sent."""

    def __init__(self, reshaper: Any) -> None:
        self.reshaper = reshaper
        self.seen = bytearray()
        self.complete = False

    def __call__(self, data: bytes) -> bytes | list[bytes]:
        if not data:
            self.complete = True
        elif len(self.seen) < CAPTURE_LIMIT:
            self.seen += data[: CAPTURE_LIMIT - len(self.seen)]
        return self.reshaper(data)


class Recorder:
    """Two addons around the gateway that share one recording file."""

    def __init__(self) -> None:
        self.file: IO[str] | None = None
        self.secrets: list[str] = []
        # Per flow id, until the flow ends: the client's own body (the gateway rewrites the
        # request) and Gemini's whole answer (the gateway replaces it with the translation).
        self.client: dict[str, Any] = {}
        self.whole: dict[str, dict[str, Any]] = {}
        self.before_gateway = _BeforeGateway(self)
        self.after_gateway = _AfterGateway(self)

    def open(self, path: str) -> None:
        self.close()
        if not path:
            return
        target = Path(path).expanduser()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.file = target.open("a", encoding="utf-8")
        except OSError as e:
            raise exceptions.OptionsError(
                f"antigravity_record: cannot write {target}: {e}"
            ) from None
        self.secrets = [a.secret for a in accounts_from_env(os.environ.get("GEMINI_API_KEYS", ""))]
        log.info(f"antigravity: recording the upstream side of each call to {target}")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def wants(self, flow: http.HTTPFlow) -> bool:
        return (
            self.file is not None
            and not flow.is_replay
            and "mapped_model" in flow.metadata.get(KEY, {})
        )

    def finish(self, flow: http.HTTPFlow) -> None:
        client = self.client.pop(flow.id, None)
        whole = self.whole.pop(flow.id, None)
        if not self.wants(flow):
            return
        assert self.file is not None
        line = json.dumps(record_of(flow, client, whole), ensure_ascii=False)
        for secret in self.secrets:
            line = line.replace(secret, mask(secret))
        self.file.write(line + "\n")
        self.file.flush()


class _BeforeGateway:
    """Sees Gemini's whole answers before the gateway translates them."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option(
            "antigravity_record",
            str,
            "",
            "Append the upstream side of every Gemini call (requests, answers, no keys) to this "
            "JSON Lines file; `python -m antigravity.replay scenario FILE` turns it into a replay "
            "scenario.",
        )

    def configure(self, updated: set[str]) -> None:
        if "antigravity_record" in updated:
            self.recorder.open(ctx.options.antigravity_record)

    def request(self, flow: http.HTTPFlow) -> None:
        if self.recorder.file is None or flow.is_replay or flow.response is not None:
            return
        if flow.request.method == "POST" and len(flow.request.raw_content or b"") < CAPTURE_LIMIT:
            self.recorder.client[flow.id] = _json_or_text(flow.request.content or b"")

    def response(self, flow: http.HTTPFlow) -> None:
        if not self.recorder.wants(flow) or flow.response is None or flow.response.stream:
            return
        self.recorder.whole[flow.id] = {
            "status": flow.response.status_code,
            "content_type": flow.response.headers.get("content-type", ""),
            "body": _json_or_text(flow.response.content or b""),
        }

    def done(self) -> None:
        self.recorder.close()


class _AfterGateway:
    """Wraps the gateway's stream callable, and writes each flow's record when it ends."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        response = flow.response
        if self.recorder.wants(flow) and response is not None and callable(response.stream):
            response.stream = Tap(response.stream)

    def response(self, flow: http.HTTPFlow) -> None:
        self.recorder.finish(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.recorder.finish(flow)


def record_of(flow: http.HTTPFlow, client: Any, whole: dict[str, Any] | None) -> dict[str, Any]:
    """One line of a recording: client request, Gemini request and answer, client answer."""
    notes = flow.metadata.get(KEY, {})
    dialect = notes.get("dialect", "chat")
    upstream: dict[str, Any] = {
        "path": notes.get("upstream_path", flow.request.path),
        "request": _json_or_text(flow.request.content or b""),
    }
    response = flow.response
    tap = response.stream if response is not None and isinstance(response.stream, Tap) else None
    if tap is not None and response is not None:
        upstream["status"] = response.status_code
        upstream["content_type"] = "text/event-stream"
        upstream["events"] = sse_events(bytes(tap.seen))
        upstream["ended"] = "complete" if tap.complete else "broken"
    elif whole is not None:
        upstream.update(whole)
        upstream["ended"] = "complete"
    else:
        upstream["ended"] = "broken"
    if flow.error is not None:
        upstream["error"] = flow.error.msg
    record: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(flow.timestamp_created)),
        "dialect": dialect,
        "client": {"path": CLIENT_PATHS.get(dialect, "/v1/chat/completions"), "body": client},
        "route": {
            "requested": notes.get("requested_model"),
            "model": notes.get("mapped_model"),
            "rule": notes.get("rule"),
        },
        "account": notes.get("account"),
        "attempts": notes.get("attempts", []),
        "upstream": upstream,
    }
    if response is not None:
        record["client_answer"] = {
            "status": response.status_code,
            "stream": response.headers.get("content-type", "").startswith("text/event-stream"),
            "body": (response.content or b"").decode("utf-8", "replace"),
        }
    return record


def sse_events(data: bytes) -> list[Any]:
    splitter = SSESplitter()
    out: list[Any] = []
    for payload in splitter.feed(data + b"\n\n"):
        try:
            out.append(json.loads(payload))
        except ValueError:
            out.append(payload.decode("utf-8", "replace"))
    return out


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


# -- recordings to scenarios ----------------------------------------------------------------


def read_recording(path: Path) -> list[dict[str, Any]]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError as e:
                raise ValueError(f"{path}:{n}: not a JSON line ({e})") from None
    return records


def to_scenario(records: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """A scenario document that replays the recorded calls and expects what the client got."""
    accounts = 1
    mappings: dict[str, str] = {}
    steps = []
    for record in records:
        label = str(record.get("account") or "key-1")
        if label.startswith("key-") and label[4:].isdigit():
            accounts = max(accounts, int(label[4:]))
        route = record.get("route") or {}
        if route.get("requested") and route.get("model"):
            mappings[route["requested"]] = route["model"]
        steps.append(_step(record))
    doc: dict[str, Any] = {
        "name": name,
        "description": f"Recorded with `just record` ({len(records)} call(s)).",
        "accounts": accounts,
    }
    if mappings:
        doc["mappings"] = {"mappings": mappings}
    doc["steps"] = steps
    return doc


def _step(record: dict[str, Any]) -> dict[str, Any]:
    client = record.get("client") or {}
    up = record.get("upstream") or {}
    answer: dict[str, Any] = {}
    if "status" in up:
        answer["status"] = up["status"]
        if "events" in up:
            answer["events"] = up["events"]
        else:
            answer["body"] = up.get("body")
    if up.get("ended") == "broken":
        answer["end"] = "drop"
    step: dict[str, Any] = {"request": client.get("body") or {}}
    if client.get("path", "/v1/chat/completions") != "/v1/chat/completions":
        step["path"] = client["path"]
    step["upstream"] = [answer]
    step["expect"] = _expect(record)
    return step


def _expect(record: dict[str, Any]) -> dict[str, Any]:
    got = record.get("client_answer")
    expect: dict[str, Any] = {}
    if got is None:
        return expect
    stream = bool(got.get("stream"))
    answer = read_answer(got["status"], got["body"].encode(), stream, record.get("dialect", "chat"))
    expect["status"] = got["status"]
    if answer.error:
        expect["error"] = answer.error.get("code")
    if answer.choices:
        choice = answer.choice(0)
        if choice.content:
            expect["content"] = choice.content
        if choice.tool_calls:
            expect["tool_calls"] = [
                {"name": c["name"], "arguments": _json_or_text(c["arguments"].encode())}
                for c in choice.tool_calls
            ]
        if choice.finish_reason:
            expect["finish_reason"] = choice.finish_reason
    if answer.stream:
        expect["done"] = answer.done
    expect["upstream"] = [{"path": (record.get("upstream") or {}).get("path")}]
    return expect
