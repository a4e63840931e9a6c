"""ARM subscription throttling: a token bucket per subscription and operation class.

Buckets refill in *simulated* time, at the clock's speed, like every other duration the
sandbox models: a world running 800× faster refills its read bucket 800× faster, so an
apply whose polls are paced in simulated time meets exactly the throttling Azure would
give it, and benchmarks can keep throttling on. `Sandbox.advance` refills buckets too.
At `speed: 1` simulated time is real time and the buckets behave as Azure's.

Buckets are persisted in the world, so several processes hitting one sandbox share them
as clients of one subscription share Azure's. Every response carries the remaining count
in `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`; an empty bucket answers
429 with `Retry-After` in *real* seconds — the simulated time until a token is back,
divided by the clock's speed — because that is what a client sleeps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reconciler.sandbox.config import ThrottleConfig
from reconciler.sandbox.store import Tx

HEADER = {
    "read": "x-ms-ratelimit-remaining-subscription-reads",
    "write": "x-ms-ratelimit-remaining-subscription-writes",
    "delete": "x-ms-ratelimit-remaining-subscription-deletes",
}

# Longest Retry-After the sandbox sends: a bucket that never refills (refill 0, or a clock
# that stands still) still tells the client something finite.
MAX_RETRY_AFTER = 60.0


def op_class(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "read"
    if method == "DELETE":
        return "delete"
    return "write"


@dataclass(frozen=True)
class Admission:
    granted: bool
    remaining: int
    retry_after: float  # real seconds


def admit(
    tx: Tx, config: ThrottleConfig, subscription: str, cls: str, *, now: float, speed: float
) -> Admission:
    """Take one token from the bucket of (`subscription`, `cls`) at simulated time `now`."""
    bucket = config.bucket(cls)
    if not config.enabled:
        return Admission(True, int(bucket.capacity), 0)
    granted, tokens = tx.take_token(
        f"{subscription.lower()}:{cls}", bucket.capacity, bucket.refill, now
    )
    retry: float
    if granted:
        retry = 0
    elif bucket.refill <= 0 or speed <= 0:
        retry = MAX_RETRY_AFTER
    else:
        real = min(MAX_RETRY_AFTER, (1.0 - tokens) / bucket.refill / speed)
        if config.fractional_retry_after:
            retry = round(real, 3) or 0.001
        else:
            retry = max(1, math.ceil(real))
    return Admission(granted, max(0, math.floor(tokens)), retry)
