"""Operation-level retries: transient retried with backoff and Retry-After, permanent never."""

from __future__ import annotations

import random

import pytest

from reconciler.apply import ExecutorSettings, RecordingProgress, RetryPolicy, apply_plan
from reconciler.apply.retry import call_with_retry
from reconciler.errors import ConflictError, PermanentAzureError, TransientAzureError
from tests.apply.fake import FakeClock, FakeOperations, change, failing, plan_of


class FixedRandom(random.Random):
    """A random source whose `random()` always returns `value` (to pin the jitter)."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


class Flaky:
    """Raises the given errors in turn, then returns 'ok'."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_transient_errors_are_retried_until_success() -> None:
    """Two transient failures then success: three calls, two sleeps, the value returned."""
    clock = FakeClock()
    fn = Flaky(TransientAzureError("busy"), TransientAzureError("busy"))
    out = call_with_retry(
        fn, policy=RetryPolicy(), sleep=clock.sleep, clock=clock, rng=FixedRandom(0.0)
    )
    assert out == "ok" and fn.calls == 3 and clock.sleeps == [1.0, 2.0]


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    """Azure's retry_after (17 s) wins over a 1 s backoff."""
    clock = FakeClock()
    fn = Flaky(TransientAzureError("throttled", retry_after=17))
    call_with_retry(fn, policy=RetryPolicy(initial=1.0), sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [17.0]


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    """Backoff doubles per attempt, adds at most `jitter` of itself, never exceeds `maximum`."""
    policy = RetryPolicy(initial=1.0, multiplier=2.0, jitter=0.5, maximum=10.0)
    least = [policy.backoff(n, None, FixedRandom(0.0)) for n in range(1, 7)]
    most = [policy.backoff(n, None, FixedRandom(1.0)) for n in range(1, 7)]
    assert least == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert most == [1.5, 3.0, 6.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize(
    "error",
    [PermanentAzureError("bad request", status=400), ConflictError("etag", status=412)],
)
def test_permanent_and_conflict_errors_are_never_retried(error: Exception) -> None:
    """A permanent error (or ETag conflict) is raised at once, without sleeping."""
    clock = FakeClock()
    fn = Flaky(error)
    with pytest.raises(type(error)):
        call_with_retry(fn, policy=RetryPolicy(), sleep=clock.sleep, clock=clock)
    assert fn.calls == 1 and clock.sleeps == []


def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    """With attempts=3 a permanently transient operation is tried three times, then raises."""
    clock = FakeClock()
    fn = Flaky(*(TransientAzureError(f"busy {i}") for i in range(10)))
    with pytest.raises(TransientAzureError, match="busy 2"):
        call_with_retry(fn, policy=RetryPolicy(attempts=3), sleep=clock.sleep, clock=clock)
    assert fn.calls == 3


def test_total_retry_time_is_bounded() -> None:
    """Retrying stops before the next wait would pass max_elapsed."""
    clock = FakeClock()
    fn = Flaky(*(TransientAzureError("busy", retry_after=40) for _ in range(10)))
    with pytest.raises(TransientAzureError):
        call_with_retry(
            fn, policy=RetryPolicy(attempts=100, max_elapsed=100), sleep=clock.sleep, clock=clock
        )
    # 40 s, then 80 s elapsed; a third wait would end at 120 s, past the 100 s budget.
    assert fn.calls == 3 and clock.sleeps == [40.0, 40.0]


def test_apply_retries_a_transient_write_and_reports_each_retry() -> None:
    """A 409 'operation in progress' on create is retried; a retry event is emitted."""
    ops = FakeOperations()
    ops.hooks["create"].append(
        failing(TransientAzureError("another operation in progress", status=409), times=2)
    )
    progress = RecordingProgress()
    clock = FakeClock()
    result = apply_plan(
        plan_of(change("g")),
        ops,
        sleep=clock.sleep,
        clock=clock,
        progress=progress,
        settings=ExecutorSettings(poll_interval=1.0, retry=RetryPolicy(jitter=0.0)),
    )
    assert result.ok
    retries = [e.message for e in progress.events if e.kind.value == "retry"]
    assert retries == [
        "create: another operation in progress — retrying in 1.0s (attempt 2 of 6)",
        "create: another operation in progress — retrying in 2.0s (attempt 3 of 6)",
    ]
    assert clock.sleeps == [1.0, 2.0]


def test_apply_does_not_retry_a_permanent_write() -> None:
    """A 403 on create is attempted once and fails the change."""
    ops = FakeOperations()
    calls = []
    ops.hooks["create"].append(lambda op, kw: calls.append(1))
    ops.hooks["create"].append(failing(PermanentAzureError("forbidden", status=403), times=5))
    result = apply_plan(plan_of(change("g")), ops, sleep=FakeClock().sleep)
    assert not result.ok and len(calls) == 1
    assert result.failed[0].error == "forbidden"
