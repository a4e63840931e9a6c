"""Apply: carry out a plan in dependency order, in parallel, through throttling and failures.

Public surface (everything else is internal):

- `apply_plan(plan, operations, *, parallelism=10, allow_disruptive=False, journal=None,
  progress=None, sleep=time.sleep, clock=time.monotonic, settings=None, environ=None)
  -> ApplyResult`
- results: `ApplyResult`, `ChangeOutcome`, `OutcomeStatus`; events: `ApplyEvent`, `EventKind`
- tuning: `ExecutorSettings`, `RetryPolicy`
- durability: `Journal`, `ApplyLock`, `default_paths`
- progress sinks: `make_progress`, `PlainProgress`, `JsonProgress`, `LiveProgress`,
  `RecordingProgress`, `NullProgress`
- errors: `ApplyRefusedError`, `DisruptiveChangeRefused`, `ApplyLockedError`,
  `VerifyError`, `WaitError`, `ResizeExhausted`

The port to Azure is `reconciler.apply.ports.Operations`.
"""

from reconciler.apply.engine import apply_plan, preflight
from reconciler.apply.executor import ExecutorSettings
from reconciler.apply.journal import ApplyLock, Journal, JournalRun, default_paths
from reconciler.apply.model import (
    ApplyEvent,
    ApplyLockedError,
    ApplyRefusedError,
    ApplyResult,
    ChangeOutcome,
    DisruptiveChangeRefused,
    EventKind,
    OutcomeStatus,
    ResizeExhausted,
    VerifyError,
    WaitError,
)
from reconciler.apply.ports import Operations
from reconciler.apply.progress import (
    JsonProgress,
    LiveProgress,
    NullProgress,
    PlainProgress,
    Progress,
    RecordingProgress,
    make_progress,
)
from reconciler.apply.retry import RetryPolicy

__all__ = [
    "ApplyEvent",
    "ApplyLock",
    "ApplyLockedError",
    "ApplyRefusedError",
    "ApplyResult",
    "ChangeOutcome",
    "DisruptiveChangeRefused",
    "EventKind",
    "ExecutorSettings",
    "Journal",
    "JournalRun",
    "JsonProgress",
    "LiveProgress",
    "NullProgress",
    "Operations",
    "OutcomeStatus",
    "PlainProgress",
    "Progress",
    "RecordingProgress",
    "ResizeExhausted",
    "RetryPolicy",
    "VerifyError",
    "WaitError",
    "apply_plan",
    "default_paths",
    "make_progress",
    "preflight",
]
