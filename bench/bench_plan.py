"""Benchmark: `plan` at 5k, 20k and 50k resources, phase by phase, with memory and growth.

Generates a spec in realistic proportions (galleries / definitions / versions / Batch
accounts / pools)::

    5k:   10 /   100 /  3,900 / 10 /   990
    20k:  20 /   400 / 16,000 / 36 / 3,564
    50k:  50 / 1,000 / 44,000 / 50 / 4,950

(one YAML file per gallery and per account), and a live state to match, built directly
as a `LiveState` snapshot (pure, no sandbox), so the figures are the planner's and not the
emulator's. The live state is what apply would have left, except for about 2% of the
estate: versions not yet created, pools whose spec changed since the last apply (pending)
and pools changed behind the tool's back (drift). Each measurement runs in a fresh
interpreter (its own peak RSS) and times the phases a `reconcile plan --format json
--out FILE` goes through after the read:

- load: `load_spec` (YAML, validation, resolution, rules);
- plan: `make_plan` on the snapshot;
- render: the JSON shown on stdout;
- save: the plan file written by ``--out``.

A *from-scratch* plan (only the Batch accounts exist: everything is a create) measures
the ordering too. Verdicts are taken from medians of ``--runs`` runs; the growth slope is
log(t₅₀ₖ / t₅ₖ) / log(n₅₀ₖ / n₅ₖ) of the median totals (1.0: linear).

    .venv/bin/python bench/bench_plan.py                # 5k, 20k, 50k; 3 runs each
    .venv/bin/python bench/bench_plan.py --quick        # 5k and 20k, 1 run (< 60 s)
    .venv/bin/python bench/bench_plan.py --baseline DIR # also runs DIR's `reconciler`
                                                        # side by side (A/B), 5k and 20k

``--startup N`` instead times ``reconcile plan specs/minimal --sandbox W`` N times (fresh
interpreter each; wall and CPU medians) and lists the heaviest imports of one run
(``python -X importtime``); with ``--baseline DIR`` the two checkouts alternate.

``--baseline DIR`` points at another checkout of the project (e.g. ``git worktree add
/tmp/base main``): its runs are interleaved with this checkout's, so a busy machine slows
both alike. ``--profile SIZE`` prints cProfile's top functions for one in-process plan.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUB = "00000000-0000-0000-0000-000000000001"
SNAP = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/snapshots"
REGIONS = ("westeurope", "eastus")
POOLS_PER_ACCOUNT = 99
# size label → (galleries, definitions per gallery, versions per definition, accounts)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "5k": (10, 10, 39, 10),
    "20k": (20, 20, 40, 36),
    "50k": (50, 20, 44, 50),
}
# Targets (2-core machine), judged on medians.
TARGET_PLAN_50K_S = 30.0
TARGET_RSS_50K_MIB = 1024.0
TARGET_SCRATCH_20K_S = 5.0
TARGET_RATIO_20K_5K = 4.4
TARGET_SLOPE = 1.05


def counts(size: str) -> dict[str, int]:
    """Resources per kind for a size label."""
    galleries, per_gallery, per_def, accounts = SIZES[size]
    return {
        "galleries": galleries,
        "definitions": galleries * per_gallery,
        "versions": galleries * per_gallery * per_def,
        "accounts": accounts,
        "pools": accounts * POOLS_PER_ACCOUNT,
    }


def total(size: str) -> int:
    return sum(counts(size).values())


def generate(root: Path, size: str) -> None:
    """Write the spec files of `size` under `root`."""
    galleries, per_gallery, per_def, accounts = SIZES[size]
    definitions: list[tuple[str, str, int]] = []
    for g in range(galleries):
        lines = [
            "apiVersion: reconcile/v1",
            "settings: {owner: bench}",
            f"defaults: {{subscription: {SUB}, resourceGroup: rg-images, location: westeurope}}",
            "galleries:",
            f"  - name: gallery{g:03d}",
            "    images:",
        ]
        for d in range(per_gallery):
            definitions.append((f"gallery{g:03d}", f"def{d:03d}", per_def))
            lines += [
                f"      - name: def{d:03d}",
                "        osType: Linux",
                "        osState: Generalized",
                "        hyperVGeneration: V2",
                f"        identifier: {{publisher: contoso, offer: o{g}, sku: s{d}}}",
                "        versions:",
            ]
            for v in range(per_def):
                lines += [
                    f"          - name: 1.{v}.0",
                    f"            source: {{snapshots: {{osDisk: {SNAP}/snap-{g}-{d}-{v}}}}}",
                    "            targetRegions:",
                    *(f"              - {{name: {r}}}" for r in REGIONS),
                    "            endOfLifeDate: 2030-01-01",
                ]
        (root / f"images-{g:03d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for a in range(accounts):
        lines = [
            "apiVersion: reconcile/v1",
            "settings: {owner: bench}",
            f"defaults: {{subscription: {SUB}, resourceGroup: rg-batch, "
            f"location: {REGIONS[a % len(REGIONS)]}}}",
            "batchAccounts:",
            f"  - name: batch{a:03d}",
            "    pools:",
        ]
        for p in range(POOLS_PER_ACCOUNT):
            n = a * POOLS_PER_ACCOUNT + p
            gallery, definition, versions = definitions[n % len(definitions)]
            # Most pools follow latest; every third pins an older version.
            pin = f", version: 1.{n % versions}.0" if n % 3 == 0 else ""
            lines += [
                f"      - name: pool{p:03d}",
                "        vmSize: Standard_D8s_v5",
                f"        image: {{gallery: {gallery}, definition: {definition}{pin}}}",
                "        nodeAgentSkuId: batch.node.ubuntu 22.04",
                f"        scale: {{fixed: {{dedicated: {(n * 7) % 60}, lowPriority: {n % 5}}}}}",
                '        startTask: {commandLine: "run.sh", environment: {KEY: "${env:K}"}}',
                f"        metadata: {{team: t{n % 7}}}",
            ]
        (root / f"pools-{a:03d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- the child: runs in a fresh interpreter against whichever `reconciler` is on sys.path --


def live_for(desired: Any, *, scratch: bool) -> Any:
    """The live state apply would have left for `desired`, with ~2% changed (see doc)."""
    from reconciler.plan.applied import encode
    from reconciler.state.model import Kind, LiveResource, LiveState

    resources: dict[str, Any] = {}
    for account in desired.accounts.values():
        resources[account.address] = LiveResource(
            address=account.address,
            kind=Kind.BATCH_ACCOUNT,
            id=account.id,
            name=account.name,
            location=account.location,
            properties={"location": account.location},
            pool_allocation_mode="BatchService",
        )
    if scratch:
        return LiveState(resources=resources)
    for n, d in enumerate(desired.resources.values()):
        props = dict(d.properties)
        record = encode(d.kind, props)
        extra: dict[str, Any] = {}
        if d.kind is Kind.VERSION:
            if n % 50 == 7:
                continue  # a new version, not created yet
            extra["provisioning_state"] = "Succeeded"
        if d.kind is Kind.POOL:
            dedicated = int(props.get("scale.fixed.dedicated", 0) or 0)
            if n % 100 == 11:  # the spec changed since apply: pending resize
                props["scale.fixed.dedicated"] = dedicated + 3
                record = encode(d.kind, props)
                dedicated += 3
            elif n % 100 == 61:  # someone resized it by hand: drift
                props["scale.fixed.dedicated"] = dedicated + 5
                dedicated += 5
            extra.update(
                allocation_state="steady",
                current_dedicated=dedicated,
                current_low_priority=int(props.get("scale.fixed.lowPriority", 0) or 0),
            )
            props["startTask.environment.KEY"] = "live-secret"
        resources[d.address] = LiveResource(
            address=d.address,
            kind=d.kind,
            id=d.id,
            name=d.name,
            location=d.location,
            properties={**props, **record},
            etag=f'W/"{n}"',
            **extra,
        )
    return LiveState(resources=resources)


def child(spec_dir: str, out: str, scratch: bool) -> None:
    """One measured plan; prints a JSON line of phase times and the process's peak RSS."""
    import gc
    from datetime import date

    from reconciler.plan import make_plan, save_plan
    from reconciler.plan.desired import desired_state
    from reconciler.render import render_json
    from reconciler.spec import load_spec

    times: dict[str, float] = {}
    start = time.perf_counter()
    result = load_spec([spec_dir])
    times["load"] = time.perf_counter() - start
    if result.spec is None:
        raise SystemExit("\n".join(d.format() for d in result.errors[:5]))
    live = live_for(desired_state(result.spec), scratch=scratch)
    gc.collect()
    start = time.perf_counter()
    plan = make_plan(
        result.spec, live, target="bench", now=date(2026, 11, 24), diagnostics=result.diagnostics
    )
    times["plan"] = time.perf_counter() - start
    start = time.perf_counter()
    text = render_json(plan)
    times["render"] = time.perf_counter() - start
    start = time.perf_counter()
    save_plan(plan, out)
    times["save"] = time.perf_counter() - start
    summary = plan.summary()
    print(
        json.dumps(
            {
                "times": times,
                "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "json_bytes": len(text.encode()),
                "file_bytes": os.path.getsize(out),
                "changes": sum(v for k, v in summary.items() if k != "no-op"),
                "unchanged": summary["no-op"],
                "errors": len(plan.errors),
            }
        )
    )


