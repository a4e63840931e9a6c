"""The desired side of a plan: what the resolved spec asks Azure to hold, as flat properties.

`desired_state(spec)` turns a `reconciler.spec` ResolvedSpec into one `DesiredResource`
per address, in the flat vocabulary of `docs/state-vocabulary.md` (the same paths the
Azure mapping produces for live state). Only what the spec declares is present, plus
the numbers the spec computes (replicas per region, pool resizeTimeout) and the
ownership marks the tool writes on everything it creates. Nothing here does I/O.

Property values keep the spelling the user wrote (``Standard_D2s_v5``, ids with
``resourceGroups``/``Microsoft.Compute``) so the plan shows them as written; the diff
normalises both sides only to compare (`reconciler.plan.diff`). Regions, used as keys
and in paths, and the ids used to match live resources are canonical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from reconciler.diagnostics import Diagnostic, SourceLocation
from reconciler.state.model import (
    OWNER_METADATA_KEY,
    OWNER_NAME_METADATA_KEY,
    OWNER_NAME_TAG,
    OWNER_TAG,
    OWNER_VALUE,
    Kind,
    Scalar,
    canonical_duration,
    canonical_id,
    canonical_location,
)
from reconciler.state.surface import MANAGED_IMAGE_SOURCES


def _ro(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping if isinstance(mapping, MappingProxyType) else MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class DesiredResource:
    """One resource as the spec wants it.

    `complete` lists the collection prefixes the spec declares completely (e.g.
    ``targetRegions[``, ``startTask.environment.``): members Azure has under them that
    the spec lacks are differences too. `notes` explains computed values per path
    (sizing arithmetic) for plan reasons.
    """

    address: str
    kind: Kind
    id: str  # normalised (lower-case) resource id
    name: str
    location: str
    properties: Mapping[str, Scalar]
    complete: tuple[str, ...] = ()
    parent: str | None = None  # address of the parent resource (gallery ← image ← version)
    image_id: str | None = None  # pools: normalised id of the image they boot from
    account_id: str | None = None  # pools: normalised id of their Batch account
    notes: Mapping[str, str] = field(default_factory=dict)
    where: SourceLocation | None = None  # its declaration, for plan diagnostics

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", _ro(self.properties))
        object.__setattr__(self, "notes", _ro(self.notes))


@dataclass(frozen=True, slots=True)
class DesiredAccount:
    """A Batch account the spec refers to (never created): where the spec assumes it is.

    Sizing and the R9/R10 rules were computed for `location`; the planner checks it
    against the live account before planning any change to its pools.
    """

    address: str
    id: str  # normalised (lower-case) resource id
    name: str
    location: str
    where: SourceLocation | None = None  # its declaration


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything the planner needs from the spec, as plain values.

    `accounts` are not resources to plan (the tool never writes a Batch account): they
    are the assumptions the pools' changes rest on. `owner` names the spec that owns
    its resources (empty: ownership is the bare ``managed-by`` mark, as before owners).
    """

    resources: Mapping[str, DesiredResource]
    spec_hash: str
    prune: bool = False
    adopt: bool = False
    owner: str = ""
    owner_derived: bool = False
    sizing: Mapping[str, Any] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    accounts: Mapping[str, DesiredAccount] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "resources", _ro(self.resources))
        object.__setattr__(self, "sizing", _ro(self.sizing))
        object.__setattr__(self, "accounts", _ro(self.accounts))


def owner_marks(kind: Kind, owner: str = "") -> dict[str, str]:
    """The ownership properties the tool writes on a resource of `kind` for spec `owner`."""
    marks = {f"tags.{OWNER_TAG}": OWNER_VALUE}
    if owner:
        marks[f"tags.{OWNER_NAME_TAG}"] = owner
    if kind is Kind.POOL:
        marks[f"metadata.{OWNER_METADATA_KEY}"] = OWNER_VALUE
        if owner:
            marks[f"metadata.{OWNER_NAME_METADATA_KEY}"] = owner
    return marks


