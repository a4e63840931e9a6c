"""Carrying out one change through the `Operations` port, and proving it happened.

Per action: create (idempotent by name), update (If-Match on pools), resize, replace
(delete, then create), delete (absent counts as done), the disruptive
scale-to-zero-then-update for pool vmSize/image changes, and wait (no write: a version
still replicating, a pool still resizing). The planner splits replace and
scale-to-zero-then-update into one step per write (`Change.step`); each step is carried
out here on its own, so a resumed apply starts from the step that did not finish. After
a write:

- image versions are awaited until replication is Completed in every target region, so
  nothing that depends on them (pools, their growth) starts early;
- pools are awaited until allocation is steady; a pool that stopped short of target with
  resize errors (AllocationTimedOut, ...) gets the resize issued again, a bounded number
  of times, as Microsoft advises for large pools (R3);
- the resource is read again and every changed path compared with the plan's `after`
  (secrets by presence only): Azure silently ignoring a field is an error, not a success.

Every write that leaves the resource as the plan wants it also writes the applied
record (`reconciler.plan.applied`: a tag, or pool metadata) of the plan's `after`, so
the next plan can tell drift from pending spec changes. The intermediate writes of a
scale-to-zero update do not: a crash between them must not claim the target was reached.

Every call goes through `call_with_retry` (transient errors only). Waiting polls `read`
with an injected `sleep`, so one change's long wait blocks only its own worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reconciler import secrets
from reconciler.apply.carry import CarryStore
from reconciler.apply.model import (
    DisruptiveChangeRefused,
    EventKind,
    ResizeExhausted,
    VerifyError,
    WaitError,
)
from reconciler.apply.ports import Operations
from reconciler.apply.retry import RetryPolicy, call_with_retry
from reconciler.errors import ConflictError, PermanentAzureError, TransientAzureError
from reconciler.plan import diff
from reconciler.plan.applied import encode, is_record_path
from reconciler.plan.model import Action, Change
from reconciler.state import surface
from reconciler.state.fields import rule_for
from reconciler.state.model import Kind, LiveResource

T = TypeVar("T")

SCALE_FIXED = ("scale.fixed.dedicated", "scale.fixed.lowPriority")

# emit(kind, change, message, data): the engine stamps elapsed time and forwards it.
Emit = Callable[[EventKind, Change, str, Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class ExecutorSettings:
    """Tunables of one apply; the defaults suit real Azure, tests shrink them."""

    poll_interval: float = 10.0  # seconds between reads while waiting (the shortest wait)
    max_poll_interval: float = 60.0  # longest wait when progress predicts a long way to go
    # Seconds between replication reports while a version's write is in flight; 0 = none.
    progress_interval: float = 30.0
    resize_attempts: int = 3  # re-issued resizes after the first one (R3)
    replication_timeout: float = 6 * 3600.0  # seconds, per image version
    allocation_timeout: float = 2 * 3600.0  # seconds, per resize attempt
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool = True


def _same(want: Any, got: Any) -> bool:
    if isinstance(want, list):
        want = tuple(want)
    if isinstance(got, list):
        got = tuple(got)
    if isinstance(want, str) and isinstance(got, str):
        # Azure echoes many values in its own case (ids, sizes, enum spellings).
        return want.lower() == got.lower()
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    return bool(want == got)


def mismatches(change: Change, live: LiveResource) -> list[str]:
    """Paths the plan changed whose live value differs from `after` (secrets: presence)."""
    after = change.after or {}
    if change.action in (Action.CREATE, Action.REPLACE):
        paths: Sequence[str] = tuple(after)
    else:
        paths = change.changed_paths
    out = []
    for path in paths:
        if not rule_for(change.kind, path).mode.diffed:
            continue
        if surface.is_unanswered_path(change.kind, path):
            continue  # Azure never returns what it marks secret, nor a write-only member
        want, got = after.get(path), live.properties.get(path)
        if surface.is_azure_path(change.kind, path):
            want = diff.comparable(change.kind, path, want)
            got = diff.comparable(change.kind, path, got)
        if secrets.is_secret(want):
            ok = got is not None  # the live value is the resolved secret (or masked)
        elif want is None:
            ok = got is None
        else:
            ok = got is not None and _same(want, got)
        if not ok:
            shown = secrets.mask(want)
            out.append(f"{path}: wanted {shown!r}, Azure reports {got!r}")
    return out


class ChangeExecutor:
    """Executes single changes; one instance is shared by all workers (it holds no state)."""

    def __init__(
        self,
        operations: Operations,
        *,
        settings: ExecutorSettings,
        allow_disruptive: bool,
        emit: Emit,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
        carried: CarryStore | None = None,
    ) -> None:
        self.ops = operations
        # What replacements keep from the pools they replace, between delete and create.
        self.carried = carried if carried is not None else CarryStore()
        self.settings = settings
        self.allow_disruptive = allow_disruptive
        self.emit = emit
        self.sleep = sleep
        self.clock = clock
        self.environ = environ
        # Allocation rates seen in this apply, per Batch account: a pool's first poll
        # aims at its predicted end instead of a short look to learn its own rate.
        self._rates = _AllocationRates()

    # -- entry point --------------------------------------------------------------------

    def execute(self, change: Change) -> tuple[str, ...]:
        """Carry out `change`; return notes worth reporting; raise on failure."""
        notes: list[str] = []
        step = self._STEPS.get(change.step)
        if step is not None:
            step(self, change, notes)
            return tuple(notes)
        handler = {
            Action.NOOP: lambda c, n: None,
            Action.CREATE: self._create,
            Action.UPDATE: self._update,
            Action.RESIZE: self._update,
            Action.REPLACE: self._replace,
            Action.DELETE: self._delete,
            Action.SCALE_TO_ZERO_UPDATE: self._scale_to_zero_update,
            Action.WAIT: self._wait,
            Action.ADOPT: self._adopt,
        }[change.action]
        handler(change, notes)
        return tuple(notes)

    # -- plumbing -----------------------------------------------------------------------

    def _call(self, change: Change, what: str, fn: Callable[[], T]) -> T:
        def on_retry(attempt: int, error: TransientAzureError, wait: float) -> None:
            self.emit(
                EventKind.RETRY,
                change,
                f"{what}: {error} — retrying in {wait:.1f}s (attempt {attempt + 1} of "
                f"{self.settings.retry.attempts})",
                {"attempt": attempt, "wait": round(wait, 3), "code": error.code},
            )

        return call_with_retry(
            fn, policy=self.settings.retry, sleep=self.sleep, clock=self.clock, on_retry=on_retry
        )

    def _read(self, change: Change) -> LiveResource | None:
        return self._call(
            change, "read", lambda: self.ops.read(kind=change.kind, resource_id=change.resource_id)
        )

    def _props(self, change: Change) -> dict[str, Any]:
        # Secrets are resolved here, at the last moment, and never stored or shown. The
        # record is made from the unresolved `after`: a secret leaves only "present".
        props = secrets.resolve_all(change.after or {}, environ=self.environ)
        props.update(encode(change.kind, change.after or {}))
        return props

    @staticmethod
    def _recording(
        change: Change, props: Mapping[str, Any], paths: Sequence[str], record: bool
    ) -> tuple[Mapping[str, Any], tuple[str, ...]]:
        """Props and paths of one write, with the applied record or without it.

        A pool PATCH sends only the groups its paths touch, so the record's metadata
        paths are added; metadata the spec does not declare is kept from what the plan
        saw (the PATCH replaces the whole list).
        """
        if not record:
            return {k: v for k, v in props.items() if not is_record_path(change.kind, k)}, tuple(
                paths
            )
        if change.kind is not Kind.POOL:
            return props, tuple(paths)
        recorded = tuple(p for p in props if is_record_path(change.kind, p))
        if any(p.startswith("metadata.") and p not in recorded for p in paths):
            return props, (*paths, *recorded)
        kept = {
            k: v
            for k, v in (change.before or {}).items()
            if k.startswith("metadata.")
            and k not in props
            and not k.startswith("metadata.reconcile.applied")
            and v != secrets.MASK
        }
        return {**kept, **props}, (*paths, *recorded)

    @staticmethod
    def _etag(change: Change) -> str | None:
        # Only pools honour If-Match; other kinds carry a content fingerprint in `observed`.
        return change.observed if change.kind is Kind.POOL else None

    def _changed_since_plan(self, change: Change, error: ConflictError) -> ConflictError:
        return ConflictError(
            f"{change.address} changed since plan: Azure refused the write because the "
            f"resource no longer matches what the plan saw ({error})",
            code=error.code or "ConditionNotMet",
            status=error.status,
            address=change.address,
            hint="run `reconcile plan` again to see the current state, then apply that plan",
        )

    # -- actions ------------------------------------------------------------------------

    def _create(self, change: Change, notes: list[str]) -> None:
        props = self._props(change)
        # A replaced pool's undeclared members, kept by `#delete-replaced` — in this run,
        # or in one killed between the delete and this create.
        base = self.carried.load(change.resource_id)
        self.emit(EventKind.STEP, change, "creating", {})
        written: LiveResource | None = None
        try:
            with self._watching(change, props):
                written = self._call(
                    change,
                    "create",
                    lambda: self.ops.create(
                        kind=change.kind,
                        resource_id=change.resource_id,
                        location=change.location,
                        props=props,
                        wait=self.sleep,
                        base=base,
                    ),
                )
        except ConflictError as error:
            # Creates are idempotent by name: a resource we own that already matches the
            # plan (an earlier attempt or an interrupted apply made it) counts as created.
            live = self._read(change)
            if live is None or not live.owned or mismatches(change, live):
                raise ConflictError(
                    f"{change.address} already exists and is not the resource the plan "
                    f"would create ({error})",
                    code=error.code,
                    status=error.status,
                    address=change.address,
                    hint="run `reconcile plan` again; import the resource if it should be managed",
                ) from error
            notes.append("already existed as planned (an earlier attempt created it)")
        if base:
            self.carried.discard(change.resource_id)
            notes.append("kept the replaced resource's undeclared properties")
        self._settle(change, props, notes, wrote_scale=True, written=written)

    def _adopt(self, change: Change, notes: list[str]) -> None:
        # Only the marks (and the record of `after`) are written: no secret is resolved and
        # nothing the resource already has is touched.
        after = change.after or {}
        props = {p: after[p] for p in change.changed_paths}
        props.update(encode(change.kind, after))
        self._write_update(
            change, props, change.changed_paths, self._etag(change), notes, what="adopt"
        )
        notes.append("ownership marks written: " + ", ".join(change.changed_paths))

    def _update(self, change: Change, notes: list[str]) -> None:
        props = self._props(change)
        written = self._write_update(change, props, change.changed_paths, self._etag(change), notes)
        touched_scale = any(p.startswith("scale.") for p in change.changed_paths)
        self._settle(change, props, notes, wrote_scale=touched_scale, written=written)

    def _write_update(
        self,
        change: Change,
        props: Mapping[str, Any],
        paths: Sequence[str],
        etag: str | None,
        notes: list[str],
        *,
        what: str = "update",
        record: bool = True,
    ) -> LiveResource:
        attempts = 0
        shown = ", ".join(paths) or "(no paths)"
        props, paths = self._recording(change, props, paths, record)

        def call() -> LiveResource:
            nonlocal attempts
            attempts += 1
            return self.ops.update(
                kind=change.kind,
                resource_id=change.resource_id,
                location=change.location,
                props=props,
                changed_paths=tuple(paths),
                etag=etag,
                wait=self.sleep,
            )

        self.emit(EventKind.STEP, change, f"{what}: {shown}", {})
        try:
            with self._watching(change, props):
                return self._call(change, what, call)
        except ConflictError as error:
            if attempts > 1:
                # A retried write whose earlier attempt landed (the answer was lost) now
                # fails If-Match against its own result: done if Azure shows our values.
                live = self._read(change)
                if live is not None and not _paths_differ(props, live, paths):
                    notes.append(f"{what} had landed before its answer was lost")
                    return live
            raise self._changed_since_plan(change, error) from error

    def _replace(self, change: Change, notes: list[str]) -> None:
        self._delete_replaced(change, notes)
        self._create(change, notes)

    def _keep_for_replacement(self, change: Change) -> bool:
        """Read what the replacement must keep and store it before anything is deleted."""
        props = self._props(change)
        try:
            base = self._call(
                change,
                "read what the replacement keeps",
                lambda: self.ops.replacement_base(
                    kind=change.kind,
                    resource_id=change.resource_id,
                    props=props,
                    changed_paths=change.changed_paths,
                    etag=self._etag(change),
                ),
            )
        except ConflictError as error:
            raise self._changed_since_plan(change, error) from error
        if base:
            self.carried.save(change.resource_id, base)
        return bool(base)

    def _delete(self, change: Change, notes: list[str], *, verify: bool = True) -> None:
        self.emit(EventKind.STEP, change, "deleting", {})
        try:
            self._call(
                change,
                "delete",
                lambda: self.ops.delete(
                    kind=change.kind,
                    resource_id=change.resource_id,
                    etag=self._etag(change),
                    wait=self.sleep,
                ),
            )
        except ConflictError as error:
            raise self._changed_since_plan(change, error) from error
        if verify and self.settings.verify and self._read(change) is not None:
            raise VerifyError(
                f"Azure did not delete {change.address}: it is still there after the delete",
                address=change.address,
            )

    def _scale_to_zero_update(self, change: Change, notes: list[str]) -> None:
        props = self._props(change)
        self._check_zero_allowed(change, props)
        etag = self._etag(change)
        live = self._live_pool(change)
        if not _steady_at_zero(live):
            zero = {**props, **dict.fromkeys(SCALE_FIXED, 0)}
            self._write_update(
                change, zero, SCALE_FIXED, etag, notes, what="scale to zero nodes", record=False
            )
            notes.append(f"scaled to zero from {_nodes(live)} nodes")
            live = self._wait_allocation(change, (0, 0), None, notes, reissue=False)
        # Our own write moved the ETag: continue from what we just read, not the plan's.
        etag = live.etag or etag
        at_zero_paths = tuple(p for p in change.changed_paths if not p.startswith("scale."))
        written = self._write_update(
            change, props, at_zero_paths, etag, notes, what="update at zero nodes", record=False
        )
        scale_paths = tuple(p for p in props if p.startswith("scale.fixed."))
        self._write_update(
            change, props, scale_paths, written.etag or etag, notes, what="scale back to target"
        )
        self._settle(change, props, notes, wrote_scale=True)
        goal = _targets(props)
        notes.append(
            f"changed {', '.join(at_zero_paths)} at zero nodes"
            + (f", back to {goal[0]}+{goal[1]} nodes" if goal else "")
        )

    # -- steps of multi-write actions ---------------------------------------------------

    def _delete_replaced(self, change: Change, notes: list[str]) -> None:
        # A pool's delete carries If-Match with the ETag the plan saw (`_etag`). What the
        # new pool must keep is read and stored first: after the delete it is gone.
        kept = self._keep_for_replacement(change)
        try:
            self._delete(change, notes, verify=False)
        except ConflictError:
            # Refused by If-Match: nothing was deleted. Any other failure may have come
            # after Azure deleted the pool, so the entry stays for the create that follows.
            if kept:
                self.carried.discard(change.resource_id)
            raise
        notes.append("deleted the old resource")

    def _create_replacement(self, change: Change, notes: list[str]) -> None:
        self._create(change, notes)

    def _check_zero_allowed(self, change: Change, props: Mapping[str, Any]) -> None:
        if not self.allow_disruptive:
            raise DisruptiveChangeRefused(disruptive_message((change,)))
        if any(p.startswith("scale.autoScale.") for p in props):
            raise PermanentAzureError(
                f"{change.address}: an autoscale pool cannot be scaled to zero by apply",
                address=change.address,
                hint="switch the pool to fixed scale in the spec first",
            )

    def _live_pool(self, change: Change) -> LiveResource:
        live = self._read(change)
        if live is None:
            raise PermanentAzureError(f"{change.address} no longer exists", address=change.address)
        return live

    def _scale_down(self, change: Change, notes: list[str]) -> None:
        props = self._props(change)
        self._check_zero_allowed(change, props)
        live = self._live_pool(change)
        if _steady_at_zero(live):
            notes.append("already steady at zero nodes")
            return
        zero = {**props, **dict.fromkeys(SCALE_FIXED, 0)}
        etag = self._etag(change) or live.etag
        # Not where the plan wants the pool yet: the record waits for the scale back.
        self._write_update(
            change, zero, SCALE_FIXED, etag, notes, what="scale to zero nodes", record=False
        )
        notes.append(f"scaled to zero from {_nodes(live)} nodes")
        self._wait_allocation(change, (0, 0), None, notes, reissue=False)

    def _update_at_zero(self, change: Change, notes: list[str]) -> None:
        props = self._props(change)
        self._check_zero_allowed(change, props)
        live = self._live_pool(change)
        if not _steady_at_zero(live):
            raise WaitError(
                f"{change.address} is not steady at zero nodes ({live.allocation_state}, "
                f"{_nodes(live)} nodes); its vmSize and image cannot change now",
                address=change.address,
                hint="apply again: the plan scales the pool to zero first",
            )
        self._write_update(
            change,
            props,
            change.changed_paths,
            live.etag,
            notes,
            what="update at zero nodes",
            record=False,
        )
        self._settle(change, props, notes, wrote_scale=False)
        notes.append(f"changed {', '.join(change.changed_paths)} at zero nodes")

    def _scale_back(self, change: Change, notes: list[str]) -> None:
        props = self._props(change)
        live = self._live_pool(change)
        self._write_update(
            change, props, change.changed_paths, live.etag, notes, what="scale back to target"
        )
        self._settle(change, props, notes, wrote_scale=True)
        goal = _targets(props)
        if goal:
            notes.append(f"back to {goal[0]}+{goal[1]} nodes")

    _STEPS: Mapping[str, Callable[[ChangeExecutor, Change, list[str]], None]] = {
        "delete-replaced": _delete_replaced,
        "create-replacement": _create_replacement,
        "scale-down": _scale_down,
        "update-at-zero": _update_at_zero,
        "scale-back": _scale_back,
    }

    # -- waiting on what is in flight ---------------------------------------------------

    def _wait(self, change: Change, notes: list[str]) -> None:
        """A wait step: nothing is written unless a pool stops short (R3 re-issue)."""
        if change.kind is Kind.POOL:
            # With `after`, nothing else follows for this pool: once steady, a pool short
            # of its targets gets its resize re-issued (R3), on resume as on first apply.
            props = self._props(change) if change.after else None
            targets = _targets(props) if props is not None else None
            self.emit(EventKind.STEP, change, "waiting until the pool is steady", {})
            live = self._wait_allocation(change, targets, props, notes, reissue=True)
            notes.append(f"pool steady at {_nodes(live)} nodes")
            return
        if change.kind is Kind.VERSION:
            self.emit(EventKind.STEP, change, "waiting until replication completes", {})
            # The version's own regions: a change that follows may add or drop some.
            live = self._wait_replication(change, {})
            regions = ", ".join(r.region for r in live.replication) or "every region"
            notes.append(f"replication completed in {regions}")
            return
        raise PermanentAzureError(
            f"{change.address}: apply does not know how to wait on a {change.kind.value}",
            address=change.address,
        )

    # -- waiting and verifying ----------------------------------------------------------

    def _settle(
        self,
        change: Change,
        props: Mapping[str, Any],
        notes: list[str],
        *,
        wrote_scale: bool,
        written: LiveResource | None = None,
    ) -> None:
        """Wait for what the write started, then verify; `written` is the write's answer.

        The answer saves a read where it already tells what the read would: a version
        write is long-running and ends (`Succeeded`) only once every region has
        replicated, and a pool's answer is the first sample its allocation wait paces
        from. Each read is a round trip, and after a version replicates its pools wait on
        them: in a large apply these reads are on the critical path.
        """
        live: LiveResource | None = None
        if change.kind is Kind.VERSION:
            live = self._wait_replication(change, props, written=written)
        elif change.kind is Kind.POOL and wrote_scale:
            targets = _targets(props)
            live = self._wait_allocation(
                change, targets, props, notes, reissue=True, written=written
            )
        if self.settings.verify:
            # The read that ended a wait is as fresh as a new one; other writes re-read.
            live = live or self._read(change)
            if live is None:
                raise VerifyError(
                    f"Azure did not apply {change.address}: it is absent after the write",
                    address=change.address,
                )
            found = mismatches(change, live)
            if found:
                raise VerifyError(
                    f"Azure did not apply {change.address}: " + "; ".join(found),
                    address=change.address,
                    hint="Azure accepted the request but ignored these fields",
                )

    def _emit_replication(self, change: Change, view: Mapping[str, Mapping[str, Any]]) -> None:
        text = ", ".join(f"{r} {v['state']} {v['progress']}%" for r, v in view.items())
        self.emit(EventKind.PROGRESS, change, f"replication: {text}", {"regions": dict(view)})

    @contextmanager
    def _watching(self, change: Change, props: Mapping[str, Any]) -> Iterator[None]:
        """Report per-region replication while a version write is still in flight.

        Azure's version PUT is a long-running operation that ends only when every region has
        replicated, and the port blocks until then; a side thread reads the version every
        `progress_interval` seconds so the user sees regions progress meanwhile. Best effort:
        its reads never fail the change.
        """
        interval = self.settings.progress_interval
        if change.kind is not Kind.VERSION or not interval:
            yield
            return
        stop = threading.Event()
        regions = _regions(props)

        def watch() -> None:
            last: dict[str, Any] | None = None
            while not stop.wait(interval):
                try:
                    live = self.ops.read(kind=change.kind, resource_id=change.resource_id)
                except Exception:  # progress only: the write itself reports real failures
                    continue
                if live is None or stop.is_set():
                    continue
                view = _replication_view(
                    live, regions or sorted(r.region for r in live.replication)
                )
                if view and view != last:
                    self._emit_replication(change, view)
                    last = view

        thread = threading.Thread(target=watch, name=f"watch {change.address}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _wait_replication(
        self, change: Change, props: Mapping[str, Any], *, written: LiveResource | None = None
    ) -> LiveResource:
        wanted = _regions(props)
        deadline = self.clock() + self.settings.replication_timeout
        last: dict[str, Any] | None = None
        # A write's answer ends the wait only when it shows the version settled; otherwise
        # (still replicating, or an answer without status) the wait reads as before.
        first = written if written is not None and _replicated(written, wanted) else None
        while True:
            live, first = first or self._read(change), None
            if live is None:
                raise WaitError(
                    f"{change.address} disappeared while replicating", address=change.address
                )
            by_region = {r.region.lower(): r for r in live.replication}
            regions = wanted or sorted(by_region)
            view = _replication_view(live, regions)
            if view != last:
                self._emit_replication(change, view)
                last = view
            failed = [r for r in regions if view[r]["state"].lower() == "failed"]
            if failed:
                details = "; ".join(by_region[r].details for r in failed if by_region[r].details)
                raise WaitError(
                    f"replication of {change.address} failed in {', '.join(failed)}"
                    + (f": {details}" if details else ""),
                    address=change.address,
                    code="ReplicationFailed",
                )
            if (live.provisioning_state or "").lower() == "failed":
                raise WaitError(
                    f"{change.address} ended in provisioning state Failed", address=change.address
                )
            done = all(view[r]["state"].lower() == "completed" for r in regions)
            # Without $expand=ReplicationStatus Azure reports nothing per region; a
            # Succeeded version has then finished replicating everywhere.
            if done and (regions or (live.provisioning_state or "").lower() == "succeeded"):
                return live
            if self.clock() > deadline:
                raise WaitError(
                    f"{change.address} still replicating after "
                    f"{self.settings.replication_timeout:.0f}s",
                    address=change.address,
                )
            self.sleep(self.settings.poll_interval)

    def _wait_allocation(
        self,
        change: Change,
        targets: tuple[int, int] | None,
        props: Mapping[str, Any] | None,
        notes: list[str],
        *,
        reissue: bool,
        written: LiveResource | None = None,
    ) -> LiveResource:
        reissued = 0
        while True:
            live = self._poll_steady(change, targets, written=written)
            written = None
            if targets is None or _reached(live, targets):
                return live
            errors = ", ".join(live.resize_errors) or "no resize error reported"
            short = f"{_nodes(live)} of {targets[0]}+{targets[1]} nodes"
            if not reissue or props is None or reissued >= self.settings.resize_attempts:
                raise ResizeExhausted(
                    f"{change.address} stopped at {short} after {reissued + 1} resize(s): {errors}",
                    address=change.address,
                    code=live.resize_errors[0] if live.resize_errors else "ResizeIncomplete",
                    hint="raise resizeTimeout, check quota in the region, or apply again",
                )
            reissued += 1
            message = (
                f"resize re-issued ({reissued} of {self.settings.resize_attempts}): "
                f"stopped at {short} ({errors})"
            )
            notes.append(message)
            self.emit(
                EventKind.STEP,
                change,
                message,
                {"attempt": reissued, "errors": list(live.resize_errors)},
            )
            self._write_update(change, props, SCALE_FIXED, live.etag, notes, what="re-issue resize")

    def _poll_steady(
        self,
        change: Change,
        targets: tuple[int, int] | None,
        *,
        written: LiveResource | None = None,
    ) -> LiveResource:
        """Read until the pool is steady. `written`, the answer of the write that started
        the resize, is the first sample when it shows the pool resizing (reported and paced
        from); one that shows it steady is not trusted (the resize may not have begun when
        Azure answered): the wait reads at once, as without it."""
        deadline = self.clock() + self.settings.allocation_timeout
        pacer = _Pacer(
            self.settings.poll_interval,
            self.settings.max_poll_interval,
            rates=self._rates,
            key=_account_of(change.resource_id),
        )
        last: tuple[Any, ...] | None = None
        resizing = written is not None and bool(written.allocation_state) and not _steady(written)
        first = written if resizing else None
        while True:
            live, first = first or self._read(change), None
            if live is None:
                raise WaitError(
                    f"{change.address} disappeared while allocating", address=change.address
                )
            view = (live.allocation_state, live.current_dedicated, live.current_low_priority)
            if view != last:
                data: dict[str, Any] = {
                    "allocation_state": live.allocation_state,
                    "dedicated": live.current_dedicated,
                    "low_priority": live.current_low_priority,
                }
                if targets is not None:
                    data["target_dedicated"], data["target_low_priority"] = targets
                goal = f" of {targets[0]}+{targets[1]}" if targets is not None else ""
                self.emit(
                    EventKind.PROGRESS,
                    change,
                    f"pool {live.allocation_state or '?'}: {_nodes(live)}{goal} nodes",
                    data,
                )
                last = view
            if _steady(live):
                return live
            if self.clock() > deadline:
                raise WaitError(
                    f"{change.address} still {live.allocation_state} after "
                    f"{self.settings.allocation_timeout:.0f}s",
                    address=change.address,
                )
            self.sleep(pacer.next_wait(self.clock(), _count(live), _total(targets)))


def _regions(props: Mapping[str, Any]) -> list[str]:
    """Target regions named by a version's flat properties."""
    return sorted(
        {p[len("targetRegions[") : p.index("]")] for p in props if p.startswith("targetRegions[")}
    )


