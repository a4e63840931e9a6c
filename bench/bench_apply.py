"""Apply benchmark: how close does `apply` come to the critical path of its plan?

Generates a spec of many pools and image versions in several regions, applies it to a fresh
sandbox world whose operations take simulated time (`reconciler.sandbox.config.Durations`),
and reports in one run:

- the critical-path lower bound: the heaviest path through the plan's dependency graph,
  each change weighted by the simulated duration the sandbox gives it (gallery and image
  definition creates, version create + the slowest region's replication, pool allocation
  at 0.9 s per node), divided by the clock speed — no scheduler can beat it;
- the wall time of `apply_plan` with enough parallelism for the graph's width, and with
  the default parallelism (10);
- with `--sequential`, a baseline on a fresh world: one change at a time, each started after the
  previous one ended (what a script does; `apply_plan` itself never holds a slot while waiting).

Each apply journals (fsynced records) and reports a line per event, as `reconcile apply`
does, so their cost is in the wall time.

Run: ``.venv/bin/python bench/bench_apply.py`` (``--help`` for sizes and speed; ``--quick``
for one 60-pool run of each setting, under a minute).

Throttling is on: the sandbox's ARM token buckets refill in simulated time at the clock's
speed, like every duration it models, so an apply whose polls keep a simulated-time cadence
meets the throttling Azure would give it; every request is paced from the rate-limit
headers (`reconciler.azure.pacing`), and the 429s that still reach the client are counted.
Each size (default 60 and 300 pools) is applied `--runs` times, the default and the wide
parallelism interleaved (A/B) so both see the same machine load; ratios are reported as
medians with their range, beside the same ratio with the in-process sandbox's own CPU
subtracted (Azure's never competes with the product for its interpreter).

``--served`` runs the sandbox as Azure runs: in a process of its own, over loopback HTTPS
(`reconciler.sandbox.server`), reached through the SDK's default `requests` transport with
TLS, exactly as `reconcile apply` reaches Azure. The product then pays for its own HTTP and
TLS and nothing of the emulator's; the emulator's CPU runs beside it on the other core.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_read import SandboxCpu

from reconciler.apply import ApplyResult, ExecutorSettings, RetryPolicy, apply_plan
from reconciler.apply.journal import Journal
from reconciler.apply.progress import PlainProgress
from reconciler.azure import AzureOperations, Target, read_live_state
from reconciler.azure.clients import AzureClients, RequestCounter, pooled_transport
from reconciler.azure.credentials import StaticTokenCredential
from reconciler.plan import Plan, make_plan
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import Durations, SandboxConfig, ThrottleConfig
from reconciler.sandbox.seed import load_seed
from reconciler.spec import load_spec
from reconciler.state.model import Kind
from reconciler.state.scope import scope_for
from reconciler.wiring import azure_clients

SUB = "00000000-0000-0000-0000-000000000001"
SNAPSHOTS = (
    "snap-render-os-2026-10",
    "snap-render-os-2026-11",
    "snap-sim-os-2026-10",
    "snap-sim-os-2026-11",
    "snap-legacy-os-2025-12",
    "snap-minimal-os-2026-11",
)
# (Batch account, its region): both in the gallery's subscription (R9).
ACCOUNTS = (("batchprodweu", "westeurope"), ("batchprodeus", "eastus"))
EXTRA_REGION = "northeurope"  # replicated to, but no pool there: 1 replica


def generate_spec(out: Path, *, pools: int, versions: int, definitions: int = 6) -> Path:
    """Write a spec of `pools` pools on `versions` gallery versions; return its directory."""
    lines = [
        "apiVersion: reconcile/v1",
        "defaults:",
        f"  subscription: {SUB}",
        "  resourceGroup: rg-images",
        "  location: westeurope",
        "galleries:",
    ]
    per_gallery = math.ceil(definitions / 2)
    version_refs: list[tuple[str, str, str]] = []
    for g in range(2):
        lines += [f"  - name: benchgallery{g}", "    images:"]
        for d in range(g * per_gallery, min(definitions, (g + 1) * per_gallery)):
            lines += [
                f"      - name: bench-def-{d}",
                "        osType: Linux",
                "        osState: Generalized",
                "        hyperVGeneration: V2",
                f"        identifier: {{publisher: bench, offer: def{d}, sku: ubuntu-22-04}}",
                "        versions:",
            ]
            for v in range(d, versions, definitions):
                name = f"1.0.{v}"
                snapshot = SNAPSHOTS[v % len(SNAPSHOTS)]
                regions = ["westeurope", "eastus"] + ([EXTRA_REGION] if v % 3 == 0 else [])
                lines += [
                    f"          - name: {name}",
                    "            source:",
                    "              snapshots:",
                    f"                osDisk: /subscriptions/{SUB}/resourceGroups/rg-images/"
                    f"providers/Microsoft.Compute/snapshots/{snapshot}",
                    "            targetRegions:",
                    *(f"              - {{name: {r}}}" for r in regions),
                ]
                version_refs.append((f"benchgallery{g}", f"bench-def-{d}", name))
    lines += ["batchAccounts:"]
    for a, (account, region) in enumerate(ACCOUNTS):
        lines += [
            f"  - name: {account}",
            "    resourceGroup: rg-batch",
            f"    location: {region}",  # the account's real region: replicas are sized per region
            "    pools:",
        ]
        for p in range(a, pools, len(ACCOUNTS)):
            gallery, definition, version = version_refs[p % len(version_refs)]
            nodes = 20 + (p * 137) % 981  # 20..1000, spread
            lines += [
                f"      - name: bench-pool-{p:03d}",
                "        vmSize: Standard_D2s_v5",
                f"        image: {{gallery: {gallery}, definition: {definition}, version: {version}}}",
                "        nodeAgentSkuId: batch.node.ubuntu 22.04",
                f"        scale: {{fixed: {{dedicated: {nodes}}}}}",
            ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def simulated_duration(change: object, durations: Durations) -> float:
    """Simulated seconds the sandbox spends on one create (the only action in this bench)."""
    kind = change.kind  # type: ignore[attr-defined]
    after = change.after or {}  # type: ignore[attr-defined]
    if kind is Kind.GALLERY:
        return durations.gallery_create
    if kind is Kind.IMAGE:
        return durations.image_definition_create
    if kind is Kind.VERSION:
        replicas = [int(v) for k, v in after.items() if k.endswith("].replicas")] or [1]
        slowest = max(
            durations.replication_per_region
            + durations.replication_per_extra_replica * max(0, r - 1)
            for r in replicas
        )
        return durations.image_version_create + slowest
    if kind is Kind.POOL:
        nodes = int(after.get("scale.fixed.dedicated", 0)) + int(
            after.get("scale.fixed.lowPriority", 0)
        )
        # 15 min per 1,000 nodes; replicas sized by the planner keep the demand factor at 1.
        return 900.0 * nodes / 1000.0
    return 0.0


def critical_path(plan: Plan, durations: Durations) -> tuple[float, list[str]]:
    """(simulated seconds, addresses) of the heaviest dependency chain in `plan`."""
    by_id = {c.id: c for c in plan.changes}
    best: dict[str, tuple[float, list[str]]] = {}

    def finish(cid: str) -> tuple[float, list[str]]:
        if cid not in best:
            change = by_id[cid]
            before = max(
                (finish(d) for d in change.depends_on if d in by_id),
                key=lambda t: t[0],
                default=(0.0, []),
            )
            best[cid] = (
                before[0] + simulated_duration(change, durations),
                [*before[1], change.address],
            )
        return best[cid]

    return max((finish(c.id) for c in plan.changes), key=lambda t: t[0])


# The in-process sandbox's CPU, counted as bench_read counts it.
METER = SandboxCpu()


@dataclass(frozen=True)
class Run:
    label: str
    parallelism: int
    wall: float
    ok: bool
    changes: int
    sandbox_cpu: float = 0.0


def fresh_world(path: Path, config: SandboxConfig) -> Target:
    world = Sandbox(path, config=config)
    world.reset()
    world.seed(load_seed(None))
    world.close()
    return Target.for_sandbox(path, config=config)


def serve_forever(path: Path, speed: float) -> None:
    """The `--serve` child: serve the world at `path` over HTTPS until stdin closes."""
    from reconciler.sandbox.server import start_in_thread

    server = start_in_thread(state_path=path, config=sandbox_config(speed))
    print(json.dumps({"url": server.url, "ca": str(server.ca_path)}), flush=True)
    sys.stdin.read()  # the parent closes our stdin when it is done
    server.stop()


@contextlib.contextmanager
def served_clients(path: Path, speed: float, counter: RequestCounter) -> Iterator[AzureClients]:
    """Clients for the world at `path` served by a child process, as for a custom cloud."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(path), "--speed", str(speed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        where = json.loads(child.stdout.readline())
        target = Target.for_azure(endpoint=where["url"])
        clients = AzureClients(
            target,
            credential=StaticTokenCredential(),
            counter=counter,
            # As for the in-process sandbox: its simulated clock paces long-running
            # operations (Retry-After in simulated time), not the SDK's real-time default.
            client_kwargs={"transport": pooled_transport(where["ca"]), "polling_interval": 0},
        )
        with clients:
            yield clients
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(timeout=30)


