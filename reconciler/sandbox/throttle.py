"""ARM subscription throttling: a token bucket per subscription and operation class.

Buckets refill in real time (not simulated time: throttling is about request rate) and are
persisted in the world, so several processes hitting one sandbox share them as clients of
one subscription share Azure's. Every response carries the remaining count in
`x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`; an empty bucket answers 429
with `Retry-After`.
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
    retry_after: float


def admit(tx: Tx, config: ThrottleConfig, subscription: str, cls: str) -> Admission:
    bucket = config.bucket(cls)
    if not config.enabled:
        return Admission(True, int(bucket.capacity), 0)
    granted, tokens = tx.take_token(f"{subscription.lower()}:{cls}", bucket.capacity, bucket.refill)
    retry: float
    if granted:
        retry = 0
    elif bucket.refill <= 0:
        retry = 60
    elif config.fractional_retry_after:
        retry = round((1.0 - tokens) / bucket.refill, 3) or 0.001
    else:
        retry = max(1, math.ceil((1.0 - tokens) / bucket.refill))
    return Admission(granted, max(0, math.floor(tokens)), retry)
