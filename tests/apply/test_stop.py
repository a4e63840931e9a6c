"""Stopping an apply early: drain on the first request, stop waiting on the second, report it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import (
    ApplyEvent,
    EventKind,
    ExecutorSettings,
    Journal,
    OutcomeStatus,
    RetryPolicy,
    StopSignal,
    apply_plan,
    parse_duration,
)
from reconciler.apply.stop import InFlight
from reconciler.plan.model import Action
from reconciler.state.model import Kind
from tests.apply.fake import FakeClock, FakeOperations, change, plan_of, pool_props, rid

FAST = ExecutorSettings(poll_interval=1.0, retry=RetryPolicy(initial=0.0, jitter=0.0))
VERSION_AFTER = {
    "location": "westeurope",
    "tags.managed-by": "reconcile",
    "targetRegions[westeurope].replicas": 1,
}


def request_on(
    ops: FakeOperations, op: str, stop: StopSignal, *, at: int = 1, times: int = 1
) -> list[int]:
    """Ask `stop` to stop (`times` times) when `op` is called for the `at`-th time.

    Returns a one-item list counting the calls of `op` seen so far.
    """
    seen = [0]

    def hook(name: str, kwargs: Mapping[str, Any]) -> None:
        seen[0] += 1
        if seen[0] == at:
            for _ in range(times):
                stop.request("SIGTERM")

    ops.hooks[op].append(hook)
    return seen


def journal_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_first_request_lets_the_running_change_finish_and_starts_nothing_more(
    tmp_path: Path,
) -> None:
    """Stop asked while `a` works: `a` completes, queued `b` and `c` never start; all journalled."""
    ops = FakeOperations()
    stop = StopSignal()
    request_on(ops, "create", stop)
    journal = tmp_path / "j.jsonl"
    result = apply_plan(
        plan_of(change("a"), change("b"), change("c")),
        ops,
        parallelism=1,  # b and c are queued for the only slot when the stop comes
        journal=Journal(journal),
        sleep=FakeClock().sleep,
        settings=FAST,
        stop=stop,
    )
    assert dict(ops.creates) == {rid(Kind.GALLERY, "a"): 1}
    assert [(o.change_id, o.status, o.blocked_by) for o in result.outcomes] == [
        ("a", OutcomeStatus.DONE, ()),
        ("b", OutcomeStatus.SKIPPED, ()),
        ("c", OutcomeStatus.SKIPPED, ()),
    ]
    assert result.interrupted and not result.ok and result.stopped_by == "SIGTERM"
    end = journal_events(journal)[-1]
    assert (end["event"], end["interrupted"], end["stopped_by"]) == ("apply-end", True, "SIGTERM")
    previous = Journal.read_last_run(journal)
    assert previous is not None and not previous.complete
    assert previous.describe().endswith(
        "was stopped by SIGTERM; it had finished 1 change(s). "
        "Re-planning from live state converges from there."
    )


def test_a_second_request_stops_waiting_and_leaves_the_change_in_flight(tmp_path: Path) -> None:
    """Stop asked twice while a version replicates: its wait ends, it is `stopped`, its pool never starts."""
    ops = FakeOperations(replication_reads=1000)
    stop = StopSignal()
    reads = request_on(ops, "read", stop, at=3, times=2)
    journal = tmp_path / "j.jsonl"
    plan = plan_of(
        change("v", Kind.VERSION, after=VERSION_AFTER),
        change("p", Kind.POOL, depends_on=["v"], after=pool_props(2)),
    )
    result = apply_plan(
        plan,
        ops,
        journal=Journal(journal),
        sleep=FakeClock().sleep,
        settings=FAST,
        stop=stop,
    )
    version, pool = result.outcomes
    assert version.status is OutcomeStatus.STOPPED
    assert (version.error or "").startswith("stopped waiting on Azure (SIGTERM received twice)")
    assert pool.status is OutcomeStatus.SKIPPED and pool.blocked_by == ()
    assert dict(ops.creates) == {rid(Kind.VERSION, "v"): 1}  # the write was sent whole
    assert reads == [3]  # no read after the second request
    assert result.interrupted and result.stopped == (version,) and not result.failed
    events = [(e["event"], e.get("id")) for e in journal_events(journal)]
    assert ("stopped", "v") in events and events[-1] == ("apply-end", None)
    previous = Journal.read_last_run(journal)
    assert previous is not None and previous.in_flight == ("v",)
    assert "in flight: version:v" in previous.describe()


def test_a_request_while_the_last_change_runs_is_a_success() -> None:
    """When nothing was left to start, a stop changes nothing: the apply is ok, not interrupted."""
    ops = FakeOperations()
    stop = StopSignal()
    request_on(ops, "create", stop, at=2)
    result = apply_plan(
        plan_of(change("a"), change("b", depends_on=["a"])),
        ops,
        sleep=FakeClock().sleep,
        settings=FAST,
        stop=stop,
    )
    assert result.ok and not result.interrupted and result.stopped_by == ""
    assert stop.draining


def test_the_stop_report_names_each_running_change_with_its_news_and_time_left() -> None:
    """Progress gives an estimate (elapsed × rest / done); without it the wait's limit is named."""
    now = [100.0]
    settings = ExecutorSettings(allocation_timeout=600.0, resize_attempts=1)
    in_flight = InFlight(settings, lambda: now[0])
    version = change("v", Kind.VERSION, after=VERSION_AFTER)
    pool = change("p", Kind.POOL, Action.UPDATE, after=pool_props(5))
    in_flight.start(version)
    in_flight.start(pool)
    now[0] = 120.0
    in_flight.note(
        ApplyEvent(
            EventKind.PROGRESS,
            "v",
            "version:v",
            "create",
            "replication: westeurope Replicating 25%",
            data={"regions": {"westeurope": {"state": "Replicating", "progress": 25}}},
        )
    )
    in_flight.note(ApplyEvent(EventKind.STEP, "p", "pool:p", "update", "update: scale"))
    assert in_flight.report() == [
        "version:v — replication: westeurope Replicating 25% (running 20.0s; about 1m00s more)",
        "pool:p — update: scale (running 20.0s; at most 30m00s more)",
    ]
    in_flight.end("v")
    assert [line.split(" ")[0] for line in in_flight.report()] == ["pool:p"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0s", 0.0), ("0", 0.0), ("30s", 30.0), ("5m", 300.0), ("1h30m", 5400.0), ("250ms", 0.25)],
)
def test_lock_timeout_durations_read_like_terraforms(text: str, seconds: float) -> None:
    """--lock-timeout takes Go-style durations (and bare seconds)."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-3s", "5x"])
def test_a_malformed_duration_is_one_sentence(text: str) -> None:
    """Anything else is refused with a sentence naming the accepted forms."""
    with pytest.raises(ValueError, match="empty duration|use a number with a unit"):
        parse_duration(text)