def plan_and_apply(
    spec_dir: Path,
    path: Path,
    config: SandboxConfig,
    parallelism: int,
    poll: float,
    *,
    served: bool = False,
) -> tuple[Plan, Run, int]:
    """(plan, run, 429s the client saw) of one apply on a fresh world; the run carries the
    sandbox's CPU during the apply (in-process only: a served sandbox's is not ours)."""
    target = fresh_world(path, config)
    loaded = load_spec([str(spec_dir)])
    if loaded.spec is None:
        sys.exit("\n".join(d.format() for d in loaded.diagnostics))
    counter = RequestCounter()
    connect = (
        served_clients(path, config.speed, counter)
        if served
        else azure_clients(target, counter=counter)
    )
    with connect as clients:
        live = read_live_state(clients, scope_for(loaded.spec))
        plan = make_plan(loaded.spec, live, target=clients.target.describe())
        settings = ExecutorSettings(
            poll_interval=poll,
            max_poll_interval=2.0,
            progress_interval=0.5,
            retry=RetryPolicy(initial=0.05),
        )
        ops = AzureOperations(clients)
        # Writes build the generated SDK clients on first use (reads never import them):
        # a once-per-process cost, paid before the clock starts as the read's is, so the
        # ratio measures the walk and not an import no critical path could include.
        clients.compute(SUB)  # the bench's one subscription
        clients.batch(SUB)
        counter.reset()
        # What `reconcile apply` adds around the walk: its journal (fsynced records) and a
        # line of progress per event (the log CI keeps).
        journal = Journal(path.with_suffix(".journal.jsonl"))
        progress = PlainProgress(io.StringIO())
        sandbox_cpu = METER.seconds
        started = time.perf_counter()
        if parallelism == 1:
            results = list(apply_one_at_a_time(plan, ops, settings))
        else:
            results = [
                apply_plan(
                    plan,
                    ops,
                    parallelism=parallelism,
                    settings=settings,
                    journal=journal,
                    progress=progress,
                )
            ]
        wall = time.perf_counter() - started
        sandbox_cpu = METER.seconds - sandbox_cpu
    for result in results:
        for o in result.failed:
            print(f"  failed: {o.address}: {o.error}", file=sys.stderr)
    ok = all(r.ok for r in results)
    run = Run("", parallelism, wall, ok, len(plan.actionable), sandbox_cpu)
    return plan, run, counter.by_status[429]