def _replication_view(live: LiveResource, regions: Sequence[str]) -> dict[str, dict[str, Any]]:
    by_region = {r.region.lower(): r for r in live.replication}
    # Without per-region status (no $expand, as a write's answer), a Succeeded version
    # has finished replicating everywhere; anything else has not started where unreported.
    settled = not by_region and (live.provisioning_state or "").lower() == "succeeded"
    missing = {"state": "Completed", "progress": 100} if settled else None
    return {
        region: (
            {"state": by_region[region].state, "progress": by_region[region].progress}
            if region in by_region
            else dict(missing or {"state": "Pending", "progress": 0})
        )
        for region in regions
    }


def _replicated(live: LiveResource, regions: Sequence[str]) -> bool:
    """Whether `live` shows the version done replicating in `regions` (all it has, if none)."""
    if (live.provisioning_state or "").lower() != "succeeded":
        return False
    view = _replication_view(live, regions or sorted(r.region.lower() for r in live.replication))
    return all(v["state"].lower() == "completed" for v in view.values())


class _AllocationRates:
    """The fastest allocation rate (nodes per second) seen in each Batch account; thread-safe.

    Pools of one account allocate at similar rates. The fastest is kept, not the mean: a
    first poll it times comes about at the pool's true end or before it, rarely after —
    early costs one more read (after which the pool's own rate paces it), late costs time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fastest: dict[str, float] = {}

    def get(self, key: str) -> float | None:
        with self._lock:
            return self._fastest.get(key)

    def note(self, key: str, rate: float) -> None:
        with self._lock:
            if rate > self._fastest.get(key, 0.0):
                self._fastest[key] = rate


def _account_of(resource_id: str) -> str:
    """The pool's Batch account id (the id up to ``/pools/``), lower-cased."""
    head, _, _ = resource_id.lower().rpartition("/pools/")
    return head


