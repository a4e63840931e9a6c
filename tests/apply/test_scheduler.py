"""The graph walk: ordering, real overlap under a bound, failure isolation, refusal of cycles."""

from __future__ import annotations

import time

import pytest

from reconciler.apply import (
    ApplyRefusedError,
    ExecutorSettings,
    OutcomeStatus,
    RecordingProgress,
    RetryPolicy,
    apply_plan,
)
from reconciler.apply.scheduler import CycleError, chain_lengths, run_graph
from reconciler.errors import PermanentAzureError
from reconciler.plan.model import Action
from reconciler.state.model import Kind
from tests.apply.fake import FakeClock, FakeOperations, change, failing, plan_of, rid

FAST = ExecutorSettings(poll_interval=0.0, retry=RetryPolicy(initial=0.0, jitter=0.0))


def test_changes_start_only_after_their_dependencies_finished() -> None:
    """Every change's write starts after the writes of everything it depends on ended."""
    ops = FakeOperations(durations={"create": 0.01})
    plan = plan_of(
        change("g"),
        change("i", Kind.IMAGE, depends_on=["g"]),
        change("a", Kind.IMAGE, depends_on=["g"]),
        change("v", Kind.GALLERY, depends_on=["i", "a"]),
        change("w", Kind.GALLERY, depends_on=["v"]),
    )
    result = apply_plan(plan, ops, parallelism=4, sleep=FakeClock().sleep, settings=FAST)
    assert result.ok
    ends = {c.resource_id: c.end for c in ops.calls}
    starts = {c.resource_id: c.start for c in ops.calls}
    for ch in plan.changes:
        for dep in ch.depends_on:
            dep_id = next(c.resource_id for c in plan.changes if c.id == dep)
            assert starts[ch.resource_id] >= ends[dep_id]


def test_independent_changes_overlap_up_to_the_bound_and_never_beyond() -> None:
    """Twelve independent writes each busy 50 ms with parallelism 4 work four at a time."""
    ops = FakeOperations(work={"create": 0.05})
    plan = plan_of(*(change(f"g{i}") for i in range(12)))
    started = time.monotonic()
    result = apply_plan(plan, ops, parallelism=4, sleep=FakeClock().sleep, settings=FAST)
    wall = time.monotonic() - started
    assert result.ok
    assert ops.max_active == 4
    # Pairwise overlap measured from the fake's own timestamps.
    overlapping = sum(
        1
        for a in ops.calls
        for b in ops.calls
        if a is not b and a.start < b.end and b.start < a.end
    )
    assert overlapping > 0
    assert wall < 12 * 0.05 * 0.6  # far from sequential (0.6 s)


def test_waiting_on_azure_frees_the_slot_for_other_changes() -> None:
    """Twelve writes that each wait 100 ms on a long-running operation all wait at once under parallelism 2."""
    ops = FakeOperations(durations={"create": 0.1})
    plan = plan_of(*(change(f"g{i}") for i in range(12)))
    started = time.monotonic()
    result = apply_plan(plan, ops, parallelism=2, sleep=time.sleep, settings=FAST)
    wall = time.monotonic() - started
    assert result.ok
    assert ops.max_active == 12
    assert wall < 12 * 0.1 / 2 / 2  # held slots would need six rounds (0.6 s)


def test_a_change_starts_when_its_own_dependencies_finish_not_its_level() -> None:
    """A quick branch's child starts while a slow sibling at its parent's level still runs."""
    ops = FakeOperations()
    slow_done: list[float] = []

    def slow(op: str, kwargs: object) -> None:
        if kwargs["resource_id"] == rid(Kind.GALLERY, "slow"):  # type: ignore[index]
            time.sleep(0.2)
            slow_done.append(time.monotonic())

    ops.hooks["create"].append(slow)
    plan = plan_of(
        change("slow"),
        change("fast"),
        change("child", Kind.IMAGE, depends_on=["fast"]),
    )
    result = apply_plan(plan, ops, parallelism=4, sleep=FakeClock().sleep, settings=FAST)
    assert result.ok
    child = ops.calls_for(rid(Kind.IMAGE, "child"))[0]
    assert child.end < slow_done[0]


def test_failure_skips_dependents_transitively_and_independent_branches_finish() -> None:
    """A permanent failure skips its descendants, names the root once, and others complete."""
    ops = FakeOperations()
    ops.hooks["create"].append(
        failing(
            PermanentAzureError("quota exceeded", code="QuotaExceeded"),
            when=lambda kw: kw["resource_id"] == rid(Kind.GALLERY, "bad"),
        )
    )
    plan = plan_of(
        change("bad"),
        change("c1", Kind.IMAGE, depends_on=["bad"]),
        change("c2", Kind.IMAGE, depends_on=["c1"]),
        change("ok"),
        change("ok-child", Kind.IMAGE, depends_on=["ok"]),
    )
    progress = RecordingProgress()
    result = apply_plan(
        plan, ops, parallelism=2, sleep=FakeClock().sleep, settings=FAST, progress=progress
    )
    assert not result.ok
    assert [o.change_id for o in result.failed] == ["bad"]
    assert {o.change_id for o in result.skipped} == {"c1", "c2"}
    assert all(o.blocked_by == ("bad",) for o in result.skipped)
    assert {o.change_id for o in result.done} == {"ok", "ok-child"}
    assert rid(Kind.IMAGE, "c1") not in ops.resources
    failed_events = [e for e in progress.events if e.kind.value == "failed"]
    assert len(failed_events) == 1 and "quota exceeded" in failed_events[0].message


def test_a_dependency_cycle_is_refused_before_anything_runs() -> None:
    """A plan whose changes depend on each other in a circle touches nothing."""
    ops = FakeOperations()
    plan = plan_of(change("a", depends_on=["b"]), change("b", depends_on=["a"]))
    with pytest.raises(ApplyRefusedError, match="cycle"):
        apply_plan(plan, ops, sleep=FakeClock().sleep, settings=FAST)
    assert ops.calls == []


def test_noop_changes_and_unknown_dependencies_do_not_block() -> None:
    """No-ops finish instantly and a dependency outside the plan counts as satisfied."""
    ops = FakeOperations()
    plan = plan_of(
        change("n", action=Action.NOOP),
        change("a", depends_on=["n", "not-in-plan"]),
    )
    result = apply_plan(plan, ops, sleep=FakeClock().sleep, settings=FAST)
    assert result.ok
    assert result.outcome("n").status is OutcomeStatus.NOOP
    assert result.outcome("a").status is OutcomeStatus.DONE


def test_ready_work_on_the_longest_chain_starts_first() -> None:
    """With one worker, the head of the longest dependent chain runs before a lone leaf."""
    order: list[str] = []
    nodes = [("leaf", ()), ("head", ()), ("mid", ("head",)), ("tail", ("mid",))]
    run = run_graph(nodes, order.append, parallelism=1)
    assert order[:2] == ["head", "mid"]  # then leaf and tail tie (chain of one)
    assert all(s is OutcomeStatus.DONE for s in run.status.values())
    assert chain_lengths(["a", "b"], {"a": (), "b": ("a",)}) == {"a": 2.0, "b": 1.0}


def test_run_graph_rejects_cycles_with_their_members() -> None:
    """The cycle error names the nodes on the cycle."""
    with pytest.raises(CycleError) as info:
        run_graph([("x", ("y",)), ("y", ("x",)), ("z", ())], lambda n: None, parallelism=2)
    assert set(info.value.members) == {"x", "y"}
