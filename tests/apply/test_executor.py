"""Per-change execution: ETags, waits, re-issued resizes, disruption, verification, secrets."""

from __future__ import annotations

import dataclasses

import pytest

from reconciler.apply import (
    DisruptiveChangeRefused,
    EventKind,
    ExecutorSettings,
    OutcomeStatus,
    RecordingProgress,
    RetryPolicy,
    apply_plan,
)
from reconciler.errors import TransientAzureError
from reconciler.plan.model import Action
from reconciler.state.model import Kind, LiveResource
from tests.apply.fake import (
    OWNED,
    FakeClock,
    FakeOperations,
    change,
    live_pool,
    plan_of,
    pool_props,
    rid,
)

FAST = ExecutorSettings(poll_interval=1.0, retry=RetryPolicy(initial=0.1))


def run(plan, ops, **kwargs):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    progress = RecordingProgress()
    kwargs.setdefault("settings", FAST)
    result = apply_plan(plan, ops, sleep=clock.sleep, clock=clock, progress=progress, **kwargs)
    return result, progress


def resize(name: str, old: int, new: int, *, observed: str | None = 'W/"seed"'):  # type: ignore[no-untyped-def]
    return change(
        name,
        Kind.POOL,
        Action.RESIZE,
        before=pool_props(old),
        after=pool_props(new),
        changed_paths=["scale.fixed.dedicated"],
        observed=observed,
    )


def test_pool_update_sends_the_observed_etag() -> None:
    """A pool write carries the ETag the plan saw (If-Match)."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 2))
    sent = []
    ops.hooks["update"].append(lambda op, kw: sent.append(kw["etag"]))
    result, _ = run(plan_of(resize("p", 2, 4)), ops)
    assert result.ok
    assert sent == ['W/"seed"']


def test_etag_conflict_stops_the_branch_with_changed_since_plan() -> None:
    """When the pool changed after planning, the write is refused and dependents are skipped."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 2))
    plan = plan_of(
        resize("p", 2, 4, observed='W/"stale"'),
        change("after-p", depends_on=["p"]),
    )
    result, _ = run(plan, ops)
    assert not result.ok
    failure = result.outcome("p")
    assert failure.error_type == "ConflictError"
    assert failure.error == (
        "pool:p changed since plan: Azure refused the write because the resource no longer "
        "matches what the plan saw (ETag mismatch (If-Match))"
    )
    assert result.outcome("after-p").status is OutcomeStatus.SKIPPED
    assert result.outcome("after-p").blocked_by == ("p",)
    assert ops.resources[rid(Kind.POOL, "p")].properties["scale.fixed.dedicated"] == 2


def test_resize_is_reissued_when_the_pool_stops_short_and_each_attempt_is_reported() -> None:
    """AllocationTimedOut twice, then the target: two re-issues, both in notes and events."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 0))
    pid = rid(Kind.POOL, "p")
    ops.short_resizes[pid] = [(300, ("AllocationTimedOut",)), (700, ("AllocationTimedOut",))]
    result, progress = run(plan_of(resize("p", 0, 1000)), ops)
    assert result.ok, result.failed
    notes = result.outcome("p").notes
    assert [n for n in notes if n.startswith("resize re-issued")] == [
        "resize re-issued (1 of 3): stopped at 300+0 of 1000+0 nodes (AllocationTimedOut)",
        "resize re-issued (2 of 3): stopped at 700+0 of 1000+0 nodes (AllocationTimedOut)",
    ]
    assert ops.resize_count[pid] == 3
    assert ops.resources[pid].current_dedicated == 1000
    nodes = [e.data.get("dedicated") for e in progress.of(EventKind.PROGRESS, "p")]
    # Each stop is reported Steady, then Resizing again once the resize is re-issued.
    assert nodes == [0, 300, 300, 700, 700, 1000]


def test_reissued_resizes_are_bounded() -> None:
    """A pool that never reaches target fails after 1 + resize_attempts resizes, naming the error."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 0))
    pid = rid(Kind.POOL, "p")
    ops.short_resizes[pid] = [(10, ("AllocationTimedOut",))] * 10
    settings = ExecutorSettings(poll_interval=1.0, resize_attempts=2)
    result, _ = run(plan_of(resize("p", 0, 50)), ops, settings=settings)
    assert not result.ok
    assert ops.resize_count[pid] == 3
    error = result.outcome("p").error or ""
    assert "stopped at 10+0 of 50+0 nodes after 3 resize(s): AllocationTimedOut" in error


