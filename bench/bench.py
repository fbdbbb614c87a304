"""Throughput, latency, time to first token and proxy CPU: emulator vs bare mitmdump vs gateway.

    just bench                 # the default run (a few minutes on 2 cores)
    just bench --quick         # a smoke run (~30 requests per cell, under a minute)
    just bench --requests 500 --json bench.json

One emulator process is the upstream of every target; the load comes from an aiohttp client in
this process, with keep-alive connections and warm-up requests before each measured cell.

Targets, all sent the same user prompt so the emulator gives the same answer:
  emulator direct    Gemini-shaped requests straight to the emulator (no proxy)
  bare mitmdump      Gemini-shaped requests through `mitmdump --mode reverse:` without the addon;
                     for streams one that streams bodies through (`stream_large_bodies=1`), the
                     fair floor for a streaming proxy
  gateway            OpenAI-shaped requests through `mitmdump -s addon.py`

Per cell: req/s, p50/p99 latency (request sent -> body complete), time to first token (request
sent -> the first complete event carrying answer text has arrived) and the CPU time (utime +
stime from /proc/<pid>/stat) the proxy process spent per request. The emulator's and this
process's CPU are not counted. RSS (VmRSS) of the proxies is printed after repeated rounds to
show whether memory stays flat. No thresholds: the exit status is 0 unless something crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # The standard library has a joke module named `antigravity`; the checkout must win.
    sys.path.insert(0, str(ROOT))

from antigravity import launch  # noqa: E402

Dialect = Literal["gemini", "openai"]

PROMPT = "Hello, introduce yourself and tell me about the weather on the moon today"
MODEL_GEMINI = "gemini-2.5-flash"
MODEL_OPENAI = "gpt-4o"
KEYS = ("bench-key-1", "bench-key-2")
ANSWER_MARK = b"antigravity Gemini emulator"
CLK_TCK = os.sysconf("SC_CLK_TCK")
REQUEST_TIMEOUT = 30.0
_EVENT_END = re.compile(rb"\r?\n\r?\n")

EMULATOR = "emulator direct"
BARE = "bare mitmdump"
BARE_STREAMING = "bare mitmdump (streaming)"
GATEWAY = "gateway"


@dataclass(frozen=True)
class Target:
    """Where the load goes, in which dialect, and which process's CPU and memory to read."""

    name: str
    url: str
    dialect: Dialect
    proxy_pid: int | None = None  # None: no proxy in between
    upstream_pid: int | None = None  # the emulator, for information only


@dataclass
class Cell:
    """One measured cell: a target under one workload at one concurrency."""

    target: str
    stream: bool
    concurrency: int
    requests: int
    ok: int = 0
    errors: int = 0
    first_error: str | None = None
    seconds: float = 0.0
    req_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    ttft_p50_ms: float | None = None
    ttft_p99_ms: float | None = None
    proxy_cpu_ms_per_req: float | None = None
    upstream_cpu_ms_per_req: float | None = None
    latencies_ms: list[float] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    latency_ms: float
    ttft_ms: float | None
    error: str | None = None


# -- /proc --------------------------------------------------------------------------------------