# -- the parent ----------------------------------------------------------------------------


def run_child(code_root: Path, spec_dir: Path, *, scratch: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-plan-") as tmp:
        out = Path(tmp) / "plan.json"
        argv = [sys.executable, __file__, "--child", str(spec_dir), str(out)]
        if scratch:
            argv.append("--scratch")
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child failed ({code_root}):\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["wall"] = wall
    data["total"] = sum(data["times"].values())
    return data


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}" if len(values) > 1 else "–"


def report(label: str, size: str, runs: list[dict[str, Any]]) -> dict[str, float]:
    phases = {p: median([r["times"][p] for r in runs]) for p in ("load", "plan", "render", "save")}
    tot = [r["total"] for r in runs]
    row = {
        **phases,
        "total": median(tot),
        "rss": median([r["rss_mib"] for r in runs]),
    }
    r0 = runs[0]
    print(
        f"| {label} | {size} ({total(size):,}) | "
        + " | ".join(f"{phases[p]:.2f}" for p in phases)
        + f" | **{row['total']:.2f}** ({spread(tot)}) | {row['rss']:.0f} | "
        f"{r0['changes']:,} / {r0['unchanged']:,} | {r0['json_bytes'] / 2**20:.1f} / "
        f"{r0['file_bytes'] / 2**20:.1f} |",
        flush=True,
    )
    return row


