"""Durability and exclusion: the journal survives a crash at any point, the lock admits one apply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import (
    ApplyLock,
    ApplyLockedError,
    ExecutorSettings,
    Journal,
    apply_plan,
    state_for_azure,
    state_for_sandbox,
)
from reconciler.plan.model import Action, Change, Plan
from reconciler.state.model import Kind, LiveResource
from tests.apply.fake import FakeClock, FakeOperations, change, plan_of, pool_props, rid

FAST = ExecutorSettings(poll_interval=1.0)


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it is written or done."""


class CrashingJournal(Journal):
    """A journal whose process 'dies' while writing record number `at` (1-based)."""

    def __init__(self, path: Path, at: int, dead: list[bool]) -> None:
        super().__init__(path)
        self.at = at
        self.count = 0
        self.dead = dead

    def record(self, event: str, **fields: Any) -> None:
        if self.dead[0]:
            raise Crash
        self.count += 1
        if self.count == self.at:
            self.dead[0] = True
            raise Crash
        super().record(event, **fields)


# The desired world: a gallery, an image under it, two versions, two pools on them, and an
# old version that must go once the pools moved.
DESIRED: list[tuple[str, Kind, tuple[str, ...], Mapping[str, Any]]] = [
    ("g", Kind.GALLERY, (), {"location": "westeurope", "tags.managed-by": "reconcile"}),
    ("i", Kind.IMAGE, ("g",), {"location": "westeurope", "tags.managed-by": "reconcile"}),
    ("v1", Kind.VERSION, ("i",), {"location": "westeurope", "tags.managed-by": "reconcile"}),
    ("v2", Kind.VERSION, ("i",), {"location": "westeurope", "tags.managed-by": "reconcile"}),
    ("p1", Kind.POOL, ("v1",), pool_props(2)),
    ("p2", Kind.POOL, ("v2",), pool_props(3)),
]
OLD = ("old", Kind.VERSION)


def replan(ops: FakeOperations) -> Plan:
    """A tiny level-based planner: create what is absent, delete the old version if present."""
    changes: list[Change] = []
    present = set(ops.resources)
    for name, kind, deps, after in DESIRED:
        if rid(kind, name) in present:
            continue
        planned = {c.id for c in changes}
        changes.append(
            change(name, kind, depends_on=[d for d in deps if d in planned], after=after)
        )
    if rid(OLD[1], OLD[0]) in present:
        pools = [c.id for c in changes if c.kind is Kind.POOL]
        changes.append(change(OLD[0], OLD[1], Action.DELETE, depends_on=pools))
    return plan_of(*changes)


def world_with_old_version() -> FakeOperations:
    ops = FakeOperations()
    ops.seed(
        LiveResource(
            address="version:old",
            kind=Kind.VERSION,
            id=rid(Kind.VERSION, "old"),
            name="old",
            location="westeurope",
            properties={"tags.managed-by": "reconcile"},
            provisioning_state="Succeeded",
        )
    )
    return ops


@pytest.mark.parametrize("crash_at", range(1, 17))  # 16 records: every one
def test_an_apply_killed_at_any_record_resumes_to_convergence(
    tmp_path: Path, crash_at: int
) -> None:
    """Killed mid-way, the next apply re-plans from live state and converges with no duplicates."""
    ops = world_with_old_version()
    path = tmp_path / "journal.jsonl"
    dead = [False]

    def stop_when_dead(op: str, kw: Mapping[str, Any]) -> None:
        if dead[0]:
            raise Crash

    ops.hooks["*"].append(stop_when_dead)
    with pytest.raises(Crash):
        apply_plan(
            replan(ops),
            ops,
            parallelism=3,
            journal=CrashingJournal(path, crash_at, dead),
            sleep=FakeClock().sleep,
            settings=FAST,
        )
    ops.hooks["*"].clear()

    journal = Journal(path)
    second = replan(ops)
    result = apply_plan(
        second, ops, parallelism=3, journal=journal, sleep=FakeClock().sleep, settings=FAST
    )
    assert result.ok, result.failed

    assert {rid(k, n) for n, k, _, _ in DESIRED} == set(ops.resources)
    assert dict(ops.creates) == {rid(k, n): 1 for n, k, _, _ in DESIRED}
    assert dict(ops.deletes) == {rid(OLD[1], OLD[0]): 1}
    assert replan(ops).changes == ()  # converged: nothing left to do
    records = [json.loads(line) for line in path.read_text().splitlines()]
    starts = [r for r in records if r["event"] == "apply-start"]
    if crash_at == 1:  # died writing its first record: the journal holds only the new run
        assert len(starts) == 1 and starts[0]["resumes"] is None
    else:  # the crashed run had begun: its records are kept, and named
        assert len(starts) == 2 and starts[1]["resumes"] == starts[0]["run"]
    assert records[-1]["event"] == "apply-end"