def cpu_ms(pid: int) -> float:
    """utime + stime of a process (all its threads), in milliseconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After "pid (comm) ": state is field 3, utime field 14, stime field 15 (1-based).
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) * 1000 / CLK_TCK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


# -- requests -----------------------------------------------------------------------------------


def request_for(target: Target, stream: bool) -> tuple[str, dict[str, str], bytes]:
    """URL, headers and body of the workload's request in the target's dialect."""
    if target.dialect == "gemini":
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        url = f"{target.url}/v1beta/models/{MODEL_GEMINI}:{method}"
        headers = {"content-type": "application/json", "x-goog-api-key": KEYS[0]}
        body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
        if stream:
            # The gateway asks thinking models for thought summaries on streams (its
            # keep-alives); the bare side asks for the same, so both move the same bytes.
            body["generationConfig"] = {"thinkingConfig": {"includeThoughts": True}}
    else:
        url = f"{target.url}/v1/chat/completions"
        headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
        body = {
            "model": MODEL_OPENAI,
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": stream,
        }
    return url, headers, json.dumps(body).encode()


def _has_text(dialect: Dialect, event: bytes) -> bool:
    """Whether one SSE event carries answer text (Gemini chunk or OpenAI delta)."""
    for line in event.splitlines():
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return False
        try:
            obj = json.loads(payload)
            if dialect == "gemini":
                parts = obj["candidates"][0]["content"]["parts"]
                return any(p.get("text") and not p.get("thought") for p in parts)
            return bool(obj["choices"][0]["delta"].get("content"))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return False
    return False


def _complete(dialect: Dialect, stream: bool, body: bytes) -> bool:
    """Whether a 200 body is a whole, successful answer."""
    if not stream:
        return ANSWER_MARK in body
    if dialect == "openai":
        return body.rstrip().endswith(b"data: [DONE]") and b'"error"' not in body
    return b'"finishReason":"STOP"' in body


async def one_request(
    session: aiohttp.ClientSession,
    dialect: Dialect,
    stream: bool,
    url: str,
    headers: dict[str, str],
    body: bytes,
) -> Outcome:
    start = time.perf_counter()
    ttft: float | None = None
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            if not stream:
                data = await resp.read()
            else:
                buf = bytearray()
                scanned = 0
                async for piece in resp.content.iter_any():
                    buf += piece
                    if ttft is not None:
                        continue
                    while m := _EVENT_END.search(buf, scanned):
                        event, scanned = bytes(buf[scanned : m.start()]), m.end()
                        if _has_text(dialect, event):
                            ttft = (time.perf_counter() - start) * 1000
                            break
                data = bytes(buf)
            latency = (time.perf_counter() - start) * 1000
            if resp.status != 200:
                return Outcome(False, latency, None, f"HTTP {resp.status}: {data[:200]!r}")
            if not _complete(dialect, stream, data) or (stream and ttft is None):
                return Outcome(False, latency, None, f"incomplete answer: {data[-200:]!r}")
            return Outcome(True, latency, ttft)
    except (aiohttp.ClientError, TimeoutError) as error:
        latency = (time.perf_counter() - start) * 1000
        return Outcome(False, latency, None, f"{type(error).__name__}: {error}")


async def _drive(
    session: aiohttp.ClientSession,
    target: Target,
    stream: bool,
    concurrency: int,
    count: int,
) -> list[Outcome]:
    """`count` requests from `concurrency` workers, each sending its next one when answered."""
    url, headers, body = request_for(target, stream)
    outcomes: list[Outcome] = []
    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            outcomes.append(await one_request(session, target.dialect, stream, url, headers, body))

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    return outcomes


def _percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


async def run_cell(
    target: Target,
    stream: bool,
    concurrency: int,
    requests: int,
    warmup: int | None = None,
) -> Cell:
    """Warm up, then measure `requests` requests at `concurrency` against `target`."""
    warmup = max(2 * concurrency, 10) if warmup is None else warmup
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    cell = Cell(target.name, stream, concurrency, requests)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup:
            await _drive(session, target, stream, concurrency, warmup)
        proxy0 = cpu_ms(target.proxy_pid) if target.proxy_pid else None
        upstream0 = cpu_ms(target.upstream_pid) if target.upstream_pid else None
        started = time.perf_counter()
        outcomes = await _drive(session, target, stream, concurrency, requests)
        cell.seconds = time.perf_counter() - started
        if target.proxy_pid and proxy0 is not None:
            cell.proxy_cpu_ms_per_req = (cpu_ms(target.proxy_pid) - proxy0) / requests
        if target.upstream_pid and upstream0 is not None:
            cell.upstream_cpu_ms_per_req = (cpu_ms(target.upstream_pid) - upstream0) / requests
    good = [o for o in outcomes if o.ok]
    cell.ok = len(good)
    cell.errors = len(outcomes) - len(good)
    cell.first_error = next((o.error for o in outcomes if not o.ok), None)
    cell.req_per_s = cell.ok / cell.seconds if cell.seconds else 0.0
    if good:
        cell.latencies_ms = [o.latency_ms for o in good]
        cell.p50_ms = _percentile(cell.latencies_ms, 0.50)
        cell.p99_ms = _percentile(cell.latencies_ms, 0.99)
        ttfts = [o.ttft_ms for o in good if o.ttft_ms is not None]
        if ttfts:
            cell.ttft_p50_ms = _percentile(ttfts, 0.50)
            cell.ttft_p99_ms = _percentile(ttfts, 0.99)
    return cell


def combine(runs: Sequence[Cell]) -> Cell:
    """One cell from repeated runs of it: counts add up, each measure is the runs' median."""
    first = runs[0]
    cell = Cell(first.target, first.stream, first.concurrency, sum(c.requests for c in runs))
    cell.ok = sum(c.ok for c in runs)
    cell.errors = sum(c.errors for c in runs)
    cell.first_error = next((c.first_error for c in runs if c.first_error), None)
    cell.seconds = sum(c.seconds for c in runs)
    cell.req_per_s = statistics.median(c.req_per_s for c in runs)
    cell.p50_ms = statistics.median(c.p50_ms for c in runs)
    cell.p99_ms = statistics.median(c.p99_ms for c in runs)
    cell.ttft_p50_ms = _median_or_none([c.ttft_p50_ms for c in runs])
    cell.ttft_p99_ms = _median_or_none([c.ttft_p99_ms for c in runs])
    cell.proxy_cpu_ms_per_req = _median_or_none([c.proxy_cpu_ms_per_req for c in runs])
    cell.upstream_cpu_ms_per_req = _median_or_none([c.upstream_cpu_ms_per_req for c in runs])
    return cell


