"""Health as state: what a live resource is doing, beyond whether its fields match the spec.

A resource can match its spec on paper and still not be what the spec declares: an image
version still `Creating` (its replicas do not serve yet), one whose provisioning `Failed`,
a fixed-scale pool `Steady` at 0 of 1,500 nodes after `AllocationFailed`, a pool still
`Resizing`. The planner compares with this live status on every run (level-based, like
controller-runtime), never with what an earlier apply remembers, so an interrupted apply
is finished by the next one. Pure: reads `LiveResource` values only.

- `IN_FLIGHT` (a version not `Succeeded`, or not `Completed` in a region a pool needs;
  a pool `Resizing`): the changes that need it wait for it — a wait step in the plan.
- `FAILED` (a version whose provisioning failed): it does not count as present; the plan
  creates it again (a PUT with the spec's body) and pools wait for that.
- `SHORT` (a fixed-scale pool steady short of its targets): the resize is re-issued.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.state.model import LiveResource, int_at

SCALE_TARGETS = ("scale.fixed.dedicated", "scale.fixed.lowPriority")
_IN_FLIGHT_STATES = {"creating", "updating", "migrating"}


class Condition(StrEnum):
    """How a live resource departs from "working as declared"."""

    IN_FLIGHT = "in-flight"
    FAILED = "failed"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class Health:
    """One unhealthy resource: its condition and a sentence saying what Azure reports."""

    condition: Condition
    message: str


def nodes_text(dedicated: int, low: int, want_dedicated: int, want_low: int) -> str:
    """``0 of 1,500 nodes`` (dedicated only) or ``10+2 of 100+20 nodes``."""
    if want_low == 0 and low == 0:
        return f"{dedicated:,} of {want_dedicated:,} nodes"
    return f"{dedicated:,}+{low:,} of {want_dedicated:,}+{want_low:,} nodes"


def version_health(version: LiveResource, regions: Iterable[str] = ()) -> Health | None:
    """The health of an image version; `regions` are those pools need (empty: all)."""
    state = (version.provisioning_state or "Succeeded").lower()
    wanted = {r.lower() for r in regions}
    replicas = [r for r in version.replication if not wanted or r.region.lower() in wanted]
    shown = ", ".join(f"{r.region} {r.state} {r.progress}%" for r in replicas)
    if state == "failed":
        failed = [r for r in version.replication if r.state.lower() == "failed"]
        details = "; ".join(f"{r.region}: {r.details or 'Failed'}" for r in failed)
        return Health(
            Condition.FAILED,
            f"provisioning state Failed{f' ({details})' if details else ''}",
        )
    if state in _IN_FLIGHT_STATES:
        text = f"provisioning state {version.provisioning_state}"
        return Health(Condition.IN_FLIGHT, text + (f"; replication {shown}" if shown else ""))
    behind = [r for r in replicas if r.state.lower() != "completed"]
    if behind:
        text = ", ".join(f"{r.region} {r.state} {r.progress}%" for r in behind)
        return Health(Condition.IN_FLIGHT, f"replication not completed: {text}")
    return None


def fixed_targets(props: Mapping[str, Any]) -> tuple[int, int]:
    """The (dedicated, low-priority) targets in pool properties (0 where unset)."""
    return int_at(props, SCALE_TARGETS[0]), int_at(props, SCALE_TARGETS[1])


def pool_targets(pool: LiveResource) -> tuple[int, int] | None:
    """A fixed-scale pool's (dedicated, low-priority) targets; None for autoscale."""
    props = pool.properties
    if "scale.autoScale.formula" in props or not any(p in props for p in SCALE_TARGETS):
        return None
    return fixed_targets(props)


def pool_health(pool: LiveResource) -> Health | None:
    """The health of a fixed-scale pool (autoscale pools resize at will: never judged)."""
    targets = pool_targets(pool)
    state = (pool.allocation_state or "").lower()
    if targets is None or not state:
        return None
    have = (pool.current_dedicated or 0, pool.current_low_priority or 0)
    text = nodes_text(*have, *targets)
    if state in ("resizing", "stopping"):
        return Health(Condition.IN_FLIGHT, f"still {pool.allocation_state}: {text}")
    if state == "steady" and have != targets:
        errors = ", ".join(pool.resize_errors) or "no resize error reported"
        return Health(Condition.SHORT, f"{text}: {errors}")
    return None


def missing_nodes(pool: LiveResource) -> int:
    """How many nodes a fixed-scale pool lacks (or has too many) against its targets."""
    targets = pool_targets(pool) or (0, 0)
    return abs(targets[0] - (pool.current_dedicated or 0)) + abs(
        targets[1] - (pool.current_low_priority or 0)
    )
