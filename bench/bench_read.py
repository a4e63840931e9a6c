"""Benchmark: reading live state at 1k, 20k and 50k resources with ARM's throttling on.

For each estate size a sandbox world is seeded (`reconciler.sandbox.seed`, created settled
through the resource providers' own handlers) in the proportions the scale issue measured
— galleries / definitions / versions / Batch accounts / pools = 2/20/800/3/180 at 1k,
20/400/16,000/36/3,564 at 20k, 50/1,000/44,000/50/4,950 at 50k — spread over
`--subscriptions` subscriptions (each holding its share, as R9 wants pools and their images
in one subscription). Then, with an injected latency per request (default 20 ms), the
sandbox's ARM buckets on (Azure's published 250 reads refilled at 25/s, simulated time at
the speed of real time), it runs `read_live_state` `--runs` times, each from full buckets,
and reports per run and as medians:

- the HTTP calls and 429s of the read;
- the **schedule bound**: the best schedule of the estate's tree of listings on the read's
  workers, each call one round trip — the tree's depth counted once (highest-level-first
  list scheduling, optimal for unit tasks on an out-forest); and the unlimited-concurrency
  bound (depth × round trip);
- the **bucket bound**: per subscription, the calls beyond the bucket's capacity at its
  refill rate, plus one round trip; the correct bound is the larger of the two;
- the sandbox's own CPU (thread CPU inside `Sandbox.handle`: routing, SQLite, rendering,
  JSON), reported beside the wall time and subtracted from it — in-process, the emulator's
  CPU competes with the product's for one interpreter, which Azure's never does.

One round trip is measured before every read (median of single small GETs through the same
SDK stack), so each run's bound is taken side by side with its read on a machine whose load
varies. Verdicts use medians. Targets at 20k and 50k: 0 429s and wall ≤ 1.2× the correct
bound — the raw wall when the bucket bound is the larger (the sandbox's CPU then overlaps
the waiting for tokens), wall − sandbox CPU when the schedule bound is.

    .venv/bin/python bench/bench_read.py [--sizes 1k,20k,50k] [--subscriptions N | --spread]
        [--latency 0.02] [--concurrency 16] [--runs 3] [--quick]

Each estate is in one subscription by default — the case where ARM's bucket binds and
429s were measured; `--spread` spreads it as large estates often are (1 subscription at 1k,
2 at 5k, 4 at 20k, 10 at 50k), where the in-process read is CPU-bound instead.
`--quick` reads 1k and a 5k estate once each (well under a minute).
"""

from __future__ import annotations

import argparse
import heapq
import math
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.azure.clients import AzureClients, RequestCounter
from reconciler.azure.read import DEFAULT_CONCURRENCY, read_live_state
from reconciler.azure.target import Target
from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.app import SandboxRequest
from reconciler.sandbox.config import ThrottleConfig
from reconciler.state.scope import ReadScope
from reconciler.wiring import azure_clients

# (galleries, definitions, versions, accounts, pools) per estate, as measured in issue 12.
SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "1k": (2, 20, 800, 3, 180),
    "5k": (10, 100, 3900, 10, 990),
    "20k": (20, 400, 16000, 36, 3564),
    "50k": (50, 1000, 44000, 50, 4950),
}
SPREAD = {"1k": 1, "5k": 2, "20k": 4, "50k": 10}  # subscriptions for --spread
REGION = "westeurope"


def sub_id(n: int) -> str:
    return f"00000000-0000-0000-0000-{n + 0x100:012x}"


# Names are unique across the estate (addresses are built from names, as specs write them).
def gallery_name(sub: str, g: int) -> str:
    return f"gal{sub[-2:]}x{g}"


def account_name(sub: str, a: int) -> str:
    return f"batch{sub[-2:]}x{a}"


