"""Operation-level retries: what is worth trying again, how long to wait, when to stop.

azure-core already retries single HTTP requests (408/429/5xx, honouring Retry-After),
so this wraps whole operations — a long-running operation that ended with a retryable
code, a 409 "another operation in progress", a pool still resizing. Classification is by
exception class only (`reconciler.errors`): `TransientAzureError` is retried,
`PermanentAzureError` (and its `ConflictError`) never is.

Waits are jittered exponential backoff, raised to Azure's `retry_after` when it asked
for longer; attempts and total time are both bounded. `sleep` and `clock` are injected so
tests run instantly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type

from reconciler.errors import TransientAzureError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds and backoff for retrying one operation."""

    attempts: int = 6  # including the first try
    max_elapsed: float = 600.0  # seconds across all attempts
    initial: float = 1.0  # first backoff (seconds)
    maximum: float = 60.0  # cap on one backoff
    multiplier: float = 2.0
    jitter: float = 0.5  # fraction of the backoff added at random (0..jitter)

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        base = self.initial * self.multiplier ** (attempt - 1)
        wait = min(self.maximum, base * (1.0 + self.jitter * rng.random()))
        if retry_after is not None:
            # Azure's explicit request wins when it is longer than our own guess.
            wait = max(wait, float(retry_after))
        return wait


RetryHook = Callable[[int, TransientAzureError, float], None]


def call_with_retry(
    fn: Callable[[], T],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_retry: RetryHook | None = None,
    rng: random.Random | None = None,
) -> T:
    """Call `fn`, retrying transient Azure errors per `policy`; re-raise the last error.

    `on_retry(attempt, error, wait)` is called before each wait so progress can show it.
    """
    started = clock()

    def wait(state: RetryCallState) -> float:
        nonlocal rng
        # Made on the first retry only: seeding a generator costs more than most calls.
        rng = rng or random.Random()  # jitter only, not cryptography
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        return policy.backoff(state.attempt_number, retry_after, rng)

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        # Stop early when the next wait (already computed) would overrun the time budget.
        return clock() - started + state.upcoming_sleep > policy.max_elapsed

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is None or state.outcome is None or state.next_action is None:
            return
        error = state.outcome.exception()
        if isinstance(error, TransientAzureError):
            on_retry(state.attempt_number, error, state.next_action.sleep)

    retrying = Retrying(
        retry=retry_if_exception_type(TransientAzureError),
        stop=stop,
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)
