"""The apply journal (what happened, durably) and the apply lock (who may write now).

Journal: a JSON-lines file, one record per event (apply start, change start / done /
failed / skipped, apply end), each flushed and fsynced before the work it announces goes
on, so a process killed at any instant leaves a truthful prefix. It is *evidence*, not the
source of truth: the next `apply` always re-plans from live Azure state (level-based, like
controller-runtime), and the journal only tells it — and the user — that the previous run
was interrupted, which changes were in flight, and why a saved plan became stale.
Convergence after a crash comes from idempotent steps: creates by name (PUT, or
If-None-Match on pools with "exists, owned, matches" counted as done), deletes where
absent counts as done, updates to absolute values.

Lock: an exclusive `fcntl.flock` on a lock file next to the journal, held for the whole
plan-and-apply. The kernel drops it when the holder exits, however it exits, so a crash
never leaves a stale lock. The holder writes its pid, host and start time into the file so
a second apply can refuse with a useful sentence. Both files are keyed by the target
(subscription or sandbox), not by the spec's hash: a spec edited between a crash and the
resume must still find the journal, and two applies of different spec revisions against
the same target must still exclude each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from reconciler.apply.model import ApplyLockedError, ApplyResult
from reconciler.plan.model import Change, Plan

try:  # POSIX; where flock is missing the lock only records its holder (documented)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STATE_DIR = ".reconcile"


def target_key(target: str) -> str:
    """A short, filesystem-safe key naming one target."""
    return hashlib.sha256(target.encode()).hexdigest()[:12]


def default_paths(
    target: str, *, state_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, Path]:
    """(journal, lock) paths for `target` under `state_dir` (default `.reconcile/`)."""
    base = Path(state_dir) if state_dir is not None else Path(STATE_DIR)
    key = target_key(target)
    return base / f"journal-{key}.jsonl", base / f"apply-{key}.lock"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class JournalRun:
    """The last apply recorded in a journal file, as read back."""

    run_id: str
    records: tuple[Mapping[str, Any], ...]
    complete: bool  # an apply-end record was written

    @property
    def started(self) -> str:
        return str(self.records[0].get("ts", "?")) if self.records else "?"

    def ids_with(self, event: str) -> tuple[str, ...]:
        return tuple(str(r["id"]) for r in self.records if r.get("event") == event and "id" in r)

    @property
    def in_flight(self) -> tuple[str, ...]:
        """Changes that started but never recorded an end: the crash hit them mid-way."""
        ended = set(self.ids_with("done")) | set(self.ids_with("failed"))
        return tuple(i for i in self.ids_with("start") if i not in ended)

    def addresses(self, ids: tuple[str, ...]) -> tuple[str, ...]:
        names = {str(r["id"]): str(r.get("address", r["id"])) for r in self.records if "id" in r}
        return tuple(names.get(i, i) for i in ids)

    def describe(self) -> str:
        """One paragraph for the user about an interrupted run."""
        done = self.addresses(self.ids_with("done"))
        flight = self.addresses(self.in_flight)
        text = f"the previous apply (started {self.started}) was interrupted"
        if done:
            text += f"; it had finished {len(done)} change(s)"
        if flight:
            text += "; in flight: " + ", ".join(flight)
        return text + ". Re-planning from live state converges from there."


class Journal:
    """Append-only JSON-lines record of one target's applies (thread-safe, fsync per record)."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.run_id = f"{int(time.time() * 1000):x}-{os.getpid()}"
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    # -- reading ------------------------------------------------------------------------

    @staticmethod
    def read_last_run(path: str | os.PathLike[str]) -> JournalRun | None:
        """The most recent run in the file, or None when there is no journal."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        records: list[dict[str, Any]] = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line from a crash mid-write
            if isinstance(record, dict):
                records.append(record)
        if not records:
            return None
        run_id = records[-1].get("run")
        run = tuple(r for r in records if r.get("run") == run_id)
        complete = any(r.get("event") == "apply-end" for r in run)
        return JournalRun(str(run_id), run, complete)

    def last_run(self) -> JournalRun | None:
        return self.read_last_run(self.path)

    # -- writing ------------------------------------------------------------------------

    def begin(self, plan: Plan) -> JournalRun | None:
        """Open the journal for a new run; return the previous run if it was interrupted.

        A file whose last run completed is started afresh; an interrupted run's records
        are kept (appended to) until a later run completes, so the evidence survives.
        """
        previous = self.last_run()
        interrupted = previous if previous is not None and not previous.complete else None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mode = "a" if interrupted is not None else "w"
        self._file = open(self.path, mode, encoding="utf-8")  # noqa: SIM115 - held for the run
        self.record(
            "apply-start",
            spec_hash=plan.spec_hash,
            target=plan.target,
            pid=os.getpid(),
            changes=len(plan.actionable),
            resumes=interrupted.run_id if interrupted else None,
        )
        return interrupted

    def record(self, event: str, **fields: Any) -> None:
        """Append one record and make it durable before returning."""
        line = json.dumps(
            {"ts": _now(), "run": self.run_id, "event": event, **fields},
            separators=(",", ":"),
            default=str,
        )
        with self._lock:
            if self._file is None:
                raise RuntimeError("journal not begun")
            self._file.write(line + "\n")
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())

    def change(self, event: str, change: Change, **fields: Any) -> None:
        self.record(
            event, id=change.id, address=change.address, action=change.action.value, **fields
        )

    def end(self, result: ApplyResult) -> None:
        self.record("apply-end", ok=result.ok, **result.to_json()["counts"])
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class ApplyLock:
    """Exclusive per-target lock; `acquire` raises `ApplyLockedError` naming the holder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def holder(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self.holder()
            since = holder.get("since", "an unknown time")
            pid = holder.get("pid", "unknown")
            host = holder.get("host")
            raise ApplyLockedError(
                f"another apply holds the lock since {since}, pid {pid}"
                + (f" on {host}" if host else "")
                + f" ({self.path})",
                hint="wait for it to finish; the lock is released when that process exits",
            ) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> ApplyLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