class _Pacer:
    """Polling guided by observed progress.

    A pool gains nodes at a roughly steady rate while it resizes; from two samples (the
    write's answer may be the first) the pacer estimates when the target will be reached
    and sleeps until just after then (never more than `longest`; less than `shortest` only
    for the final approach). With `rates`, the first wait is already aimed at the end, at
    the fastest rate another pool of the account has shown. Hundreds of pools waiting at
    once then cost one or two reads each instead of one per `shortest`, and the last read
    lands close to the moment allocation finishes, which keeps the wait off the critical
    path.
    """

    def __init__(
        self,
        shortest: float,
        longest: float,
        *,
        rates: _AllocationRates | None = None,
        key: str = "",
    ) -> None:
        self.shortest = shortest
        self.longest = max(shortest, longest)
        self._first: tuple[float, int] | None = None
        self._rates = rates
        self._key = key

    def next_wait(self, now: float, count: int, goal: int | None) -> float:
        if self._first is None or count < self._first[1]:
            self._first = (now, count)
            # Another pool of the account has shown how fast nodes come: aim at the end
            # straight away (at the fastest rate seen, so not much past it).
            known = self._rates.get(self._key) if self._rates is not None else None
            if known and goal is not None and count < goal:
                aim = (goal - count) / known * 1.02 + self.shortest * 0.1
                return min(self.longest, max(self.shortest, aim))
            return self.shortest
        t0, c0 = self._first
        if goal is None or count >= goal or now <= t0 or count == c0:
            return self.shortest
        rate = (count - c0) / (now - t0)
        if self._rates is not None:
            self._rates.note(self._key, rate)
        # Aim just past the predicted end: waking a moment early costs a whole extra wait.
        remaining = (goal - count) / rate * 1.02 + self.shortest * 0.1
        return min(self.longest, max(self.shortest * 0.2, remaining))


