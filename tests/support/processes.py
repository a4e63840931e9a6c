"""`reconcile apply` as a real process, to be signalled (SIGKILL, SIGTERM) at a journal-timed point.

The end-to-end tests of interrupted applies start apply in a subprocess against a sandbox
world, watch its journal, and send a signal once the journal shows the point they aim at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from reconciler.apply import state_for_sandbox
from reconciler.sandbox.config import ENV_CONFIG
from tests.support.worlds import journal_records

ROOT = Path(__file__).resolve().parents[2]


def start_apply(
    spec: Path,
    world: Path,
    state_dir: Path,
    *,
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`reconcile apply SPEC --auto-approve` on sandbox `world`, in a subprocess (to signal).

    The world's stored sandbox config (its speed) applies: any config from the environment
    is dropped.
    """
    full_env = {**os.environ, **(env or {})}
    full_env.pop(ENV_CONFIG, None)
    command = [sys.executable, "-m", "reconciler.cli", "apply", str(spec)]
    command += ["--sandbox", str(world), "--auto-approve", "--state-dir", str(state_dir)]
    command += list(options)
    return subprocess.Popen(
        command, cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def interrupt_when(
    proc: subprocess.Popen[bytes],
    world: Path,
    state_dir: Path,
    reached: Callable[[list[dict[str, Any]]], bool],
    sig: signal.Signals,
    *,
    delay: float = 0.0,
    timeout: float = 120.0,
) -> str:
    """Send `sig` to `proc` `delay` s after its journal first satisfies `reached`.

    Returns what happened ("exit N", or "finished before the signal"); the process is
    always gone when this returns.
    """
    journal = state_for_sandbox(world, state_dir=state_dir).journal
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if reached(journal_records(journal)):
                time.sleep(delay)
                break
            time.sleep(0.01)
        if proc.poll() is not None:
            return "finished before the signal"
        proc.send_signal(sig)
        proc.wait(timeout=60)
        return f"exit {proc.returncode}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
