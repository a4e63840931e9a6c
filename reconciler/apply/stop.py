"""Stopping an apply on request: drain on the first signal, stop waiting on the second.

`StopSignal` is the one object the command's signal handlers and the engine share:

- the first `request` *drains*: no new change starts (the scheduler checks before each
  one), changes already running carry on to their end, and the journal and summary are
  written as usual;
- the second *abandons waits*: every wait a running change is in (polling an LRO,
  replication, allocation, a retry's backoff) raises `ApplyAbandoned` at once. Waits sit
  between requests, so no write is ever cut off half-sent; Azure carries on with what it
  was sent, and the next apply re-plans from live state.

`InFlight` keeps what each running change last reported, so the message printed the
moment a signal arrives can say what is still running and how long it may take.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.apply.executor import ExecutorSettings
from reconciler.apply.model import ApplyAbandoned, ApplyEvent, EventKind
from reconciler.plan.model import Change
from reconciler.state.model import Kind


class StopSignal:
    """A cooperative stop for one apply; thread-safe, and safe to call from a signal handler."""

    def __init__(self) -> None:
        self._drain = threading.Event()
        self._abandon = threading.Event()
        self.reason = ""  # what asked first, e.g. "SIGTERM"
        self.requests = 0
        self.in_flight: InFlight | None = None  # attached by the engine while it runs

    def request(self, reason: str) -> int:
        """Ask the apply to stop; returns how many times it has been asked (1 drains, 2+ abandons)."""
        self.requests += 1
        if not self.reason:
            self.reason = reason
        self._drain.set()
        if self.requests >= 2:
            self._abandon.set()
        return self.requests

    @property
    def draining(self) -> bool:
        return self._drain.is_set()

    @property
    def abandoning(self) -> bool:
        return self._abandon.is_set()

    def _abandoned(self) -> ApplyAbandoned:
        return ApplyAbandoned(
            f"stopped waiting on Azure ({self.reason or 'stop'} received twice); "
            "what was already sent carries on there",
            hint="run `reconcile apply` again: it re-plans from live state",
        )

    def sleeper(self, sleep: Callable[[float], None]) -> Callable[[float], None]:
        """`sleep` that raises `ApplyAbandoned` once waits are abandoned, and is cut short by it."""

        def stoppable(seconds: float) -> None:
            if self._abandon.is_set():
                raise self._abandoned()
            if sleep is time.sleep:
                # A real wait ends the moment the second signal arrives, not after it.
                if self._abandon.wait(seconds):
                    raise self._abandoned()
                return
            sleep(seconds)
            if self._abandon.is_set():
                raise self._abandoned()

        return stoppable

    def report(self) -> list[str]:
        """One line per change still running (empty when nothing is)."""
        return self.in_flight.report() if self.in_flight is not None else []


@dataclass(slots=True)
class _Running:
    change: Change
    started: float
    news: str = ""
    fraction: float | None = None  # how far its current wait has got, 0..1, when known


class InFlight:
    """The changes running now, with their latest progress, for the stop message."""

    def __init__(self, settings: ExecutorSettings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}

    def start(self, change: Change) -> None:
        with self._lock:
            self._running[change.id] = _Running(change, self.clock())

    def end(self, change_id: str) -> None:
        with self._lock:
            self._running.pop(change_id, None)

    def note(self, event: ApplyEvent) -> None:
        if event.change_id is None or event.kind not in (
            EventKind.STEP,
            EventKind.PROGRESS,
            EventKind.RETRY,
        ):
            return
        with self._lock:
            row = self._running.get(event.change_id)
            if row is not None:
                row.news = event.message
                row.fraction = _fraction(event.data) if event.kind is EventKind.PROGRESS else None

    def report(self) -> list[str]:
        now = self.clock()
        with self._lock:
            rows = sorted(self._running.values(), key=lambda r: r.started)
        return [self._line(row, now) for row in rows]

    def _line(self, row: _Running, now: float) -> str:
        elapsed = now - row.started
        if row.fraction is not None and 0 < row.fraction < 1:
            # The wait so far predicts the rest (a straight line, as the poll pacer does).
            left = f"about {seconds_text(elapsed * (1 - row.fraction) / row.fraction)} more"
        else:
            left = f"at most {seconds_text(self.limit(row.change))} more"
        news = f" — {row.news}" if row.news else ""
        return f"{row.change.address}{news} (running {seconds_text(elapsed)}; {left})"

    def limit(self, change: Change) -> float:
        """The longest this change can still take: its waits' timeouts."""
        s = self.settings
        if change.kind is Kind.VERSION:
            return s.replication_timeout + s.retry.max_elapsed
        if change.kind is Kind.POOL:
            return s.allocation_timeout * (s.resize_attempts + 1) + s.retry.max_elapsed
        return s.retry.max_elapsed


def _fraction(data: Mapping[str, Any]) -> float | None:
    regions = data.get("regions")
    if isinstance(regions, Mapping) and regions:
        values = [v.get("progress") for v in regions.values() if isinstance(v, Mapping)]
        if values and all(isinstance(v, int | float) for v in values):
            return min(float(v) for v in values) / 100.0  # type: ignore[arg-type]
    goal = (data.get("target_dedicated") or 0) + (data.get("target_low_priority") or 0)
    if goal:
        have = (data.get("dedicated") or 0) + (data.get("low_priority") or 0)
        return min(1.0, have / goal)
    return None


def seconds_text(value: float) -> str:
    """``4.2s``, ``3m05s``, ``2h10m``: short enough for one line."""
    value = max(0.0, value)
    if value < 60:
        return f"{value:.1f}s"
    if value < 3600:
        minutes, rest = divmod(int(value), 60)
        return f"{minutes}m{rest:02d}s"
    hours, rest = divmod(int(value), 3600)
    return f"{hours}h{rest // 60:02d}m"
