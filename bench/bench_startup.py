"""Start-up of `reconcile plan` on the minimal spec: wall, CPU and the share spent importing.

Run from the repository root::

    .venv/bin/python bench/bench_startup.py                 # 15 runs
    .venv/bin/python bench/bench_startup.py --runs 25 --write-readme

Times the real command, ``reconcile plan specs/minimal --sandbox W`` (the console script
installed beside this interpreter), against a fresh world made by ``reconcile sandbox
init``, N times, and reports the median and spread of wall time and of CPU time (user +
system of the child). Then it runs the same command ``--importtime-runs`` more times under
``python -X importtime`` and reports how much of each run went to imports (the sum of the
top-level imports' cumulative times over that run's wall time) and which packages cost
most (each module's own import time, summed per package; medians over those runs).

The package's modules are byte-compiled first and the child may write bytecode, as an
installed package would be: with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__``,
every run would compile the project's sources again (~0.1 s) and measure that instead.
Target (issue: scale, start-up): a median wall time ≤ 0.4 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "bench" / "README.md"
START, END = "<!-- startup:start -->", "<!-- startup:end -->"
TARGET_S = 0.4

# `python -X importtime` lines: "import time: <self us> | <cumulative us> | <indent><name>".
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def package_of(module: str) -> str:
    """The package an import's cost is charged to: `azure.mgmt.compute`, `reconciler.spec`,
    `pydantic` (with pydantic_core), or the top-level name."""
    parts = module.split(".")
    if parts[0] == "azure":
        return ".".join(parts[:3]) if parts[1:2] == ["mgmt"] else ".".join(parts[:2])
    if parts[0] == "reconciler":
        return ".".join(parts[:2])
    if parts[0] in ("pydantic_core", "annotated_types", "typing_inspection"):
        return "pydantic"
    return parts[0]


def parse_importtime(stderr: str) -> tuple[float, dict[str, float]]:
    """Seconds spent in top-level imports, and each package's own import seconds."""
    total = 0.0
    per_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        own, cumulative, indent, name = match.groups()
        per_package[package_of(name)] += int(own) / 1e6
        if len(indent) == 1:  # a top-level import: its cumulative time covers its children
            total += int(cumulative) / 1e6
    return total, dict(per_package)


def command(world: Path) -> list[str]:
    """The console script beside this interpreter, else the same entry point via ``-c``."""
    script = Path(sys.executable).parent / "reconcile"
    args = ["plan", str(ROOT / "specs" / "minimal"), "--sandbox", str(world)]
    if script.exists():
        return [str(script), *args]
    code = "import sys; from reconciler.cli import main; sys.argv[0] = 'reconcile'; main()"
    return [sys.executable, "-c", code, *args]


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stderr of one run of `argv`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):  # plan exits 2 with --detailed-exitcode only
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stderr


def spread(values: list[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}"


def measure(runs: int, importtime_runs: int) -> str:
    """Run the benchmark and return its report (Markdown)."""
    compileall.compile_dir(str(ROOT / "reconciler"), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-startup-") as tmp:
        cwd = Path(tmp)
        world = cwd / "w.sqlite"
        init = [sys.executable, "-m", "reconciler.cli", "sandbox", "init", "--sandbox", str(world)]
        subprocess.run(init, env=env, cwd=cwd, check=True, capture_output=True)
        argv = command(world)
        run_once(argv, env, cwd)  # warm-up: the OS's file cache, any bytecode left to write
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu, _ = run_once(argv, env, cwd)
            walls.append(wall)
            cpus.append(cpu)
        shares, import_s, packages = [], [], defaultdict(list)
        traced = [sys.executable, "-X", "importtime", *argv]
        if Path(argv[0]).name == "reconcile":  # the console script is a Python file: run it
            traced = [sys.executable, "-X", "importtime", argv[0], *argv[1:]]
        for _ in range(importtime_runs):
            wall, _, stderr = run_once(traced, env, cwd)
            total, per_package = parse_importtime(stderr)
            shares.append(total / wall)
            import_s.append(total)
            for name, seconds in per_package.items():
                packages[name].append(seconds)
    wall_median = statistics.median(walls)
    verdict = "met" if wall_median <= TARGET_S else "not met"
    shown = " ".join(["reconcile", *argv[1:]]).replace(str(ROOT) + os.sep, "").replace(tmp, "$TMP")
    lines = [
        f"`{shown}` — {runs} runs after one warm-up; Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}, {date.today().isoformat()}.",
        "",
        "| figure | median | spread |",
        "|---|---:|---:|",
        f"| wall s | {wall_median:.3f} | {spread(walls)} |",
        f"| CPU s (user + system) | {statistics.median(cpus):.3f} | {spread(cpus)} |",
        f"| imports s (`-X importtime`, {importtime_runs} runs) | "
        f"{statistics.median(import_s):.3f} | {spread(import_s)} |",
        f"| import share of wall | {statistics.median(shares):.0%} | "
        f"{min(shares):.0%}–{max(shares):.0%} |",
        "",
        f"Target ≤ {TARGET_S} s wall (median): **{verdict}**.",
        "",
        "Own import time per package (median ms under `-X importtime`, heaviest first):",
        "",
        "| package | ms |",
        "|---|---:|",
    ]
    ranked = sorted(packages.items(), key=lambda kv: -statistics.median(kv[1]))
    for name, values in ranked[:16]:
        lines.append(f"| `{name}` | {statistics.median(values) * 1000:.0f} |")
    rest = sum(statistics.median(v) for _, v in ranked[16:])
    lines.append(f"| everything else ({len(ranked) - 16} packages) | {rest * 1000:.0f} |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    """Replace the start-up section of bench/README.md between its markers."""
    body = README.read_text()
    head, _, rest = body.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"markers {START} … {END} not found in {README}")
    README.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--importtime-runs", type=int, default=5)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    report = measure(args.runs, args.importtime_runs)
    print(report)
    if args.write_readme:
        write_readme(report)


if __name__ == "__main__":
    main()