def test_scale_to_zero_is_refused_without_allow_disruptive() -> None:
    """A vmSize change needing zero nodes is refused up front, naming the pool; nothing runs."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 5))
    plan = plan_of(
        change("g"),
        change(
            "p",
            Kind.POOL,
            Action.SCALE_TO_ZERO_UPDATE,
            before=pool_props(5),
            after=pool_props(5, vmSize="standard_d4s_v3"),
            changed_paths=["vmSize"],
            observed='W/"seed"',
        ),
    )
    with pytest.raises(DisruptiveChangeRefused) as info:
        run(plan, ops)
    assert "--allow-disruptive" in str(info.value) and "pool:p (vmSize)" in str(info.value)
    assert ops.calls == []


def test_scale_to_zero_then_update_with_allow_disruptive() -> None:
    """Approved: the pool goes to zero, changes vmSize at zero, and grows back to target."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 5))
    pid = rid(Kind.POOL, "p")
    steps: list[tuple[str, ...]] = []
    ops.hooks["update"].append(lambda op, kw: steps.append(kw["changed_paths"]))
    plan = plan_of(
        change(
            "p",
            Kind.POOL,
            Action.SCALE_TO_ZERO_UPDATE,
            before=pool_props(5),
            after=pool_props(5, vmSize="standard_d4s_v3"),
            changed_paths=["vmSize"],
            observed='W/"seed"',
        )
    )
    result, _ = run(plan, ops, allow_disruptive=True)
    assert result.ok, result.failed
    assert steps[0] == ("scale.fixed.dedicated", "scale.fixed.lowPriority")
    assert steps[1] == ("vmSize",)
    live = ops.resources[pid]
    assert live.properties["vmSize"] == "standard_d4s_v3" and live.current_dedicated == 5


def test_verify_after_write_turns_an_ignored_field_into_an_error() -> None:
    """Azure accepting a write but not applying a field is reported as 'did not apply'."""
    ops = FakeOperations()
    ops.ignored_paths.add("description")
    plan = plan_of(change("g", after={"location": "westeurope", "description": "x", **OWNED}))
    result, _ = run(plan, ops)
    assert not result.ok
    outcome = result.outcome("g")
    assert outcome.error_type == "VerifyError"
    assert (
        outcome.error
        == "Azure did not apply gallery:g: description: wanted 'x', Azure reports None"
    )


def test_image_version_waits_for_replication_in_every_region_before_dependents() -> None:
    """A pool depending on a version starts only after every region reports Completed."""
    ops = FakeOperations(replication_reads=4)
    version_after = {
        "location": "westeurope",
        "targetRegions[westeurope].replicas": 1,
        "targetRegions[eastus].replicas": 2,
        **OWNED,
    }
    plan = plan_of(
        change("v", Kind.VERSION, after=version_after),
        change("p", Kind.POOL, after=pool_props(2), depends_on=["v"]),
    )
    completed_when_pool_created: list[set[str]] = []

    def on_pool_create(op: str, kw: dict) -> None:  # type: ignore[type-arg]
        if kw["kind"] is Kind.POOL:
            v = ops.resources[rid(Kind.VERSION, "v")]
            completed_when_pool_created.append(
                {r.region for r in v.replication if r.state == "Completed"}
            )

    ops.hooks["create"].append(on_pool_create)
    result, progress = run(plan, ops)
    assert result.ok, result.failed
    assert completed_when_pool_created == [{"westeurope", "eastus"}]
    views = [e.data["regions"] for e in progress.of(EventKind.PROGRESS, "v")]
    # One view per read that changed something, each naming every region.
    assert views == [
        {region: {"state": "Replicating", "progress": pct} for region in ("eastus", "westeurope")}
        for pct in (60, 70, 80)
    ] + [{region: {"state": "Completed", "progress": 100} for region in ("eastus", "westeurope")}]


