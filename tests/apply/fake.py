"""A fake `Operations` made of plain state and overridable hooks (Pulumi's deploytest style).

It keeps resources as `LiveResource` values, honours ETags on pools, and models the two
slow processes apply waits for by counting reads: an image version replicates for
`replication_reads` reads, a pool allocates for `allocation_reads` reads and then reaches
its target — or stops short with resize errors when `short_resizes` says so. Every call is
recorded with start/end timestamps and the number of calls in flight, so tests can measure
ordering and overlap. `hooks[op]` are called before each operation and may raise.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.errors import ConflictError, PermanentAzureError
from reconciler.plan.model import Action, Change, Plan
from reconciler.state.model import Kind, LiveResource, RegionReplication

Hook = Callable[[str, Mapping[str, Any]], None]


@dataclass(frozen=True)
class Call:
    op: str
    resource_id: str
    start: float
    end: float
    active: int  # calls in flight when this one started (itself included)


class FakeOperations:
    """In-memory Azure with hooks; thread-safe."""

    def __init__(
        self,
        *,
        durations: Mapping[str, float] | None = None,
        work: Mapping[str, float] | None = None,
        replication_reads: int = 2,
        allocation_reads: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.resources: dict[str, LiveResource] = {}
        # op -> seconds its long-running operation takes (passed through the caller's `wait`)
        self.durations = dict(durations or {})
        # op -> real seconds of busy work per call (the caller keeps its slot meanwhile)
        self.work = dict(work or {})
        self.replication_reads = replication_reads
        self.allocation_reads = allocation_reads
        self.clock = clock
        self.sleep = sleep
        self.hooks: dict[str, list[Hook]] = defaultdict(list)
        # Members the spec does not model, per resource: what a replacement must keep.
        self.undeclared: dict[str, dict[str, Any]] = {}
        # Secrets a copy of the resource would lack (Azure never returns them).
        self.secrets_withheld: dict[str, tuple[str, ...]] = {}
        self.calls: list[Call] = []
        self.ignored_paths: set[str] = set()  # silently dropped on write (verify tests)
        # pool id -> list of (dedicated reached, errors) for successive resizes
        self.short_resizes: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        self.resize_count: dict[str, int] = defaultdict(int)
        # version id -> (region, details): that region reports Failed from the next read on
        self.replication_failures: dict[str, tuple[str, str]] = {}
        self.creates: dict[str, int] = defaultdict(int)
        self.deletes: dict[str, int] = defaultdict(int)
        self._pending: dict[str, int] = {}
        self._targets: dict[str, tuple[int, int]] = {}
        self._etags = itertools.count(1)
        self._lock = threading.Lock()
        self._active = 0
        self.max_active = 0

    # -- helpers for tests --------------------------------------------------------------

    def seed(self, resource: LiveResource) -> None:
        self.resources[resource.id] = resource

    def calls_for(self, resource_id: str, op: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.resource_id == resource_id and (op in (None, c.op))]

    def _enter(
        self,
        op: str,
        resource_id: str,
        kwargs: Mapping[str, Any],
        wait: Callable[[float], None] | None = None,
    ) -> tuple[float, int]:
        for hook in list(self.hooks.get(op, ())) + list(self.hooks.get("*", ())):
            hook(op, kwargs)
        with self._lock:
            self._active += 1
            self.max_active = max(self.max_active, self._active)
            active = self._active
        start = self.clock()
        duration = self.durations.get(op, 0.0)
        if duration:
            # A write's duration is its long-running operation: time passes through the
            # caller's `wait`, as AzureOperations passes it while polling.
            (wait or self.sleep)(duration)
        busy = self.work.get(op, 0.0)
        if busy:
            time.sleep(busy)
        return start, active

    def _leave(self, op: str, resource_id: str, start: float, active: int) -> None:
        with self._lock:
            self._active -= 1
            self.calls.append(Call(op, resource_id, start, self.clock(), active))

    def _etag(self) -> str:
        return f'W/"{next(self._etags)}"'

    # -- the Operations protocol --------------------------------------------------------

    def read(self, *, kind: Kind, resource_id: str) -> LiveResource | None:
        for hook in list(self.hooks.get("read", ())):
            hook("read", {"kind": kind, "resource_id": resource_id})
        with self._lock:
            live = self.resources.get(resource_id)
            if live is None:
                return None
            if resource_id in self.replication_failures:
                region, details = self.replication_failures[resource_id]
                failed = RegionReplication(region, "Failed", 40, details)
                live = replace(live, provisioning_state="Failed", replication=(failed,))
                self.resources[resource_id] = live
                return live
            pending = self._pending.get(resource_id, 0)
            if pending > 0:
                self._pending[resource_id] = pending - 1
                if pending - 1 == 0:
                    live = self._settle(live)
                    self.resources[resource_id] = live
                else:
                    live = self._progress(live, pending)
                    self.resources[resource_id] = live
            return live

    def _progress(self, live: LiveResource, pending: int) -> LiveResource:
        if live.kind is Kind.VERSION:
            pct = max(1, 100 - pending * 10)
            return replace(
                live,
                replication=tuple(
                    RegionReplication(r.region, "Replicating", pct) for r in live.replication
                ),
            )
        return live

    def _settle(self, live: LiveResource) -> LiveResource:
        if live.kind is Kind.VERSION:
            return replace(
                live,
                provisioning_state="Succeeded",
                replication=tuple(
                    RegionReplication(r.region, "Completed", 100) for r in live.replication
                ),
            )
        if live.kind is Kind.POOL:
            dedicated, low = self._targets.get(live.id, (0, 0))
            self.resize_count[live.id] += 1
            script = self.short_resizes.get(live.id)
            errors: tuple[str, ...] = ()
            if script:
                dedicated, errors = script.pop(0)
            return replace(
                live,
                allocation_state="Steady",
                current_dedicated=dedicated,
                current_low_priority=low,
                resize_errors=errors,
            )
        return live

    def _build(
        self, kind: Kind, resource_id: str, location: str, props: Mapping[str, Any]
    ) -> LiveResource:
        kept = {k: v for k, v in props.items() if k not in self.ignored_paths}
        live = LiveResource(
            address=resource_id,
            kind=kind,
            id=resource_id,
            name=resource_id.rsplit("/", 1)[-1],
            location=location,
            properties=kept,
            etag=self._etag(),
            provisioning_state="Succeeded",
        )
        return self._start_processes(live, kept)

    def _start_processes(self, live: LiveResource, props: Mapping[str, Any]) -> LiveResource:
        if live.kind is Kind.VERSION:
            regions = sorted(
                {p[len("targetRegions[") : p.index("]")] for p in props if "[" in p}
            ) or [live.location]
            self._pending[live.id] = self.replication_reads
            return replace(
                live,
                provisioning_state="Creating",
                replication=tuple(RegionReplication(r, "Replicating", 0) for r in regions),
            )
        if live.kind is Kind.POOL:
            target = (
                int(props.get("scale.fixed.dedicated", 0)),
                int(props.get("scale.fixed.lowPriority", 0)),
            )
            self._targets[live.id] = target
            self._pending[live.id] = self.allocation_reads
            return replace(
                live,
                allocation_state="Resizing",
                current_dedicated=live.current_dedicated or 0,
                current_low_priority=live.current_low_priority or 0,
                resize_errors=(),
            )
        return live

    def create(
        self,
        *,
        kind: Kind,
        resource_id: str,
        location: str,
        props: Mapping[str, Any],
        wait: Callable[[float], None] | None = None,
        base: Mapping[str, Any] | None = None,
    ) -> LiveResource:
        kwargs = {
            "kind": kind,
            "resource_id": resource_id,
            "location": location,
            "props": props,
            "base": base,
        }
        start, active = self._enter("create", resource_id, kwargs, wait)
        try:
            with self._lock:
                if kind is Kind.POOL and resource_id in self.resources:
                    raise ConflictError("pool exists (If-None-Match: *)", status=412)
                self.creates[resource_id] += 1
                live = self._build(kind, resource_id, location, props)
                self.resources[resource_id] = live
                self.undeclared[resource_id] = dict(base or {})
                return live
        finally:
            self._leave("create", resource_id, start, active)

    def replacement_base(
        self,
        *,
        kind: Kind,
        resource_id: str,
        props: Mapping[str, Any],
        changed_paths: Sequence[str],
        etag: str | None = None,
    ) -> Mapping[str, Any] | None:
        kwargs = {"kind": kind, "resource_id": resource_id, "etag": etag}
        start, active = self._enter("replacement_base", resource_id, kwargs, None)
        try:
            with self._lock:
                live = self.resources.get(resource_id)
                if live is None:
                    return None
                if etag is not None and live.etag != etag:
                    raise ConflictError("ETag mismatch (If-Match)", status=412)
                missing = self.secrets_withheld.get(resource_id)
                if missing:
                    raise PermanentAzureError(
                        f"cannot be replaced without losing {', '.join(missing)}"
                    )
                kept = self.undeclared.get(resource_id)
                return dict(kept) if kept else None
        finally:
            self._leave("replacement_base", resource_id, start, active)

    def update(
        self,
        *,
        kind: Kind,
        resource_id: str,
        location: str,
        props: Mapping[str, Any],
        changed_paths: Sequence[str],
        etag: str | None = None,
        wait: Callable[[float], None] | None = None,
    ) -> LiveResource:
        kwargs = {
            "kind": kind,
            "resource_id": resource_id,
            "location": location,
            "props": props,
            "changed_paths": tuple(changed_paths),
            "etag": etag,
        }
        start, active = self._enter("update", resource_id, kwargs, wait)
        try:
            with self._lock:
                live = self.resources.get(resource_id)
                if live is None:
                    raise ConflictError("not found", status=404)
                if etag is not None and live.etag != etag:
                    raise ConflictError("ETag mismatch (If-Match)", status=412)
                new = dict(live.properties)
                for path in changed_paths:
                    if path in self.ignored_paths:
                        continue
                    if path in props:
                        new[path] = props[path]
                    else:
                        new.pop(path, None)
                live = replace(live, properties=new, etag=self._etag())
                if (kind is Kind.POOL and any(p.startswith("scale.") for p in changed_paths)) or (
                    kind is Kind.VERSION
                    and any(p.startswith("targetRegions") for p in changed_paths)
                ):
                    live = self._start_processes(live, new)
                self.resources[resource_id] = live
                return live
        finally:
            self._leave("update", resource_id, start, active)

    def delete(
        self,
        *,
        kind: Kind,
        resource_id: str,
        etag: str | None = None,
        wait: Callable[[float], None] | None = None,
    ) -> None:
        kwargs = {"kind": kind, "resource_id": resource_id, "etag": etag}
        start, active = self._enter("delete", resource_id, kwargs, wait)
        try:
            with self._lock:
                live = self.resources.get(resource_id)
                if live is None:
                    return
                if etag is not None and live.etag != etag:
                    raise ConflictError("ETag mismatch (If-Match)", status=412)
                self.deletes[resource_id] += 1
                del self.resources[resource_id]
                self.undeclared.pop(resource_id, None)
        finally:
            self._leave("delete", resource_id, start, active)


def failing(
    error: Exception, *, times: int = 1, when: Callable[[Mapping[str, Any]], bool] | None = None
) -> Hook:
    """A hook raising `error` for the first `times` matching calls."""
    left = [times]

    def hook(op: str, kwargs: Mapping[str, Any]) -> None:
        if when is not None and not when(kwargs):
            return
        if left[0] > 0:
            left[0] -= 1
            raise error

    return hook


OWNED = {"tags.managed-by": "reconcile"}


def rid(kind: Kind, name: str) -> str:
    return f"/subscriptions/s/resourcegroups/rg/{kind.value}s/{name}"


def change(
    cid: str,
    kind: Kind = Kind.GALLERY,
    action: Action = Action.CREATE,
    *,
    depends_on: Sequence[str] = (),
    after: Mapping[str, Any] | None = None,
    before: Mapping[str, Any] | None = None,
    changed_paths: Sequence[str] = (),
    observed: str | None = None,
    name: str | None = None,
) -> Change:
    """A plan change with sensible defaults (owned, in westeurope)."""
    name = name or cid
    if after is None and action is not Action.DELETE:
        after = {"location": "westeurope", **OWNED}
    return Change(
        id=cid,
        address=f"{kind.value}:{name}",
        kind=kind,
        action=action,
        resource_id=rid(kind, name),
        location="westeurope",
        reason=f"{action.value} {name}",
        before=before,
        after=after,
        changed_paths=tuple(changed_paths),
        depends_on=tuple(depends_on),
        observed=observed,
    )


def plan_of(*changes: Change) -> Plan:
    return Plan(spec_hash="sha256:test", target="fake", changes=tuple(changes))


def pool_props(dedicated: int, **extra: Any) -> dict[str, Any]:
    return {
        "vmSize": "standard_d2s_v3",
        "image.id": rid(Kind.VERSION, "v1"),
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "scale.fixed.dedicated": dedicated,
        "scale.fixed.lowPriority": 0,
        "scale.fixed.resizeTimeout": "PT15M",
        "metadata.reconcile.managed-by": "reconcile",
        **extra,
    }


def live_pool(name: str, dedicated: int, **extra: Any) -> LiveResource:
    return LiveResource(
        address=f"pool:{name}",
        kind=Kind.POOL,
        id=rid(Kind.POOL, name),
        name=name,
        location="westeurope",
        properties=pool_props(dedicated, **extra),
        etag='W/"seed"',
        allocation_state="Steady",
        current_dedicated=dedicated,
        current_low_priority=0,
    )


class FakeClock:
    """A clock that only moves when something sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds
