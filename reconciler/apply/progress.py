"""Showing an apply as it happens: a live view on a TTY, plain lines in CI, JSON events.

Three sinks share one protocol (`emit` an `ApplyEvent`, `close` with the `ApplyResult`);
apply calls them from worker threads, so each serialises its own output. They decide
nothing — they only show what the engine reports:

- `LiveProgress` (rich): one row per change with its state and elapsed time, replication
  per region and pool nodes allocated / target, then the summary table;
- `PlainProgress`: one timestamped line per event (CI logs), then the summary as text;
- `JsonProgress`: one JSON object per line per event, then a `summary` object.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from reconciler.apply.model import ApplyEvent, ApplyResult, EventKind, OutcomeStatus
from reconciler.plan.model import Action


class Progress(Protocol):
    """Where apply reports what it does."""

    def emit(self, event: ApplyEvent) -> None: ...

    def close(self, result: ApplyResult) -> None: ...


class NullProgress:
    """Reports nothing (library use, tests)."""

    def emit(self, event: ApplyEvent) -> None:
        pass

    def close(self, result: ApplyResult) -> None:
        pass


class RecordingProgress:
    """Keeps every event in memory; tests and callers assert on `events`."""

    def __init__(self) -> None:
        self.events: list[ApplyEvent] = []
        self.result: ApplyResult | None = None
        self._lock = threading.Lock()

    def emit(self, event: ApplyEvent) -> None:
        with self._lock:
            self.events.append(event)

    def close(self, result: ApplyResult) -> None:
        self.result = result

    def of(self, kind: EventKind, change_id: str | None = None) -> list[ApplyEvent]:
        return [
            e
            for e in self.events
            if e.kind is kind and (change_id is None or e.change_id == change_id)
        ]


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _symbol(action: str | None) -> str:
    try:
        return Action(action).symbol if action else ""
    except ValueError:
        return ""


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes}m{seconds:02d}s"


class PlainProgress:
    """Timestamped lines, one per event: readable in CI logs, greppable afterwards."""

    def __init__(self, stream: IO[str] | None = None, *, now: Callable[[], float] = time.time):
        self.stream = stream or sys.stdout
        self.now = now
        self._lock = threading.Lock()

    def emit(self, event: ApplyEvent) -> None:
        if event.kind is EventKind.APPLY_START:
            line = event.message
        elif event.kind is EventKind.APPLY_END:
            return  # the summary says it
        else:
            symbol = _symbol(event.action)
            when = f" ({_seconds(event.elapsed)})" if event.kind is not EventKind.START else ""
            line = f"{event.kind.value:<8} {symbol:>3} {event.address}: {event.message}{when}"
        with self._lock:
            self.stream.write(f"{_stamp(self.now())}  {line}\n")
            self.stream.flush()

    def close(self, result: ApplyResult) -> None:
        with self._lock:
            self.stream.write(summary_text(result))
            self.stream.flush()


class JsonProgress:
    """One JSON object per line: every event, then `{"event": "summary", ...}`."""

    def __init__(self, stream: IO[str] | None = None, *, now: Callable[[], float] = time.time):
        self.stream = stream or sys.stdout
        self.now = now
        self._lock = threading.Lock()

    def _write(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self.stream.write(json.dumps({"ts": _stamp(self.now()), **obj}, default=str) + "\n")
            self.stream.flush()

    def emit(self, event: ApplyEvent) -> None:
        self._write(event.to_json())

    def close(self, result: ApplyResult) -> None:
        self._write({"event": "summary", **result.to_json()})


@dataclass
class _Row:
    address: str
    action: str
    state: str = "waiting"
    started: float | None = None
    finished: float | None = None
    detail: str = ""


_STYLE = {
    "waiting": "dim",
    "running": "yellow",
    "done": "green",
    "failed": "bold red",
    "skipped": "magenta",
    "stopped": "magenta",
    "no-op": "dim",
}


class LiveProgress:
    """A rich live table on a TTY: each change's state, elapsed time and latest detail."""

    def __init__(
        self, console: Console | None = None, *, clock: Callable[[], float] = time.monotonic
    ):
        self.console = console or Console()
        self.clock = clock
        self.rows: dict[str, _Row] = {}
        self._lock = threading.Lock()
        self._title = ""
        self._live = Live(
            get_renderable=self._render,
            console=self.console,
            refresh_per_second=4,
            transient=True,
        )
        self._started = False

    def emit(self, event: ApplyEvent) -> None:
        with self._lock:
            if event.kind is EventKind.APPLY_START:
                self._title = event.message
                for change in event.data.get("changes", ()):
                    self.rows[change["id"]] = _Row(change["address"], change["action"])
                if not self._started:
                    self._live.start()
                    self._started = True
                return
            if event.change_id is None:
                return
            row = self.rows.setdefault(
                event.change_id, _Row(event.address or event.change_id, event.action or "")
            )
            if event.kind is EventKind.START:
                row.state, row.started = "running", self.clock()
            elif event.kind in (
                EventKind.DONE,
                EventKind.FAILED,
                EventKind.SKIPPED,
                EventKind.STOPPED,
            ):
                row.state = event.kind.value
                row.finished = self.clock()
                if event.kind is not EventKind.DONE:
                    row.detail = event.message
            else:
                row.detail = event.message

    def _render(self) -> RenderableType:
        with self._lock:
            rows = list(self.rows.values())
            now = self.clock()
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        height = self.console.size.height - 6
        shown = rows if len(rows) <= height else [r for r in rows if r.state != "done"][:height]
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for name in ("", "change", "state", "elapsed", "detail"):
            table.add_column(name, no_wrap=name != "detail", overflow="ellipsis")
        for row in shown:
            end = row.finished if row.finished is not None else now
            elapsed = _seconds(end - row.started) if row.started is not None else ""
            table.add_row(
                _symbol(row.action),
                row.address,
                Text(row.state, style=_STYLE.get(row.state, "")),
                elapsed,
                row.detail,
            )
        header = Text(
            f"{self._title}  " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
            style="bold",
        )
        return Group(header, table)

    def close(self, result: ApplyResult) -> None:
        if self._started:
            self._live.stop()
        self.console.print(summary_table(result))
        self.console.print(summary_verdict(result))


