"""The apply journal (what happened, durably) and the apply lock (who may write now).

Journal: a JSON-lines file, one record per event (apply start, change start / done /
failed / skipped / stopped, apply end), each flushed and fsynced before the work it
announces goes on, so a process killed at any instant leaves a truthful prefix. It is
*evidence*, not the source of truth: the next `apply` always re-plans from live Azure
state (level-based, like controller-runtime), and the journal only tells it — and the
user — that the previous run was interrupted, which changes were in flight, and why a
saved plan became stale. Convergence after a crash comes from idempotent steps: creates
by name (PUT, or If-None-Match on pools with "exists, owned, matches" counted as done),
deletes where absent counts as done, updates to absolute values.

Lock: an exclusive `fcntl.flock` on a lock file, held for the whole plan-and-apply. The
kernel drops it when the holder exits, however it exits, so a crash never leaves a stale
lock. The holder writes its pid, host and start time into the file so a second apply can
refuse (or wait, with a timeout) with a useful sentence.

Where, keyed by what (`state_for_sandbox`, `state_for_azure`): by the *target's identity*,
never by how it was spelled nor by the spec's hash — a spec edited between a crash and
the resume must still find the journal, and two applies of different spec revisions (or
from different checkouts) against the same target must exclude each other.

- sandbox: the canonical real path of the state file; lock and journal in a
  `.reconcile/` directory beside that real file (the file's own directory when it is
  already called `.reconcile`), so every spelling of the path, every symlink to it and
  every checkout on the machine meet at one lock;
- Azure: one lock per subscription the spec writes (with the cloud), in the per-user
  state directory (``$XDG_STATE_HOME/reconcile``, default ``~/.local/state/reconcile``);
  the journal is keyed by the cloud and the sorted subscriptions.

`--state-dir` moves the journal only: a lock that moved with an option would no longer
exclude an apply that did not pass it. Lock and journal files are opened with
`O_NOFOLLOW` and created with mode 0600: a symlink planted where they live is refused,
never followed (it would otherwise make apply truncate the file it points at).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from reconciler.apply.model import ApplyLockedError, ApplyResult, UnsafeStateFileError
from reconciler.plan.model import Change, Plan

try:  # POSIX; where flock is missing the lock only records its holder (documented)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCAL_DIR = ".reconcile"  # beside a sandbox file; git-ignored
ENV_XDG_STATE_HOME = "XDG_STATE_HOME"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
LOCK_POLL = 0.2  # seconds between attempts while waiting for a held lock


def target_key(identity: str) -> str:
    """A short, filesystem-safe key naming one target identity."""
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def user_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user state directory: ``$XDG_STATE_HOME/reconcile`` or ``~/.local/state/reconcile``."""
    env = os.environ if environ is None else environ
    base = env.get(ENV_XDG_STATE_HOME, "")
    # The XDG spec says a relative value is invalid and must be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "reconcile"


@dataclass(frozen=True, slots=True)
class StatePaths:
    """Where one target's journal and lock(s) live, and the identity they are keyed by."""

    identity: str  # the target as the journal names it (canonical, not as typed)
    journal: Path
    locks: tuple[Path, ...]  # one per lock identity, in the order they are taken

    def lock(self) -> HeldLocks:
        return HeldLocks(self.locks)


def _paths(identity: str, lock_ids: Iterable[str], lock_dir: Path, journal_dir: Path) -> StatePaths:
    locks = tuple(lock_dir / f"apply-{target_key(i)}.lock" for i in sorted(set(lock_ids)))
    return StatePaths(identity, journal_dir / f"journal-{target_key(identity)}.jsonl", locks)


def state_for_sandbox(
    path: str | os.PathLike[str], *, state_dir: str | os.PathLike[str] | None = None
) -> StatePaths:
    """Journal and lock of the sandbox world in `path`, keyed by its canonical real path.

    The lock lives in `.reconcile/` beside the real file whatever `state_dir` says; the
    journal follows `state_dir` when one is given.
    """
    real = Path(os.path.realpath(path))
    local = real.parent if real.parent.name == LOCAL_DIR else real.parent / LOCAL_DIR
    identity = f"sandbox {real}"
    return _paths(identity, [identity], local, Path(state_dir) if state_dir else local)


def state_for_azure(
    cloud: str,
    subscriptions: Iterable[str],
    *,
    state_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> StatePaths:
    """Journal and locks for writing `subscriptions` in `cloud`: one lock per subscription.

    Locks live in the per-user state directory (every checkout of the user sees them);
    the journal too, unless `state_dir` is given.
    """
    subs = sorted({s.lower() for s in subscriptions})
    lock_ids = [f"{cloud} subscription {s}" for s in subs] or [cloud]
    identity = f"{cloud} subscriptions {','.join(subs)}" if subs else cloud
    home = user_state_dir(environ)
    return _paths(identity, lock_ids, home, Path(state_dir) if state_dir else home)


def _ensure_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)