def _count(live: LiveResource) -> int:
    return (live.current_dedicated or 0) + (live.current_low_priority or 0)


def _total(targets: tuple[int, int] | None) -> int | None:
    return None if targets is None else targets[0] + targets[1]


def _steady(live: LiveResource) -> bool:
    return (live.allocation_state or "steady").lower() == "steady"


def _steady_at_zero(live: LiveResource) -> bool:
    return _steady(live) and not live.current_dedicated and not live.current_low_priority


def _nodes(live: LiveResource) -> str:
    return f"{live.current_dedicated or 0}+{live.current_low_priority or 0}"


def _targets(props: Mapping[str, Any]) -> tuple[int, int] | None:
    if not any(p in props for p in SCALE_FIXED):
        return None  # autoscale: Azure decides the count
    return int(props.get(SCALE_FIXED[0], 0)), int(props.get(SCALE_FIXED[1], 0))


def _reached(live: LiveResource, targets: tuple[int, int]) -> bool:
    # Equality, not >=: a shrink (or scale to zero) is reached only when nodes have left.
    return (live.current_dedicated or 0, live.current_low_priority or 0) == targets


def _paths_differ(props: Mapping[str, Any], live: LiveResource, paths: Sequence[str]) -> bool:
    for path in paths:
        want, got = props.get(path), live.properties.get(path)
        if want is None and got is None:
            continue
        if want is None or got is None or not _same(want, got):
            return True
    return False


def disruptive_message(changes: Sequence[Change]) -> str:
    """Why scale-to-zero changes are refused, naming each pool and what forces it."""
    lines = [
        "refusing to scale pools to zero nodes without --allow-disruptive: "
        "Batch changes vmSize, the image and most pool properties only on a pool steady at "
        "0 nodes, so every "
        "running node (and its tasks) of these pools would be removed:"
    ]
    for c in changes:
        paths = ", ".join(p for p in c.changed_paths if not p.startswith("scale.")) or "image"
        lines.append(f"  - {c.address} ({paths})")
    lines.append(
        "re-run with --allow-disruptive once those pools can be drained, "
        "or create a new pool beside the old one in the spec"
    )
    return "\n".join(lines)
