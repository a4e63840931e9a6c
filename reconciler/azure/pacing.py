"""Client-side pacing from ARM's rate-limit headers, so reads and polls never meet a 429.

ARM throttles per subscription (and principal) and operation class with token buckets
(since 2024: reads 250 refilled at 25/s, writes and deletes 200 at 10/s) and tells the
client, on every answer, how many tokens are left:
`x-ms-ratelimit-remaining-subscription-reads` (`-writes`, `-deletes`). A `Pacer` mirrors
one bucket on the client:

- on each answer the estimate is reset from the header — the server's count, minus the
  requests still in flight, which may have taken tokens since — so other processes sharing
  the subscription, and a refill faster than assumed, are seen at once. An answer that
  arrives after the answer to a request sent later is stale (the server counted it before
  the tokens that later answer already showed spent): it may lower the estimate, never
  raise it;
- each request sent takes one token from the estimate, which refills between answers at
  the published rate (the header corrects any error on the next answer);
- a request waits only when sending it would leave fewer than `reserve` tokens: concurrency
  is untouched while the bucket allows it, and the reserve is left for retries and for
  other clients of the subscription;
- a 429 empties the estimate and blocks the bucket until its `Retry-After` has passed;
- until the first answer, at most `unknown_in_flight` requests go at once; answers without
  the header (an endpoint that does not send it) leave the bucket unpaced.

`Pacing` holds one pacer per (subscription, class); `PacingPolicy` is the azure-core
per-retry policy that makes every request of a client go through them (reads, writes and
the status polls of long-running operations alike). `Pacing.wait_time` lets a scheduler
(the read walk) start work for a subscription whose bucket has room instead of blocking a
worker on one that has none — that is how a read spreads across subscriptions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

HEADERS = {
    "read": "x-ms-ratelimit-remaining-subscription-reads",
    "write": "x-ms-ratelimit-remaining-subscription-writes",
    "delete": "x-ms-ratelimit-remaining-subscription-deletes",
}


@dataclass(frozen=True)
class BucketModel:
    """What the client assumes of one ARM bucket until headers say otherwise."""

    refill: float  # tokens per second
    reserve: int = 5  # tokens never spent, for retries and other clients
    unknown_in_flight: int = 16  # requests sent before the first answer tells the count


# Azure's published buckets (per subscription and principal, since 2024).
PUBLISHED = {
    "read": BucketModel(refill=25.0),
    "write": BucketModel(refill=10.0),
    "delete": BucketModel(refill=10.0),
}


def op_class(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "read"
    if method == "DELETE":
        return "delete"
    return "write"


def subscription_of(url: str) -> str:
    """The subscription id in an ARM URL, lower-cased; '' for tenant-level URLs."""
    parts = urlsplit(url).path.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1].lower()
    return ""


class Pacer:
    """The client's estimate of one ARM token bucket (see the module docstring)."""

    def __init__(
        self,
        model: BucketModel,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = model
        self._clock = clock
        self._cond = threading.Condition()
        self._tokens: float | None = None  # None: no answer seen yet
        self._at = clock()
        self._in_flight = 0
        self._sent = 0  # tickets handed out by `acquire`, in send order
        self._answered = 0  # the newest ticket whose answer has been observed
        self._blocked_until = 0.0
        self._headerless = False  # answers come without the header: nothing to pace by
        self.waited = 0.0  # seconds requests spent waiting here, for reports
        self.waits = 0

    def _now_tokens(self, now: float) -> float | None:
        if self._tokens is None:
            return None
        return self._tokens + (now - self._at) * self._model.refill

    def wait_time(self) -> float:
        """Seconds until a request may be sent (0: now)."""
        with self._cond:
            return self._wait_time(self._clock())

    def _wait_time(self, now: float) -> float:
        if now < self._blocked_until:
            return self._blocked_until - now
        tokens = self._now_tokens(now)
        if tokens is None:
            if self._headerless or self._in_flight < self._model.unknown_in_flight:
                return 0.0
            return 0.05
        short = self._model.reserve + 1 - tokens
        if short <= 1e-6:  # a refill computed to a hair under one token is one token
            return 0.0
        return short / self._model.refill if self._model.refill > 0 else 1.0

    def acquire(self, sleep: Callable[[float], Any] | None = None) -> int:
        """Wait until the bucket has room, then count one request as sent; returns its
        ticket (send order) for `observe`."""
        started = self._clock()
        with self._cond:
            while True:
                now = self._clock()
                wait = self._wait_time(now)
                if wait <= 0:
                    break
                # An answer arriving meanwhile (notify) may show more room than estimated.
                if sleep is None:
                    self._cond.wait(timeout=min(wait, 1.0))
                else:
                    self._cond.release()
                    try:
                        sleep(min(wait, 1.0))
                    finally:
                        self._cond.acquire()
            tokens = self._now_tokens(now)
            if tokens is not None:
                self._tokens, self._at = tokens - 1.0, now
            self._in_flight += 1
            self._sent += 1
            waited = self._clock() - started
            if waited > 0.001:
                self.waited += waited
                self.waits += 1
            return self._sent

    def observe(
        self,
        remaining: int | None,
        *,
        retry_after: float | None = None,
        ticket: int | None = None,
    ) -> None:
        """Count an answer: `remaining` from its header (None: absent), `retry_after` on a
        429, `ticket` the request's from `acquire` (None: taken as the newest)."""
        with self._cond:
            now = self._clock()
            self._in_flight = max(0, self._in_flight - 1)
            stale = ticket is not None and ticket < self._answered
            if not stale:
                self._answered = self._sent if ticket is None else ticket
            if remaining is not None:
                told = float(remaining) - self._in_flight
                estimate = self._now_tokens(now)
                self._tokens = min(told, estimate) if stale and estimate is not None else told
                self._at = now
            elif self._tokens is None:
                self._headerless = True
            if retry_after is not None:
                self._tokens, self._at = -float(self._in_flight), now
                self._blocked_until = max(self._blocked_until, now + retry_after)
            self._cond.notify_all()

    def cancel(self) -> None:
        """A request that got no answer (connection failure): it is no longer in flight."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._cond.notify_all()


class Pacing:
    """One `Pacer` per (subscription, operation class); thread-safe."""

    def __init__(
        self,
        models: dict[str, BucketModel] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._models = dict(PUBLISHED if models is None else models)
        self._clock = clock
        self._lock = threading.Lock()
        self._pacers: dict[tuple[str, str], Pacer] = {}

    def pacer(self, subscription: str, cls: str) -> Pacer:
        key = (subscription.lower(), cls)
        with self._lock:
            pacer = self._pacers.get(key)
            if pacer is None:
                pacer = Pacer(self._models[cls], clock=self._clock)
                self._pacers[key] = pacer
            return pacer

    def wait_time(self, subscription: str, cls: str = "read") -> float:
        return self.pacer(subscription, cls).wait_time()

    def waited(self) -> float:
        """Total seconds requests have waited for room in any bucket."""
        with self._lock:
            return sum(p.waited for p in self._pacers.values())


class PacingPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """azure-core per-retry policy: every attempt waits for room in its bucket, every answer
    updates it. Installed per retry, so a retried request is paced like a new one."""

    def __init__(self, pacing: Pacing) -> None:
        super().__init__()
        self.pacing = pacing

    def send(self, request: PipelineRequest) -> PipelineResponse:  # type: ignore[type-arg]
        http = request.http_request
        cls = op_class(http.method)
        pacer = self.pacing.pacer(subscription_of(http.url), cls)
        ticket = pacer.acquire()
        try:
            response = self.next.send(request)
        except BaseException:
            pacer.cancel()
            raise
        headers = response.http_response.headers
        pacer.observe(
            _int(headers.get(HEADERS[cls])), retry_after=_retry_after(response), ticket=ticket
        )
        return response


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _retry_after(response: PipelineResponse) -> float | None:  # type: ignore[type-arg]
    http = response.http_response
    if http.status_code != 429:
        return None
    try:
        return max(0.0, float(http.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
