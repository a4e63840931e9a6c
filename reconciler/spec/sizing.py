"""The numbers the tool computes instead of asking for: gallery replicas and resizeTimeout.

Pure functions and the frozen records that keep their arithmetic, so a plan can show
*why* a value is what it is ("2000 + 1000 = 3000 VMs in westeurope; ceil(3000/600) = 5").

- R1: ``replicas = max(1, ceil(nodes / vmsPerReplica))`` per image version and region,
  where ``nodes`` sums target dedicated + low-priority nodes (autoscale: ``maxNodes``)
  of every pool in that region booting that version. Azure allows at most
  `MAX_REPLICAS_PER_REGION` replicas (Microsoft documents "100 replicas per image
  version"; learn.microsoft.com/azure/virtual-machines/azure-compute-gallery#limits).
- R2/R3: ``resizeTimeout = max(15 min, minutesPer1000Nodes × ceil(nodes / 1000))`` for
  fixed-scale pools; at least 20 minutes on a managed image, 30 when over 300 nodes.

A declared value above the computed one is kept (headroom); below it is an error the
rules report with this arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reconciler.state.model import duration_seconds as _duration_seconds

DEFAULT_VMS_PER_REPLICA = 600
DEFAULT_MINUTES_PER_1000_NODES = 15
#: Azure Compute Gallery: "100 replicas per image version" (per target region).
MAX_REPLICAS_PER_REGION = 100
#: Batch's default resizeTimeout, and the floor of the computed value.
MIN_RESIZE_TIMEOUT_MINUTES = 15
#: Batch rejects resizeTimeout below 5 minutes.
AZURE_MIN_RESIZE_TIMEOUT_MINUTES = 5
#: R3: managed-image pools need 20-30 minutes; 30 above this many nodes.
MANAGED_IMAGE_MIN_MINUTES = 20
MANAGED_IMAGE_LARGE_MIN_MINUTES = 30
MANAGED_IMAGE_LARGE_NODES = 300
#: R4: node limits shared by every pool built from one managed image (or base snapshot).
MANAGED_IMAGE_MAX_DEDICATED = 2500
MANAGED_IMAGE_MAX_SPOT = 1000
#: Batch autoscale evaluationInterval bounds (minutes): 5 minutes .. 168 hours.
MIN_EVALUATION_INTERVAL_MINUTES = 5
MAX_EVALUATION_INTERVAL_MINUTES = 168 * 60


def required_replicas(nodes: int, vms_per_replica: int = DEFAULT_VMS_PER_REPLICA) -> int:
    """Fewest replicas R1 allows for `nodes` VMs: ``max(1, ceil(nodes / vms_per_replica))``."""
    if nodes < 0 or vms_per_replica < 1:
        raise ValueError("nodes must be >= 0 and vms_per_replica >= 1")
    return max(1, -(-nodes // vms_per_replica))


def required_resize_timeout_minutes(
    nodes: int,
    minutes_per_1000_nodes: int = DEFAULT_MINUTES_PER_1000_NODES,
    *,
    managed_image: bool = False,
) -> int:
    """Shortest resizeTimeout (minutes) R2/R3 allow for a fixed pool of `nodes` nodes."""
    if nodes < 0:
        raise ValueError("nodes must be >= 0")
    minutes = max(MIN_RESIZE_TIMEOUT_MINUTES, minutes_per_1000_nodes * math.ceil(nodes / 1000))
    if managed_image:
        floor = (
            MANAGED_IMAGE_LARGE_MIN_MINUTES
            if nodes > MANAGED_IMAGE_LARGE_NODES
            else MANAGED_IMAGE_MIN_MINUTES
        )
        minutes = max(minutes, floor)
    return minutes


def duration_seconds(text: str) -> float:
    """Seconds in an ISO-8601 duration (``PT1H30M`` → 5400.0); ValueError when malformed."""
    return _duration_seconds(text)


def format_minutes(minutes: int) -> str:
    """Canonical ISO-8601 spelling of whole minutes, as Azure echoes it (90 → ``PT1H30M``)."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    time = (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    out = "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
    return out if out != "P" else "PT0S"


def _fmt_minutes(value: float) -> str:
    return f"{value:g} min"


@dataclass(frozen=True, slots=True)
class Contribution:
    """One pool's share of the VMs a version serves in a region."""

    pool: str  # address, pool:<account>/<pool>
    nodes: int
    how: str  # "2000 dedicated + 0 low-priority" or "autoscale maxNodes 500"