def open_private(path: Path, flags: int) -> int:
    """`os.open` of a state file that refuses symlinks and anything but a regular file.

    Created with mode 0600. A planted symlink fails the open itself (`O_NOFOLLOW`), so
    no flag such as `O_TRUNC` ever reaches the file it points at.
    """
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise UnsafeStateFileError(
                f"{path} is a symbolic link; apply refuses to follow it",
                hint="remove the link (apply recreates the file itself), "
                "and check who planted it",
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeStateFileError(
            f"{path} is not a regular file; apply refuses to use it",
            hint="remove it; apply recreates the file itself",
        )
    return fd


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class JournalRun:
    """The last apply recorded in a journal file, as read back."""

    run_id: str
    records: tuple[Mapping[str, Any], ...]
    complete: bool  # an apply-end record was written and the run was not stopped early

    @property
    def stopped_by(self) -> str:
        """What stopped the run early ("SIGTERM", ...), when it ended on a signal."""
        for r in self.records:
            if r.get("event") == "apply-end" and r.get("interrupted"):
                return str(r.get("stopped_by") or "a stop request")
        return ""

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
        how = f"was stopped by {self.stopped_by}" if self.stopped_by else "was interrupted"
        text = f"the previous apply (started {self.started}) {how}"
        if done:
            text += f"; it had finished {len(done)} change(s)"
        if flight:
            # Stopped or killed mid-way: Azure may have finished these since, or may not.
            text += "; in flight: " + ", ".join(flight)
        return text + ". Re-planning from live state converges from there."


class Journal:
    """Append-only JSON-lines record of one target's applies (thread-safe; each record is
    durable when `record` returns, concurrent records sharing fsyncs)."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.run_id = f"{int(time.time() * 1000):x}-{os.getpid()}"
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._sync_lock = threading.Lock()
        self._written = 0  # records written (flushed to the OS)
        self._synced = 0  # records made durable by an fsync

    # -- reading ------------------------------------------------------------------------

    @staticmethod
    def read_last_run(path: str | os.PathLike[str]) -> JournalRun | None:
        """The most recent run in the file, or None when there is no journal."""
        try:
            fd = open_private(Path(path), os.O_RDONLY)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
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
        ends = [r for r in run if r.get("event") == "apply-end"]
        complete = bool(ends) and not any(r.get("interrupted") for r in ends)
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
        _ensure_dir(self.path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        if interrupted is None:
            flags |= os.O_TRUNC
        # Held for the whole run; closed by `end` / `close`.
        self._file = os.fdopen(open_private(self.path, flags), "a", encoding="utf-8")
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
            self._written += 1
            mine = self._written
            fd = self._file.fileno()
        if not self.fsync:
            return
        # Group commit: one fsync makes durable every record written before it began, so
        # a record whose write an fsync already covers returns at once. Concurrent changes
        # then share fsyncs instead of queueing for one each under the write lock.
        with self._sync_lock:
            if self._synced >= mine:
                return
            with self._lock:
                covered = self._written
            os.fsync(fd)
            self._synced = covered

    def change(self, event: str, change: Change, **fields: Any) -> None:
        self.record(
            event, id=change.id, address=change.address, action=change.action.value, **fields
        )

    def end(self, result: ApplyResult) -> None:
        self.record(
            "apply-end",
            ok=result.ok,
            interrupted=result.interrupted,
            stopped_by=result.stopped_by or None,
            **result.to_json()["counts"],
        )
        self.close()

    def close(self) -> None:
        # After any fsync in progress: it holds the descriptor this would close.
        with self._sync_lock, self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class ApplyLock:
    """Exclusive lock on one lock file; `acquire` raises `ApplyLockedError` naming the holder."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @staticmethod
    def _holder(fd: int) -> dict[str, Any]:
        # Read through our own descriptor: the path could have been swapped meanwhile.
        try:
            data = json.loads(os.pread(fd, 4096, 0).decode("utf-8", "replace") or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _describe(self, holder: Mapping[str, Any]) -> str:
        host = holder.get("host")
        return (
            f"another apply holds the lock since {holder.get('since', 'an unknown time')}, "
            f"pid {holder.get('pid', 'unknown')}"
            + (f" on {host}" if host else "")
            + f" ({self.path})"
        )

    def acquire(
        self,
        timeout: float = 0.0,
        *,
        on_wait: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Take the lock, waiting up to `timeout` seconds for its holder (0: fail at once).

        `on_wait(message)` is called once when the lock is held and we start waiting.
        """
        _ensure_dir(self.path.parent)
        fd = open_private(self.path, os.O_RDWR | os.O_CREAT)
        deadline = clock() + timeout
        waiting = False
        try:
            while fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = self._describe(self._holder(fd))
                    left = deadline - clock()
                    if left <= 0:
                        waited = f" (waited {_duration_text(timeout)})" if timeout > 0 else ""
                        raise ApplyLockedError(
                            holder + waited,
                            hint="wait for it to finish (the lock is released when that "
                            "process exits), or pass --lock-timeout 5m to wait for it",
                        ) from None
                    if not waiting and on_wait is not None:
                        on_wait(f"waiting up to {_duration_text(left)} for the lock: {holder}")
                    waiting = True
                    sleep(min(LOCK_POLL, left))
        except BaseException:
            os.close(fd)
            raise
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


class HeldLocks:
    """Several lock files taken in a fixed (sorted) order under one deadline, released together.

    A fixed order means two applies whose subscriptions overlap can never each hold the
    lock the other is waiting for.
    """

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        self.locks = tuple(ApplyLock(p) for p in paths)

    def acquire(
        self,
        timeout: float = 0.0,
        *,
        on_wait: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> HeldLocks:
        deadline = clock() + timeout
        try:
            for lock in self.locks:
                left = max(0.0, deadline - clock())
                lock.acquire(left, on_wait=on_wait, clock=clock, sleep=sleep)
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        for lock in reversed(self.locks):
            lock.release()

    def __enter__(self) -> HeldLocks:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _duration_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 1 or seconds == 0 else f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if rest else f"{minutes}m"


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``0s``, ``30s``, ``5m``, ``1h30m`` or ``90`` (seconds).

    Raises ValueError with a sentence saying what is accepted.
    """
    value = text.strip().lower()
    if not value:
        raise ValueError("empty duration")
    if _NUMBER.fullmatch(value):
        return float(value)
    parts = _PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(
            f"invalid duration {text!r}: use a number with a unit, such as 30s, 5m or 1h30m"
        )
    return sum(float(n) * _UNITS[u] for n, u in parts)


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
