"""The bench measures successful answers: one small cell against the real gateway."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from antigravity import launch

pytestmark = pytest.mark.e2e

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench.py"


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("antigravity_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_bench_cell_counts_only_successful_gateway_answers(
    gateway: launch.Child, stream: bool
) -> None:
    bench = _load_bench()
    target = bench.Target(bench.GATEWAY, gateway.url, "openai", gateway.proc.pid)
    cell = await bench.run_cell(target, stream=stream, concurrency=1, requests=5, warmup=1)
    assert cell.first_error is None
    assert (cell.ok, cell.errors) == (5, 0)
    assert cell.req_per_s > 0
    assert 0 < cell.p50_ms <= cell.p99_ms
    assert cell.proxy_cpu_ms_per_req is not None and cell.proxy_cpu_ms_per_req >= 0
    if stream:
        assert cell.ttft_p50_ms is not None and 0 < cell.ttft_p50_ms <= cell.p99_ms
