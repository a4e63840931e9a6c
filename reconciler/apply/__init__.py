"""Apply: carry out a plan in dependency order, in parallel, through throttling and failures.

Public surface (everything else is internal):

- `apply_plan(plan, operations, *, parallelism=10, allow_disruptive=False, journal=None,
  progress=None, sleep=time.sleep, clock=time.monotonic, settings=None, environ=None)
  -> ApplyResult`
- results: `ApplyResult`, `ChangeOutcome`, `OutcomeStatus`; events: `ApplyEvent`, `EventKind`
- tuning: `ExecutorSettings`, `RetryPolicy`
- durability: `Journal`, `ApplyLock`, `HeldLocks`, `StatePaths`, `state_for_sandbox`,
  `state_for_azure`, `parse_duration`; interrupts: `StopSignal`
- progress sinks: `make_progress`, `PlainProgress`, `JsonProgress`, `LiveProgress`,
  `RecordingProgress`, `NullProgress`
- errors: `ApplyRefusedError`, `DisruptiveChangeRefused`, `UnsafeStateFileError`,
  `ApplyLockedError`, `ApplyAbandoned`, `VerifyError`, `WaitError`, `ResizeExhausted`

The port to Azure is `reconciler.apply.ports.Operations`.
"""

from reconciler.apply.carry import CarryStore
from reconciler.apply.engine import apply_plan, preflight
from reconciler.apply.executor import ExecutorSettings
from reconciler.apply.journal import (
    ApplyLock,
    HeldLocks,
    Journal,
    JournalRun,
    StatePaths,
    parse_duration,
    state_for_azure,
    state_for_sandbox,
    user_state_dir,
)
from reconciler.apply.model import (
    ApplyAbandoned,
    ApplyEvent,
    ApplyLockedError,
    ApplyRefusedError,
    ApplyResult,
    ChangeOutcome,
    DisruptiveChangeRefused,
    EventKind,
    OutcomeStatus,
    ResizeExhausted,
    UnsafeStateFileError,
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
from reconciler.apply.stop import StopSignal

__all__ = [
    "ApplyAbandoned",
    "ApplyEvent",
    "ApplyLock",
    "ApplyLockedError",
    "ApplyRefusedError",
    "ApplyResult",
    "CarryStore",
    "ChangeOutcome",
    "DisruptiveChangeRefused",
    "EventKind",
    "ExecutorSettings",
    "HeldLocks",
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
    "StatePaths",
    "StopSignal",
    "UnsafeStateFileError",
    "VerifyError",
    "WaitError",
    "apply_plan",
    "make_progress",
    "parse_duration",
    "preflight",
    "state_for_azure",
    "state_for_sandbox",
    "user_state_dir",
]
