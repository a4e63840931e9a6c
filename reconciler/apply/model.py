"""Values apply produces: per-change outcomes, the overall result, progress events, and
the errors that belong to apply alone (Azure's errors live in `reconciler.errors`).

    ReconcileError
    ├── ApplyRefusedError          nothing was started: the plan cannot be applied as asked
    │   ├── DisruptiveChangeRefused   scale-to-zero without --allow-disruptive
    │   └── UnsafeStateFileError      a lock or journal file is a symlink (or not a file)
    ├── ApplyLockedError           another apply holds the target's lock
    ├── ApplyAbandoned             a second signal: apply stopped waiting on Azure
    └── AzureError
        └── PermanentAzureError
            ├── VerifyError        Azure accepted a write but reports something else
            ├── WaitError          replication / allocation failed or never became steady
            └── ResizeExhausted    a pool stayed short of target after every re-issued resize
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from reconciler.errors import PermanentAzureError, ReconcileError
from reconciler.plan.model import Action


class ApplyRefusedError(ReconcileError):
    """The plan cannot be applied as asked; nothing was changed."""


class DisruptiveChangeRefused(ApplyRefusedError):
    """The plan scales pools to zero nodes, and the user did not approve disruption."""


class UnsafeStateFileError(ApplyRefusedError):
    """A lock or journal file is a symlink or not a regular file; it is never followed."""


class ApplyAbandoned(ReconcileError):
    """Raised inside a change's wait after a second stop signal: stop waiting on Azure.

    Only waits raise it (between requests), so a write is never cut off half-sent; what
    Azure was already doing carries on and the next apply re-plans from live state.
    """


class ApplyLockedError(ReconcileError):
    """Another apply on the same target is running (its pid and start time are named)."""


class VerifyError(PermanentAzureError):
    """A write succeeded, but re-reading shows Azure did not apply what was sent."""


class WaitError(PermanentAzureError):
    """Waiting for replication or allocation ended in failure or timed out."""


class ResizeExhausted(PermanentAzureError):
    """A pool stayed short of its target after every re-issued resize (R3)."""


class OutcomeStatus(StrEnum):
    """How one change ended. Values are stable: JSON events and the journal use them."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # a dependency failed (or the apply was interrupted)
    STOPPED = "stopped"  # running when apply stopped waiting (second signal); Azure carries on
    NOOP = "no-op"


class EventKind(StrEnum):
    """What a progress event reports."""

    APPLY_START = "apply-start"
    START = "start"  # a change began
    STEP = "step"  # a milestone inside a change (write sent, resize re-issued, ...)
    PROGRESS = "progress"  # replication per region, pool nodes allocated / target
    RETRY = "retry"  # a transient error; the operation will be tried again
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    STOPPED = "stopped"
    APPLY_END = "apply-end"


@dataclass(frozen=True, slots=True)
class ApplyEvent:
    """One thing that happened during an apply, for progress views and JSON logs.

    `elapsed` is seconds since the change started (since the apply started for
    apply-level events); `data` holds machine-readable detail (regions, node counts).
    """

    kind: EventKind
    change_id: str | None = None
    address: str | None = None
    action: str | None = None
    message: str = ""
    elapsed: float = 0.0
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.data, MappingProxyType):
            object.__setattr__(self, "data", MappingProxyType(dict(self.data)))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.kind.value}
        for key in ("change_id", "address", "action"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.message:
            out["message"] = self.message
        out["elapsed"] = round(self.elapsed, 3)
        if self.data:
            out["data"] = dict(self.data)
        return out


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """How one change of the plan ended, with what was done along the way."""

    change_id: str
    address: str
    action: Action
    status: OutcomeStatus
    error: str | None = None
    error_type: str | None = None
    hint: str = ""
    blocked_by: tuple[str, ...] = ()  # for SKIPPED: the root-cause change ids
    started: float | None = None
    finished: float | None = None
    notes: tuple[str, ...] = ()  # resize attempts, adopted creates, ...

    @property
    def elapsed(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """Everything an apply did, in plan order; `ok` when nothing failed or was skipped."""

    outcomes: tuple[ChangeOutcome, ...]
    elapsed: float
    interrupted: bool = False  # a stop request left changes not started or stopped
    stopped_by: str = ""  # what asked the apply to stop ("SIGINT", "SIGTERM"), if anything

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(
            o.status in (OutcomeStatus.DONE, OutcomeStatus.NOOP) for o in self.outcomes
        )

    def with_status(self, status: OutcomeStatus) -> tuple[ChangeOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status is status)

    @property
    def done(self) -> tuple[ChangeOutcome, ...]:
        return self.with_status(OutcomeStatus.DONE)

    @property
    def failed(self) -> tuple[ChangeOutcome, ...]:
        """The root causes: changes that failed themselves (each reported once)."""
        return self.with_status(OutcomeStatus.FAILED)

    @property
    def skipped(self) -> tuple[ChangeOutcome, ...]:
        return self.with_status(OutcomeStatus.SKIPPED)

    @property
    def stopped(self) -> tuple[ChangeOutcome, ...]:
        return self.with_status(OutcomeStatus.STOPPED)

    def outcome(self, change_id: str) -> ChangeOutcome:
        for o in self.outcomes:
            if o.change_id == change_id:
                return o
        raise KeyError(change_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "interrupted": self.interrupted,
            **({"stopped_by": self.stopped_by} if self.stopped_by else {}),
            "elapsed": round(self.elapsed, 3),
            "counts": {s.value: len(self.with_status(s)) for s in OutcomeStatus},
            "changes": [
                {
                    "id": o.change_id,
                    "address": o.address,
                    "action": o.action.value,
                    "status": o.status.value,
                    **({"error": o.error, "error_type": o.error_type} if o.error else {}),
                    **({"blocked_by": list(o.blocked_by)} if o.blocked_by else {}),
                    **({"notes": list(o.notes)} if o.notes else {}),
                    **({"elapsed": round(o.elapsed, 3)} if o.elapsed is not None else {}),
                }
                for o in self.outcomes
            ],
        }