@dataclass(frozen=True, slots=True)
class ReplicaSizing:
    """Replicas of one image version in one region, with the arithmetic behind them.

    `computed` follows R1 from `contributions`; `declared` is the user's floor (or None);
    `final` is what the spec asks Azure for: ``max(computed, declared)``.
    `ok` is False when the declared floor is below the computed minimum (RC101) or
    the final value exceeds Azure's maximum (RC102).
    """

    region: str
    nodes: int
    vms_per_replica: int
    contributions: tuple[Contribution, ...]
    computed: int
    declared: int | None
    final: int

    @property
    def below_computed(self) -> bool:
        """Declared floor smaller than what R1 requires."""
        return self.declared is not None and self.declared < self.computed

    @property
    def over_azure_max(self) -> bool:
        """More replicas than Azure allows in one region."""
        return self.final > MAX_REPLICAS_PER_REGION

    @property
    def arithmetic(self) -> str:
        """``render (2000) + sim (1000) = 3000 VMs; max(1, ceil(3000 / 600)) = 5``."""
        if self.contributions:
            parts = " + ".join(f"{c.pool} ({c.nodes})" for c in self.contributions)
            head = f"{parts} = {self.nodes} VMs" if len(self.contributions) > 1 else f"{parts} VMs"
        else:
            head = "no pool in this region uses it: 0 VMs"
        return f"{head}; max(1, ceil({self.nodes} / {self.vms_per_replica})) = {self.computed}"

    @property
    def explanation(self) -> str:
        """The arithmetic plus what happened to the declared floor."""
        text = self.arithmetic
        if self.declared is None:
            return f"{text} → {self.final}"
        if self.declared >= self.computed:
            return f"{text}; declared {self.declared} kept → {self.final}"
        return f"{text}; declared {self.declared} is below it"


def size_replicas(
    region: str,
    contributions: tuple[Contribution, ...],
    declared: int | None,
    vms_per_replica: int = DEFAULT_VMS_PER_REPLICA,
) -> ReplicaSizing:
    """Apply R1 to the pools using one version in one region."""
    nodes = sum(c.nodes for c in contributions)
    computed = required_replicas(nodes, vms_per_replica)
    final = max(computed, declared) if declared is not None else computed
    return ReplicaSizing(region, nodes, vms_per_replica, contributions, computed, declared, final)


@dataclass(frozen=True, slots=True)
class ResizeTimeoutSizing:
    """resizeTimeout of one fixed-scale pool, with the arithmetic behind it.

    `computed_minutes` follows R2 (and R3 for managed images); `declared` is the
    spelling the user wrote (or None) and `declared_minutes` its value; `final` is
    the canonical ISO-8601 duration the pool is created/updated with.
    """

    nodes: int
    minutes_per_1000_nodes: int
    managed_image: bool
    computed_minutes: int
    declared: str | None
    declared_minutes: float | None
    final_minutes: float

    @property
    def final(self) -> str:
        """Canonical ISO-8601 duration (``PT30M``)."""
        if self.final_minutes == int(self.final_minutes):
            return format_minutes(int(self.final_minutes))
        return f"PT{round(self.final_minutes * 60)}S"

    @property
    def below_computed(self) -> bool:
        """Declared value shorter than R2/R3 require."""
        return self.declared_minutes is not None and self.declared_minutes < self.computed_minutes

    @property
    def arithmetic(self) -> str:
        """``2000 nodes: max(15, 15 × ceil(2000 / 1000)) = 30 min`` (+ managed-image floor)."""
        thousands = math.ceil(self.nodes / 1000)
        base = max(MIN_RESIZE_TIMEOUT_MINUTES, self.minutes_per_1000_nodes * thousands)
        text = (
            f"{self.nodes} nodes: max({MIN_RESIZE_TIMEOUT_MINUTES}, "
            f"{self.minutes_per_1000_nodes} × ceil({self.nodes} / 1000)) = {base} min"
        )
        if self.managed_image:
            floor = (
                MANAGED_IMAGE_LARGE_MIN_MINUTES
                if self.nodes > MANAGED_IMAGE_LARGE_NODES
                else MANAGED_IMAGE_MIN_MINUTES
            )
            over = "over" if self.nodes > MANAGED_IMAGE_LARGE_NODES else "up to"
            text += (
                f"; managed image, {over} {MANAGED_IMAGE_LARGE_NODES} nodes: at least "
                f"{floor} min → {self.computed_minutes} min"
            )
        return text

    @property
    def explanation(self) -> str:
        """The arithmetic plus what happened to the declared value."""
        if self.declared is None:
            return f"{self.arithmetic} → {self.final}"
        if not self.below_computed:
            return f"{self.arithmetic}; declared {self.declared} kept → {self.final}"
        return (
            f"{self.arithmetic}; declared {self.declared} "
            f"({_fmt_minutes(self.declared_minutes or 0)}) is below it"
        )


def size_resize_timeout(
    nodes: int,
    declared: str | None,
    minutes_per_1000_nodes: int = DEFAULT_MINUTES_PER_1000_NODES,
    *,
    managed_image: bool = False,
) -> ResizeTimeoutSizing:
    """Apply R2/R3 to one fixed-scale pool (declared: ISO-8601 duration or None)."""
    computed = required_resize_timeout_minutes(
        nodes, minutes_per_1000_nodes, managed_image=managed_image
    )
    declared_minutes = duration_seconds(declared) / 60 if declared is not None else None
    final = max(float(computed), declared_minutes) if declared_minutes is not None else computed
    return ResizeTimeoutSizing(
        nodes,
        minutes_per_1000_nodes,
        managed_image,
        computed,
        declared,
        declared_minutes,
        float(final),
    )
