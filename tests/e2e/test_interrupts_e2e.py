"""Stopping, locking and ghost worlds, shown on real `reconcile` processes and a sandbox file.

Each test runs the CLI as a separate process (`python -m reconciler.cli`), sends it real
signals or races it against another real process, then checks what matters: its output,
its exit status, its journal and — through the sandbox — the world's true state.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import state_for_sandbox
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig
from reconciler.spec import load_spec
from reconciler.spec.resolved import FixedScale
from tests.support.worlds import journal_records, seeded_world

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
SECRETS = {"RENDER_LICENSE_KEY": "e2e-license"}  # production's start task references it
SLOW = 600.0  # simulated seconds per real second: a version replicates in ~5 s
FAST = 20000.0


def set_speed(path: Path, speed: float) -> None:
    """Let simulated time run faster from now on (the world's clock is rebased, not reset)."""
    sandbox = Sandbox(path)
    sandbox.save_config(SandboxConfig(speed=speed))
    sandbox.close()


def env() -> dict[str, str]:
    out = {**os.environ, **SECRETS}
    for name in (ENV_CONFIG, "RECONCILE_SANDBOX", "GITHUB_STEP_SUMMARY"):
        out.pop(name, None)
    return out


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler.cli", *args]


class Running:
    """A `reconcile` process whose stderr lines are collected with the time they arrived."""

    def __init__(self, args: list[str], *, cwd: Path) -> None:
        self.process = subprocess.Popen(
            command(*args),
            cwd=cwd,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[tuple[float, str]] = []
        self.out: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.process.stderr, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stdout, False), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _pump(self, stream: Any, is_err: bool) -> None:
        for line in stream:
            if is_err:
                self.err.append((time.monotonic(), line))
            else:
                self.out.append(line)

    def wait(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=10)
        return code

    def stderr(self) -> str:
        return "".join(line for _, line in self.err)

    def stdout(self) -> str:
        return "".join(self.out)

    def first_err(self, text: str) -> float | None:
        return next((at for at, line in self.err if text in line), None)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait()


def wait_for(predicate: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def versions_in_flight(journal: Path) -> list[str]:
    recs = journal_records(journal)
    ended = {r["id"] for r in recs if r["event"] in ("done", "failed", "stopped")}
    return [
        r["address"]
        for r in recs
        if r["event"] == "start" and r["address"].startswith("version:") and r["id"] not in ended
    ]


def assert_converged(world: Path) -> None:
    """The world's truth, read from the sandbox: every declared pool steady at its declared
    node counts (an autoscale pool at whatever its formula gives), every declared version
    replicated."""
    spec = load_spec([str(SPECS / "production")]).spec
    assert spec is not None
    sandbox = Sandbox(world)
    try:
        items = {str(i.get("id", "")).lower(): i for i in sandbox.resources()}
    finally:
        sandbox.close()
    for pool in spec.pools.values():
        live = items.get(pool.id.lower())
        assert live is not None, f"{pool.address} was never created"
        p = live["properties"]
        assert p["allocationState"] == "Steady", pool.address
        if not isinstance(pool.scale, FixedScale):
            continue
        assert p["currentDedicatedNodes"] == pool.scale.dedicated, pool.address
        assert p["currentLowPriorityNodes"] == pool.scale.low_priority, pool.address
    for version in spec.versions.values():
        live = items.get(version.id.lower())
        assert live is not None, f"{version.address} was never created"
        assert live["properties"]["provisioningState"] == "Succeeded", version.address


def apply_args(world: Path | str, *extra: str) -> list[str]:
    return ["apply", str(SPECS / "production"), "--sandbox", str(world), "--auto-approve", *extra]


@pytest.fixture
def slow_world(tmp_path: Path) -> Iterator[Path]:
    yield seeded_world(tmp_path / "w.sqlite", SandboxConfig(speed=SLOW))


# -- interrupts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_first_signal_lets_running_changes_finish_and_starts_nothing_new(
    slow_world: Path, sig: signal.Signals, code: int
) -> None:
    """One SIGTERM / SIGINT mid-apply: said at once, running versions finish, no pool starts, 143 / 130."""
    journal = state_for_sandbox(slow_world).journal
    run = Running(apply_args(slow_world), cwd=slow_world.parent)
    try:
        wait_for(lambda: versions_in_flight(journal), what="a version replicating")
        sent = time.monotonic()
        run.process.send_signal(sig)
        wait_for(lambda: run.first_err("Stopping (") is not None, timeout=10, what="the notice")
        # Said at once: the replicating versions still had seconds to go.
        assert run.process.poll() is None, "the notice came only when apply had ended"
        assert (run.first_err("Stopping (") or 0) - sent < 3.0
        returncode = run.wait()
    finally:
        run.kill()
    err = run.stderr()
    assert returncode == code, err + run.stdout()
    assert f"Stopping ({sig.name}): no new change will start; " in err
    assert "still running will finish first:" in err
    running = [line for line in err.splitlines() if line.startswith("  version:imagegallery/")]
    assert running, err  # what is still running ...
    assert all("(running " in line and " more)" in line for line in running)  # ... how long
    recs = journal_records(journal)
    end = recs[-1]
    assert end["event"] == "apply-end" and end["interrupted"] is True
    assert end["stopped_by"] == sig.name
    started = [r["address"] for r in recs if r["event"] == "start"]
    finished = {r["address"] for r in recs if r["event"] == "done"}
    assert set(started) == finished, "a running change did not finish"
    assert not [a for a in started if a.startswith("pool:")], "a pool started after the stop"
    not_started = [r["address"] for r in recs if r["event"] == "skipped"]
    assert "pool:batchprodweu/render" in not_started
    out = run.stdout()
    assert f"Apply stopped by {sig.name}: " in out and " not started" in out

    # The world's truth: a later apply finishes the job.
    set_speed(slow_world, FAST)
    again = subprocess.run(
        command(*apply_args(slow_world)), env=env(), capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"was stopped by {sig.name}" in again.stderr
    assert_converged(slow_world)


def test_a_second_signal_stops_waiting_on_azure_and_the_next_apply_converges(
    slow_world: Path,
) -> None:
    """SIGINT twice: apply stops waiting at once (exit 130), journals what it left in flight."""
    journal = state_for_sandbox(slow_world).journal
    run = Running(apply_args(slow_world), cwd=slow_world.parent)
    try:
        wait_for(lambda: versions_in_flight(journal), what="a version replicating")
        run.process.send_signal(signal.SIGINT)
        wait_for(lambda: run.first_err("Stopping (") is not None, timeout=10, what="the notice")
        sent = time.monotonic()
        run.process.send_signal(signal.SIGINT)
        returncode = run.wait()
        took = time.monotonic() - sent
    finally:
        run.kill()
    assert returncode == 130, run.stderr() + run.stdout()
    assert took < 4.0, f"the second signal took {took:.1f}s to end the apply"
    assert "Stopping now (SIGINT again): no longer waiting on Azure" in run.stderr(), run.stderr()
    recs = journal_records(journal)
    stopped = [r["address"] for r in recs if r["event"] == "stopped"]
    # What was left waiting on Azure: every change started and not finished, versions among
    # them (other image definitions may still be in flight when the first version is).
    started = {r["address"] for r in recs if r["event"] == "start"}
    finished = {r["address"] for r in recs if r["event"] in ("done", "failed")}
    assert stopped and set(stopped) == started - finished, (stopped, started, finished)
    assert any(a.startswith("version:") for a in stopped), stopped
    assert recs[-1]["event"] == "apply-end" and recs[-1]["interrupted"] is True, recs[-1]
    assert "stopped waiting (Azure carries on)" in run.stdout(), run.stdout()

    set_speed(slow_world, FAST)
    again = subprocess.run(
        command(*apply_args(slow_world)), env=env(), capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "was stopped by SIGINT" in again.stderr, again.stderr
    # The note lists what was left in flight in journal order; a definition may come first.
    in_flight = again.stderr.split("; in flight: ", 1)[1].split(". Re-planning", 1)[0].split(", ")
    assert set(in_flight) == set(stopped), again.stderr
    assert_converged(slow_world)
    plan = subprocess.run(
        command("plan", str(SPECS / "production"), "--sandbox", str(slow_world),
                "--detailed-exitcode"),
        env=env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stdout + plan.stderr


@pytest.mark.parametrize("verb", ["plan", "drift"])
def test_ctrl_c_during_a_read_only_command_exits_130_without_a_traceback(
    tmp_path: Path, verb: str
) -> None:
    """SIGINT while plan or drift reads Azure ends it at once with 130 and one line, as apply does."""
    world = seeded_world(tmp_path / "w.sqlite", SandboxConfig(latency=5.0))
    run = Running([verb, str(SPECS / "production"), "--sandbox", str(world)], cwd=tmp_path)
    try:
        time.sleep(2.0)  # start-up, then into the first reads (each answered after 5 s)
        assert run.process.poll() is None, "it ended before the signal: " + run.stderr()
        sent = time.monotonic()
        run.process.send_signal(signal.SIGINT)
        returncode = run.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        run.kill()
    assert returncode == 130, run.stderr()
    # At once: the reads in flight would have taken 5 s more.
    assert took < 3.0, f"{verb} took {took:.1f}s to end after SIGINT"
    assert run.stderr().strip().endswith("Stopped by SIGINT."), run.stderr()
    assert "Traceback" not in run.stderr() and "Aborted" not in run.stderr(), run.stderr()


# -- one lock per target ----------------------------------------------------------------------


def test_the_lock_holds_across_spellings_symlinks_and_state_dirs(tmp_path: Path) -> None:
    """While one apply runs, relative, absolute and symlinked paths and another --state-dir are refused."""
    # it must outlast four refusals
    slow_world = seeded_world(tmp_path / "w.sqlite", SandboxConfig(speed=60.0))
    link = tmp_path / "link.sqlite"
    link.symlink_to(slow_world)
    other_dir = tmp_path / "elsewhere"
    journal = state_for_sandbox(slow_world).journal
    holder = Running(apply_args("w.sqlite"), cwd=tmp_path)
    try:
        wait_for(lambda: versions_in_flight(journal), what="the first apply to be running")
        spellings = {
            "absolute": apply_args(slow_world),
            "symlink": apply_args(link),
            "state-dir": apply_args(slow_world, "--state-dir", str(other_dir)),
            "relative from elsewhere": apply_args(Path("..") / slow_world.name),
        }
        for name, args in spellings.items():
            cwd = other_dir if name.startswith("relative") else tmp_path
            cwd.mkdir(exist_ok=True)
            second = subprocess.run(
                command(*args), cwd=cwd, env=env(), capture_output=True, text=True, timeout=60
            )
            assert second.returncode == 1, (name, second.stdout, second.stderr)
            assert "error: another apply holds the lock since" in second.stderr, name
            assert f"pid {holder.process.pid}" in second.stderr, name
        assert holder.process.poll() is None
        assert not list(other_dir.glob("journal-*")), "a refused apply wrote a journal"
    finally:
        holder.kill()
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob("*.jsonl"))


def test_lock_timeout_waits_for_the_holder_then_succeeds_or_gives_up(tmp_path: Path) -> None:
    """--lock-timeout 0.5s gives up naming the holder; 30s waits until the holder exits, then applies."""
    world = seeded_world(tmp_path / "w.sqlite", SandboxConfig(speed=FAST))
    (lock,) = state_for_sandbox(world).locks
    script = (
        "import time\n"
        "from reconciler.apply import ApplyLock\n"
        f"lock = ApplyLock({str(lock)!r}); lock.acquire()\n"
        "print('held', flush=True); time.sleep(120)\n"
    )

    def hold() -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        return p

    minimal = ["apply", str(SPECS / "minimal"), "--sandbox", str(world), "--auto-approve"]
    holder = hold()
    try:
        refused = subprocess.run(
            command(*minimal, "--lock-timeout", "0.5s"),
            env=env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert refused.returncode == 1
        assert "waiting up to 0.5s for the lock: another apply holds the lock" in refused.stderr
        assert f"pid {holder.pid}" in refused.stderr and "(waited 0.5s)" in refused.stderr
        assert "--lock-timeout" in refused.stderr  # the hint
        waiter = Running([*minimal, "--lock-timeout", "30s"], cwd=tmp_path)
        wait_for(lambda: waiter.first_err("waiting up to 30s for the lock") is not None, 30)
        time.sleep(0.5)
        assert waiter.process.poll() is None  # still waiting, not refused
    finally:
        holder.kill()  # the holder exits: the kernel releases its lock
        holder.wait()
    assert waiter.wait() == 0, waiter.stdout() + waiter.stderr()
    assert "Apply complete: 4 change(s) done" in waiter.stdout()


@pytest.mark.parametrize("which", ["lock", "journal"])
def test_a_planted_symlink_is_refused_and_its_target_left_intact(
    tmp_path: Path, which: str
) -> None:
    """A symlink where the lock or journal lives makes apply refuse; the file it points at is untouched."""
    world = seeded_world(tmp_path / "w.sqlite", SandboxConfig(speed=FAST))
    where = state_for_sandbox(world)
    path = where.locks[0] if which == "lock" else where.journal
    victim = tmp_path / "precious.txt"
    victim.write_text("do not truncate me\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(victim)
    result = subprocess.run(
        command("apply", str(SPECS / "minimal"), "--sandbox", str(world), "--auto-approve"),
        env=env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"error: {path} is a symbolic link; apply refuses to follow it\n" in result.stderr
    assert "  hint: remove the link" in result.stderr
    assert "Traceback" not in result.stderr
    assert victim.read_text() == "do not truncate me\n"
    assert path.is_symlink()


def test_lock_and_journal_are_created_private_beside_the_world(tmp_path: Path) -> None:
    """After an apply, the lock and journal are mode 0600 in .reconcile/ beside the world; none in cwd."""
    world = seeded_world(tmp_path / "data" / "w.sqlite", SandboxConfig(speed=FAST))
    cwd = tmp_path / "checkout"
    cwd.mkdir()
    result = subprocess.run(
        command("apply", str(SPECS / "minimal"), "--sandbox", str(world), "--auto-approve"),
        cwd=cwd, env=env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(cwd.iterdir()) == []
    where = state_for_sandbox(world)
    for path in (*where.locks, where.journal):
        assert path.parent == tmp_path / "data" / ".reconcile"
        assert (path.stat().st_mode & 0o777) == 0o600, path
