"""Benchmark: `reconcile validate` on a generated spec of 10,000 resources.

Generates galleries, image definitions, versions, Batch accounts and pools (split
over one file per gallery and per account, as a large team would keep them) into a
temporary directory, then runs ``reconcile validate DIR --format json`` in a fresh
interpreter, exactly as a user or CI would. Reports wall time (median and spread of N
runs, startup included; the verdict is the median's), the child's CPU time (user +
system: steadier than wall on a shared machine) and its peak RSS (both from
``os.wait4``, per child).

    .venv/bin/python bench/bench_validate.py [--resources 10000] [--runs 3] [--profile]
    .venv/bin/python bench/bench_validate.py --baseline DIR   # A/B against another checkout

``--baseline DIR`` runs DIR's ``reconcile validate`` (its own ``.venv``) on the same files,
alternating with this checkout's run by run (taking turns going first), and reports both
checkouts' medians and the ratio of their wall medians.

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


def run_cli(root: Path, checkout: Path | None = None) -> tuple[float, float, float, dict]:
    """One `reconcile validate --format json` in a fresh interpreter.

    Returns (wall seconds, CPU seconds (user + system), peak RSS MiB, report), the CPU
    and RSS of that one child (``os.wait4``). `checkout` runs another checkout's
    interpreter and code (A/B comparisons)."""
    python = str(checkout / ".venv" / "bin" / "python") if checkout else sys.executable
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [python, "-m", "reconciler.cli", "validate", str(root), "--format", "json"],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=checkout,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"validate failed ({proc.returncode}):\n{out[-2000:]!r}{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss / 1024, json.loads(out)  # ru_maxrss: KiB


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


def _show(label: str, runs: list[tuple[float, float, float]]) -> float:
    """Print one checkout's medians and spreads; return its median wall time."""
    walls, cpus, rss = ([r[i] for r in runs] for i in range(3))
    median = statistics.median(walls)
    print(
        f"{label + ':':<12} wall median {median:.2f} s ({min(walls):.2f}–{max(walls):.2f}), "
        f"CPU median {statistics.median(cpus):.2f} s ({min(cpus):.2f}–{max(cpus):.2f}), "
        f"peak RSS {max(rss):.0f} MiB"
    )
    return median


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
        this: list[tuple[float, float, float]] = []
        base: list[tuple[float, float, float]] = []
        report: dict = {}
        base_report: dict = {}
        for run in range(args.runs):
            # With a baseline, the two take turns going first, so neither always
            # inherits the other's warm caches.
            if args.baseline is not None and run % 2:
                *figures, base_report = run_cli(root, args.baseline.resolve())
                base.append(tuple(figures))  # type: ignore[arg-type]
            elapsed, cpu, rss, report = run_cli(root)
            this.append((elapsed, cpu, rss))
            if args.baseline is not None and not run % 2:
                *figures, base_report = run_cli(root, args.baseline.resolve())
                base.append(tuple(figures))  # type: ignore[arg-type]
        print(f"resources:   {count} in {files} files ({size / 2**20:.1f} MiB of YAML)")
        print(
            f"valid:       {report['valid']} ({report['errors']} errors, {report['warnings']} warnings)"
        )
        print(
            f"runs:        {len(this)} per checkout, fresh interpreter, startup included"
            f"{', alternating with the baseline' if base else ''}; "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        median = _show("this", this)
        peak_rss = max(r[2] for r in this)
        if base:
            base_median = _show("baseline", base)
            print(f"this / baseline (wall medians) = {median / base_median:.2f}")
            same = "the same" if base_report == report else "DIFFERENT"
            print(f"reports:     {same} JSON report from both checkouts")
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