def test_replication_failure_fails_the_version_and_skips_its_pools() -> None:
    """A region reporting Failed stops the version's branch with that region named."""
    ops = FakeOperations(replication_reads=5)
    ops.replication_failures[rid(Kind.VERSION, "v")] = ("eastus", "disk copy failed")
    after = {"location": "westeurope", "targetRegions[eastus].replicas": 1, **OWNED}
    plan = plan_of(
        change("v", Kind.VERSION, after=after),
        change("p", Kind.POOL, after=pool_props(1), depends_on=["v"]),
    )
    result, _ = run(plan, ops)
    version = result.outcome("v")
    assert version.status is OutcomeStatus.FAILED and version.error_type == "WaitError"
    assert version.error == "replication of version:v failed in eastus: disk copy failed"
    assert result.outcome("p").status is OutcomeStatus.SKIPPED
    assert result.outcome("p").blocked_by == ("v",)
    assert ops.calls_for(rid(Kind.POOL, "p")) == []


def test_create_that_landed_before_its_answer_was_lost_is_adopted_not_duplicated() -> None:
    """A pool create whose response was lost is retried, hits If-None-Match, and is adopted."""
    ops = FakeOperations()
    original = ops.create
    lost = [True]

    def create_then_lose_answer(**kw):  # type: ignore[no-untyped-def]
        live = original(**kw)
        if lost[0]:
            lost[0] = False
            raise TransientAzureError("connection dropped after the write")
        return live

    ops.create = create_then_lose_answer  # type: ignore[method-assign]
    result, _ = run(plan_of(change("p", Kind.POOL, after=pool_props(3))), ops)
    assert result.ok, result.failed
    assert ops.creates[rid(Kind.POOL, "p")] == 1
    assert "already existed as planned" in result.outcome("p").notes[0]


def test_create_over_a_foreign_resource_fails_instead_of_adopting_it() -> None:
    """An existing pool that is not ours (no ownership mark) is a conflict, never adopted."""
    ops = FakeOperations()
    foreign = live_pool("p", 3)
    props = {k: v for k, v in foreign.properties.items() if not k.startswith("metadata.")}
    ops.seed(LiveResource(**{**_fields(foreign), "properties": props}))
    result, _ = run(plan_of(change("p", Kind.POOL, after=pool_props(3))), ops)
    outcome = result.outcome("p")
    assert outcome.status is OutcomeStatus.FAILED and outcome.error_type == "ConflictError"
    assert outcome.error == (
        "pool:p already exists and is not the resource the plan would create "
        "(pool exists (If-None-Match: *))"
    )
    assert ops.creates[rid(Kind.POOL, "p")] == 0
    assert ops.resources[rid(Kind.POOL, "p")].properties == props  # left exactly as it was


def _fields(live: LiveResource) -> dict:  # type: ignore[type-arg]
    return {name: getattr(live, name) for name in live.__slots__}  # type: ignore[attr-defined]


def test_delete_of_an_absent_resource_is_done_and_deletes_are_verified() -> None:
    """Deleting what is already gone succeeds; a delete Azure ignores is an error."""
    ops = FakeOperations()
    result, _ = run(plan_of(change("gone", action=Action.DELETE)), ops)
    assert result.outcome("gone").status is OutcomeStatus.DONE
    assert [c.op for c in ops.calls] == ["delete"]

    stubborn = FakeOperations()
    stubborn.seed(live_pool("p", 0))
    stubborn.delete = lambda **kw: None  # type: ignore[method-assign]
    result, _ = run(plan_of(change("p", Kind.POOL, Action.DELETE, observed='W/"seed"')), stubborn)
    outcome = result.outcome("p")
    assert outcome.status is OutcomeStatus.FAILED and outcome.error_type == "VerifyError"
    assert outcome.error == "Azure did not delete pool:p: it is still there after the delete"