def content_hash(resources: Mapping[str, DesiredResource]) -> str:
    """SHA-256 of the canonical desired content: the fallback spec hash."""
    doc = {
        address: {
            "kind": r.kind.value,
            "id": r.id,
            "location": r.location,
            "properties": {
                k: list(v) if isinstance(v, tuple) else v for k, v in r.properties.items()
            },
        }
        for address, r in sorted(resources.items())
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def norm_date(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _n(value: int) -> str:
    return f"{value:,}"


def _short(address: str) -> str:
    """``pool:acct/render`` → ``render`` (what people call a pool in a sentence)."""
    return address.split(":", 1)[-1].rsplit("/", 1)[-1]


def replica_note(sizing: Any) -> str:
    """``pools render (2,000) + sim (900) = 2,900 nodes, 1 per 600`` (+ a kept floor)."""
    contributions = tuple(sizing.contributions)
    if contributions:
        parts = " + ".join(f"{_short(c.pool)} ({_n(c.nodes)})" for c in contributions)
        word = "pools" if len(contributions) > 1 else "pool"
        text = f"{word} {parts} = {_n(sizing.nodes)} nodes, 1 per {_n(sizing.vms_per_replica)}"
    else:
        text = "no pool in this region uses it, 1 replica minimum"
    if sizing.declared is not None and sizing.declared > sizing.computed:
        text += f", declared {sizing.declared} kept (needs {sizing.computed})"
    return text


def timeout_note(sizing: Any) -> str:
    """``2,000 nodes: 15 min per 1,000 → 30 min`` (+ managed-image floor or a kept value)."""
    text = (
        f"{_n(sizing.nodes)} nodes, {sizing.minutes_per_1000_nodes} min per 1,000 → "
        f"{sizing.computed_minutes} min"
    )
    if sizing.managed_image:
        text += " (managed image floor included)"
    if sizing.declared is not None and (sizing.declared_minutes or 0) > sizing.computed_minutes:
        text += f", declared {sizing.declared} kept"
    return text


def desired_state(spec: Any) -> DesiredState:
    """The desired flat resources of a `reconciler.spec.resolved.ResolvedSpec`."""
    owner = str(getattr(spec.settings, "owner", "") or "")
    resources: dict[str, DesiredResource] = {}
    for gallery in spec.galleries.values():
        resources[gallery.address] = _gallery(gallery, owner)
    for image in spec.images.values():
        resources[image.address] = _image(image, owner)
    for version in spec.versions.values():
        resources[version.address] = _version(version, owner)
    for managed in spec.managed_images.values():
        resources[managed.address] = _managed_image(managed, owner)
    for pool in spec.pools.values():
        resources[pool.address] = _pool(pool, owner)
    return DesiredState(
        resources=resources,
        spec_hash=content_hash(resources),
        prune=bool(spec.settings.prune),
        adopt=bool(spec.settings.adopt),
        owner=owner,
        owner_derived=bool(getattr(spec.settings, "owner_derived", False)),
        sizing=sizing_of(spec),
        accounts={a.address: _account(a) for a in spec.batch_accounts.values()},
    )


def _where(r: Any) -> SourceLocation | None:
    """Where the spec declares `r` (None for hand-built test values)."""
    return getattr(r, "declared_at", None)


def _account(a: Any) -> DesiredAccount:
    return DesiredAccount(
        a.address,
        canonical_id(a.id),
        a.name,
        canonical_location(a.location),
        where=_where(a),
    )


def _declared(obj: Any, paths: Mapping[str, str]) -> dict[str, Any]:
    """``path: value`` for each ``path: attribute`` `obj` declares (None: not managed)."""
    values = {path: getattr(obj, attr) for path, attr in paths.items()}
    return {path: value for path, value in values.items() if value is not None}


def _with_tags(
    r: Any, kind: Kind, props: dict[str, Any], owner: str, **extra: Any
) -> DesiredResource:
    """A gallery-side resource at its own location, with its tags and the ownership tags."""
    azure = getattr(r, "azure", None)
    if azure is not None and azure.values:
        props.update(azure.values)
        extra["complete"] = (*extra.get("complete", ()), *_azure_complete(r))
    props.update({f"tags.{k}": v for k, v in r.tags.items()})
    props.update({k: v for k, v in owner_marks(kind, owner).items() if k.startswith("tags.")})
    return DesiredResource(
        r.address,
        kind,
        canonical_id(r.id),
        r.name,
        canonical_location(props["location"]),
        props,
        where=_where(r),
        **extra,
    )


def _azure_complete(r: Any) -> tuple[str, ...]:
    """The Azure-named lists the spec declares whole, and what it wants absent: live
    members under them that the spec lacks are differences."""
    azure = getattr(r, "azure", None)
    if azure is None:
        return ()
    absent = tuple(
        f"{path}{sep}" for path, value in azure.values.items() if value is None for sep in ".["
    )
    return (*azure.complete, *absent)


def _gallery(g: Any, owner: str) -> DesiredResource:
    props: dict[str, Any] = {"location": canonical_location(g.location)}
    props.update(_declared(g, {"description": "description"}))
    return _with_tags(g, Kind.GALLERY, props, owner)


def _image(i: Any, owner: str) -> DesiredResource:
    props: dict[str, Any] = {
        "location": canonical_location(i.location),
        "osType": i.os_type,
        "osState": i.os_state,
        "identifier.publisher": i.identifier.publisher,
        "identifier.offer": i.identifier.offer,
        "identifier.sku": i.identifier.sku,
    }
    props.update(
        _declared(
            i,
            {
                "hyperVGeneration": "hyper_v_generation",
                "architecture": "architecture",
                "description": "description",
            },
        )
    )
    return _with_tags(i, Kind.IMAGE, props, owner, parent=i.gallery_address)


def _version(v: Any, owner: str) -> DesiredResource:
    props: dict[str, Any] = {"location": canonical_location(v.location)}
    src = v.source
    if src.kind == "snapshots":
        props["source.snapshots.osDisk"] = src.os_disk_snapshot_id
        for disk in src.data_disks:
            props[f"source.snapshots.dataDisks[{disk.lun}]"] = disk.snapshot_id
    elif src.kind == "vhd":
        disks = [("source.vhd.osDisk", src.vhd_os_disk)]
        disks += [(f"source.vhd.dataDisks[{d.lun}]", d) for d in src.vhd_data_disks]
        for key, disk in disks:
            if disk is not None:
                props[f"{key}.uri"] = disk.uri
                props[f"{key}.storageAccountId"] = disk.storage_account_id
    else:
        props[f"source.{src.kind}"] = src.id
    notes: dict[str, str] = {}
    for region, target in v.target_regions.items():
        key = f"targetRegions[{canonical_location(region)}]"
        props[f"{key}.replicas"] = int(target.replicas)
        if target.storage_account_type is not None:
            props[f"{key}.storageAccountType"] = target.storage_account_type
        notes[f"{key}.replicas"] = replica_note(target.sizing)
    props["excludeFromLatest"] = bool(v.exclude_from_latest)
    if v.end_of_life_date is not None:
        props["endOfLifeDate"] = norm_date(v.end_of_life_date)
    return _with_tags(
        v,
        Kind.VERSION,
        props,
        owner,
        complete=(
            "targetRegions[",
            "source.",
            "source.snapshots.dataDisks[",
            "source.vhd.dataDisks[",
        ),
        parent=v.image_address,
        notes=notes,
    )


def _managed_image(m: Any, owner: str) -> DesiredResource:
    src = m.source
    props: dict[str, Any] = {
        "location": canonical_location(m.location),
        "osType": m.os_type,
        f"source.{src.kind}": src.os_disk,
    }
    props.update(_declared(m, {"hyperVGeneration": "hyper_v_generation"}))
    for disk in src.data_disks:
        props[f"source.{disk.list}[{disk.lun}]"] = disk.ref
    return _with_tags(
        m,
        Kind.MANAGED_IMAGE,
        props,
        owner,
        complete=("source.", *(f"source.{d}[" for d in MANAGED_IMAGE_SOURCES.values() if d)),
    )


def marketplace_note(market: Any) -> str:
    """What a plan says of a Marketplace image: which rules it is outside of."""
    name = f"{market.publisher}/{market.offer}/{market.sku} {market.version}"
    return (
        f"Marketplace image {name}: the custom-image rules (R1 replicas, R6 in-use, "
        "R8-R10 image checks) do not apply"
    )


def _pool_image(image: Any) -> dict[str, Any]:
    """``image.id`` for a custom image; ``image.publisher/offer/sku/version`` for a
    Marketplace one (the version always sent, ``latest`` unless pinned)."""
    market = image.marketplace
    if market is None:
        return {"image.id": image.id}
    return {
        "image.publisher": market.publisher,
        "image.offer": market.offer,
        "image.sku": market.sku,
        "image.version": market.version,
    }


def _pool(p: Any, owner: str) -> DesiredResource:
    props: dict[str, Any] = {"vmSize": p.vm_size, **_pool_image(p.image)}
    props["nodeAgentSkuId"] = p.node_agent_sku_id
    props.update(
        _declared(
            p,
            {
                "displayName": "display_name",
                "interNodeCommunication": "inter_node_communication",
                "taskSlotsPerNode": "task_slots_per_node",
            },
        )
    )
    notes: dict[str, str] = {}
    # The image is declared completely: a move between a custom and a Marketplace image
    # takes the other kind's members away.
    complete = ["scale.", "image."]
    scale = p.scale
    if p.is_autoscale:
        props["scale.autoScale.formula"] = scale.formula
        if scale.evaluation_interval is not None:
            props["scale.autoScale.evaluationInterval"] = canonical_duration(
                scale.evaluation_interval
            )
    else:
        props["scale.fixed.dedicated"] = scale.dedicated
        props["scale.fixed.lowPriority"] = scale.low_priority
        props["scale.fixed.resizeTimeout"] = canonical_duration(scale.resize_timeout)
        props.update(
            _declared(scale, {"scale.fixed.nodeDeallocationOption": "node_deallocation_option"})
        )
        if p.resize_timeout is not None:
            notes["scale.fixed.resizeTimeout"] = timeout_note(p.resize_timeout)
    market = p.image.marketplace
    if market is not None:
        notes["image.publisher"] = marketplace_note(market)
    task = p.start_task
    if task is not None:
        complete += ["startTask.", "startTask.environment."]
        props["startTask.commandLine"] = task.command_line
        for name, value in task.environment.items():
            props[f"startTask.environment.{name}"] = value
        # A named start-task user (`userName`) has no path in the shared vocabulary yet:
        # the Azure mapping neither reads nor writes it, so diffing it would never settle.
        props.update(
            _declared(
                task,
                {
                    "startTask.waitForSuccess": "wait_for_success",
                    "startTask.maxTaskRetryCount": "max_task_retry_count",
                    "startTask.userIdentity.elevationLevel": "elevation_level",
                    "startTask.userIdentity.scope": "scope",
                },
            )
        )
    net = p.network
    if net is not None:
        complete.append("network.inboundNatPools[")
        if net.subnet_id is not None:
            props["network.subnetId"] = net.subnet_id
        props.update(
            _declared(
                net,
                {"network.publicIPAddressProvisioningType": "public_ip_address_provisioning_type"},
            )
        )
        if net.public_ips:
            props["network.publicIPs"] = tuple(sorted(net.public_ips, key=canonical_id))
        for nat in net.inbound_nat_pools:
            key = f"network.inboundNatPools[{nat.name}]"
            props[f"{key}.protocol"] = nat.protocol
            props[f"{key}.backendPort"] = nat.backend_port
            props[f"{key}.frontendPortRangeStart"] = nat.frontend_port_range_start
            props[f"{key}.frontendPortRangeEnd"] = nat.frontend_port_range_end
    for key, value in p.metadata.items():
        props[f"metadata.{key}"] = value
    props.update({f"tags.{k}": v for k, v in getattr(p, "tags", {}).items()})
    azure = getattr(p, "azure", None)
    if azure is not None and azure.values:
        props.update(azure.values)
        complete += _azure_complete(p)
    props.update(owner_marks(Kind.POOL, owner))
    return DesiredResource(
        p.address,
        Kind.POOL,
        canonical_id(p.id),
        p.name,
        canonical_location(p.location),
        props,
        complete=tuple(complete),
        image_id=None if p.image.is_marketplace else canonical_id(p.image.id),
        account_id=canonical_id(p.account_id),
        notes=notes,
        where=_where(p),
    )


def sizing_of(spec: Any) -> dict[str, Any]:
    """The computed numbers with their inputs, for the JSON `sizing` section."""
    replicas = []
    for version in spec.versions.values():
        for region, target in version.target_regions.items():
            s = target.sizing
            replicas.append(
                {
                    "version": version.address,
                    "region": canonical_location(region),
                    "replicas": int(target.replicas),
                    "computed": int(s.computed),
                    "declared": s.declared,
                    "nodes": int(s.nodes),
                    "vms_per_replica": int(s.vms_per_replica),
                    "pools": [
                        {"pool": c.pool, "nodes": int(c.nodes), "how": c.how}
                        for c in s.contributions
                    ],
                    "arithmetic": replica_note(s),
                }
            )
    timeouts = []
    for pool in spec.pools.values():
        s = pool.resize_timeout
        if s is None:
            continue
        timeouts.append(
            {
                "pool": pool.address,
                "resize_timeout": canonical_duration(s.final),
                "computed_minutes": int(s.computed_minutes),
                "declared": s.declared,
                "nodes": int(s.nodes),
                "minutes_per_1000_nodes": int(s.minutes_per_1000_nodes),
                "managed_image": bool(s.managed_image),
                "arithmetic": timeout_note(s),
            }
        )
    return {"replicas": replicas, "resize_timeouts": timeouts}


__all__ = [
    "DesiredAccount",
    "DesiredResource",
    "DesiredState",
    "content_hash",
    "desired_state",
    "marketplace_note",
    "owner_marks",
    "replica_note",
    "sizing_of",
    "timeout_note",
]