def split(total: int, parts: int) -> list[int]:
    """`total` spread as evenly as possible over `parts` (the first ones get the remainder)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@dataclass(frozen=True)
class Estate:
    """What was seeded: per subscription, its galleries → definitions → version counts and
    its accounts → pool counts."""

    subscriptions: tuple[str, ...]
    galleries: dict[str, list[list[int]]]  # sub → gallery → versions per definition
    accounts: dict[str, list[int]]  # sub → pools per account

    @property
    def resources(self) -> int:
        n = 0
        for sub in self.subscriptions:
            for gallery in self.galleries[sub]:
                n += 1 + len(gallery) + sum(gallery)
            n += sum(1 + p for p in self.accounts[sub])
        return n

    def scope(self) -> ReadScope:
        return ReadScope(
            gallery_groups=tuple((s, "rg-images") for s in self.subscriptions),
            image_groups=tuple((s, "rg-images") for s in self.subscriptions),
            batch_accounts=tuple(
                f"/subscriptions/{s}/resourceGroups/rg-batch/providers/Microsoft.Batch"
                f"/batchAccounts/{account_name(s, a)}"
                for s in self.subscriptions
                for a in range(len(self.accounts[s]))
            ),
        )


def plan_estate(size: str, subscriptions: int) -> Estate:
    galleries, definitions, versions, accounts, pools = SIZES[size]
    subs = tuple(sub_id(i) for i in range(subscriptions))
    per_sub_galleries = split(galleries, subscriptions)
    per_sub_definitions = split(definitions, subscriptions)
    per_sub_versions = split(versions, subscriptions)
    per_sub_accounts = split(accounts, subscriptions)
    per_sub_pools = split(pools, subscriptions)
    out_g: dict[str, list[list[int]]] = {}
    out_a: dict[str, list[int]] = {}
    for i, sub in enumerate(subs):
        defs = split(per_sub_definitions[i], per_sub_galleries[i])
        vers = split(per_sub_versions[i], per_sub_definitions[i])
        it = iter(vers)
        out_g[sub] = [[next(it) for _ in range(d)] for d in defs]
        out_a[sub] = split(per_sub_pools[i], per_sub_accounts[i])
    return Estate(subs, out_g, out_a)


def seed_document(estate: Estate) -> dict[str, Any]:
    """The seed that declares `estate` (explicit lists; `count` where names allow)."""
    subscriptions = []
    for sub in estate.subscriptions:
        compute = f"/subscriptions/{sub}/resourceGroups/rg-images/providers/Microsoft.Compute"
        source = f"{compute}/images/img-source"
        galleries = []
        version_ids = []
        for g, definitions in enumerate(estate.galleries[sub]):
            images = []
            for d, count in enumerate(definitions):
                images.append(
                    {
                        "name": f"def{d}",
                        "identifier": {"publisher": "bench", "offer": f"o{g}", "sku": f"d{d}"},
                        "versions": [
                            {
                                "name": "1.0.{i}",
                                "count": count,
                                "source": source,
                                "targetRegions": [{"name": REGION}],
                            }
                        ],
                    }
                )
                if count:
                    version_ids.append(
                        f"{compute}/galleries/{gallery_name(sub, g)}/images/def{d}/versions/1.0.0"
                    )
            galleries.append(
                {
                    "name": gallery_name(sub, g),
                    "tags": {"managed-by": "reconcile"},
                    "images": images,
                }
            )
        accounts = []
        for a, count in enumerate(estate.accounts[sub]):
            pools = [
                {
                    "name": f"pool{p}",
                    "image": version_ids[(a * 7 + p) % len(version_ids)],
                    "tags": {"managed-by": "reconcile"},
                }
                for p in range(count)
            ]
            accounts.append({"name": account_name(sub, a), "location": REGION, "pools": pools})
        subscriptions.append(
            {
                "id": sub,
                "displayName": f"bench-{sub[-3:]}",
                "resourceGroups": [
                    {
                        "name": "rg-images",
                        "location": REGION,
                        "snapshots": [{"name": "snap-source", "osType": "Linux"}],
                        "managedImages": [
                            {
                                "name": "img-source",
                                "osType": "Linux",
                                "hyperVGeneration": "V2",
                                "osDiskSnapshot": "snap-source",
                            }
                        ],
                        "galleries": galleries,
                    },
                    {"name": "rg-batch", "location": REGION, "batchAccounts": accounts},
                ],
            }
        )
    return {"subscriptions": subscriptions}


# -- bounds ------------------------------------------------------------------------------------


@dataclass
class Task:
    """One HTTP call of the read's tree; `children` start once it has returned."""

    sub: str
    children: list[Task]

    def level(self) -> int:
        """Calls on the longest chain from this one down (itself included)."""
        return 1 + max((c.level() for c in self.children), default=0)


def pages(items: int, page_size: int) -> int:
    return max(1, math.ceil(items / page_size))


def listing(sub: str, items: int, page_size: int, children: list[Task]) -> Task:
    """A paged list: a chain of pages, each releasing the children it holds."""
    n = pages(items, page_size)
    per = split(len(children), n)
    chain: Task | None = None
    start = len(children)
    for i in reversed(range(n)):
        start -= per[i]
        own = children[start : start + per[i]]
        chain = Task(sub, [*own, *([chain] if chain else [])])
    assert chain is not None
    return chain