def test_journal_begin_reports_the_interrupted_run_and_what_was_in_flight(tmp_path: Path) -> None:
    """After a crash, the next run learns which changes had started but never ended."""
    path = tmp_path / "j.jsonl"
    first = Journal(path)
    plan = plan_of(change("a"), change("b"))
    first.begin(plan)
    first.change("start", plan.changes[0])
    first.change("done", plan.changes[0])
    first.change("start", plan.changes[1])
    first.close()  # no apply-end: the process died here
    previous = Journal(path).begin(plan)
    assert previous is not None and not previous.complete
    assert previous.in_flight == ("b",)
    assert "in flight: gallery:b" in previous.describe()


def test_a_completed_journal_is_started_afresh(tmp_path: Path) -> None:
    """When the last run completed, the next run truncates the file instead of appending."""
    path = tmp_path / "j.jsonl"
    ops = FakeOperations()
    apply_plan(plan_of(change("a")), ops, journal=Journal(path), sleep=FakeClock().sleep)
    apply_plan(plan_of(change("b")), ops, journal=Journal(path), sleep=FakeClock().sleep)
    events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert events.count("apply-start") == 1 and events[-1] == "apply-end"


def test_concurrent_records_share_fsyncs_and_each_is_durable_when_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records written at once share fsyncs; none returns before an fsync that covers it."""
    import threading
    import time

    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    journal.begin(plan_of(change("a")))
    durable: list[int] = []  # lines in the file when each completed fsync began
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        lines = len(path.read_text().splitlines())
        time.sleep(0.01)
        real_fsync(fd)
        durable.append(lines)

    monkeypatch.setattr("reconciler.apply.journal.os.fsync", slow_fsync)
    late: list[str] = []
    start = threading.Barrier(20)

    def write(n: int) -> None:
        start.wait()
        journal.record("note", n=n)
        lines = path.read_text().splitlines()
        mine = next(i for i, line in enumerate(lines, 1) if json.loads(line).get("n") == n)
        if not durable or max(durable) < mine:
            late.append(f"record {n} (line {mine}) returned before an fsync covered it")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10.0)
    journal.close()
    assert late == []
    assert len(durable) < 20  # shared: fewer fsyncs than records
    assert len(path.read_text().splitlines()) == 21


def test_a_torn_last_line_is_ignored_when_reading(tmp_path: Path) -> None:
    """A record cut short by the crash does not stop the journal from being read."""
    path = tmp_path / "j.jsonl"
    path.write_text('{"run":"r","event":"apply-start"}\n{"run":"r","event":"sta')
    run = Journal.read_last_run(path)
    assert run is not None and run.run_id == "r" and not run.complete


def test_second_apply_on_the_same_target_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    """The lock names the holder's pid; once released, the next apply gets it."""
    lock_path = tmp_path / "apply.lock"
    with ApplyLock(lock_path):
        with pytest.raises(ApplyLockedError) as info:
            ApplyLock(lock_path).acquire()
        assert f"pid {os.getpid()}" in str(info.value)
        assert "another apply holds the lock since" in str(info.value)
    with ApplyLock(lock_path):
        pass