def _median_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# -- processes ----------------------------------------------------------------------------------


@dataclass
class Rig:
    """The running processes and the targets in front of them."""

    emulator: launch.Child
    bare: launch.Child
    bare_streaming: launch.Child
    gateway: launch.Child

    def check(self) -> None:
        """Fail loudly if a child died: its numbers would be meaningless."""
        children = {
            "the emulator": self.emulator,
            BARE: self.bare,
            BARE_STREAMING: self.bare_streaming,
            GATEWAY: self.gateway,
        }
        for name, child in children.items():
            if child.proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {child.proc.returncode}:\n{child.log()[-2000:]}"
                )

    def targets(self, stream: bool) -> list[Target]:
        emu = self.emulator.proc.pid
        bare = self.bare_streaming if stream else self.bare
        return [
            Target(EMULATOR, self.emulator.url, "gemini", None, emu),
            Target(BARE_STREAMING if stream else BARE, bare.url, "gemini", bare.proc.pid, emu),
            Target(GATEWAY, self.gateway.url, "openai", self.gateway.proc.pid, emu),
        ]


def start_rig(stack: ExitStack) -> Rig:
    """The emulator, then the three proxies in front of it (started side by side)."""
    emulator = stack.enter_context(launch.start_emulator(keys=",".join(KEYS)))
    upstream = emulator.url
    pool = ThreadPoolExecutor(3)
    futures = [
        pool.submit(launch.start_mitmdump, upstream, gateway=False),
        pool.submit(
            launch.start_mitmdump, upstream, gateway=False, options={"stream_large_bodies": "1"}
        ),
        pool.submit(
            launch.start_mitmdump, upstream, gateway=True, env={"GEMINI_API_KEYS": ",".join(KEYS)}
        ),
    ]
    try:
        pool.shutdown(wait=True)
    finally:
        # Whatever started is stopped on exit, even if a sibling failed or we were interrupted.
        for future in futures:
            if future.done() and future.exception() is None:
                stack.enter_context(future.result())
    children = [future.result() for future in futures]
    return Rig(emulator, *children)


# -- report -------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def table(title: str, cells: Sequence[Cell]) -> str:
    head = (
        f"{'target':<27} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'TTFT p50':>9} "
        f"{'TTFT p99':>9} {'proxy CPU-ms/req':>17} {'ok':>9}"
    )
    lines = [title, head, "-" * len(head)]
    for c in cells:
        lines.append(
            f"{c.target:<27} {c.req_per_s:>8.1f} {c.p50_ms:>8.2f} {c.p99_ms:>8.2f} "
            f"{_fmt(c.ttft_p50_ms, '.2f'):>9} {_fmt(c.ttft_p99_ms, '.2f'):>9} "
            f"{_fmt(c.proxy_cpu_ms_per_req, '.3f'):>17} {f'{c.ok}/{c.requests}':>9}"
        )
    for c in cells:
        if c.first_error:
            lines.append(f"  ! {c.target}: {c.errors} failed, first: {c.first_error}")
    return "\n".join(lines)


