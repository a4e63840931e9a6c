"""The live-state snapshot: one `LiveResource` per Azure resource read, keyed by address.

Properties are *flat*: a mapping from a field path to a normalised scalar (or a sorted
tuple of scalars), in the vocabulary of `reconciler.state.fields`. The same vocabulary
describes the desired side, so diffing is a comparison of two flat mappings and
rendering never needs to know a resource's nested shape.

Path conventions:
- nested objects join with dots: ``identifier.publisher``, ``scale.fixed.dedicated``;
- maps keep their keys as the last segment: ``tags.team``, ``metadata.team``,
  ``startTask.environment.LICENSE_KEY``;
- lists whose items have a natural key are keyed in brackets, so their order never
  produces a diff: ``targetRegions[westeurope].replicas``, ``source.dataDisks[0]``,
  ``network.inboundNatPools[ssh].backendPort``;
- lists of scalars whose order has no meaning are sorted tuples: ``network.publicIPs``.

Normalisation (done by whoever builds the mapping): locations lower-case without
spaces (``westeurope``), resource ids lower-case, ISO-8601 durations canonical
(``PT30M``; see `canonical_duration`), booleans as bool, counts as int, dates as
``YYYY-MM-DD`` strings, absent optional values simply not present in the mapping.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import isodate

# Ownership marks the tool writes on everything it creates. A resource without
# them is never changed or deleted; the plan reports it and explains adoption.
OWNER_TAG = "managed-by"
OWNER_VALUE = "reconcile"
OWNER_METADATA_KEY = "reconcile.managed-by"
# Which spec owns it (`settings.owner`): prune and "would delete" consider only the
# resources of the spec being planned. Absent on resources written before owners existed.
OWNER_NAME_TAG = "reconcile-owner"
OWNER_NAME_METADATA_KEY = "reconcile.owner"
# What apply last wrote (`reconciler.plan.applied`): a tag on Compute resources, a
# metadata entry on pools; long records continue in ``<name>-2``, ``<name>-3``, ...
APPLIED_TAG = "reconcile-applied"
APPLIED_METADATA_KEY = "reconcile.applied"


class Kind(StrEnum):
    """The resource kinds the tool manages or reads; values prefix addresses."""

    GALLERY = "gallery"
    IMAGE = "image"
    VERSION = "version"
    MANAGED_IMAGE = "managedImage"
    BATCH_ACCOUNT = "batchAccount"
    POOL = "pool"


Scalar = str | int | float | bool | tuple[str, ...] | tuple[int, ...]


def int_at(props: Mapping[str, Scalar], path: str) -> int:
    """A whole-number property (node counts, replicas) of flat `props`; absent or empty is 0."""
    value = props.get(path)
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return int(value or 0)
    return 0


@dataclass(frozen=True, slots=True)
class RegionReplication:
    """Replication of an image version to one region, as `replicationStatus` reports it."""

    region: str
    state: str  # Unknown | Replicating | Completed | Failed
    progress: int  # percent, 0..100
    details: str = ""


@dataclass(frozen=True, slots=True)
class LiveResource:
    """One resource as Azure reports it now.

    `properties` holds only what the tool manages (flat, normalised; see module doc).
    Status that is never diffed (provisioning, replication, allocation) is kept in
    its own fields so apply and drift can report progress.
    """

    address: str
    kind: Kind
    id: str  # canonical (lower-case) Azure resource id; made so on construction
    name: str
    location: str
    properties: Mapping[str, Scalar]
    etag: str | None = None
    provisioning_state: str | None = None
    # Image versions: per-region replication.
    replication: tuple[RegionReplication, ...] = ()
    # Pools: allocation progress and the image they boot from.
    allocation_state: str | None = None
    current_dedicated: int | None = None
    current_low_priority: int | None = None
    resize_errors: tuple[str, ...] = ()
    # Batch accounts: pool allocation mode (BatchService | UserSubscription).
    pool_allocation_mode: str | None = None

    def __post_init__(self) -> None:
        # Ids are canonical here, once, so every comparison downstream is plain equality.
        object.__setattr__(self, "id", canonical_id(self.id))
        if not isinstance(self.properties, MappingProxyType):
            object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))

    @property
    def owned(self) -> bool:
        """True when the tool's ownership mark is present (tag, or pool metadata)."""
        props = self.properties
        return (
            props.get(f"tags.{OWNER_TAG}") == OWNER_VALUE
            or props.get(f"metadata.{OWNER_METADATA_KEY}") == OWNER_VALUE
        )

    @property
    def owner_name(self) -> str | None:
        """The name of the spec that owns it (tag, or pool metadata); None if unnamed."""
        props = self.properties
        for path in (f"tags.{OWNER_NAME_TAG}", f"metadata.{OWNER_NAME_METADATA_KEY}"):
            value = props.get(path)
            if isinstance(value, str) and value:
                return value
        return None

    @property
    def image_id(self) -> str | None:
        """For a pool, the canonical id of the image it boots from (ids compare case-blind)."""
        value = self.properties.get("image.id")
        return canonical_id(value) if isinstance(value, str) else None

    def fingerprint(self) -> str:
        """A content hash used where Azure gives no ETag (saved-plan staleness)."""
        return fingerprint(self.properties)


