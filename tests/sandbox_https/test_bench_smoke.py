"""The sandbox-overhead benchmark runs end to end (tiny N) and reports every case."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_sandbox.py"


def test_bench_sandbox_reports_all_six_cases():
    """bench_sandbox.run measures gallery GET and pool list via handle, in-process and HTTPS."""
    spec = importlib.util.spec_from_file_location("bench_sandbox", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.run(n=3, warmup=1)
    assert [(r[0], r[1]) for r in rows] == [
        (request, path)
        for request in ("gallery GET", "pool list")
        for path in ("handle", "in-process", "https")
    ]
    assert all(median > 0 and p95 > 0 for _, _, median, p95, _ in rows)
    assert "| request | path |" in module.table(rows)