def apply_one_at_a_time(
    plan: Plan, ops: AzureOperations, settings: ExecutorSettings
) -> Iterator[ApplyResult]:
    """The baseline a script gives: each change started only after the previous one ended.

    `apply_plan` with parallelism 1 still overlaps changes that wait on Azure (waiting frees
    the slot), so the baseline runs the plan's changes in its order, one plan each.
    """
    for change in plan.actionable:
        single = replace(plan, changes=(replace(change, depends_on=()),))
        yield apply_plan(single, ops, parallelism=1, settings=settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", default="60,300", help="comma-separated pool counts")
    parser.add_argument("--versions", type=int, default=24)
    parser.add_argument("--speed", type=float, default=800.0, help="simulated s per real s")
    parser.add_argument("--poll", type=float, default=0.05, help="shortest real poll interval")
    parser.add_argument("--runs", type=int, default=3, help="applies per size and setting")
    parser.add_argument("--sequential", action="store_true", help="add the one-at-a-time run")
    parser.add_argument("--quick", action="store_true", help="60 pools, one run each")
    parser.add_argument(
        "--served",
        action="store_true",
        help="the sandbox in its own process over loopback HTTPS, as Azure is reached",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the served child
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve_forever(args.serve, args.speed)
        return 0
    if args.quick:
        args.pools, args.runs = "60", 1
    with METER.installed():
        return measure(args)


def sandbox_config(speed: float) -> SandboxConfig:
    """The world's settings, the same in-process and served."""
    # poll_pacing: an in-progress LRO monitor answers when the operation ends (or after 1 s),
    # so the SDK's pollers wait without hammering the world's single SQLite lock. Buckets:
    # Azure's, in simulated time; Retry-After exact (whole seconds are ~800 simulated s).
    return SandboxConfig(
        speed=speed,
        throttle=ThrottleConfig(enabled=True, fractional_retry_after=True),
        poll_pacing=1.0,
    )


def measure(args: argparse.Namespace) -> int:
    """Print the table for `args`; 0 when every target is met."""
    config = sandbox_config(args.speed)
    settings = (("default parallelism", 10), ("parallelism ≥ graph width", 400))
    ok = True
    where = "served over loopback HTTPS by its own process" if args.served else "in-process"
    print(
        f"sandbox {where}, speed ×{args.speed:g}, ARM buckets on, "
        f"poll every {args.poll:g} s (real)"
    )
    print()
    print(
        "| pools | run | parallelism | critical path s | wall s, median (min–max) "
        "| × critical path, median (min–max) | (wall − sandbox CPU) × critical path | 429s | ok |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for pools in [int(p) for p in args.pools.split(",")]:
        with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
            base = Path(tmp)
            spec_dir = generate_spec(base / "spec", pools=pools, versions=args.versions)
            walls: dict[int, list[float]] = {p: [] for _, p in settings}
            net: dict[int, list[float]] = {p: [] for _, p in settings}
            throttled: dict[int, int] = {p: 0 for _, p in settings}
            good: dict[int, bool] = {p: True for _, p in settings}
            plan: Plan | None = None
            for run in range(args.runs):
                for _, parallelism in settings:  # interleaved: both see the same load
                    world = base / f"w{run}-{parallelism}.sqlite"
                    plan, result, t429 = plan_and_apply(
                        spec_dir, world, config, parallelism, args.poll, served=args.served
                    )
                    walls[parallelism].append(result.wall)
                    net[parallelism].append(result.wall - result.sandbox_cpu)
                    throttled[parallelism] += t429
                    good[parallelism] &= result.ok
            assert plan is not None
            bound_sim, chain = critical_path(plan, config.durations)
            bound = bound_sim / args.speed
            kinds = {k: sum(1 for c in plan.actionable if c.kind is k) for k in Kind}
            print(
                f"| {pools} | critical path: {' → '.join(chain)} "
                f"({bound_sim:,.0f} simulated s; {len(plan.actionable)} creates: "
                f"{kinds[Kind.POOL]} pools, {kinds[Kind.VERSION]} versions) | ∞ | "
                f"{bound:.2f} | | 1.00 | | | |"
            )
            for label, parallelism in settings:
                w = walls[parallelism]
                r = [x / bound for x in w]
                n = [x / bound for x in net[parallelism]]
                print(
                    f"| {pools} | {label} | {parallelism} | {bound:.2f} | "
                    f"{statistics.median(w):.2f} ({min(w):.2f}–{max(w):.2f}) | "
                    f"{statistics.median(r):.2f} ({min(r):.2f}–{max(r):.2f}) | "
                    f"{statistics.median(n):.2f} ({min(n):.2f}–{max(n):.2f}) | "
                    f"{throttled[parallelism]} | {'yes' if good[parallelism] else 'NO'} |"
                )
                ok &= good[parallelism] and throttled[parallelism] == 0
                ok &= statistics.median(r) <= 1.2
            if args.sequential:
                _, seq, t429 = plan_and_apply(
                    spec_dir, base / "seq.sqlite", config, 1, args.poll, served=args.served
                )
                print(
                    f"| {pools} | one change at a time | 1 | {bound:.2f} | {seq.wall:.2f} | "
                    f"{seq.wall / bound:.2f} | | {t429} | {'yes' if seq.ok else 'NO'} |"
                )
    print()
    print("targets met (median ≤ 1.2× the critical path, 0 429s)" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