def test_replace_deletes_then_creates() -> None:
    """A replacement is a delete of the old resource followed by a create of the new one."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 1))
    plan = plan_of(
        change(
            "p",
            Kind.POOL,
            Action.REPLACE,
            before=pool_props(1),
            after=pool_props(1, taskSlotsPerNode=4),
            observed='W/"seed"',
        )
    )
    result, _ = run(plan, ops)
    assert result.ok, result.failed
    assert [c.op for c in ops.calls] == ["replacement_base", "delete", "create"]
    assert ops.resources[rid(Kind.POOL, "p")].properties["taskSlotsPerNode"] == 4


def test_secrets_are_resolved_at_apply_time_and_verified_by_presence() -> None:
    """${env:X} is sent resolved, verified by presence only, and never shown in events."""
    ops = FakeOperations()
    after = pool_props(1, **{"startTask.environment.KEY": "${env:LICENSE_KEY}"})
    progress_result, progress = run(
        plan_of(change("p", Kind.POOL, after=after)), ops, environ={"LICENSE_KEY": "s3cr3t"}
    )
    assert progress_result.ok, progress_result.failed
    live = ops.resources[rid(Kind.POOL, "p")]
    assert live.properties["startTask.environment.KEY"] == "s3cr3t"
    assert progress.events  # the run did report, so the next check has something to scan
    assert "s3cr3t" not in repr(progress.events)  # neither in messages nor in event data


def test_a_missing_secret_refuses_the_whole_apply_before_anything_is_written() -> None:
    """An unset ${env:X} anywhere in the plan stops apply up front, naming it and its change."""
    from reconciler.apply import ApplyRefusedError

    ops = FakeOperations()
    after = pool_props(1, **{"startTask.environment.KEY": "${env:LICENSE_KEY}"})
    plan = plan_of(change("g"), change("p", Kind.POOL, after=after, depends_on=["g"]))
    with pytest.raises(ApplyRefusedError) as refused:
        run(plan, ops, environ={})
    assert "${env:LICENSE_KEY} (needed by pool:" in str(refused.value)
    assert "export LICENSE_KEY=..." in str(refused.value)
    assert ops.calls == []


def test_a_plan_deleting_an_image_a_kept_pool_uses_is_refused() -> None:
    """R6 guard: deleting a version that a pool in the plan still boots from touches nothing."""
    from reconciler.apply import ApplyRefusedError

    ops = FakeOperations()
    plan = plan_of(
        change("p", Kind.POOL, Action.NOOP, before=pool_props(1), after=pool_props(1)),
        change("v1", Kind.VERSION, Action.DELETE),
    )
    with pytest.raises(ApplyRefusedError, match="R6"):
        run(plan, ops)
    assert ops.calls == []


def test_pool_polling_sleeps_until_the_predicted_end_of_allocation() -> None:
    """From two reads the pacer predicts when the target is reached and waits about that long."""
    from reconciler.apply.executor import _Pacer

    pacer = _Pacer(shortest=1.0, longest=600.0)
    assert pacer.next_wait(0.0, 0, 1000) == 1.0  # nothing known yet
    # 10 nodes/s: 900 nodes to go is 90 s, aimed 2 % past it plus a tenth of the shortest wait.
    assert pacer.next_wait(10.0, 100, 1000) == pytest.approx(90.0 * 1.02 + 0.1)
    assert pacer.next_wait(100.0, 1000, 1000) == 1.0  # reached: back to the shortest wait
    assert _Pacer(1.0, 30.0).next_wait(0.0, 0, 10**6) == 1.0
    capped = _Pacer(1.0, 30.0)
    capped.next_wait(0.0, 0, 10**6)
    assert capped.next_wait(1.0, 1, 10**6) == 30.0  # never longer than the cap


def test_a_pools_first_poll_aims_at_its_end_at_the_fastest_rate_its_account_showed() -> None:
    """Once a pool of an account has shown its rate, a new pool's first wait is its whole
    predicted allocation (at the fastest rate seen), not a short look to learn a rate."""
    from reconciler.apply.executor import _AllocationRates, _Pacer

    rates = _AllocationRates()
    first = _Pacer(1.0, 600.0, rates=rates, key="acct-a")
    assert first.next_wait(0.0, 0, 1000) == 1.0  # nothing known in the account yet
    first.next_wait(10.0, 100, 1000)  # 10 nodes/s
    _Pacer(1.0, 600.0, rates=rates, key="acct-a").next_wait(5.0, 0, 100)
    slower = _Pacer(1.0, 600.0, rates=rates, key="acct-a")
    slower.next_wait(0.0, 0, 1000)
    slower.next_wait(10.0, 50, 1000)  # 5 nodes/s: the fastest (10) is kept
    assert rates.get("acct-a") == pytest.approx(10.0)
    # 500 nodes at 10/s, aimed as a pool's own prediction is: 2 % past, plus a tenth of the shortest.
    aimed = _Pacer(1.0, 600.0, rates=rates, key="acct-a").next_wait(0.0, 0, 500)
    assert aimed == pytest.approx(50.0 * 1.02 + 0.1)
    assert _Pacer(1.0, 600.0, rates=rates, key="acct-a").next_wait(0.0, 0, 5) == 1.0
    assert _Pacer(1.0, 30.0, rates=rates, key="acct-a").next_wait(0.0, 0, 10**6) == 30.0
    assert _Pacer(1.0, 600.0, rates=rates, key="acct-b").next_wait(0.0, 0, 500) == 1.0


def test_a_pool_create_reads_the_pool_only_once_its_allocation_can_have_ended() -> None:
    """The create's answer is the first sample of the wait: no read follows it at once."""
    clock = FakeClock()
    ops = FakeOperations(allocation_reads=1, clock=clock, sleep=clock.sleep)
    reads: list[float] = []
    ops.hooks["read"].append(lambda _op, _kw: reads.append(clock()))
    plan = plan_of(change("p", Kind.POOL, after=pool_props(3)))
    result = apply_plan(
        plan, ops, sleep=clock.sleep, clock=clock, settings=ExecutorSettings(poll_interval=5.0)
    )
    assert result.ok, result.failed
    create = ops.calls_for(rid(Kind.POOL, "p"), "create")[0]
    # One read, a poll interval after the create answered: it finds the pool steady.
    assert reads == [create.end + 5.0]


