"""Benchmark: `reconcile export` of a large world through the sandbox.

Seeds the estate `bench_read` measures at a size (default 20k: 20 galleries, 400
definitions, 16,000 versions, 36 Batch accounts, 3,564 pools — ~20,000 resources, in one
subscription) with `bench_read.seed_document`, then times:

- the read: `read_for_export` (plan's list calls, every Azure-named member kept, each
  listed document kept to find what the spec cannot express), sandbox latency as given;
- the build: `build_export` (live state → images.yaml / pools.yaml text);
- writing the files and loading them back with `load_spec` (what `export` does before
  moving the files in).

    .venv/bin/python bench/bench_export.py [--size 20k] [--latency 0.0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_read import SIZES, plan_estate, seed_document

from reconciler.azure.clients import RequestCounter
from reconciler.azure.exporting import read_for_export
from reconciler.azure.target import Target
from reconciler.export import ExportOptions, build_export
from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.config import ThrottleConfig
from reconciler.spec import load_spec
from reconciler.wiring import azure_clients


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="20k")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "world.sqlite"
        estate = plan_estate(args.size, 1)
        config = SandboxConfig(
            speed=1.0, latency=args.latency, throttle=ThrottleConfig(enabled=False)
        )
        started = time.perf_counter()
        world = Sandbox(path, config=replace(config, latency=0.0))
        world.seed(seed_document(estate))
        world.close()
        built = time.perf_counter() - started
        counter = RequestCounter()
        clients = azure_clients(Target.for_sandbox(path, config=config), counter=counter)
        scope = replace(estate.scope(), every_gallery=True)
        groups = "rg-images, rg-batch"
        t0 = time.perf_counter()
        read = read_for_export(clients, scope)
        t1 = time.perf_counter()
        options = ExportOptions(where="sandbox bench", when="2026-11-24T10:00:00Z", scope=groups)
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