def ratios(cells: Sequence[Cell], stream: bool) -> list[str]:
    by = {c.target: c for c in cells}
    bare = by.get(BARE_STREAMING if stream else BARE)
    gw = by.get(GATEWAY)
    if bare is None or gw is None:
        return []
    floor = "bare streaming" if stream else "bare"
    out = []
    if gw.proxy_cpu_ms_per_req and bare.proxy_cpu_ms_per_req:
        ratio = gw.proxy_cpu_ms_per_req / bare.proxy_cpu_ms_per_req
        out.append(f"gateway/{floor} CPU per request: {ratio:.2f}x")
    if bare.req_per_s:
        out.append(f"gateway/{floor} req/s: {gw.req_per_s / bare.req_per_s:.2f}x")
    if stream and gw.ttft_p50_ms is not None and bare.ttft_p50_ms is not None:
        out.append(f"TTFT gateway - {floor}: {gw.ttft_p50_ms - bare.ttft_p50_ms:+.2f} ms (p50)")
    return out


# -- main ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    requests_c1: int  # measured requests per run of a concurrency-1 cell
    requests_c16: int
    repeat: int  # runs of each cell, interleaved across targets; the table shows medians
    rounds: int  # memory rounds
    rounds_requests: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        plan = cls(30, 30, 1, 3, 30) if args.quick else cls(300, 600, 3, 5, 500)
        if args.requests:
            n = args.requests
            plan = replace(plan, requests_c1=n, requests_c16=n, rounds_requests=n)
        if args.repeat:
            plan = replace(plan, repeat=args.repeat)
        if args.rounds:
            plan = replace(plan, rounds=args.rounds)
        return plan

    def requests_for(self, concurrency: int) -> int:
        return self.requests_c1 if concurrency == 1 else self.requests_c16


WORKLOADS: tuple[tuple[bool, int], ...] = ((False, 1), (False, 16), (True, 1), (True, 16))


def _emulator_reset(url: str) -> None:
    """Empty the emulator's request log so it does not grow over the run (best effort)."""
    with contextlib.suppress(OSError):
        request = urllib.request.Request(f"{url}/__emulator/reset", b"{}")
        urllib.request.urlopen(request, timeout=5).close()


async def bench(rig: Rig, plan: Plan, out: dict[str, Any]) -> None:
    for stream, concurrency in WORKLOADS:
        kind = "stream" if stream else "non-stream"
        n = plan.requests_for(concurrency)
        runs = f"{plan.repeat} runs of {n}, medians" if plan.repeat > 1 else f"{n} requests"
        title = f"== {kind}, concurrency {concurrency} ({runs})"
        targets = rig.targets(stream)
        done: dict[str, list[Cell]] = {t.name: [] for t in targets}
        for _ in range(plan.repeat):
            for target in targets:
                rig.check()
                done[target.name].append(await run_cell(target, stream, concurrency, n))
                await asyncio.to_thread(_emulator_reset, rig.emulator.url)
        cells = [combine(runs) for runs in done.values()]
        print(table(title, cells))
        for line in ratios(cells, stream):
            print(f"  {line}")
        print(flush=True)
        for name, runs_of_target in done.items():
            combined = next(c for c in cells if c.target == name)
            record = {k: v for k, v in asdict(combined).items() if k != "latencies_ms"}
            record["runs"] = [
                {k: v for k, v in asdict(c).items() if k != "latencies_ms"} for c in runs_of_target
            ]
            out["cells"].append(record)

    n = plan.rounds_requests
    print(
        f"== memory: RSS (MB) after each round of {n} stream + {n} non-stream requests at "
        "concurrency 16"
    )
    proxies = {
        BARE_STREAMING: rig.bare_streaming.proc.pid,
        GATEWAY: rig.gateway.proc.pid,
    }
    series: dict[str, list[float]] = {name: [rss_mb(pid)] for name, pid in proxies.items()}
    targets = [t for t in rig.targets(True) if t.name in proxies]
    for _ in range(plan.rounds):
        for target in targets:
            rig.check()
            for stream in (True, False):
                cell = await run_cell(target, stream, 16, n, warmup=0)
                if cell.errors:
                    print(f"  ! {target.name}: {cell.errors} failed, first: {cell.first_error}")
            series[target.name].append(rss_mb(proxies[target.name]))
        await asyncio.to_thread(_emulator_reset, rig.emulator.url)
    for name, values in series.items():
        shown = " -> ".join(f"{v:.1f}" for v in values)
        print(f"  {name:<27} {shown}  (start -> after each round)")
    out["rss_mb"] = series
    print()
    out["storm"] = await storm(rig, plan, out["cells"])


