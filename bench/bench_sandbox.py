"""Sandbox overhead per request: direct, in-process through the real SDK, and over HTTPS.

Run from the repository root::

    .venv/bin/python bench/bench_sandbox.py            # N=300 per case
    .venv/bin/python bench/bench_sandbox.py --n 1000 --write-readme

Three ways of sending the same two requests to one seeded world (throttling off, no
injected latency):

* ``handle``    — `Sandbox.handle` called directly: the emulator's own cost (routing,
                  one SQLite transaction, rendering JSON);
* ``in-process``— the real `azure-mgmt-*` client on the in-process httpx transport
                  (`sandbox_client_kwargs`): what fast tests and the CLI's sandbox mode pay;
* ``https``     — the real client on its default `requests` transport against
                  `reconcile sandbox serve` in a thread (keep-alive, TLS on loopback).

Requests: ``gallery GET`` (`galleries.get`) and ``pool list`` (`pool.list_by_batch_account`
over 5 pools, one page). Later benchmarks subtract these per-request figures to get the
product's own cost. ``--write-readme`` replaces the table in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from azure.mgmt.batch import BatchManagementClient  # noqa: E402
from azure.mgmt.compute import ComputeManagementClient  # noqa: E402

from reconciler.azure.credentials import StaticTokenCredential  # noqa: E402
from reconciler.sandbox.app import Sandbox, SandboxRequest  # noqa: E402
from reconciler.sandbox.config import SandboxConfig, ThrottleConfig  # noqa: E402
from reconciler.sandbox.seed import load_seed  # noqa: E402
from reconciler.sandbox.server import start_in_thread  # noqa: E402
from reconciler.wiring import sandbox_client_kwargs  # noqa: E402

SUB = "00000000-0000-0000-0000-000000000001"
IMAGES_RG, BATCH_RG, ACCOUNT = "rg-images", "rg-batch", "batchprodweu"
GALLERY = "benchgallery"
POOLS = 5
ARM = "https://management.azure.com"
CONFIG = SandboxConfig(speed=1_000_000, throttle=ThrottleConfig(enabled=False))
README = ROOT / "bench" / "README.md"
START, END = "<!-- sandbox-overhead:start -->", "<!-- sandbox-overhead:end -->"


def _pool_body() -> dict:
    return {
        "properties": {
            "vmSize": "Standard_D4ds_v5",
            "deploymentConfiguration": {
                "virtualMachineConfiguration": {
                    "imageReference": {
                        "publisher": "canonical",
                        "offer": "ubuntu-24_04-lts",
                        "sku": "server",
                        "version": "latest",
                    },
                    "nodeAgentSkuId": "batch.node.ubuntu 24.04",
                }
            },
            "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}},
        }
    }


def _measure(call: Callable[[], object], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(n: int, warmup: int) -> list[tuple[str, str, float, float, float]]:
    rows: list[tuple[str, str, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        state = Path(tmp) / "world.sqlite"
        sandbox = Sandbox(state, config=CONFIG)
        sandbox.seed(load_seed())
        kwargs = sandbox_client_kwargs(sandbox)
        compute = ComputeManagementClient(subscription_id=SUB, **kwargs)
        batch = BatchManagementClient(subscription_id=SUB, **sandbox_client_kwargs(sandbox))
        compute.galleries.begin_create_or_update(
            IMAGES_RG, GALLERY, {"location": "westeurope"}
        ).result()
        for index in range(POOLS):
            batch.pool.create(BATCH_RG, ACCOUNT, f"benchpool{index}", _pool_body())

        gallery_url = (
            f"{ARM}/subscriptions/{SUB}/resourceGroups/{IMAGES_RG}/providers/Microsoft.Compute"
            f"/galleries/{GALLERY}?api-version=2026-03-03"
        )
        pools_url = (
            f"{ARM}/subscriptions/{SUB}/resourceGroups/{BATCH_RG}/providers/Microsoft.Batch"
            f"/batchAccounts/{ACCOUNT}/pools?api-version=2025-06-01"
        )
        auth = {"Authorization": "Bearer bench"}

        def handle(url: str) -> Callable[[], object]:
            request = SandboxRequest("GET", url, auth, b"")
            answer = sandbox.handle(request)
            assert answer.status == 200, (url, answer.status, answer.body[:200])
            return lambda: sandbox.handle(request)

        server = start_in_thread(state_path=state, sandbox=sandbox)
        try:
            https = {
                "credential": StaticTokenCredential(),
                "base_url": server.url,
                "connection_verify": str(server.ca_path),
                "polling_interval": 0,
            }
            compute_https = ComputeManagementClient(subscription_id=SUB, **https)
            batch_https = BatchManagementClient(subscription_id=SUB, **https)
            cases = [
                ("gallery GET", "handle", handle(gallery_url)),
                ("gallery GET", "in-process", lambda: compute.galleries.get(IMAGES_RG, GALLERY)),
                ("gallery GET", "https", lambda: compute_https.galleries.get(IMAGES_RG, GALLERY)),
                ("pool list", "handle", handle(pools_url)),
                (
                    "pool list",
                    "in-process",
                    lambda: list(batch.pool.list_by_batch_account(BATCH_RG, ACCOUNT)),
                ),
                (
                    "pool list",
                    "https",
                    lambda: list(batch_https.pool.list_by_batch_account(BATCH_RG, ACCOUNT)),
                ),
            ]
            assert len(cases[4][2]()) == POOLS  # type: ignore[arg-type]
            for request, path, call in cases:
                samples = _measure(call, n, warmup)
                rows.append(
                    (
                        request,
                        path,
                        statistics.median(samples),
                        _p95(samples),
                        statistics.fmean(samples),
                    )
                )
        finally:
            server.stop()
            sandbox.close()
    return rows


def table(rows: list[tuple[str, str, float, float, float]]) -> str:
    lines = [
        "| request | path | median ms | p95 ms | mean ms |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [f"| {r} | {p} | {m:.2f} | {q:.2f} | {a:.2f} |" for r, p, m, q, a in rows]
    return "\n".join(lines)


def _write_readme(text: str) -> None:
    content = README.read_text(encoding="utf-8")
    if START not in content or END not in content:
        raise SystemExit(f"{README} lacks the {START} ... {END} markers")
    head, rest = content.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="measured requests per case")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests first")
    parser.add_argument(
        "--write-readme", action="store_true", help="record the table in bench/README.md"
    )
    args = parser.parse_args(argv)
    rows = run(args.n, args.warmup)
    command = "`.venv/bin/python bench/bench_sandbox.py" + (
        f" --n {args.n}`" if args.n != 300 else "`"
    )
    body = table(rows)
    stamp = (
        f"{command} — N={args.n} per case after {args.warmup} warm-up requests; "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}."
    )
    print(body)
    print()
    print(stamp)
    if args.write_readme:
        _write_readme(f"{stamp}\n\n{body}")


if __name__ == "__main__":
    main()
