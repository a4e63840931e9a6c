"""Interrupt benchmark: how often does one more apply finish a randomly killed one?

Each trial applies ``specs/production`` to a fresh sandbox world in a real
`reconcile apply` subprocess, sends it a signal (SIGKILL by default) after a random delay
drawn uniformly from the apply's span, applies once more in-process, and checks the
world's true state with the same `problems` check as the end-to-end test
(`tests/e2e/test_interrupted_apply_e2e.py`): pools `Steady` at their targets, versions
`Succeeded` and `Completed` in every target region, the next plan empty, no duplicates.
Prints one line per trial and the figure ``converged N/N``.

Run: ``.venv/bin/python bench/bench_interrupt.py --trials 40`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from reconciler.cli import cli  # noqa: E402
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig  # noqa: E402
from tests.e2e.test_interrupted_apply_e2e import (  # noqa: E402
    PRODUCTION,
    SECRETS,
    SPEED,
    problems,
    start_apply,
)
from tests.support.worlds import seeded_world  # noqa: E402


def trial(base: Path, sig: signal.Signals, delay: float) -> tuple[str, list[str]]:
    path = base / "world.sqlite"
    seeded_world(path, SandboxConfig(speed=SPEED))
    proc = start_apply(path, base)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(sig)
        what = "interrupted"
    else:
        what = "finished first"
    proc.wait(timeout=120)
    result = CliRunner().invoke(
        cli,
        [
            *("apply", str(PRODUCTION), "--sandbox", str(path), "--auto-approve"),
            *("--state-dir", str(base)),
        ],
        env=SECRETS,
    )
    found = problems(path)
    if result.exit_code != 0:
        found.append(f"second apply exited {result.exit_code}")
    return what, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--signal", default="SIGKILL", choices=["SIGKILL", "SIGTERM", "SIGINT"])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--span",
        type=float,
        default=5.0,
        help="seconds a full apply takes here (delays are drawn from [0.3, span])",
    )
    args = parser.parse_args()
    for name in (ENV_CONFIG, "RECONCILE_SANDBOX"):
        os.environ.pop(name, None)
    os.environ.update(SECRETS)
    rng = random.Random(args.seed)
    sig = signal.Signals[args.signal]
    converged = interrupted = 0
    for n in range(1, args.trials + 1):
        delay = rng.uniform(0.3, args.span)
        with tempfile.TemporaryDirectory() as tmp:
            what, found = trial(Path(tmp), sig, delay)
        interrupted += what == "interrupted"
        converged += not found
        status = "converged" if not found else "NOT converged: " + "; ".join(found[:3])
        print(f"trial {n:3d}  {args.signal} after {delay:4.2f}s ({what}): {status}", flush=True)
    print(
        f"converged {converged}/{args.trials} ({interrupted} interrupted mid-apply, "
        f"{args.trials - interrupted} finished before the signal)"
    )


if __name__ == "__main__":
    main()
