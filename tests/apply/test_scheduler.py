"""The graph walk: ordering, real overlap under a bound, failure isolation, refusal of cycles."""

from __future__ import annotations

import threading
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
from reconciler.apply.engine import expected_minutes
from reconciler.apply.scheduler import CycleError, Slots, chain_lengths, run_graph
from reconciler.errors import PermanentAzureError
from reconciler.plan.model import Action
from reconciler.state.model import Kind
from tests.apply.fake import (
    FakeClock,
    FakeOperations,
    change,
    failing,
    plan_of,
    pool_props,
    rid,
)

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
    """Twelve independent writes with parallelism 4 work four at a time, never five."""
    # Each write waits until three others are working too: the run can only finish if
    # four really work at once, whatever the machine's load (a timeout fails the write).
    four_at_once = threading.Barrier(4, timeout=10.0)
    lock = threading.Lock()
    working = [0]
    most_working = [0]

    def work_four_at_once(op: str, kwargs: object) -> None:
        with lock:
            working[0] += 1
            most_working[0] = max(most_working[0], working[0])
        try:
            four_at_once.wait()
        finally:
            with lock:
                working[0] -= 1

    ops = FakeOperations()
    ops.hooks["create"].append(work_four_at_once)
    plan = plan_of(*(change(f"g{i}") for i in range(12)))
    result = apply_plan(plan, ops, parallelism=4, sleep=FakeClock().sleep, settings=FAST)
    assert result.ok, result.failed
    assert len(ops.calls) == 12
    assert most_working == [4]
    assert ops.max_active <= 4


def test_waiting_on_azure_frees_the_slot_for_other_changes() -> None:
    """Twelve writes that wait on a long-running operation all wait at once under parallelism 2."""
    # The long-running operation ends only when all twelve are waiting on it: if a waiting
    # write kept its slot, at most two could wait and the barrier would time out.
    all_twelve = threading.Barrier(12, timeout=10.0)
    ops = FakeOperations(durations={"create": 1.0})
    plan = plan_of(*(change(f"g{i}") for i in range(12)))
    result = apply_plan(plan, ops, parallelism=2, sleep=lambda _s: all_twelve.wait(), settings=FAST)
    assert result.ok, result.failed
    assert len(ops.calls) == 12
    assert ops.max_active == 12


def test_a_change_starts_when_its_own_dependencies_finish_not_its_level() -> None:
    """A quick branch's child starts while a slow sibling at its parent's level still runs."""
    ops = FakeOperations()
    child_started = threading.Event()
    slow_saw_child: list[bool] = []

    def slow(op: str, kwargs: object) -> None:
        resource_id = kwargs["resource_id"]  # type: ignore[index]
        if resource_id == rid(Kind.IMAGE, "child"):
            child_started.set()
        if resource_id == rid(Kind.GALLERY, "slow"):
            # The slow sibling finishes only once the child has started (or after 10 s):
            # a walk by levels would hold the child back until then.
            slow_saw_child.append(child_started.wait(timeout=10.0))

    ops.hooks["create"].append(slow)
    plan = plan_of(
        change("slow"),
        change("fast"),
        change("child", Kind.IMAGE, depends_on=["fast"]),
    )
    result = apply_plan(plan, ops, parallelism=4, sleep=FakeClock().sleep, settings=FAST)
    assert result.ok
    assert slow_saw_child == [True]
    child = ops.calls_for(rid(Kind.IMAGE, "child"))[0]
    assert child.end <= ops.calls_for(rid(Kind.GALLERY, "slow"))[0].end


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
    # Then leaf and tail tie (chains of one) and plan order breaks the tie.
    assert order == ["head", "mid", "leaf", "tail"]
    assert run.status == dict.fromkeys(["leaf", "head", "mid", "tail"], OutcomeStatus.DONE)
    assert chain_lengths(["a", "b"], {"a": (), "b": ("a",)}) == {"a": 2.0, "b": 1.0}


def test_run_graph_rejects_cycles_with_their_members() -> None:
    """The cycle error names the nodes on the cycle."""
    with pytest.raises(CycleError) as info:
        run_graph([("x", ("y",)), ("y", ("x",)), ("z", ())], lambda n: None, parallelism=2)
    assert set(info.value.members) == {"x", "y"}


