"""`apply_plan`: the library entry that turns a `Plan` into Azure changes.

It checks what must hold before anything is touched (no plan errors, no disruptive
change without approval, no image deleted while the plan keeps a pool on it), then walks
the dependency graph (`scheduler`) running each change (`executor`), journalling and
reporting every step, and returns an `ApplyResult` — it does not raise for a failed
change: failures, their skipped dependents and what was done are all in the result.

With a `StopSignal` (the command wires SIGINT and SIGTERM to it), a first request stops
new changes from starting while running ones finish; a second makes running changes
stop waiting on Azure (`stopped`). Either way the journal and the summary are written
and the result says it was interrupted, and by what.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from reconciler import secrets
from reconciler.apply.carry import CarryStore
from reconciler.apply.executor import ChangeExecutor, ExecutorSettings, disruptive_message
from reconciler.apply.journal import Journal
from reconciler.apply.model import (
    ApplyAbandoned,
    ApplyEvent,
    ApplyRefusedError,
    ApplyResult,
    ChangeOutcome,
    DisruptiveChangeRefused,
    EventKind,
    OutcomeStatus,
)
from reconciler.apply.ports import Operations
from reconciler.apply.progress import NullProgress, Progress
from reconciler.apply.scheduler import CycleError, Slots, run_graph
from reconciler.apply.stop import InFlight, StopSignal
from reconciler.errors import ReconcileError
from reconciler.plan.model import Action, Change, Plan
from reconciler.state.model import Kind


def preflight(
    plan: Plan, *, allow_disruptive: bool, environ: Mapping[str, str] | None = None
) -> None:
    """Refuse (raising `ApplyRefusedError`) a plan that must not start at all."""
    if plan.has_errors:
        raise ApplyRefusedError(
            "the plan has errors; nothing was applied:\n"
            + "\n".join(f"  - {d.address or ''} {d.message}".rstrip() for d in plan.errors)
        )
    # One line per pool: of a split scale-to-zero, the step that changes the fields.
    disruptive = [
        c
        for c in plan.changes
        if c.action is Action.SCALE_TO_ZERO_UPDATE and c.step in ("", "update-at-zero")
    ]
    if disruptive and not allow_disruptive:
        raise DisruptiveChangeRefused(disruptive_message(disruptive))
    _check_images_outlive_pools(plan)
    _check_secrets_resolve(plan, environ)


def _check_secrets_resolve(plan: Plan, environ: Mapping[str, str] | None) -> None:
    # A secret missing from the environment would otherwise surface only when its change
    # runs, after everything before it was applied: half a rollout. Check all of them first.
    env = os.environ if environ is None else environ
    missing: dict[str, list[str]] = {}
    for change in plan.actionable:
        for value in (change.after or {}).values():
            if secrets.is_secret(value):
                for name in secrets.references(value):
                    if name not in env:
                        missing.setdefault(name, []).append(change.address)
    if missing:
        lines = [
            f"  - ${{env:{name}}} (needed by {', '.join(sorted(set(addresses)))})"
            for name, addresses in sorted(missing.items())
        ]
        raise ApplyRefusedError(
            "secret references have no value in the environment; nothing was applied:\n"
            + "\n".join(lines)
            + "\nexport "
            + " ".join(f"{name}=..." for name in sorted(missing))
            + " in the environment that runs `reconcile apply`"
        )


def _check_images_outlive_pools(plan: Plan) -> None:
    # R6 belt and braces: the planner never deletes an image a pool uses; should a plan
    # (hand-edited, or from a buggy planner) do so, apply refuses before touching anything.
    kept_pool_images: dict[str, list[str]] = {}
    for c in plan.changes:
        if c.kind is not Kind.POOL or c.action is Action.DELETE:
            continue
        for side in (c.after, c.before if c.action is Action.NOOP else None):
            image = (side or {}).get("image.id")
            if isinstance(image, str):
                kept_pool_images.setdefault(image.lower(), []).append(c.address)
    for c in plan.changes:
        if c.kind in (Kind.VERSION, Kind.MANAGED_IMAGE) and c.action is Action.DELETE:
            users = kept_pool_images.get(c.resource_id.lower())
            if users:
                raise ApplyRefusedError(
                    f"the plan deletes {c.address} while {', '.join(sorted(set(users)))} "
                    "still use it; a pool's image must exist for the pool's whole life (R6)"
                )


# Rough minutes Azure takes over a change, to rank ready work (see `expected_minutes`).
_VERSION_MINUTES = 30.0  # a version write lasts until every region has replicated
_MINUTES_PER_NODE = 0.015  # Batch allocates on the order of 1,000 nodes in 15 minutes


def expected_minutes(change: Change) -> float:
    """How long Azure is likely to take over `change`, roughly: only to rank ready work.

    When more changes are ready than there are slots, the walk starts (and resumes) first
    those heading the longest chains of expected time — a version before the pools on it,
    a pool of a thousand nodes before one of twenty — so the slowest work is under way
    first and the apply ends nearer its critical path. A wrong guess costs order, never
    correctness.
    """
    if change.kind is Kind.VERSION and change.action is not Action.DELETE:
        return _VERSION_MINUTES
    if change.kind is Kind.POOL and change.action is not Action.DELETE:
        after, before = change.after or {}, change.before or {}
        nodes = sum(_count(after.get(p)) - _count(before.get(p)) for p in _SCALE_PATHS)
        return 1.0 + _MINUTES_PER_NODE * max(0, nodes)
    return 1.0


_SCALE_PATHS = ("scale.fixed.dedicated", "scale.fixed.lowPriority")


def _count(value: Any) -> int:
    # A guess needs no error: anything but a plain count (absent, a secret reference) is 0.
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def apply_plan(
    plan: Plan,
    operations: Operations,
    *,
    parallelism: int = 10,
    allow_disruptive: bool = False,
    journal: Journal | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    settings: ExecutorSettings | None = None,
    environ: Mapping[str, str] | None = None,
    stop: StopSignal | None = None,
    carried: CarryStore | None = None,
) -> ApplyResult:
    """Carry out `plan` through `operations`, each change as soon as its dependencies are done.

    `stop`, when given, is how a caller (a signal handler) asks the apply to stop early.
    `carried` keeps what pool replacements must keep from the pools they delete (give it a
    directory so an apply killed between delete and create can finish the job).

    Raises `ApplyRefusedError` (nothing touched) for a plan with errors, a disruptive change
    without `allow_disruptive`, a dependency cycle, or an image deleted under a kept pool.
    Otherwise returns the result; `result.ok` is False when anything failed or was skipped.
    """
    preflight(plan, allow_disruptive=allow_disruptive, environ=environ)
    sink: Progress = progress if progress is not None else NullProgress()
    settings = settings or ExecutorSettings()
    changes = {c.id: c for c in plan.changes}
    started_at: dict[str, float] = {}
    finished_at: dict[str, float] = {}
    notes: dict[str, tuple[str, ...]] = {}
    abandoned: set[str] = set()  # changes that stopped waiting on a second signal
    t0 = clock()
    in_flight = InFlight(settings, clock)
    if stop is not None:
        stop.in_flight = in_flight

    def emit(kind: EventKind, change: Change, message: str, data: Mapping[str, Any]) -> None:
        since = started_at.get(change.id, t0)
        event = ApplyEvent(
            kind,
            change.id,
            change.address,
            change.action.value,
            message,
            clock() - since,
            data,
        )
        in_flight.note(event)
        sink.emit(event)

    # A change that waits on Azure (LRO, replication, allocation, retry backoff) frees its
    # slot, so `parallelism` bounds work in flight and waiting never blocks other changes.
    slots = Slots(parallelism)
    executor = ChangeExecutor(
        operations,
        settings=settings,
        allow_disruptive=allow_disruptive,
        emit=emit,
        sleep=slots.idle(stop.sleeper(sleep) if stop is not None else sleep),
        clock=clock,
        environ=environ,
        carried=carried,
    )

    def record(event: str, change: Change, *, last: bool = False, **fields: Any) -> None:
        if journal is None:
            return
        if not last:
            # Held: a change that has its slot starts (or goes on) right after its record.
            journal.change(event, change, **fields)
            return
        # A change's last record ends its work: the slot serves the next change while this
        # one waits for the disk (an fsync under a busy disk takes milliseconds).
        with slots.released(take_back=False):
            journal.change(event, change, **fields)

    def work(change_id: str) -> None:
        change = changes[change_id]
        if change.action is Action.NOOP:
            return
        started_at[change_id] = clock()
        in_flight.start(change)
        record("start", change)
        emit(EventKind.START, change, change.reason or change.action.value, {})
        try:
            notes[change_id] = executor.execute(change)
        except ApplyAbandoned as error:
            # Not a failure: Azure may still be carrying the write out. The journal keeps it
            # "in flight" for the next apply, which re-plans from what Azure shows then.
            finished_at[change_id] = clock()
            in_flight.end(change_id)
            abandoned.add(change_id)
            record("stopped", change, last=True, reason=str(error))
            emit(EventKind.STOPPED, change, str(error), {})
            raise
        except Exception as error:
            finished_at[change_id] = clock()
            in_flight.end(change_id)
            record("failed", change, last=True, error=str(error), type=type(error).__name__)
            emit(EventKind.FAILED, change, str(error), {"type": type(error).__name__})
            raise
        finished_at[change_id] = clock()
        in_flight.end(change_id)
        record("done", change, last=True)
        emit(EventKind.DONE, change, "; ".join(notes[change_id]) or "done", {})

    def on_skip(change_id: str, roots: tuple[str, ...]) -> None:
        change = changes[change_id]
        if change.action is Action.NOOP:
            return
        # A dependency that only stopped waiting did not fail: this one was simply not started.
        roots = tuple(r for r in roots if r not in abandoned)
        reason = (
            "skipped: depends on " + ", ".join(changes[r].address for r in roots) + " which failed"
            if roots
            else "not started: apply interrupted"
        )
        if journal is not None:
            journal.change("skipped", change, blocked_by=list(roots))
        emit(EventKind.SKIPPED, change, reason, {"blocked_by": list(roots)})

    if journal is not None:
        journal.begin(plan)
    sink.emit(
        ApplyEvent(
            EventKind.APPLY_START,
            message=f"applying {len(plan.actionable)} change(s) to {plan.target} "
            f"(parallelism {parallelism})",
            data={
                "target": plan.target,
                "spec_hash": plan.spec_hash,
                "parallelism": parallelism,
                "changes": [
                    {"id": c.id, "address": c.address, "action": c.action.value}
                    for c in plan.actionable
                ],
            },
        )
    )
    try:
        minutes = {c.id: expected_minutes(c) for c in plan.changes}
        run = run_graph(
            [(c.id, c.depends_on) for c in plan.changes],
            work,
            parallelism=parallelism,
            weight=minutes.__getitem__,
            on_skip=on_skip,
            slots=slots,
            stop=(lambda: stop.draining) if stop is not None else None,
        )
    except CycleError as error:
        if journal is not None:
            journal.close()
        raise ApplyRefusedError(f"the plan cannot be ordered: {error}") from error

    outcomes = []
    for c in plan.changes:
        status = run.status[c.id]
        failure = run.errors.get(c.id)
        blocked_by = tuple(r for r in run.blocked_by.get(c.id, ()) if r not in abandoned)
        if c.id in abandoned:
            status = OutcomeStatus.STOPPED
        if c.action is Action.NOOP:
            status = OutcomeStatus.NOOP  # nothing to do, whatever happened around it
        outcomes.append(
            ChangeOutcome(
                change_id=c.id,
                address=c.address,
                action=c.action,
                status=status,
                error=str(failure) if failure is not None else None,
                error_type=type(failure).__name__ if failure is not None else None,
                hint=failure.hint if isinstance(failure, ReconcileError) else "",
                blocked_by=blocked_by,
                started=started_at.get(c.id),
                finished=finished_at.get(c.id),
                notes=notes.get(c.id, ()),
            )
        )
    interrupted = run.interrupted or bool(abandoned)
    result = ApplyResult(
        tuple(outcomes),
        clock() - t0,
        interrupted=interrupted,
        stopped_by=stop.reason if stop is not None and interrupted else "",
    )
    if journal is not None:
        journal.end(result)
    sink.emit(
        ApplyEvent(
            EventKind.APPLY_END, message="ok" if result.ok else "failed", elapsed=result.elapsed
        )
    )
    sink.close(result)
    return result