def fingerprint(properties: Mapping[str, Any]) -> str:
    """Stable SHA-256 (first 16 hex digits) of a flat property mapping."""
    text = json.dumps(
        sorted((k, _jsonable(v)) for k, v in properties.items()), separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything read from Azure for one plan: resources by address, and what was read.

    `scopes` names what was listed (e.g. ``gallery:/subscriptions/.../galleries/g``) so the
    planner can tell "absent" (scope read, resource not there) from "not looked at".
    """

    resources: Mapping[str, LiveResource] = field(default_factory=dict)
    scopes: tuple[str, ...] = ()
    # Indexes built once on construction (the planner asks per declared version; a scan
    # per question made plans quadratic in the estate): kind → resources in address
    # order, and image id → the pools booting it, in address order.
    _by_kind: Mapping[Kind, tuple[LiveResource, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _pools_by_image: Mapping[str, tuple[LiveResource, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not isinstance(self.resources, MappingProxyType):
            object.__setattr__(self, "resources", MappingProxyType(dict(self.resources)))
        by_kind: dict[Kind, list[LiveResource]] = {}
        by_image: dict[str, list[LiveResource]] = {}
        for address in sorted(self.resources):
            resource = self.resources[address]
            by_kind.setdefault(resource.kind, []).append(resource)
            if resource.kind is Kind.POOL:
                image = resource.image_id
                if image is not None:
                    by_image.setdefault(image, []).append(resource)
        object.__setattr__(self, "_by_kind", {k: tuple(v) for k, v in by_kind.items()})
        object.__setattr__(self, "_pools_by_image", {k: tuple(v) for k, v in by_image.items()})

    def get(self, address: str) -> LiveResource | None:
        """The resource at `address`, or None when Azure has none."""
        return self.resources.get(address)

    def of_kind(self, kind: Kind) -> Iterator[LiveResource]:
        """All resources of one kind, in address order (deterministic output)."""
        return iter(self._by_kind.get(kind, ()))

    def pools_using(self, image_id: str) -> tuple[LiveResource, ...]:
        """Every pool read (owned or not) whose image is `image_id` (R6 protection)."""
        return self._pools_by_image.get(canonical_id(image_id), ())


_HMS = re.compile(r"(?:(\d+)\.)?(\d+):(\d+):(\d+)")


def duration_seconds(value: str | timedelta) -> float:
    """Seconds in a duration: ISO-8601 (read by the `isodate` library; years and months,
    which have no fixed length, are refused) or .NET's ``[d.]hh:mm:ss`` that some Azure
    answers use. ValueError when it is neither."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    text = value.strip().upper()
    hms = _HMS.fullmatch(text)
    if hms:
        days, h, m, s = (int(g or 0) for g in hms.groups())
        return float(((days * 24 + h) * 60 + m) * 60 + s)
    if text in ("P", "PT"):
        raise ValueError(f"not an ISO-8601 duration: {value!r}")  # isodate reads them as 0
    try:
        parsed = isodate.parse_duration(text)
    except (isodate.ISO8601Error, ValueError):
        raise ValueError(f"not an ISO-8601 duration: {value!r}") from None
    if not isinstance(parsed, timedelta) or text.startswith("-"):
        raise ValueError(f"not a fixed-length ISO-8601 duration: {value!r}")
    return parsed.total_seconds()


def canonical_duration(value: str | timedelta) -> str:
    """Render an ISO-8601 duration (or timedelta) canonically: ``PT90M`` → ``PT1H30M``.

    Azure echoes durations in its own spelling (``PT15M`` vs ``00:15:00``); comparing
    canonical forms is what keeps plans free of perpetual diffs.
    """
    total = int(duration_seconds(value))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    time = (
        (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{seconds}S" if seconds else "")
    )
    if time:
        out += "T" + time
    return out if out != "P" else "PT0S"


def canonical_id(value: str) -> str:
    """Azure resource ids compare case-insensitively: lower-case, no trailing slash."""
    return value.rstrip("/").lower()


def canonical_location(value: str) -> str:
    """``West Europe`` / ``westeurope`` / ``WestEurope`` → ``westeurope``."""
    return value.replace(" ", "").lower()