def test_a_version_write_that_answers_succeeded_is_not_read_again() -> None:
    """A version PUT ends only once every region has replicated: its Succeeded answer (no
    per-region status, as Azure gives it without $expand) ends the wait and the check."""
    ops = FakeOperations(replication_reads=3)
    original = ops.create

    def create_until_replicated(**kw):  # type: ignore[no-untyped-def]
        live = original(**kw)
        if kw["kind"] is Kind.VERSION:
            live = dataclasses.replace(live, provisioning_state="Succeeded", replication=())
            ops.resources[live.id] = live
            ops._pending.pop(live.id, None)
        return live

    ops.create = create_until_replicated  # type: ignore[method-assign]
    reads: list[str] = []
    ops.hooks["read"].append(lambda _op, kw: reads.append(kw["resource_id"]))
    after = {"location": "westeurope", "targetRegions[eastus].replicas": 1, **OWNED}
    plan = plan_of(
        change("v", Kind.VERSION, after=after),
        change("p", Kind.POOL, after=pool_props(1), depends_on=["v"]),
    )
    result, progress = run(plan, ops)
    assert result.ok, result.failed
    assert rid(Kind.VERSION, "v") not in reads
    views = [e.data["regions"] for e in progress.of(EventKind.PROGRESS, "v")]
    assert views == [{"eastus": {"state": "Completed", "progress": 100}}]