def read_tree(estate: Estate, page_size: int) -> list[Task]:
    """The roots of the read's call tree (what `read_live_state` lists for `estate`)."""
    roots: list[Task] = []
    for sub in estate.subscriptions:
        gallery_tasks = []
        for definitions in estate.galleries[sub]:
            versions = [listing(sub, v, page_size, []) for v in definitions]
            gallery_tasks.append(listing(sub, len(definitions), page_size, versions))
        roots.append(listing(sub, len(gallery_tasks), page_size, gallery_tasks))
        roots.append(listing(sub, 1, page_size, []))  # managed images
        for pools in estate.accounts[sub]:
            roots.append(Task(sub, []))  # the account's GET
            roots.append(listing(sub, pools, page_size, []))
    return roots


def best_schedule(roots: list[Task], workers: int) -> int:
    """Round trips of the highest-level-first schedule on `workers` (optimal for out-forests
    of unit tasks): each step runs the `workers` ready calls with the longest chains below."""
    ready: list[tuple[int, int, Task]] = []
    counter = 0
    for task in roots:
        heapq.heappush(ready, (-task.level(), counter, task))
        counter += 1
    steps = 0
    while ready:
        running = [heapq.heappop(ready)[2] for _ in range(min(workers, len(ready)))]
        steps += 1
        for task in running:
            for child in task.children:
                heapq.heappush(ready, (-child.level(), counter, child))
                counter += 1
    return steps


def calls_by_subscription(roots: list[Task]) -> dict[str, int]:
    out: dict[str, int] = {}
    stack = list(roots)
    while stack:
        task = stack.pop()
        out[task.sub] = out.get(task.sub, 0) + 1
        stack.extend(task.children)
    return out


def bucket_bound(calls: dict[str, int], capacity: float, refill: float, rtt: float) -> float:
    """Seconds before the last call can be answered when buckets start full."""
    worst = max(calls.values(), default=0)
    return max(0.0, (worst - capacity) / refill) + rtt if worst > capacity else 0.0


# -- measurement -----------------------------------------------------------------------------


