"""SDK models ↔ flat, normalised state: the one place that knows each kind's nested shape.

Reading: `to_live(kind, model)` turns an SDK model (or its REST JSON) into a
`LiveResource` whose `properties` use exactly the paths of ``docs/state-vocabulary.md``,
normalised (lower-case ids and vmSize, compact locations, canonical ISO-8601
durations, ``YYYY-MM-DD`` dates, lists keyed by name or lun), with status kept apart
(provisioning, replication per region, allocation, node counts, resize errors) and the
pool's ETag.

Writing: `to_body(kind, props, location=...)` builds the SDK model for a create from a
flat desired mapping (`create_body` also keeps a replaced resource's undeclared members);
`update_body(kind, live, props, changed_paths)` builds the PATCH of an update, carrying
only the property groups the changed paths touch, each merged into the live group as
just read (PATCH replaces each group it is given, so a group built from the spec alone
would drop what the spec does not model; see `reconciler.azure.merge`).

The two directions are inverses on every path of the vocabulary except the write-only
ones (`scale.fixed.nodeDeallocationOption`); a property test holds them to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from reconciler.azure import merge
from reconciler.state import surface
from reconciler.state.model import (
    Kind,
    LiveResource,
    RegionReplication,
    canonical_duration,
    canonical_id,
    canonical_location,
)
from reconciler.state.scope import address_for, parse_id

Flat = dict[str, Any]
Json = dict[str, Any]

# Paths sent on write but never reported back (see reconciler.state.fields WRITE_ONLY).
WRITE_ONLY = frozenset({"scale.fixed.nodeDeallocationOption"})

_KEYED = re.compile(r"^(?P<head>[^\[]+)\[(?P<key>[^\]]+)\](?:\.(?P<tail>.+))?$")


# -- small helpers ---------------------------------------------------------------------


def _json(model: Any) -> Json:
    """REST-shaped JSON of an SDK model (the new SDKs' models are mappings already)."""
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    as_dict = getattr(model, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    return dict(model)


def _get(doc: Mapping[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _put(target: Json, path: str, value: Any) -> None:
    """Set a dotted path in nested JSON, creating objects on the way; None is skipped."""
    if value is None:
        return
    parts = path.split(".")
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _id(value: Any) -> str | None:
    return canonical_id(value) if isinstance(value, str) and value else None


def _date(value: Any) -> str | None:
    if value is None:
        return None
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:10] if text else None


def _set(flat: Flat, path: str, value: Any, cast: Callable[[Any], Any] | None = None) -> None:
    if value is None or value == "":
        return
    flat[path] = cast(value) if cast else value


def _prefixed(props: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``{key: value}`` for every ``prefix<key>`` path (tags., metadata., ...)."""
    return {k[len(prefix) :]: v for k, v in props.items() if k.startswith(prefix)}


def _keyed(props: Mapping[str, Any], head: str) -> dict[str, dict[str, Any]]:
    """``head[<key>].<field>`` paths grouped by key: ``{key: {field: value}}``."""
    out: dict[str, dict[str, Any]] = {}
    for path, value in props.items():
        match = _KEYED.match(path)
        if match and match["head"] == head:
            out.setdefault(match["key"], {})[match["tail"] or ""] = value
    return out


def _tags_to_flat(doc: Mapping[str, Any], flat: Flat) -> None:
    for key, value in (doc.get("tags") or {}).items():
        flat[f"tags.{key}"] = "" if value is None else str(value)


def _tags_from_flat(props: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in _prefixed(props, "tags.").items()}


def _provisioning(doc: Mapping[str, Any]) -> str | None:
    return _get(doc, "properties.provisioningState")


# -- gallery ---------------------------------------------------------------------------


def _gallery_flat(doc: Json) -> Flat:
    flat: Flat = {}
    _set(flat, "location", doc.get("location"), canonical_location)
    _set(flat, "description", _get(doc, "properties.description"))
    _tags_to_flat(doc, flat)
    return flat


def _gallery_json(props: Mapping[str, Any], location: str) -> Json:
    body: Json = {"location": location, "properties": {}}
    _put(body, "properties.description", props.get("description"))
    body["tags"] = _tags_from_flat(props)
    return body


# -- gallery image definition ----------------------------------------------------------

_IMAGE_FIELDS = ("osType", "osState", "hyperVGeneration", "architecture", "description")


def _image_flat(doc: Json) -> Flat:
    flat: Flat = {}
    _set(flat, "location", doc.get("location"), canonical_location)
    for name in _IMAGE_FIELDS:
        _set(flat, name, _get(doc, f"properties.{name}"))
    for name in ("publisher", "offer", "sku"):
        _set(flat, f"identifier.{name}", _get(doc, f"properties.identifier.{name}"))
    _tags_to_flat(doc, flat)
    return flat


def _image_json(props: Mapping[str, Any], location: str) -> Json:
    body: Json = {"location": location, "properties": {}}
    for name in _IMAGE_FIELDS:
        _put(body, f"properties.{name}", props.get(name))
    for name in ("publisher", "offer", "sku"):
        _put(body, f"properties.identifier.{name}", props.get(f"identifier.{name}"))
    body["tags"] = _tags_from_flat(props)
    return body


# -- gallery image version -------------------------------------------------------------

# `storageProfile.source.id` names the source; its kind follows from the id's shape.
_SOURCE_KINDS = (
    ("galleryImageVersion", re.compile(r"/galleries/[^/]+/images/[^/]+/versions/[^/]+$")),
    ("managedImage", re.compile(r"/providers/microsoft\.compute/images/[^/]+$")),
    ("virtualMachine", re.compile(r"/providers/microsoft\.compute/virtualmachines/[^/]+$")),
)


def source_kind(resource_id: str) -> str | None:
    """``managedImage`` / ``galleryImageVersion`` / ``virtualMachine`` for a source id."""
    lowered = resource_id.lower()
    for kind, pattern in _SOURCE_KINDS:
        if pattern.search(lowered):
            return kind
    return None


# A version's target region: the members its friendly keys spell (`replicas`,
# `storageAccountType`); the others keep Azure's names under `targetRegions[<region>].`.
_REGION_FRIENDLY = frozenset({"name", "regionalReplicaCount", "storageAccountType"})


def _version_flat(doc: Json) -> Flat:
    flat: Flat = {}
    _set(flat, "location", doc.get("location"), canonical_location)
    storage = _get(doc, "properties.storageProfile") or {}
    source_id = _id(_get(storage, "source.id") or _get(storage, "source.virtualMachineId"))
    if source_id:
        flat[f"source.{source_kind(source_id) or 'managedImage'}"] = source_id
    _set(flat, "source.communityGalleryImage", _get(storage, "source.communityGalleryImageId"))
    _set(flat, "source.snapshots.osDisk", _id(_get(storage, "osDiskImage.source.id")))
    _vhd_to_flat(_get(storage, "osDiskImage.source") or {}, "source.vhd.osDisk", flat)
    for disk in storage.get("dataDiskImages") or ():
        if disk.get("lun") is None:
            continue
        lun = int(disk["lun"])
        disk_id = _id(_get(disk, "source.id"))
        if disk_id is not None:
            flat[f"source.snapshots.dataDisks[{lun}]"] = disk_id
        _vhd_to_flat(disk.get("source") or {}, f"source.vhd.dataDisks[{lun}]", flat)
    publishing = _get(doc, "properties.publishingProfile") or {}
    default_count = publishing.get("replicaCount")
    for region in publishing.get("targetRegions") or ():
        name = canonical_location(region.get("name") or "")
        if not name:
            continue
        count = region.get("regionalReplicaCount", default_count)
        _set(flat, f"targetRegions[{name}].replicas", count, int)
        _set(flat, f"targetRegions[{name}].storageAccountType", region.get("storageAccountType"))
        extra = {k: v for k, v in region.items() if k not in _REGION_FRIENDLY}
        if extra:
            for rel, value in surface.flatten_at(Kind.VERSION, surface.REGION_ITEM, extra).items():
                flat[f"targetRegions[{name}].{rel}"] = value
    _set(flat, "excludeFromLatest", publishing.get("excludeFromLatest"), bool)
    _set(flat, "endOfLifeDate", _date(publishing.get("endOfLifeDate")))
    _tags_to_flat(doc, flat)
    return flat


def _vhd_to_flat(source: Json, head: str, flat: Flat) -> None:
    """A disk image's VHD source (`uri` and the storage account holding it) as flat paths."""
    if source.get("uri"):
        flat[f"{head}.uri"] = source["uri"]
        _set(flat, f"{head}.storageAccountId", _id(source.get("storageAccountId")))


def _vhd_json(fields: Mapping[str, Any]) -> Json:
    return {k: fields[k] for k in ("uri", "storageAccountId") if fields.get(k) is not None}


def _version_json(
    props: Mapping[str, Any], location: str, *, allow_region_removal: bool = False
) -> Json:
    body: Json = {"location": location, "properties": {}}
    for kind, _ in _SOURCE_KINDS:
        # A VM goes in its own member (example GalleryImageVersion_Create_WithVmAsSource).
        member = "virtualMachineId" if kind == "virtualMachine" else "id"
        _put(body, f"properties.storageProfile.source.{member}", props.get(f"source.{kind}"))
    _put(
        body,
        "properties.storageProfile.source.communityGalleryImageId",
        props.get("source.communityGalleryImage"),
    )
    _put(
        body,
        "properties.storageProfile.osDiskImage.source.id",
        props.get("source.snapshots.osDisk"),
    )
    vhd_os = _vhd_json(
        {k.rsplit(".", 1)[1]: v for k, v in props.items() if k.startswith("source.vhd.osDisk.")}
    )
    if vhd_os:
        _put(body, "properties.storageProfile.osDiskImage.source", vhd_os)
    data_disks = [
        {"lun": int(lun), "source": {"id": fields[""]}}
        for lun, fields in sorted(
            _keyed(props, "source.snapshots.dataDisks").items(), key=lambda kv: int(kv[0])
        )
    ]
    data_disks += [
        {"lun": int(lun), "source": _vhd_json(fields)}
        for lun, fields in sorted(
            _keyed(props, "source.vhd.dataDisks").items(), key=lambda kv: int(kv[0])
        )
    ]
    if data_disks:
        _put(body, "properties.storageProfile.dataDiskImages", data_disks)
    regions = []
    for name, fields in sorted(_keyed(props, "targetRegions").items()):
        region: Json = {"name": name}
        if "replicas" in fields:
            region["regionalReplicaCount"] = int(fields["replicas"])
        if "storageAccountType" in fields:
            region["storageAccountType"] = fields["storageAccountType"]
        for tail, value in fields.items():
            if tail not in ("replicas", "storageAccountType") and value is not None:
                # A region's other members, under Azure's names (encryption, ...).
                loc = tuple(
                    seg for seg in surface.segments_of(tail) if not isinstance(seg, surface.MapKey)
                )
                merge.put_at(region, loc, list(value) if isinstance(value, tuple) else value)
        regions.append(region)
    if regions:
        _put(body, "properties.publishingProfile.targetRegions", regions)
    _put(body, "properties.publishingProfile.excludeFromLatest", props.get("excludeFromLatest"))
    eol = props.get("endOfLifeDate")
    if eol:
        _put(body, "properties.publishingProfile.endOfLifeDate", f"{str(eol)[:10]}T00:00:00Z")
    if allow_region_removal:
        # Azure refuses to drop a replicated region unless the version allows it.
        _put(body, "properties.safetyProfile.allowDeletionOfReplicatedLocations", True)
    body["tags"] = _tags_from_flat(props)
    return body


def _replication(doc: Json) -> tuple[RegionReplication, ...]:
    summary = _get(doc, "properties.replicationStatus.summary") or ()
    out = [
        RegionReplication(
            region=canonical_location(item.get("region") or ""),
            state=item.get("state") or "Unknown",
            progress=int(item.get("progress") or 0),
            details=item.get("details") or "",
        )
        for item in summary
    ]
    return tuple(sorted(out, key=lambda r: r.region))


# -- managed image ---------------------------------------------------------------------


# Where each kind of managed image source names a disk (the spec's OS disk key → the
# member of an OS or data disk holding it); a virtual machine is `sourceVirtualMachine`.
_IMAGE_DISK_SOURCES: dict[str, tuple[str, ...]] = {
    "osDiskSnapshot": ("snapshot", "id"),
    "osDiskManagedDisk": ("managedDisk", "id"),
    "osDiskBlobUri": ("blobUri",),
}


def _disk_ref(disk: Json, member: tuple[str, ...]) -> str | None:
    value = _get(disk, ".".join(member))
    if not isinstance(value, str) or not value:
        return None
    return _id(value) if member[-1] == "id" else value


def _managed_image_flat(doc: Json) -> Flat:
    flat: Flat = {}
    _set(flat, "location", doc.get("location"), canonical_location)
    os_disk = _get(doc, "properties.storageProfile.osDisk") or {}
    _set(flat, "osType", os_disk.get("osType"))
    _set(flat, "hyperVGeneration", _get(doc, "properties.hyperVGeneration"))
    vm = _id(_get(doc, "properties.sourceVirtualMachine.id"))
    if vm is not None:
        # Azure names the disks it captured from the VM: they are the VM's, not a source.
        flat["source.virtualMachine"] = vm
        _tags_to_flat(doc, flat)
        return flat
    for kind, member in _IMAGE_DISK_SOURCES.items():
        _set(flat, f"source.{kind}", _disk_ref(os_disk, member))
        data_list = surface.MANAGED_IMAGE_SOURCES[kind]
        for disk in _get(doc, "properties.storageProfile.dataDisks") or ():
            ref = _disk_ref(disk, member)
            if ref is not None and disk.get("lun") is not None:
                flat[f"source.{data_list}[{int(disk['lun'])}]"] = ref
    _tags_to_flat(doc, flat)
    return flat


def _managed_image_json(props: Mapping[str, Any], location: str) -> Json:
    body: Json = {"location": location, "properties": {}}
    if props.get("source.virtualMachine"):
        # Azure captures the VM's disks (and their OS type) itself.
        _put(body, "properties.sourceVirtualMachine.id", props["source.virtualMachine"])
    else:
        os_disk: Json = {
            "osType": props.get("osType", "Linux"),
            # Required by the API, not part of the vocabulary: Batch needs generalized images.
            "osState": props.get("osState", "Generalized"),
        }
        data: dict[int, Json] = {}
        for kind, member in _IMAGE_DISK_SOURCES.items():
            if props.get(f"source.{kind}"):
                merge.put_at(os_disk, member, props[f"source.{kind}"])
            data_list = surface.MANAGED_IMAGE_SOURCES[kind]
            for lun, fields in _keyed(props, f"source.{data_list}").items():
                merge.put_at(data.setdefault(int(lun), {"lun": int(lun)}), member, fields[""])
        _put(body, "properties.storageProfile.osDisk", os_disk)
        if data:
            _put(body, "properties.storageProfile.dataDisks", [data[k] for k in sorted(data)])
    _put(body, "properties.hyperVGeneration", props.get("hyperVGeneration"))
    body["tags"] = _tags_from_flat(props)
    return body


# -- Batch account ---------------------------------------------------------------------


def _account_flat(doc: Json) -> Flat:
    flat: Flat = {}
    _set(flat, "location", doc.get("location"), canonical_location)
    _tags_to_flat(doc, flat)
    return flat


# -- Batch pool ------------------------------------------------------------------------

_VMC = "properties.deploymentConfiguration.virtualMachineConfiguration"


def _pool_flat(doc: Json) -> Flat:
    flat: Flat = {}
    p = doc.get("properties") or {}
    _set(flat, "displayName", p.get("displayName"))
    _set(flat, "vmSize", p.get("vmSize"), str.lower)
    _set(flat, "interNodeCommunication", p.get("interNodeCommunication"))
    _set(flat, "taskSlotsPerNode", p.get("taskSlotsPerNode"), int)
    reference = _get(doc, f"{_VMC}.imageReference") or {}
    image = reference.get("id") or reference.get(_shared_member(reference))
    _set(flat, "image.id", _id(image))
    if not image:
        # A Marketplace image: named by publisher/offer/sku (version `latest` if omitted).
        for member in _MARKETPLACE:
            _set(flat, f"image.{member}", reference.get(member))
    _set(flat, "nodeAgentSkuId", _get(doc, f"{_VMC}.nodeAgentSkuId"))
    fixed = _get(p, "scaleSettings.fixedScale")
    if isinstance(fixed, Mapping):
        _set(flat, "scale.fixed.dedicated", fixed.get("targetDedicatedNodes"), int)
        _set(flat, "scale.fixed.lowPriority", fixed.get("targetLowPriorityNodes"), int)
        _set(flat, "scale.fixed.resizeTimeout", fixed.get("resizeTimeout"), canonical_duration)
    auto = _get(p, "scaleSettings.autoScale")
    if isinstance(auto, Mapping):
        _set(flat, "scale.autoScale.formula", auto.get("formula"))
        _set(
            flat,
            "scale.autoScale.evaluationInterval",
            auto.get("evaluationInterval"),
            canonical_duration,
        )
    start = p.get("startTask")
    if isinstance(start, Mapping):
        _set(flat, "startTask.commandLine", start.get("commandLine"))
        _set(flat, "startTask.waitForSuccess", start.get("waitForSuccess"), bool)
        _set(flat, "startTask.maxTaskRetryCount", start.get("maxTaskRetryCount"), int)
        for item in start.get("environmentSettings") or ():
            flat[f"startTask.environment.{item['name']}"] = item.get("value") or ""
        auto_user = _get(start, "userIdentity.autoUser") or {}
        _set(flat, "startTask.userIdentity.elevationLevel", auto_user.get("elevationLevel"))
        _set(flat, "startTask.userIdentity.scope", auto_user.get("scope"))
    network = p.get("networkConfiguration")
    if isinstance(network, Mapping):
        _set(flat, "network.subnetId", _id(network.get("subnetId")))
        pip = network.get("publicIPAddressConfiguration") or {}
        _set(flat, "network.publicIPAddressProvisioningType", pip.get("provision"))
        ips = tuple(sorted(i for i in map(_id, pip.get("ipAddressIds") or ()) if i))
        if ips:
            flat["network.publicIPs"] = ips
        for nat in _get(network, "endpointConfiguration.inboundNatPools") or ():
            head = f"network.inboundNatPools[{nat['name']}]"
            _set(flat, f"{head}.protocol", nat.get("protocol"))
            for name in ("backendPort", "frontendPortRangeStart", "frontendPortRangeEnd"):
                _set(flat, f"{head}.{name}", nat.get(name), int)
    for item in p.get("metadata") or ():
        flat[f"metadata.{item['name']}"] = item.get("value") or ""
    _tags_to_flat(doc, flat)
    return flat


def _pool_scale_json(props: Mapping[str, Any]) -> Json | None:
    scale: Json = {}
    if any(k.startswith("scale.autoScale.") for k in props):
        _put(scale, "autoScale.formula", props.get("scale.autoScale.formula"))
        _put(scale, "autoScale.evaluationInterval", props.get("scale.autoScale.evaluationInterval"))
    elif any(k.startswith("scale.fixed.") for k in props):
        fixed: Json = {}
        _put(fixed, "targetDedicatedNodes", props.get("scale.fixed.dedicated"))
        _put(fixed, "targetLowPriorityNodes", props.get("scale.fixed.lowPriority"))
        _put(fixed, "resizeTimeout", props.get("scale.fixed.resizeTimeout"))
        _put(fixed, "nodeDeallocationOption", props.get("scale.fixed.nodeDeallocationOption"))
        scale["fixedScale"] = fixed
    return scale or None


def _pool_start_task_json(props: Mapping[str, Any]) -> Json:
    """The startTask object; ``{}`` when no startTask paths are desired (PATCH: remove it)."""
    start: Json = {}
    _put(start, "commandLine", props.get("startTask.commandLine"))
    _put(start, "waitForSuccess", props.get("startTask.waitForSuccess"))
    _put(start, "maxTaskRetryCount", props.get("startTask.maxTaskRetryCount"))
    env = _prefixed(props, "startTask.environment.")
    if env:
        start["environmentSettings"] = [
            {"name": name, "value": str(value)} for name, value in sorted(env.items())
        ]
    _put(
        start,
        "userIdentity.autoUser.elevationLevel",
        props.get("startTask.userIdentity.elevationLevel"),
    )
    _put(start, "userIdentity.autoUser.scope", props.get("startTask.userIdentity.scope"))
    return start


def _pool_network_json(props: Mapping[str, Any]) -> Json | None:
    network: Json = {}
    _put(network, "subnetId", props.get("network.subnetId"))
    _put(
        network,
        "publicIPAddressConfiguration.provision",
        props.get("network.publicIPAddressProvisioningType"),
    )
    ips = props.get("network.publicIPs")
    if ips:
        _put(network, "publicIPAddressConfiguration.ipAddressIds", list(ips))
    nats = []
    for name, fields in sorted(_keyed(props, "network.inboundNatPools").items()):
        nat: Json = {"name": name}
        for key in ("protocol", "backendPort", "frontendPortRangeStart", "frontendPortRangeEnd"):
            if key in fields:
                nat[key] = fields[key]
        nats.append(nat)
    if nats:
        _put(network, "endpointConfiguration.inboundNatPools", nats)
    return network or None


def _pool_metadata_json(props: Mapping[str, Any]) -> list[Json]:
    return [
        {"name": name, "value": str(value)}
        for name, value in sorted(_prefixed(props, "metadata.").items())
    ]


# Shared and community gallery images are named by their own members of imageReference.
_SHARED_MEMBERS = {
    "/sharedgalleries/": "sharedGalleryImageId",
    "/communitygalleries/": "communityGalleryImageId",
}


def _image_member(image_id: str | None) -> str:
    """The imageReference member an image id goes in (``id`` for the account's own)."""
    for prefix, member in _SHARED_MEMBERS.items():
        if image_id and image_id.lower().startswith(prefix):
            return member
    return "id"


def _shared_member(reference: Mapping[str, Any]) -> str:
    return next((m for m in _SHARED_MEMBERS.values() if reference.get(m)), "id")


# The members naming a Marketplace image, instead of an id.
_MARKETPLACE = ("publisher", "offer", "sku", "version")


def _pool_deployment_json(props: Mapping[str, Any]) -> Json:
    vmc: Json = {}
    image = props.get("image.id")
    _put(vmc, f"imageReference.{_image_member(image)}", image)
    if image is None:
        for member in _MARKETPLACE:
            _put(vmc, f"imageReference.{member}", props.get(f"image.{member}"))
    _put(vmc, "nodeAgentSkuId", props.get("nodeAgentSkuId"))
    return {"virtualMachineConfiguration": vmc}


# The PATCH groups: which top-level pool property a flat path belongs to, and how the
# whole group is rebuilt from the desired mapping (PATCH replaces each group it is sent).
_POOL_GROUPS: tuple[tuple[str, str, Callable[[Mapping[str, Any]], Any]], ...] = (
    ("scale.", "properties.scaleSettings", _pool_scale_json),
    ("startTask.", "properties.startTask", _pool_start_task_json),
    ("metadata.", "properties.metadata", _pool_metadata_json),
    ("tags.", "tags", _tags_from_flat),
    ("image.", "properties.deploymentConfiguration", _pool_deployment_json),
    ("nodeAgentSkuId", "properties.deploymentConfiguration", _pool_deployment_json),
    ("vmSize", "properties.vmSize", lambda p: p.get("vmSize")),
    ("network.", "properties.networkConfiguration", _pool_network_json),
    ("displayName", "properties.displayName", lambda p: p.get("displayName")),
    (
        "interNodeCommunication",
        "properties.interNodeCommunication",
        lambda p: p.get("interNodeCommunication"),
    ),
    ("taskSlotsPerNode", "properties.taskSlotsPerNode", lambda p: p.get("taskSlotsPerNode")),
)


_POOL_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    path: build for _, path, build in _POOL_GROUPS
}


def _pool_json(props: Mapping[str, Any]) -> Json:
    body: Json = {"properties": {}, "tags": _tags_from_flat(props)}
    for path, build in _POOL_BUILDERS.items():
        if path != "tags":
            _put(body, path, build(props) or None)  # on create, nothing means not sent
    return body


def pool_patch_groups(changed_paths: Iterable[str]) -> tuple[str, ...]:
    """The pool property groups (REST paths) a PATCH for these changed paths must carry."""
    groups: list[str] = []
    for changed in changed_paths:
        for prefix, path, _ in _POOL_GROUPS:
            if changed.startswith(prefix):
                if path not in groups:
                    groups.append(path)
                break
    return tuple(groups)


def pool_patch_json(
    props: Mapping[str, Any], changed_paths: Iterable[str], live: Any = None
) -> Json:
    """REST JSON of a pool PATCH: each group the changes touch, merged into `live`.

    Pool_Update replaces every top-level property it is sent, so each group is the live
    one (as read just before) with the declared paths applied: members the spec does not
    model (container configuration, disks, resource files ...) are sent back unchanged.
    """
    return update_json(Kind.POOL, live, props, tuple(changed_paths))


# -- dispatch --------------------------------------------------------------------------

_TO_FLAT: dict[Kind, Callable[[Json], Flat]] = {
    Kind.GALLERY: _gallery_flat,
    Kind.IMAGE: _image_flat,
    Kind.VERSION: _version_flat,
    Kind.MANAGED_IMAGE: _managed_image_flat,
    Kind.BATCH_ACCOUNT: _account_flat,
    Kind.POOL: _pool_flat,
}


def flat_properties(kind: Kind, model: Any) -> Flat:
    """The flat, normalised properties of an SDK model (or REST JSON) of `kind`."""
    return _TO_FLAT[kind](_json(model))


def to_live(
    kind: Kind,
    model: Any,
    *,
    location: str | None = None,
    azure_groups: frozenset[str] | None = frozenset(),
    include_owned: bool = False,
) -> LiveResource:
    """A `LiveResource` from an SDK model; `location` is the account's, for pools.

    `azure_groups` names the top-level groups (``identity``, ``properties.<member>``) whose
    Azure-named members are kept too (those a spec declares; None: every one, for export);
    `include_owned` keeps the members a friendly key may own there as well.
    """
    doc = _json(model)
    props = _TO_FLAT[kind](doc)
    if kind in surface.SURFACE_KINDS and (azure_groups is None or azure_groups):
        props.update(surface.flatten(kind, doc, groups=azure_groups, include_owned=include_owned))
    raw_id = doc.get("id") or ""
    resource_id = _id(raw_id) or ""
    loc = doc.get("location") or location or ""
    resize_errors: tuple[str, ...] = ()
    if kind is Kind.POOL:
        errors = _get(doc, "properties.resizeOperationStatus.errors") or ()
        resize_errors = tuple(str(e.get("code") or "") for e in errors if e)
    return LiveResource(
        address=address_for(kind, raw_id),
        kind=kind,
        id=resource_id,
        name=doc.get("name") or (parse_id(resource_id).name if resource_id else ""),
        location=canonical_location(loc),
        properties=props,
        etag=doc.get("etag") if kind is Kind.POOL else None,
        provisioning_state=_provisioning(doc),
        replication=_replication(doc) if kind is Kind.VERSION else (),
        allocation_state=_get(doc, "properties.allocationState") if kind is Kind.POOL else None,
        current_dedicated=_get(doc, "properties.currentDedicatedNodes"),
        current_low_priority=_get(doc, "properties.currentLowPriorityNodes"),
        resize_errors=resize_errors,
        pool_allocation_mode=(
            _get(doc, "properties.poolAllocationMode") if kind is Kind.BATCH_ACCOUNT else None
        ),
    )


def to_json(
    kind: Kind,
    props: Mapping[str, Any],
    *,
    location: str = "",
    allow_region_removal: bool = False,
) -> Json:
    """REST JSON for a create / full update (PUT) of `kind` from flat desired properties:
    the friendly paths' body with the Azure-named members written in."""
    if kind is Kind.GALLERY:
        body = _gallery_json(props, location)
    elif kind is Kind.IMAGE:
        body = _image_json(props, location)
    elif kind is Kind.VERSION:
        body = _version_json(props, location, allow_region_removal=allow_region_removal)
    elif kind is Kind.MANAGED_IMAGE:
        body = _managed_image_json(props, location)
    elif kind is Kind.POOL:
        body = _pool_json(props)
    else:
        raise ValueError(f"the tool never writes a {kind.value}")
    return merge.with_azure_members(kind, body, props)


@cache
def _models() -> dict[Kind, Callable[[Json], Any]]:
    """The SDK model of each kind's create; the generated packages are imported only by
    writes (a read maps JSON and never needs them)."""
    from azure.mgmt.batch import models as batch_models
    from azure.mgmt.compute import models as compute_models

    return {
        Kind.GALLERY: compute_models.Gallery,
        Kind.IMAGE: compute_models.GalleryImage,
        Kind.VERSION: compute_models.GalleryImageVersion,
        Kind.MANAGED_IMAGE: compute_models.Image,
        Kind.POOL: batch_models.Pool,
    }


def to_body(
    kind: Kind,
    props: Mapping[str, Any],
    *,
    location: str = "",
    allow_region_removal: bool = False,
) -> Any:
    """The SDK model to send for a create / full update of `kind`."""
    return _models()[kind](
        to_json(kind, props, location=location, allow_region_removal=allow_region_removal)
    )


def create_body(
    kind: Kind,
    props: Mapping[str, Any],
    *,
    location: str = "",
    base: Mapping[str, Any] | None = None,
) -> Any:
    """The SDK model of a create, keeping `base`'s members where the spec is silent."""
    return _models()[kind](create_json(kind, props, location=location, base=base))


# Members an update always carries besides what changed: Compute writes the applied
# record (a tag) with every update; a definition's update model requires its
# identifying members, which are immutable, so they go back as they are.
_ALWAYS_SENT: dict[Kind, tuple[merge.Location, ...]] = {
    Kind.GALLERY: (("tags",),),
    Kind.IMAGE: (
        ("tags",),
        ("properties", "osType"),
        ("properties", "osState"),
        ("properties", "identifier"),
    ),
    # GalleryImageVersionUpdate requires the (immutable) storage profile.
    Kind.VERSION: (("tags",), ("properties", "storageProfile")),
    Kind.MANAGED_IMAGE: (("tags",),),
}


def update_json(
    kind: Kind,
    live: Any,
    props: Mapping[str, Any],
    changed_paths: Sequence[str],
    *,
    location: str = "",
    allow_region_removal: bool = False,
) -> Json:
    """REST JSON of an update (PATCH) of `kind`: the groups the changes touch, merged.

    `live` is the resource as just read (SDK model or REST JSON); each group sent is its
    live value with the declared paths applied and the removed ones taken out, so nothing
    the spec does not declare is lost (`reconciler.azure.merge`).
    """
    declared = to_json(kind, props, location=location, allow_region_removal=allow_region_removal)
    extra = list(_ALWAYS_SENT.get(kind, ()))
    if allow_region_removal:
        # Azure refuses to drop a replicated region unless the version allows it.
        extra.append(("properties", "safetyProfile"))
    paths = changed_paths
    if kind is Kind.MANAGED_IMAGE:
        paths = tuple(p for p in changed_paths if p.startswith("tags."))
    return merge.update_body(kind, _json(live), declared, props, paths, extra_groups=tuple(extra))


@cache
def _update_models() -> dict[Kind, Callable[[Json], Any]]:
    """The SDK model of each kind's update (PATCH), imported on first use like `_models`."""
    from azure.mgmt.batch import models as batch_models
    from azure.mgmt.compute import models as compute_models

    return {
        Kind.GALLERY: compute_models.GalleryUpdate,
        Kind.IMAGE: compute_models.GalleryImageUpdate,
        Kind.VERSION: compute_models.GalleryImageVersionUpdate,
        Kind.MANAGED_IMAGE: compute_models.ImageUpdate,
        Kind.POOL: batch_models.Pool,
    }


def update_body(
    kind: Kind,
    live: Any,
    props: Mapping[str, Any],
    changed_paths: Sequence[str],
    *,
    location: str = "",
    allow_region_removal: bool = False,
) -> Any:
    """The SDK model of an update (PATCH) of `kind`, merged into `live` (see `update_json`)."""
    return _update_models()[kind](
        update_json(
            kind,
            live,
            props,
            changed_paths,
            location=location,
            allow_region_removal=allow_region_removal,
        )
    )


def pool_patch_body(
    props: Mapping[str, Any], changed_paths: Iterable[str], live: Any = None
) -> Any:
    """The SDK `Pool` model for a PATCH carrying only what `changed_paths` touch, merged."""
    return _update_models()[Kind.POOL](pool_patch_json(props, changed_paths, live))


def replacement_json(
    kind: Kind, old: Any, props: Mapping[str, Any], changed_paths: Sequence[str]
) -> tuple[Json, tuple[str, ...]]:
    """What a replacement keeps from `old` (every writable member the spec does not
    declare, minus what the plan removes) and the secrets it would lack (Azure never
    returns them)."""
    base = merge.replacement_base(kind, _json(old), to_json(kind, props), props, changed_paths)
    return base, merge.uncopyable(kind, base)


def create_json(
    kind: Kind, props: Mapping[str, Any], *, location: str = "", base: Mapping[str, Any] | None
) -> Json:
    """REST JSON of a create: the declared body over `base` (a replaced resource's members)."""
    return merge.create_body(kind, base, to_json(kind, props, location=location))