def _emulator(url: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{url}{path}", data, method=method)
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


async def storm(rig: Rig, plan: Plan, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """A 429 storm on one key: how often the gateway retries, and what a retry costs."""
    n = plan.requests_c16
    delay = "1s"
    print(
        f"== 429 storm: {KEYS[0]} answers every request with 429 (RetryInfo {delay}), "
        f"{n} non-stream requests at concurrency 16 over {len(KEYS)} keys"
    )
    url = rig.emulator.url
    await asyncio.to_thread(_emulator, url, "POST", "/__emulator/reset", {})
    fault = {"kind": "429", "key": KEYS[0], "times": 0, "retry_delay": delay}
    await asyncio.to_thread(_emulator, url, "POST", "/__emulator/faults", fault)
    gateway = next(t for t in rig.targets(False) if t.name == GATEWAY)
    try:
        cell = await run_cell(gateway, False, 16, n, warmup=0)
        upstream = await asyncio.to_thread(_emulator, url, "GET", "/__emulator/requests")
    finally:
        await asyncio.to_thread(_emulator, url, "DELETE", "/__emulator/faults")
    calls = [r for r in upstream if str(r.get("path", "")).endswith(":generateContent")]
    limited = sum(1 for r in calls if r.get("key") == KEYS[0])
    retries = len(calls) - n
    calm = next(
        (c for c in cells if c["target"] == GATEWAY and not c["stream"] and c["concurrency"] == 16),
        None,
    )
    print(f"  answered: {cell.ok}/{n}   upstream calls: {len(calls)}   429s: {limited}")
    print(f"  retries: {retries} ({100 * retries / n:.1f} % of requests needed one)")
    print(
        f"  p50 {_fmt(cell.p50_ms)} ms, p99 {_fmt(cell.p99_ms)} ms, proxy CPU "
        f"{_fmt(cell.proxy_cpu_ms_per_req, '.3f')} ms/req"
    )
    if calm:
        print(
            f"  without the storm: p50 {_fmt(calm['p50_ms'])} ms, p99 {_fmt(calm['p99_ms'])} ms, "
            f"proxy CPU {_fmt(calm['proxy_cpu_ms_per_req'], '.3f')} ms/req"
        )
    return {
        "requests": n,
        "ok": cell.ok,
        "upstream_calls": len(calls),
        "rate_limited": limited,
        "retries": retries,
        "p50_ms": cell.p50_ms,
        "p99_ms": cell.p99_ms,
        "proxy_cpu_ms_per_req": cell.proxy_cpu_ms_per_req,
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/bench.py",
        description="Emulator vs bare mitmdump vs gateway: req/s, latency, TTFT, proxy CPU.",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: ~30 requests per cell")
    parser.add_argument(
        "--requests",
        type=int,
        default=0,
        help="measured requests per run of a cell (default 300 at c=1, 600 at c=16; quick 30)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="runs of each cell, medians shown (default 3, quick 1)",
    )
    parser.add_argument("--rounds", type=int, default=0, help="memory rounds (default 5, quick 3)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    if min(args.requests, args.repeat, args.rounds) < 0:
        parser.error("--requests, --repeat and --rounds must be positive")
    return args


def _versions() -> Iterator[str]:
    from importlib.metadata import version

    yield f"python {platform.python_version()}"
    for package in ("mitmproxy", "aiohttp"):
        yield f"{package} {version(package)}"
    yield f"{os.cpu_count()} CPUs"
    try:
        rev = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    if rev:
        yield f"checkout {rev}"


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    plan = Plan.from_args(args)
    signal.signal(signal.SIGTERM, _terminate)
    command = " ".join(["bench/bench.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"antigravity bench: {command}")
    print(f"  {', '.join(_versions())}")
    print(
        "  latency = request sent -> body complete; TTFT = request sent -> first event with "
        "answer text complete"
    )
    print("  proxy CPU-ms/req = utime+stime of the mitmdump process per measured request\n")
    out: dict[str, Any] = {"command": command, "plan": asdict(plan), "cells": []}
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            rig = start_rig(stack)
            asyncio.run(bench(rig, plan, out))
    except KeyboardInterrupt:
        print("\ninterrupted; child processes stopped", file=sys.stderr)
        return 130
    out["seconds"] = round(time.monotonic() - started, 1)
    print(f"\nfinished in {out['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
        print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