def test_replication_progress_is_reported_while_the_version_write_is_in_flight() -> None:
    """A version create that blocks until replication ends still shows regions progressing."""
    import time as real_time

    ops = FakeOperations(replication_reads=8)
    original = ops.create

    def slow_create(**kw):  # type: ignore[no-untyped-def]
        live = original(**kw)
        # Azure's LRO lasts until every region has replicated: here, until the side
        # thread's reads have settled the version and it has reported 100 %.
        deadline = real_time.monotonic() + 10.0
        while not any(
            e.data["regions"]["eastus"]["progress"] == 100
            for e in progress.of(EventKind.PROGRESS, "v")
        ):
            assert real_time.monotonic() < deadline, "the side thread never reported progress"
            real_time.sleep(0.005)
        return live

    ops.create = slow_create  # type: ignore[method-assign]
    after = {"location": "westeurope", "targetRegions[eastus].replicas": 1, **OWNED}
    clock = FakeClock()
    progress = RecordingProgress()
    result = apply_plan(
        plan_of(change("v", Kind.VERSION, after=after)),
        ops,
        sleep=clock.sleep,
        clock=clock,
        progress=progress,
        settings=ExecutorSettings(poll_interval=1.0, progress_interval=0.02),
    )
    assert result.ok, result.failed
    percents = [
        e.data["regions"]["eastus"]["progress"] for e in progress.of(EventKind.PROGRESS, "v")
    ]
    # The side thread reports each of its eight reads while the write blocks (the fake
    # gains ten points a read and settles on the eighth); then the wait reports 100 again.
    assert percents == [20, 30, 40, 50, 60, 70, 80, 100, 100]


def test_every_write_carries_the_applied_record_and_keeps_undeclared_metadata() -> None:
    """A resize also writes the record (pool metadata); metadata the spec lacks is kept."""
    from reconciler.azure.mapping import pool_patch_json
    from reconciler.plan.applied import encode

    ops = FakeOperations()
    ops.seed(live_pool("p", 2, **{"metadata.by-hand": "kept"}))
    sent = []
    ops.hooks["update"].append(lambda op, kw: sent.append(kw))
    planned = change(
        "p",
        Kind.POOL,
        Action.RESIZE,
        before=pool_props(2, **{"metadata.by-hand": "kept"}),
        after=pool_props(4),
        changed_paths=["scale.fixed.dedicated"],
        observed='W/"seed"',
    )
    result, _ = run(plan_of(planned), ops)
    assert result.ok, result.failed
    (kw,) = sent
    record = encode(Kind.POOL, pool_props(4))
    assert kw["changed_paths"] == ("scale.fixed.dedicated", *record)
    body = pool_patch_json(kw["props"], kw["changed_paths"])
    names = {m["name"]: m["value"] for m in body["properties"]["metadata"]}
    assert names["by-hand"] == "kept"
    assert names["reconcile.applied"] == record["metadata.reconcile.applied"]