def test_a_lock_held_by_a_killed_process_is_released_by_the_kernel(tmp_path: Path) -> None:
    """Another process holding the lock blocks us; killing it frees the lock (no stale lock)."""
    lock_path = tmp_path / "apply.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from reconciler.apply import ApplyLock
                lock = ApplyLock({str(lock_path)!r}); lock.acquire()
                print("held", flush=True); time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(ApplyLockedError, match=f"pid {holder.pid}"):
            ApplyLock(lock_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with ApplyLock(lock_path):
        pass


def test_azure_state_is_keyed_by_cloud_and_subscription(tmp_path: Path) -> None:
    """Each subscription has its own lock in the user state dir; the journal may follow --state-dir."""
    env = {"XDG_STATE_HOME": str(tmp_path / "xdg")}
    one = state_for_azure("AzureCloud", ["SUB-1"], environ=env)
    both = state_for_azure("AzureCloud", ["sub-2", "sub-1"], environ=env)
    china = state_for_azure("AzureChinaCloud", ["sub-1"], environ=env)
    moved = state_for_azure("AzureCloud", ["sub-1"], state_dir=tmp_path / "elsewhere", environ=env)
    home = tmp_path / "xdg" / "reconcile"
    assert one.journal.parent == home and one.locks[0].parent == home
    assert one.locks[0] in both.locks and len(both.locks) == 2  # overlapping targets collide
    assert china.locks[0] != one.locks[0] and china.journal != one.journal
    assert moved.locks == one.locks and moved.journal.parent == tmp_path / "elsewhere"


def test_sandbox_state_is_keyed_by_the_real_path(tmp_path: Path, monkeypatch) -> None:
    """Relative, absolute and symlinked spellings of one world share lock and journal."""
    world = tmp_path / "w.sqlite"
    world.write_bytes(b"")
    (tmp_path / "link.sqlite").symlink_to(world)
    monkeypatch.chdir(tmp_path)
    spellings = [state_for_sandbox(p) for p in ("w.sqlite", world, tmp_path / "link.sqlite")]
    assert len(set(spellings)) == 1
    assert spellings[0].locks == (tmp_path / ".reconcile" / spellings[0].locks[0].name,)
    assert spellings[0].identity == f"sandbox {world}"
    moved = state_for_sandbox(world, state_dir=tmp_path / "j")
    assert moved.locks == spellings[0].locks and moved.journal.parent == tmp_path / "j"


def test_an_azure_apply_locks_per_subscription_in_the_user_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against Azure the lock is in $XDG_STATE_HOME/reconcile, keyed by subscription, whatever --state-dir says."""
    from click.testing import CliRunner

    from reconciler.cli import cli
    from reconciler.plan.snapshot import load_live_state
    from tests.golden.test_golden import HERE

    case = HERE / "grow_replicas_before_pools"
    live = load_live_state(case / "live.json")
    monkeypatch.setattr("reconciler.commands._options.read_live", lambda *a, **k: live)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("RECONCILE_SANDBOX", raising=False)
    monkeypatch.setenv("LICENSE_KEY", "x")  # the case's start task references it
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    monkeypatch.chdir(checkout)
    spec = str(case / "spec.yaml")
    where = state_for_azure("AzureCloud", ["00000000-0000-0000-0000-000000000001"])
    assert where.locks[0].parent == tmp_path / "xdg" / "reconcile"

    for extra in ([], ["--state-dir", str(tmp_path / "other")]):
        with ApplyLock(where.locks[0]):  # another checkout's apply holds the subscription
            held = CliRunner().invoke(cli, ["apply", spec, "--auto-approve", *extra])
        assert held.exit_code == 1, held.output
        assert "error: another apply holds the lock since" in held.output
        assert str(where.locks[0]) in held.output
    # Free: it gets as far as the prompt (refused without a terminal) under that lock.
    free = CliRunner().invoke(cli, ["apply", spec])
    assert free.exit_code == 1 and "refusing to prompt" in free.output
    assert list(checkout.iterdir()) == []  # nothing in the current directory