def summary_table(result: ApplyResult) -> Table:
    """The final table: every change that did something, its outcome and time."""
    table = Table(title="apply summary", show_lines=False)
    for name in ("", "change", "outcome", "time", "details"):
        table.add_column(name)
    for o in result.outcomes:
        if o.status is OutcomeStatus.NOOP:
            continue
        details = o.error or ""
        if o.status is OutcomeStatus.SKIPPED:
            details = _skip_reason(result, o.blocked_by)
        if o.notes:
            details = "; ".join((*o.notes, details) if details else o.notes)
        table.add_row(
            o.action.symbol,
            o.address,
            Text(o.status.value, style=_STYLE.get(o.status.value, "")),
            _seconds(o.elapsed),
            details,
        )
    return table


def _skip_reason(result: ApplyResult, roots: tuple[str, ...]) -> str:
    if not roots:
        return "not started (apply interrupted)"
    names = []
    for root in roots:
        try:
            names.append(result.outcome(root).address)
        except KeyError:
            names.append(root)
    return "depends on " + ", ".join(names) + " which failed"


def summary_verdict(result: ApplyResult) -> str:
    """One or more sentences: the outcome, the root causes (once each), what was skipped."""
    done, failed, skipped = len(result.done), len(result.failed), len(result.skipped)
    if result.ok:
        return f"Apply complete: {done} change(s) done in {_seconds(result.elapsed)}."
    if result.stopped_by:
        return _stopped_verdict(result)
    lines = [
        f"Apply failed: {done} done, {failed} failed, {skipped} skipped"
        + (" (interrupted)" if result.interrupted else "")
        + "."
    ]
    for o in result.failed:
        lines.append(f"Root cause: {o.address}: {o.error}")
        if o.hint:
            lines.append(f"  hint: {o.hint}")
        dependents = [s.address for s in result.skipped if o.change_id in s.blocked_by]
        if dependents:
            lines.append(f"  skipped because of it: {', '.join(dependents)}")
    return "\n".join(lines)


def _stopped_verdict(result: ApplyResult) -> str:
    not_started = [o for o in result.skipped if not o.blocked_by]
    parts = [f"{len(result.done)} done"]
    if result.failed:
        parts.append(f"{len(result.failed)} failed")
    if result.stopped:
        parts.append(f"{len(result.stopped)} stopped waiting (Azure carries on)")
    parts.append(f"{len(not_started)} not started")
    if len(result.skipped) > len(not_started):
        parts.append(f"{len(result.skipped) - len(not_started)} skipped")
    lines = [f"Apply stopped by {result.stopped_by}: " + ", ".join(parts) + "."]
    for o in result.failed:
        lines.append(f"Root cause: {o.address}: {o.error}")
        if o.hint:
            lines.append(f"  hint: {o.hint}")
    lines.append("Run `reconcile apply` again to finish: it re-plans from live state.")
    return "\n".join(lines)


def summary_text(result: ApplyResult) -> str:
    """The summary for a log: one line per change, then the verdict."""
    lines = ["", "apply summary:"]
    for o in result.outcomes:
        if o.status is OutcomeStatus.NOOP:
            continue
        extra = ""
        if o.status is OutcomeStatus.SKIPPED:
            extra = _skip_reason(result, o.blocked_by)
        elif o.error:
            extra = o.error
        if o.notes:
            extra = "; ".join((*o.notes, extra) if extra else o.notes)
        lines.append(
            f"  {o.action.symbol:>3} {o.address:<50} {o.status.value:<8} "
            f"{_seconds(o.elapsed):>8}  {extra}".rstrip()
        )
    lines.append(summary_verdict(result))
    return "\n".join(lines) + "\n"


def make_progress(fmt: str, *, stream: IO[str] | None = None, tty: bool | None = None) -> Progress:
    """The sink for `--format` (`text` or `json`) and the kind of terminal."""
    stream = stream or sys.stdout
    if fmt == "json":
        return JsonProgress(stream)
    is_tty = stream.isatty() if tty is None else tty
    if is_tty:
        return LiveProgress(Console(file=stream))
    return PlainProgress(stream)