def test_scale_to_zero_steps_record_only_when_back_at_target() -> None:
    """The writes at zero nodes carry no record; the last one (scale back) does."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 2))
    sent = []
    ops.hooks["update"].append(lambda op, kw: sent.append(kw["changed_paths"]))
    planned = change(
        "p",
        Kind.POOL,
        Action.SCALE_TO_ZERO_UPDATE,
        before=pool_props(2),
        after=pool_props(2, vmSize="standard_d4s_v3"),
        changed_paths=["vmSize"],
        observed='W/"seed"',
    )
    result, _ = run(stepped(planned), ops, allow_disruptive=True)
    assert result.ok, result.failed
    recorded = ["metadata.reconcile.applied" in paths for paths in sent]
    assert recorded == [False, False, True]


# -- steps of multi-write actions, and waits ----------------------------------------------


def stepped(*changes):  # type: ignore[no-untyped-def]
    """A plan whose changes went through the graph, as the planner gives them (steps split)."""
    from reconciler.plan.graph import order

    return plan_of(*order(changes).changes)


def _replacement(observed: str = 'W/"seed"'):  # type: ignore[no-untyped-def]
    return stepped(
        change(
            "p",
            Kind.POOL,
            Action.REPLACE,
            before=pool_props(1),
            after=pool_props(1, taskSlotsPerNode=4),
            changed_paths=["taskSlotsPerNode"],
            observed=observed,
        )
    )


def test_a_replacement_runs_as_two_steps_and_its_pool_delete_carries_if_match() -> None:
    """delete-replaced sends the plan's ETag; create-replacement follows as its own node."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 1))
    seen: list[object] = []
    ops.hooks["delete"].append(lambda op, kw: seen.append(kw["etag"]))
    result, progress = run(_replacement(), ops)
    assert result.ok, result.failed
    assert [o.change_id for o in result.done] == ["p#delete-replaced", "p#create-replacement"]
    assert seen == ['W/"seed"']
    assert [c.op for c in ops.calls if c.op != "read"] == [
        "replacement_base",
        "delete",
        "create",
    ]


def test_a_replacement_whose_pool_moved_is_not_deleted() -> None:
    """A pool changed since the plan fails its delete step (If-Match); the create is skipped."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 1))
    result, _ = run(_replacement('W/"an-older-etag"'), ops)
    assert [o.change_id for o in result.failed] == ["p#delete-replaced"]
    assert [o.change_id for o in result.skipped] == ["p#create-replacement"]
    assert rid(Kind.POOL, "p") in ops.resources


def test_scale_to_zero_steps_each_write_once_and_a_resumed_scale_down_sees_its_work_done() -> None:
    """scale-down, update-at-zero, scale-back are three nodes; at zero already, scale-down writes nothing."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 5))
    writes: list[tuple[str, ...]] = []
    ops.hooks["update"].append(lambda op, kw: writes.append(tuple(kw["changed_paths"])))
    move = change(
        "p",
        Kind.POOL,
        Action.SCALE_TO_ZERO_UPDATE,
        before=pool_props(5),
        after=pool_props(5, vmSize="standard_d4s_v3"),
        changed_paths=["vmSize"],
        observed='W/"seed"',
    )
    result, _ = run(stepped(move), ops, allow_disruptive=True)
    assert result.ok, result.failed
    assert [o.change_id for o in result.done] == [
        "p#scale-down",
        "p#update-at-zero",
        "p#scale-back",
    ]
    assert writes == [
        ("scale.fixed.dedicated", "scale.fixed.lowPriority"),
        ("vmSize",),
        ("scale.fixed.dedicated", "metadata.reconcile.applied"),
    ]
    live = ops.resources[rid(Kind.POOL, "p")]
    assert live.properties["vmSize"] == "standard_d4s_v3" and live.current_dedicated == 5
    # Resumed after the scale-down had finished (the pool is steady at zero): no write.
    ops.seed(live_pool("q", 0))
    writes.clear()
    down = stepped(pool_named(move, "q")).changes[0]
    result, _ = run(plan_of(down), ops, allow_disruptive=True)
    assert result.ok and writes == []
    assert result.done[0].notes == ("already steady at zero nodes",)


def pool_named(c, name, *, step=""):  # type: ignore[no-untyped-def]
    """`c` for pool `name` (as step `step` when given), with no observed ETag."""
    cid = f"{name}#{step}" if step else name
    return dataclasses.replace(
        c, id=cid, address=name, resource_id=rid(Kind.POOL, name), observed=None
    )