def profile(size: str) -> None:
    import cProfile
    import pstats
    from datetime import date

    from reconciler.plan import make_plan
    from reconciler.plan.desired import desired_state
    from reconciler.spec import load_spec

    with tempfile.TemporaryDirectory(prefix="reconcile-bench-plan-") as tmp:
        generate(Path(tmp), size)
        profiler = cProfile.Profile()
        profiler.enable()
        result = load_spec([tmp])
        profiler.disable()
        live = live_for(desired_state(result.spec), scratch=False)
        profiler.enable()
        plan = make_plan(result.spec, live, target="bench", now=date(2026, 11, 24))
        from reconciler.plan import dumps_plan
        from reconciler.render import render_json

        render_json(plan)
        dumps_plan(plan)
        profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def startup(runs: int, baseline: Path | None) -> None:
    """Time `reconcile plan` of the minimal spec against a fresh sandbox world."""
    codes = [("this", ROOT)] + ([("baseline", baseline.resolve())] if baseline else [])
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-start-") as tmp:
        world = Path(tmp) / "w.sqlite"
        subprocess.run(
            [sys.executable, "-m", "reconciler.cli", "sandbox", "init", "--sandbox", str(world)],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        argv = ["plan", str(ROOT / "specs" / "minimal"), "--sandbox", str(world)]
        # The console script's own entry point (`reconciler.cli:main`), as `reconcile` runs.
        code = "import sys; from reconciler.cli import main; sys.argv[0] = 'reconcile'; main()"
        samples: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n, _ in codes}
        for _ in range(runs):
            for name, root in codes:
                env = {**os.environ, "PYTHONPATH": str(root)}
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                # Run from the temporary directory: `-c` puts the working directory first on
                # sys.path, which would shadow PYTHONPATH's checkout with this one.
                subprocess.run(
                    [sys.executable, "-c", code, *argv],
                    env=env,
                    capture_output=True,
                    check=False,
                    cwd=tmp,
                )
                wall = time.perf_counter() - start
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                samples[name][0].append(wall)
                samples[name][1].append(cpu)
        print(f"load average {os.getloadavg()[0]:.2f}; {runs} runs each, alternating\n")
        print("| code | wall median s (spread) | CPU median s (spread) |")
        print("|---|---:|---:|")
        for name, (walls, cpus) in samples.items():
            print(
                f"| {name} | {median(walls):.3f} ({spread(walls)}) | "
                f"{median(cpus):.3f} ({spread(cpus)}) |"
            )
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code, *argv],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp,
        )
    print("\nheaviest top-level imports of one run (cumulative ms, `-X importtime`):")
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative, name = line.split("|")
        if name.startswith(("  ", " ")) and not name.startswith("   "):
            rows.append((int(cumulative), name.strip()))
    for micros, name in sorted(rows, reverse=True)[:8]:
        print(f"  {micros / 1000:7.1f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="5k,20k,50k")
    parser.add_argument("--quick", action="store_true", help="5k and 20k, one run each")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout (A/B)")
    parser.add_argument("--profile", choices=sorted(SIZES), default=None)
    parser.add_argument("--startup", type=int, default=0, metavar="N")
    parser.add_argument("--child", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--scratch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.scratch)
        return
    if args.profile:
        profile(args.profile)
        return
    if args.startup:
        startup(args.startup, args.baseline)
        return
    sizes = ["5k", "20k"] if args.quick else args.sizes.split(",")
    runs = 1 if args.quick else args.runs
    load = os.getloadavg()[0]
    print(
        f"`{' '.join(['.venv/bin/python', 'bench/bench_plan.py', *sys.argv[1:]])}` — "
        f"{runs} run(s) per row, medians; {os.cpu_count()} cores, load average {load:.2f} "
        f"at start; Python {sys.version.split()[0]}; {time.strftime('%Y-%m-%d')}\n"
    )
    print(
        "| code | size (resources) | load s | plan s | render s | save s | total s (spread) "
        "| peak RSS MiB | changes / unchanged | JSON / file MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows: dict[tuple[str, str, bool], dict[str, float]] = {}
    codes = [("this", ROOT)]
    if args.baseline is not None:
        codes.append(("baseline", args.baseline.resolve()))
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-spec-") as tmp:
        for size in sizes:
            spec_dir = Path(tmp) / size
            spec_dir.mkdir()
            generate(spec_dir, size)
            for scratch in (False, True):
                if scratch and size != "20k":
                    continue
                label_of = {}
                results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in codes}
                for _ in range(runs):
                    for name, code_root in codes:  # interleaved: A, B, A, B, ...
                        if name == "baseline" and size == "50k":
                            continue  # minutes per run before the indexes
                        results[name].append(run_child(code_root, spec_dir, scratch=scratch))
                for name, _ in codes:
                    if not results[name]:
                        continue
                    label_of[name] = f"{name}{' (from scratch)' if scratch else ''}"
                    rows[(name, size, scratch)] = report(label_of[name], size, results[name])
    print()
    verdicts(rows, sizes)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def verdicts(rows: dict[tuple[str, str, bool], dict[str, float]], sizes: list[str]) -> None:
    def get(size: str, scratch: bool = False) -> dict[str, float] | None:
        return rows.get(("this", size, scratch))

    checks: list[tuple[str, str, bool]] = []
    five, twenty, fifty = get("5k"), get("20k"), get("50k")
    if five and twenty:
        ratio = twenty["total"] / five["total"]
        checks.append((f"20k/5k total ratio ≤ {TARGET_RATIO_20K_5K}", f"{ratio:.2f}", ratio <= 4.4))
    scratch = get("20k", True)
    if scratch:
        value = scratch["plan"]
        checks.append(
            (
                f"from-scratch plan at 20k ≤ {TARGET_SCRATCH_20K_S:.0f} s",
                f"{value:.2f} s",
                value <= 5,
            )
        )
    if fifty:
        checks.append(
            (
                f"plan at 50k (all phases) ≤ {TARGET_PLAN_50K_S:.0f} s",
                f"{fifty['total']:.2f} s",
                fifty["total"] <= TARGET_PLAN_50K_S,
            )
        )
        checks.append(
            (
                f"peak RSS at 50k ≤ {TARGET_RSS_50K_MIB:.0f} MiB",
                f"{fifty['rss']:.0f} MiB",
                fifty["rss"] <= TARGET_RSS_50K_MIB,
            )
        )
        if five:
            slope = math.log(fifty["total"] / five["total"]) / math.log(total("50k") / total("5k"))
            checks.append((f"growth slope 5k→50k ≤ {TARGET_SLOPE}", f"{slope:.3f}", slope <= 1.05))
    print("| target | median | verdict |")
    print("|---|---:|---|")
    for name, value, ok in checks:
        print(f"| {name} | {value} | {'met' if ok else 'MISSED'} |")


if __name__ == "__main__":
    main()