def test_a_freed_slot_goes_to_the_highest_priority_waiter() -> None:
    """Nodes queued for the one slot get it by priority, not by arrival."""
    slots = Slots(1)
    order: list[str] = []
    queued = threading.Semaphore(0)

    def node(name: str, priority: float) -> None:
        queued.release()
        with slots.held(priority):
            order.append(name)

    with slots.held(0.0):
        threads = [
            threading.Thread(target=node, args=(name, priority))
            for name, priority in (("low", 1.0), ("high", 9.0), ("mid", 5.0), ("mid-later", 5.0))
        ]
        for thread in threads:
            thread.start()
            queued.acquire()
        # Every node has asked for the slot (or is about to) while it is held.
        deadline = time.monotonic() + 10.0
        while len(slots._waiting) < 4 and time.monotonic() < deadline:
            time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=10.0)
    assert order == ["high", "mid", "mid-later", "low"]


def test_a_node_back_from_idling_waits_its_turn_by_priority() -> None:
    """A node that idled re-takes its slot before lower-priority nodes that queued meanwhile."""
    slots = Slots(1)
    order: list[str] = []
    idle_sleep = slots.idle(lambda _s: woken.wait(timeout=10.0))
    woken = threading.Event()

    def waiter() -> None:
        with slots.held(9.0):
            order.append("waiter starts")
            idle_sleep(1.0)  # gives the slot up until `woken`
            order.append("waiter resumes")

    def filler(name: str) -> None:
        with slots.held(1.0):
            order.append(name)
            if name == "filler-1":
                woken.set()
                deadline = time.monotonic() + 10.0
                while len(slots._waiting) < 2 and time.monotonic() < deadline:
                    time.sleep(0.001)

    first = threading.Thread(target=waiter)
    first.start()
    while not order:
        time.sleep(0.001)
    fillers = [threading.Thread(target=filler, args=(f"filler-{i}",)) for i in (1, 2)]
    fillers[0].start()
    while len(order) < 2:
        time.sleep(0.001)
    fillers[1].start()
    for thread in (first, *fillers):
        thread.join(timeout=10.0)
    assert order == ["waiter starts", "filler-1", "waiter resumes", "filler-2"]


def test_pools_expected_to_take_longest_are_created_first() -> None:
    """With one slot, ready pools are created largest first: their allocation takes longest."""
    ops = FakeOperations()
    plan = plan_of(
        *(change(f"p{nodes}", Kind.POOL, after=pool_props(nodes)) for nodes in (20, 1000, 5, 300))
    )
    result = apply_plan(plan, ops, parallelism=1, sleep=FakeClock().sleep, settings=FAST)
    assert result.ok, result.failed
    created = [c.resource_id for c in sorted(ops.calls, key=lambda c: c.start) if c.op == "create"]
    assert created == [rid(Kind.POOL, f"p{n}") for n in (1000, 300, 20, 5)]


@pytest.mark.parametrize(
    ("made", "minutes"),
    [
        (change("g"), 1.0),
        (change("v", Kind.VERSION), 30.0),
        (change("v", Kind.VERSION, Action.DELETE), 1.0),
        (change("p", Kind.POOL, after=pool_props(1000)), 16.0),
        (
            change("p", Kind.POOL, Action.RESIZE, after=pool_props(120), before=pool_props(20)),
            2.5,
        ),
        (change("p", Kind.POOL, Action.RESIZE, after=pool_props(0), before=pool_props(50)), 1.0),
    ],
)
def test_expected_minutes_rank_versions_and_large_pools_highest(
    made: object, minutes: float
) -> None:
    """The guess that ranks ready work: replication is long, pools grow with nodes to add."""
    assert expected_minutes(made) == pytest.approx(minutes)  # type: ignore[arg-type]


def test_a_slot_given_up_for_good_serves_a_waiter_and_is_not_returned_twice() -> None:
    """A node whose work is over gives its slot to a waiter at once; the count stays right."""
    slots = Slots(1)
    waiter_ran = threading.Event()
    finishing = threading.Event()

    def waiter() -> None:
        with slots.held(1.0):
            waiter_ran.set()

    def finisher() -> None:
        with slots.held(5.0):
            thread.start()
            while len(slots._waiting) < 1:
                time.sleep(0.001)
            with slots.released(take_back=False):
                # e.g. waiting for the journal's fsync of its last record
                assert waiter_ran.wait(timeout=10.0)
            finishing.set()

    thread = threading.Thread(target=waiter)
    first = threading.Thread(target=finisher)
    first.start()
    first.join(timeout=10.0)
    thread.join(timeout=10.0)
    assert finishing.is_set()
    assert (slots._free, slots._waiting) == (1, [])