def test_a_pool_wait_step_re_issues_a_resize_that_stops_short() -> None:
    """The wait step of a pool found resizing applies R3 itself: short → resize re-issued."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 0))
    pid = rid(Kind.POOL, "p")
    ops.short_resizes[pid] = [(300, ("AllocationTimedOut",))]
    ops.update(
        kind=Kind.POOL,
        resource_id=pid,
        location="westeurope",
        props=pool_props(600),
        changed_paths=("scale.fixed.dedicated",),
    )
    wait = pool_named(change("p", Kind.POOL, Action.WAIT, after=pool_props(600)), "p", step="wait")
    result, _ = run(plan_of(wait), ops)
    assert result.ok, result.failed
    notes = result.done[0].notes
    assert notes[0].startswith("resize re-issued (1 of 3): stopped at 300+0 of 600+0 nodes")
    assert ops.resources[pid].current_dedicated == 600


# -- replacements keep what the spec does not declare -----------------------------------

UNDECLARED = {
    "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/ua": {}}},
    "properties": {"mountConfiguration": [{"nfsMountConfiguration": {"source": "nfs://x"}}]},
}


def test_a_replacement_creates_the_new_pool_over_what_the_old_one_had() -> None:
    """What the old pool has beyond the spec is read before the delete and given to the create."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 1))
    ops.undeclared[rid(Kind.POOL, "p")] = UNDECLARED
    result, progress = run(_replacement(), ops)
    assert result.ok, result.failed
    assert ops.undeclared[rid(Kind.POOL, "p")] == UNDECLARED
    assert [(o.change_id, o.notes) for o in result.done] == [
        ("p#delete-replaced", ("deleted the old resource",)),
        ("p#create-replacement", ("kept the replaced resource's undeclared properties",)),
    ]


def test_a_replacement_that_would_lose_secrets_deletes_nothing() -> None:
    """A copy lacking secrets Azure never returns is refused before the old pool is deleted."""
    ops = FakeOperations()
    ops.seed(live_pool("p", 1))
    ops.secrets_withheld[rid(Kind.POOL, "p")] = ("properties.userAccounts[0].password",)
    result, _ = run(_replacement(), ops)
    (failed,) = result.failed
    assert failed.change_id == "p#delete-replaced"
    assert failed.error == "cannot be replaced without losing properties.userAccounts[0].password"
    assert rid(Kind.POOL, "p") in ops.resources
    assert [c.op for c in ops.calls if c.op != "read"] == ["replacement_base"]


def test_a_replacement_interrupted_after_the_delete_is_finished_by_the_next_create(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """Kept on disk before the delete, the old pool's members reach a later apply's create."""
    from reconciler.apply.carry import CarryStore
    from reconciler.errors import PermanentAzureError
    from tests.apply.fake import failing

    ops = FakeOperations()
    ops.seed(live_pool("p", 1))
    ops.undeclared[rid(Kind.POOL, "p")] = UNDECLARED
    ops.hooks["create"].append(failing(PermanentAzureError("the process died here")))
    first, _ = run(_replacement(), ops, carried=CarryStore(tmp_path / "carried"))
    assert [o.change_id for o in first.failed] == ["p#create-replacement"]
    assert rid(Kind.POOL, "p") not in ops.resources
    # The next apply re-plans the absent pool as a plain create, in a new process.
    again = plan_of(change("p", Kind.POOL, Action.CREATE, after=pool_props(1, taskSlotsPerNode=4)))
    second, _ = run(again, ops, carried=CarryStore(tmp_path / "carried"))
    assert second.ok, second.failed
    assert ops.undeclared[rid(Kind.POOL, "p")] == UNDECLARED
    assert list((tmp_path / "carried").iterdir()) == []


def test_a_replacement_refused_by_if_match_keeps_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A pool changed since the plan is neither deleted nor remembered for a later create."""
    from reconciler.apply.carry import CarryStore

    ops = FakeOperations()
    ops.seed(live_pool("p", 1))
    ops.undeclared[rid(Kind.POOL, "p")] = UNDECLARED
    result, _ = run(
        _replacement(observed='W/"older"'), ops, carried=CarryStore(tmp_path / "carried")
    )
    assert [o.change_id for o in result.failed] == ["p#delete-replaced"]
    assert "changed since plan" in (result.failed[0].error or "")
    assert not (tmp_path / "carried").exists() or not list((tmp_path / "carried").iterdir())
