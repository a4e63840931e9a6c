"""Benchmark: `reconcile export` of a large world through the sandbox.

Builds an estate through the real SDK (default 10 galleries × 20 definitions × 95
versions = 19,000 versions, plus 3 Batch accounts × 270 pools: ~20,000 resources) with
`bench_read.populate`, then times, on a copy of that world:

- the read: `read_for_export` (plan's list calls, plus each listed document kept to find
  what the spec cannot express) with the sandbox's latency and throttling as configured;
- the build: `build_export` (live state → images.yaml / pools.yaml text);
- writing the files and loading them back with `load_spec` (what `export` does before
  moving the files in).

    .venv/bin/python bench/bench_export.py [--galleries 10] [--definitions 20]
        [--versions 95] [--accounts 3] [--pools 270] [--latency 0.0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_read import ACCOUNTS, SUB, _config, copy_world, populate

from reconciler.azure.clients import RequestCounter
from reconciler.azure.exporting import read_for_export
from reconciler.azure.target import Target
from reconciler.export import ExportOptions, build_export
from reconciler.sandbox.config import ThrottleConfig
from reconciler.spec import load_spec
from reconciler.state.scope import ReadScope
from reconciler.wiring import azure_clients


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--galleries", type=int, default=10)
    parser.add_argument("--definitions", type=int, default=20)
    parser.add_argument("--versions", type=int, default=95)
    parser.add_argument("--accounts", type=int, default=3)
    parser.add_argument("--pools", type=int, default=270)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world.sqlite"
        started = time.perf_counter()
        populate(world, args)
        built = time.perf_counter() - started
        copy = copy_world(world, Path(tmp) / "copy.sqlite")
        config = _config(latency=args.latency, throttle=ThrottleConfig(enabled=False))
        counter = RequestCounter()
        clients = azure_clients(Target.for_sandbox(copy, config=config), counter=counter)
        groups = sorted({a.split("/")[4] for a in ACCOUNTS[: args.accounts]} | {"rg-images"})
        scope = ReadScope(
            gallery_groups=((SUB, "rg-images"),),
            image_groups=((SUB, "rg-images"),),
            batch_accounts=ACCOUNTS[: args.accounts],
            every_gallery=True,
        )
        t0 = time.perf_counter()
        read = read_for_export(clients, scope)
        t1 = time.perf_counter()
        options = ExportOptions(
            where="sandbox bench", when="2026-11-24T10:00:00Z", scope=", ".join(groups)
        )
        result = build_export(
            read.live, options, unexpressed=read.unexpressed, read_back=read.read_back
        )
        t2 = time.perf_counter()
        out = Path(tmp) / "out"
        out.mkdir()
        for exported in result.files:
            (out / exported.name).write_text(exported.text)
        loaded = load_spec([str(out)])
        t3 = time.perf_counter()
        clients.close()
        size = sum(len(f.text) for f in result.files)
        print(f"world: {len(read.live.resources)} resources (built in {built:.0f} s)")
        print(f"read:  {t1 - t0:6.2f} s  ({counter.total} requests, latency {args.latency} s)")
        print(f"build: {t2 - t1:6.2f} s  ({size / 1e6:.1f} MB of YAML)")
        print(f"write + load back: {t3 - t2:6.2f} s  ({len(loaded.errors)} errors)")
        print(f"total export: {t3 - t0:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
