"""Benchmark: `reconcile validate` on a generated spec of 10,000 resources.

Generates galleries, image definitions, versions, Batch accounts and pools (split
over one file per gallery and per account, as a large team would keep them) into a
temporary directory, then runs ``reconcile validate DIR --format json`` in a fresh
interpreter, exactly as a user or CI would. Reports wall time (median and spread of N
runs, startup included; the verdict is the median's) and the child's peak RSS
(``resource.getrusage``).

    .venv/bin/python bench/bench_validate.py [--resources 10000] [--runs 3] [--profile]
    .venv/bin/python bench/bench_validate.py --baseline DIR   # A/B against another checkout

``--baseline DIR`` runs DIR's ``reconcile validate`` (its own ``.venv``) on the same files,
alternating with this checkout's run by run, and reports both medians and their ratio.

``--profile`` also loads the spec in-process under cProfile and prints the top
functions, with tracemalloc's peak of Python allocations.
Targets (2-core machine), on the median: under 1 s at 10,000 resources and under 5 s at
50,000 (other sizes: 1 s per 10,000), and under 300 MB at 10,000.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

SUB = "00000000-0000-0000-0000-000000000001"
SNAP = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/snapshots"
REGIONS = ("westeurope", "eastus", "northeurope", "westus2")


def plan_sizes(total: int) -> tuple[int, int, int, int, int]:
    """(galleries, definitions per gallery, versions per definition, accounts, pools per account)."""
    galleries, per_gallery, per_def, accounts = 40, 25, 4, 20
    image_side = galleries + galleries * per_gallery * (1 + per_def)
    pools = max(total - image_side - accounts, accounts)
    return galleries, per_gallery, per_def, accounts, pools // accounts


def generate(root: Path, total: int) -> int:
    """Write the spec files; returns the number of resources written."""
    galleries, per_gallery, per_def, accounts, per_account = plan_sizes(total)
    count = 0
    definitions: list[tuple[str, str]] = []
    for g in range(galleries):
        lines = [
            "apiVersion: reconcile/v1",
            f"defaults: {{subscription: {SUB}, resourceGroup: rg-images, location: westeurope}}",
            "galleries:",
            f"  - name: gallery{g:03d}",
            "    images:",
        ]
        count += 1
        for d in range(per_gallery):
            name = f"def{d:03d}"
            definitions.append((f"gallery{g:03d}", name))
            lines += [
                f"      - name: {name}",
                "        osType: Linux",
                "        osState: Generalized",
                "        hyperVGeneration: V2",
                f"        identifier: {{publisher: contoso, offer: o{g}, sku: s{d}}}",
                "        versions:",
            ]
            count += 1
            for v in range(per_def):
                lines += [
                    f"          - name: 1.{v}.0",
                    f"            source: {{snapshots: {{osDisk: {SNAP}/snap-{g}-{d}-{v}}}}}",
                    "            targetRegions:",
                    *(f"              - {{name: {r}}}" for r in REGIONS),
                    "            endOfLifeDate: 2030-01-01",
                ]
                count += 1
        (root / f"images-{g:03d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for a in range(accounts):
        region = REGIONS[a % len(REGIONS)]
        lines = [
            "apiVersion: reconcile/v1",
            f"defaults: {{subscription: {SUB}, resourceGroup: rg-batch, location: {region}}}",
            "batchAccounts:",
            f"  - name: batch{a:03d}",
            "    pools:",
        ]
        count += 1
        for p in range(per_account):
            gallery, definition = definitions[(a * per_account + p) % len(definitions)]
            lines += [
                f"      - name: pool{p:04d}",
                "        vmSize: Standard_D8s_v5",
                f"        image: {{gallery: {gallery}, definition: {definition}}}",
                "        nodeAgentSkuId: batch.node.ubuntu 22.04",
                f"        scale: {{fixed: {{dedicated: {(p * 37) % 900}, lowPriority: {p % 50}}}}}",
                '        startTask: {commandLine: "run.sh", environment: {KEY: "${env:K}"}}',
                "        metadata: {team: bench}",
            ]
            count += 1
        (root / f"pools-{a:03d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count


def run_cli(root: Path, checkout: Path | None = None) -> tuple[float, dict]:
    """One `reconcile validate --format json` in a fresh interpreter; (seconds, report).

    `checkout` runs another checkout's interpreter and code (A/B comparisons)."""
    python = str(checkout / ".venv" / "bin" / "python") if checkout else sys.executable
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "reconciler.cli", "validate", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=checkout,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"validate failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr}"
        )
    return elapsed, json.loads(done.stdout)


def profile(root: Path) -> None:
    """Load in-process under cProfile and tracemalloc; print the hot spots."""
    from reconciler.spec import load_spec

    tracemalloc.start()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    result = load_spec([root])
    profiler.disable()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"in-process load_spec: {elapsed:.2f} s, tracemalloc peak {peak / 2**20:.0f} MiB, ok={result.ok}"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout (A/B)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-") as tmp:
        root = Path(tmp)
        count = generate(root, args.resources)
        files = len(list(root.glob("*.yaml")))
        size = sum(p.stat().st_size for p in root.glob("*.yaml"))
        times = []
        base_times = []
        report: dict = {}
        for _ in range(args.runs):
            elapsed, report = run_cli(root)
            times.append(elapsed)
            if args.baseline is not None:
                base_times.append(run_cli(root, args.baseline.resolve())[0])
        peak_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB → MiB
        print(f"resources:   {count} in {files} files ({size / 2**20:.1f} MiB of YAML)")
        print(
            f"valid:       {report['valid']} ({report['errors']} errors, {report['warnings']} warnings)"
        )
        median = statistics.median(times)
        print(
            f"wall time:   median {median:.2f} s (spread {min(times):.2f}–{max(times):.2f}) "
            f"over {len(times)} runs (fresh interpreter, startup included); "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        print(f"peak RSS:    {peak_rss:.0f} MiB (validate process)")
        if base_times:
            base = statistics.median(base_times)
            print(
                f"baseline:    median {base:.2f} s (spread {min(base_times):.2f}–"
                f"{max(base_times):.2f}); this / baseline = {median / base:.2f}"
            )
        limit = 5.0 if args.resources >= 50_000 else args.resources / 10_000
        rss_ok = peak_rss < 300 or args.resources > 10_000
        verdict = median < limit and rss_ok
        print(
            f"target:      median < {limit:g} s"
            f"{' and < 300 MB' if args.resources <= 10_000 else ''} → "
            f"{'met' if verdict else 'MISSED'}"
        )
        if args.profile:
            profile(root)


if __name__ == "__main__":
    main()