class SandboxCpu:
    """Thread CPU seconds spent inside `Sandbox.handle` (sleeps excluded), process-wide."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def installed(self) -> Iterator[SandboxCpu]:
        original = Sandbox.handle

        def handle(sandbox: Sandbox, request: SandboxRequest) -> Any:
            started = time.thread_time()
            try:
                return original(sandbox, request)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.seconds += spent

        Sandbox.handle = handle  # type: ignore[method-assign]
        try:
            yield self
        finally:
            Sandbox.handle = original  # type: ignore[method-assign]


def measure_rtt(clients: AzureClients, estate: Estate, samples: int = 15) -> float:
    """Median wall time of one small GET (a Batch account) through the full SDK stack."""
    sub = estate.subscriptions[0]
    batch = clients.batch(sub)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        batch.batch_account.get("rg-batch", account_name(sub, 0))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def refill_buckets(path: Path) -> None:
    """Start the next read from full buckets, as a read after a quiet minute would."""
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM buckets")


@dataclass(frozen=True)
class Run:
    wall: float
    calls: int
    throttled: int
    rtt: float
    sandbox_cpu: float
    process_cpu: float
    paced: float  # seconds requests waited in the pacer (summed over threads)


def bench_size(size: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    subscriptions = args.subscriptions or (SPREAD[size] if args.spread else 1)
    estate = plan_estate(size, subscriptions)
    path = workdir / f"estate-{size}.sqlite"
    measured = SandboxConfig(
        speed=1.0,
        latency=args.latency,
        throttle=ThrottleConfig(fractional_retry_after=False),
    )
    started = time.perf_counter()
    world = Sandbox(
        path, config=replace(measured, latency=0.0, throttle=ThrottleConfig(enabled=False))
    )
    world.seed(seed_document(estate))
    world.close()
    seeded = time.perf_counter() - started
    print(
        f"{size}: {estate.resources:,} resources in {subscriptions} subscription(s), "
        f"seeded in {seeded:.1f} s",
        file=sys.stderr,
    )

    roots = read_tree(estate, measured.page_size)
    depth = max(r.level() for r in roots)
    steps = best_schedule(roots, args.concurrency)
    per_sub = calls_by_subscription(roots)
    bucket = measured.throttle.reads

    runs: list[Run] = []
    meter = SandboxCpu()
    with meter.installed():
        for _ in range(args.runs):
            refill_buckets(path)
            counter = RequestCounter()
            target = Target.for_sandbox(path, config=measured)
            with azure_clients(target, counter=counter) as clients:
                clients.compute(estate.subscriptions[0])
                clients.batch(estate.subscriptions[0])
                rtt = measure_rtt(clients, estate)
                refill_buckets(path)
                counter.reset()
                cpu0, sandbox0 = time.process_time(), meter.seconds
                t0 = time.perf_counter()
                state = read_live_state(clients, estate.scope(), concurrency=args.concurrency)
                wall = time.perf_counter() - t0
                assert clients.pacing is not None
                runs.append(
                    Run(
                        wall=wall,
                        calls=counter.total,
                        throttled=counter.by_status.get(429, 0),
                        rtt=rtt,
                        sandbox_cpu=meter.seconds - sandbox0,
                        process_cpu=time.process_time() - cpu0,
                        paced=clients.pacing.waited(),
                    )
                )
            if len(state.resources) < estate.resources:
                sys.exit(f"{size}: read {len(state.resources)} of {estate.resources} resources")
    med = statistics.median
    rtt = med(r.rtt for r in runs)
    schedule = steps * rtt
    unlimited = depth * rtt
    bucket_s = bucket_bound(per_sub, bucket.capacity, bucket.refill, rtt)
    bound = max(schedule, bucket_s)
    ratios = [(r.wall - r.sandbox_cpu) / max(steps * r.rtt, bucket_s) for r in runs]
    raw = [r.wall / max(steps * r.rtt, bucket_s) for r in runs]
    return {
        "size": size,
        "resources": estate.resources,
        "subscriptions": subscriptions,
        "calls": runs[0].calls,
        "max_calls_per_sub": max(per_sub.values()),
        "throttled": sum(r.throttled for r in runs),
        "rtt": rtt,
        "depth": depth,
        "steps": steps,
        "schedule": schedule,
        "unlimited": unlimited,
        "bucket": bucket_s,
        "bound": bound,
        "wall": med(r.wall for r in runs),
        "wall_spread": (min(r.wall for r in runs), max(r.wall for r in runs)),
        "sandbox_cpu": med(r.sandbox_cpu for r in runs),
        "process_cpu": med(r.process_cpu for r in runs),
        "paced": med(r.paced for r in runs),
        "ratio": med(ratios),
        "ratio_spread": (min(ratios), max(ratios)),
        "raw_ratio": med(raw),
        "verdict_ratio": med(raw) if bucket_s >= schedule else med(ratios),
        "runs": len(runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,20k,50k")
    parser.add_argument("--subscriptions", type=int, default=0, help="default 1")
    parser.add_argument("--spread", action="store_true", help="1/2/4/10 subscriptions by size")
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1k and 5k, one run each")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "1k,5k", 1
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {sorted(SIZES)}")

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-read-") as tmp:
        for size in sizes:
            results.append(bench_size(size, args, Path(tmp)))

    print(
        f"read_live_state, latency {args.latency * 1000:.0f} ms, concurrency "
        f"{args.concurrency}, ARM read buckets 250 + 25/s per subscription; medians of "
        f"{args.runs} run(s) (min–max)"
    )
    print()
    print(
        "| estate | subs | calls (max/sub) | 429s | round trip ms | depth | schedule bound s "
        "| unlimited s | bucket bound s | wall s | sandbox CPU s | wall − sandbox CPU "
        "÷ bound | wall ÷ bound |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    for r in results:
        lo, hi = r["ratio_spread"]
        wlo, whi = r["wall_spread"]
        print(
            f"| {r['size']} ({r['resources']:,}) | {r['subscriptions']} | {r['calls']:,} "
            f"({r['max_calls_per_sub']:,}) | {r['throttled']} | {r['rtt'] * 1000:.1f} | "
            f"{r['depth']} | {r['schedule']:.2f} ({r['steps']} trips) | {r['unlimited']:.2f} | "
            f"{r['bucket']:.2f} | {r['wall']:.2f} ({wlo:.2f}–{whi:.2f}) | "
            f"{r['sandbox_cpu']:.2f} | {r['ratio']:.2f}× ({lo:.2f}–{hi:.2f}) | "
            f"{r['raw_ratio']:.2f}× |"
        )
        if r["throttled"]:
            ok = False
        if r["size"] in ("20k", "50k") and r["verdict_ratio"] > 1.2:
            ok = False
    print()
    for r in results:
        print(
            f"{r['size']}: process CPU {r['process_cpu']:.2f} s of which sandbox "
            f"{r['sandbox_cpu']:.2f} s; verdict ratio {r['verdict_ratio']:.2f}× "
            f"({'bucket' if r['bucket'] >= r['schedule'] else 'schedule'} bound)"
        )
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
