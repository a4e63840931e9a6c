"""Microsoft.Compute: galleries, gallery image definitions and versions, managed images,
snapshots, managed disks and virtual machines (seeded, read-only).

Image sources are checked as Azure checks them: snapshots, managed disks, VMs, managed
images and versions must exist; a community gallery image must be seeded; a VHD must be
a blob of a seeded storage account (Microsoft.Storage, not served: the product never reads
one), whose size the disk image then reports.

Wire format follows GalleryRP 2026-03-03, ComputeRP 2026-04-01 (images) and DiskRP
2026-03-02 (snapshots): PUT/PATCH/DELETE of galleries, definitions, versions and images
are long-running, answered with `Azure-AsyncOperation` and `Location` status monitors as
Compute does; final state via the resource itself. Image versions replicate to each target
region in simulated time and report it under `$expand=ReplicationStatus`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from functools import partial
from typing import Any

from reconciler.sandbox.arm import (
    RENDERERS,
    ArmError,
    Call,
    Handler,
    Result,
    Router,
    World,
    bad_request,
    get_alive,
    is_alive,
    is_busy,
    json_copy,
    list_in_group,
    list_in_subscription,
    mark_lro,
    not_found,
    paged,
    property_change_not_allowed,
    provisioning_state,
    public,
    region_key,
    render,
    require_resource_group,
    same,
    visible,
)
from reconciler.sandbox.clock import iso_offset, parse_datetime
from reconciler.sandbox.members import request_body
from reconciler.sandbox.regions import display_name

PROVIDER = "Microsoft.Compute"
T_GALLERY = "Microsoft.Compute/galleries"
T_DEFINITION = "Microsoft.Compute/galleries/images"
T_VERSION = "Microsoft.Compute/galleries/images/versions"
T_IMAGE = "Microsoft.Compute/images"
T_SNAPSHOT = "Microsoft.Compute/snapshots"
T_VM = "Microsoft.Compute/virtualMachines"
T_DISK = "Microsoft.Compute/disks"
T_STORAGE = "Microsoft.Storage/storageAccounts"

RG = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute"
GALLERY = RG + "/galleries/{gallery}"
DEFINITION = GALLERY + "/images/{image}"
VERSION = DEFINITION + "/versions/{version}"

# Never described as updatable in GalleryRP: a change means a new definition.
DEFINITION_IMMUTABLE = {
    "osType": None,
    "osState": None,
    "hyperVGeneration": "V1",
    "architecture": "x64",
}


def _body(call: Call, operation_id: str) -> dict[str, Any]:
    return request_body(call, operation_id, code="InvalidRequestContent")


def _named_in_group(collection: str, call: Call) -> str:
    """The path of the resource `call` names in `collection` of its resource group."""
    return f"{_rg_path(call)}/{collection}/{call.params['name']}"


def _rg_path(call: Call) -> str:
    p = call.params
    return f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}/providers/{PROVIDER}"


def _location(call: Call, body: dict[str, Any], existing: dict[str, Any] | None) -> str:
    location = body.get("location")
    if not location:
        if existing is not None:
            return str(existing["location"])
        raise bad_request("The 'location' property is required.", code="LocationRequired")
    if existing is not None and not same(existing["location"], location):
        raise ArmError(
            409,
            "InvalidResourceLocation",
            f"The resource '{existing['name']}' already exists in location "
            f"'{existing['location']}' in resource group '{call.params['rg']}'. A resource with "
            f"the same name cannot be created in location '{location}'. Please select a new "
            "resource name.",
        )
    return str(location)


def _tags(body: dict[str, Any], existing: dict[str, Any] | None) -> dict[str, str] | None:
    """The tags to store: those sent, else the existing ones; None when there are none
    (Azure then answers without a `tags` member, not with ``{}``)."""
    if "tags" in body and body["tags"] is not None:
        return dict(body["tags"])
    if existing is not None and existing.get("tags") is not None:
        return dict(existing["tags"])
    return None


def _store_tags(doc: dict[str, Any], tags: dict[str, str] | None) -> None:
    if tags is None:
        doc.pop("tags", None)
    else:
        doc["tags"] = tags


def _require_parent(world: World, parent_id: str, kind: str, name: str) -> dict[str, Any]:
    parent = get_alive(world, parent_id)
    if parent is None:
        raise ArmError(
            404,
            "ParentResourceNotFound",
            f"Can not perform requested operation on nested resource. Parent resource "
            f"'{name}' of type '{kind}' not found.",
        )
    return parent


def _refuse_if_deleting(world: World, doc: dict[str, Any] | None) -> None:
    if doc is not None and doc.get("_sys", {}).get("gone_at") is not None and is_alive(world, doc):
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"The resource '{doc['name']}' is being deleted; retry when the deletion completes.",
        )


def _lro_response(
    world: World,
    call: Call,
    doc: dict[str, Any],
    *,
    kind: str,
    duration: float,
    status: int,
    running: str,
) -> Result:
    op, headers = world.start_operation(
        call,
        provider=PROVIDER,
        location=str(doc.get("location", "")),
        resource_id=doc["id"],
        kind=kind,
        duration=duration,
    )
    mark_lro(
        doc,
        running=running,
        until=float(op["end"]),
        failed=op["failure"] is not None,
        deleting=kind == "delete",
    )
    world.tx.put(doc["id"], doc["type"], _parent_of(doc["id"]), doc)
    if kind == "delete":
        return Result(202, None, headers)
    return Result(status, render(world, doc, call), headers)


def _parent_of(rid: str) -> str:
    parts = rid.rstrip("/").split("/")
    if len(parts) > 2 and parts[-4].lower() == "providers":
        # top-level resource: the resource group is its parent
        return "/".join(parts[:5])
    return "/".join(parts[:-2])


def _write_lro(
    world: World,
    call: Call,
    doc: dict[str, Any],
    existing: dict[str, Any] | None,
    durations: str,
    *,
    duration: float | None = None,
) -> Result:
    """Answer a create (201, `Creating`) or an update (200, `Updating`) of `doc` as an LRO.

    `durations` names the configured durations (`<durations>_create` / `_update`);
    `duration` overrides them.
    """
    verb = "update" if existing is not None else "create"
    if existing is not None:
        doc["_sys"]["created"] = existing["_sys"]["created"]
    if duration is None:
        duration = float(getattr(world.config.durations, f"{durations}_{verb}"))
    return _lro_response(
        world,
        call,
        doc,
        kind=verb,
        duration=duration,
        status=200 if existing is not None else 201,
        running="Updating" if existing is not None else "Creating",
    )


def _tracked(
    rid: str,
    rtype: str,
    location: str,
    tags: dict[str, str] | None,
    props: dict[str, Any],
    now: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new stored document of a tracked resource (its creation time may be replaced).

    `extra` holds the other top-level members the body carried (`identity`,
    `extendedLocation`), stored and answered as sent.
    """
    doc: dict[str, Any] = {
        "id": rid,
        "name": rid.rsplit("/", 1)[-1],
        "type": rtype,
        "location": location,
    }
    _store_tags(doc, tags)
    doc.update({k: v for k, v in (extra or {}).items() if v is not None})
    doc["properties"] = props
    doc["_sys"] = {"created": now}
    return doc


def _top_level(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """The top-level members `names` that `body` carries (a PUT replaces them all)."""
    return {name: copy.deepcopy(body[name]) for name in names if body.get(name) is not None}


def _missing(call: Call, rid: str) -> ArmError:
    """ARM's 404 for `rid`, naming its type path (e.g. `Microsoft.Compute/galleries/g/images`)."""
    type_path, name = rid.split("/providers/", 1)[1].rsplit("/", 1)
    return not_found(type_path, name, call.params["rg"])


def _existing(world: World, call: Call, rid: str) -> dict[str, Any]:
    require_resource_group(world, call.params["sub"], call.params["rg"])
    doc = get_alive(world, rid)
    if doc is None:
        raise _missing(call, rid)
    return doc


IdOf = Callable[[Call], str]


def _getter(id_of: IdOf) -> Handler:
    def get(world: World, call: Call) -> Result:
        return Result(200, render(world, _existing(world, call, id_of(call)), call))

    return get


def _child_lister(parent_id_of: IdOf, child_type: str) -> Handler:
    def list_children(world: World, call: Call) -> Result:
        parent = _existing(world, call, parent_id_of(call))
        return paged(world, call, visible(world, world.tx.children(parent["id"], child_type), call))

    return list_children


def _deleter(id_of: IdOf, durations: str, children_type: str | None = None) -> Handler:
    def delete(world: World, call: Call) -> Result:
        require_resource_group(world, call.params["sub"], call.params["rg"])
        duration = float(getattr(world.config.durations, f"{durations}_delete"))
        return _delete(world, call, id_of(call), duration, children_type)

    return delete


def _delete(
    world: World, call: Call, rid: str, duration: float, children_type: str | None
) -> Result:
    doc = get_alive(world, rid)
    if doc is None:
        return Result(204)
    if doc.get("_sys", {}).get("gone_at") is not None:
        # Already being deleted: answer like the first request, with a monitor ending when
        # the deletion in progress ends.
        _, headers = world.start_operation(
            call,
            provider=PROVIDER,
            location=str(doc.get("location", "")),
            resource_id=rid,
            kind="delete",
            duration=max(0.0, float(doc["_sys"]["gone_at"]) - world.now),
        )
        return Result(202, None, headers)
    if children_type and [c for c in world.tx.children(rid, children_type) if is_alive(world, c)]:
        raise ArmError(
            409,
            "CannotDeleteResource",
            "Can not delete resource before nested resources are deleted.",
        )
    return _lro_response(
        world, call, doc, kind="delete", duration=duration, status=202, running="Deleting"
    )


# -- galleries ---------------------------------------------------------------------------


def _render_tracked(world: World, doc: dict[str, Any]) -> dict[str, Any]:
    out = json_copy(public(doc))
    out.setdefault("properties", {})["provisioningState"] = provisioning_state(world, doc)
    return out


def _gallery_id(call: Call) -> str:
    return f"{_rg_path(call)}/galleries/{call.params['gallery']}"


def gallery_put(world: World, call: Call) -> Result:
    body = _body(call, "Galleries_CreateOrUpdate")
    p = call.params
    require_resource_group(world, p["sub"], p["rg"])
    rid = _gallery_id(call)
    existing = get_alive(world, rid)
    _refuse_if_deleting(world, existing)
    location = _location(call, body, existing)
    props = dict(body.get("properties") or {})
    props["identifier"] = {"uniqueName": f"{p['sub']}-{p['gallery'].upper()}"}
    doc = _tracked(
        rid,
        T_GALLERY,
        location,
        _tags(body, None),
        props,
        world.now,
        _top_level(body, "identity"),
    )
    return _write_lro(world, call, doc, existing, "gallery")


def gallery_patch(world: World, call: Call) -> Result:
    body = _body(call, "Galleries_Update")
    doc = _existing(world, call, _gallery_id(call))
    _refuse_if_deleting(world, doc)
    _store_tags(doc, _tags(body, doc))
    if body.get("identity") is not None:
        doc["identity"] = body["identity"]
    for key, value in (body.get("properties") or {}).items():
        if key != "identifier":  # the service names the gallery
            doc["properties"][key] = value
    return _write_lro(world, call, doc, doc, "gallery")


# -- gallery image definitions -------------------------------------------------------------


def _definition_id(call: Call) -> str:
    return f"{_gallery_id(call)}/images/{call.params['image']}"


def _check_definition(
    world: World,
    call: Call,
    props: dict[str, Any],
    existing: dict[str, Any] | None,
    gallery_id: str,
) -> None:
    for key in ("osType", "osState", "identifier"):
        if not props.get(key):
            raise bad_request(
                f"Required parameter 'galleryImage.properties.{key}' is missing " "(null).",
                target=f"galleryImage.properties.{key}",
            )
    ident = props["identifier"]
    for key in ("publisher", "offer", "sku"):
        if not ident.get(key):
            raise bad_request(
                f"Required parameter 'galleryImage.properties.identifier.{key}' is missing.",
                target=f"galleryImage.properties.identifier.{key}",
            )
    if existing is not None:
        old = existing["properties"]
        for key, default in DEFINITION_IMMUTABLE.items():
            if not same(old.get(key, default), props.get(key, default)):
                raise property_change_not_allowed(f"galleryImage.properties.{key}")
        for key in ("publisher", "offer", "sku"):
            if not same(old["identifier"][key], ident[key]):
                raise property_change_not_allowed(f"galleryImage.properties.identifier.{key}")
    for other in world.tx.children(gallery_id, T_DEFINITION):
        if not is_alive(world, other) or other["id"].lower() == _definition_id(call).lower():
            continue
        o = other["properties"]["identifier"]
        if all(same(o[k], ident[k]) for k in ("publisher", "offer", "sku")):
            raise ArmError(
                409,
                "Conflict",
                f"Gallery image '{other['name']}' in gallery '{call.params['gallery']}' already "
                f"uses publisher '{ident['publisher']}', offer '{ident['offer']}' and sku "
                f"'{ident['sku']}'; the identifier of an image definition must be unique in "
                "its gallery.",
            )


def _definition_defaults(props: dict[str, Any]) -> dict[str, Any]:
    props.setdefault("hyperVGeneration", "V1")
    props.setdefault("architecture", "x64")
    _end_of_life(props, "galleryImage.properties.endOfLifeDate")
    return props


def _end_of_life(holder: dict[str, Any], target: str) -> None:
    """`endOfLifeDate` as Compute answers it: UTC with an explicit offset, whole seconds."""
    value = holder.get("endOfLifeDate")
    if not isinstance(value, str):
        return
    try:
        holder["endOfLifeDate"] = iso_offset(parse_datetime(value), fraction=False)
    except ValueError as exc:
        raise bad_request(f"'{value}' is not a valid date-time.", target=target) from exc


def definition_put(world: World, call: Call) -> Result:
    body = _body(call, "GalleryImages_CreateOrUpdate")
    p = call.params
    require_resource_group(world, p["sub"], p["rg"])
    gallery_id = _gallery_id(call)
    _require_parent(world, gallery_id, T_GALLERY, p["gallery"])
    rid = _definition_id(call)
    existing = get_alive(world, rid)
    _refuse_if_deleting(world, existing)
    location = _location(call, body, existing)
    props = dict(body.get("properties") or {})
    _check_definition(world, call, props, existing, gallery_id)
    tags = _tags(body, None)
    doc = _tracked(rid, T_DEFINITION, location, tags, _definition_defaults(props), world.now)
    return _write_lro(world, call, doc, existing, "image_definition")


def definition_patch(world: World, call: Call) -> Result:
    body = _body(call, "GalleryImages_Update")
    doc = _existing(world, call, _definition_id(call))
    _refuse_if_deleting(world, doc)
    props = copy.deepcopy(doc["properties"])
    for key, value in (body.get("properties") or {}).items():
        props[key] = value
    _check_definition(world, call, props, doc, _gallery_id(call))
    doc["properties"] = _definition_defaults(props)
    _store_tags(doc, _tags(body, doc))
    return _write_lro(world, call, doc, doc, "image_definition")


# -- gallery image versions ------------------------------------------------------------------

_VERSION_NAME = re.compile(r"^\d+\.\d+\.\d+$")


def _version_id(call: Call) -> str:
    return f"{_definition_id(call)}/versions/{call.params['version']}"


def _source_ids(storage: dict[str, Any]) -> list[tuple[str, str]]:
    """(property path, id or blob URI) of every source an image version names."""
    out: list[tuple[str, str]] = []
    source = storage.get("source") or {}
    for key in ("id", "virtualMachineId", "communityGalleryImageId"):
        if source.get(key):
            out.append((f"storageProfile.source.{key}", source[key]))
    disks = [("storageProfile.osDiskImage", storage.get("osDiskImage"))]
    disks += [
        (f"storageProfile.dataDiskImages[{i}]", disk)
        for i, disk in enumerate(storage.get("dataDiskImages") or [])
    ]
    for path, disk in disks:
        src = (disk or {}).get("source") or {}
        for key in ("id", "uri"):
            if src.get(key):
                out.append((f"{path}.source.{key}", src[key]))
    return out


def blob_size(world: World, uri: str, account_id: str | None = None) -> int | None:
    """The size (GB) of the blob at `uri` in a seeded storage account, or None when there is
    no such blob (or it is not in `account_id`, when given)."""
    match = _BLOB_URI.match(uri)
    if match is None:
        return None
    account, blob = match["account"].lower(), match["blob"]
    if account_id is not None:
        doc = get_alive(world, account_id)
        candidates = [doc] if doc is not None and doc["name"].lower() == account else []
    else:
        candidates = [d for d in world.tx.of_type(T_STORAGE) if d["name"].lower() == account]
    for doc in candidates:
        size = (doc.get("_sys", {}).get("blobs") or {}).get(blob)
        if size is not None:
            return int(size)
    return None


_BLOB_URI = re.compile(r"^https://(?P<account>[^./]+)\.blob\.[^/]+/(?P<blob>[^?#]+)", re.IGNORECASE)


def _inaccessible_blob(uri: str, target: str) -> ArmError:
    # As Compute answers a VHD it cannot read (recorded for images; galleries alike).
    return bad_request(f"The source blob {uri} is not accessible.", target=target)


def _check_sources(world: World, storage: dict[str, Any]) -> None:
    sources = _source_ids(storage)
    if not sources:
        raise bad_request(
            "The source of the gallery image version must be specified "
            "(storageProfile.source.id or storageProfile.osDiskImage.source.id).",
            target="galleryImageVersion.properties.storageProfile",
        )
    for path, ref in sources:
        target = f"galleryImageVersion.properties.{path}"
        if path.endswith(".uri"):
            holder = path.rsplit(".", 1)[0] + ".storageAccountId"
            account = _get_path(storage, holder.split(".", 1)[1])
            if not account:
                raise bad_request(
                    f"'{holder}' is required with a VHD source ('{ref}'): the storage "
                    "account holding the blob.",
                    target=f"galleryImageVersion.properties.{holder}",
                )
            if get_alive(world, str(account)) is None:
                raise bad_request(
                    f"The storage account '{account}' of the gallery image version was not "
                    "found.",
                    target=f"galleryImageVersion.properties.{holder}",
                )
            if blob_size(world, ref, str(account)) is None:
                raise _inaccessible_blob(ref, target)
        elif get_alive(world, ref) is None:
            raise bad_request(
                f"The source resource '{ref}' of the gallery image version was not found.",
                target=target,
            )


def _get_path(doc: Any, dotted: str) -> Any:
    """`storageProfile.dataDiskImages[0].source.storageAccountId` in `doc` (None if absent)."""
    for part in re.split(r"\.|(?=\[)", dotted):
        if not part:
            continue
        if part.startswith("["):
            index = int(part[1:-1])
            doc = doc[index] if isinstance(doc, list) and index < len(doc) else None
        else:
            doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _fill_disk_images(world: World, storage: dict[str, Any]) -> None:
    """Report the disks a new version holds, as Azure does (examples GalleryImageVersion_Create,
    _WithSnapshotsAsSource, _WithVHD, _WithCommunityImageVersionAsSource, and recordings of
    versions made from managed images): each disk's size from its source, host caching
    ReadOnly for a snapshot or VHD OS disk, ReadWrite for a managed image's (with an empty
    `source`), None for data disks unless asked. A managed image, another version or a
    community gallery image as the source gives its disks; snapshots and VHDs named per disk
    give theirs."""
    given = storage.get("source") or {}
    named = given.get("id") or given.get("communityGalleryImageId") or given.get("virtualMachineId")
    source = get_alive(world, str(named))
    if source is not None and source["type"].lower() == T_VM.lower():
        # The VM's OS disk, captured (example GalleryImageVersion_Create_WithVmAsSource).
        disk = (source["properties"].get("storageProfile") or {}).get("osDisk") or {}
        storage["osDiskImage"] = {"hostCaching": "ReadOnly", "sizeInGB": disk.get("diskSizeGB")}
    elif source is not None and source["type"].lower() == T_IMAGE.lower():
        # As Azure answers (recorded): an empty `source`, ReadWrite, the image's OS disk size.
        image = source["properties"].get("storageProfile") or {}
        os_size = (image.get("osDisk") or {}).get("diskSizeGB")
        storage["osDiskImage"] = {"hostCaching": "ReadWrite", "source": {}, "sizeInGB": os_size}
        data = [
            {"lun": d.get("lun"), "hostCaching": "None", "sizeInGB": d.get("diskSizeGB")}
            for d in image.get("dataDisks") or []
        ]
        if data:
            storage["dataDiskImages"] = data
    elif source is not None and source["type"].lower() in _IMAGE_VERSION_TYPES:
        held = source["properties"]["storageProfile"]
        storage["osDiskImage"] = {
            k: v for k, v in (held.get("osDiskImage") or {}).items() if k != "source"
        }
        if held.get("dataDiskImages"):
            storage["dataDiskImages"] = [
                {k: v for k, v in d.items() if k != "source"} for d in held["dataDiskImages"]
            ]
    else:
        disks = [("ReadOnly", storage.get("osDiskImage"))]
        disks += [("None", d) for d in storage.get("dataDiskImages") or []]
        for caching, disk in disks:
            if not isinstance(disk, dict):
                continue
            disk.setdefault("hostCaching", caching)
            src = disk.get("source") or {}
            if src.get("uri"):
                disk["sizeInGB"] = blob_size(world, str(src["uri"]), src.get("storageAccountId"))
                continue
            snapshot = get_alive(world, str(src.get("id")))
            disk["sizeInGB"] = (snapshot or {}).get("properties", {}).get("diskSizeGB")
    for disk in [storage.get("osDiskImage"), *(storage.get("dataDiskImages") or [])]:
        if isinstance(disk, dict) and disk.get("sizeInGB") is None:
            disk.pop("sizeInGB", None)  # a source that does not tell its size


# What a version can be built from that holds disk images of its own.
_IMAGE_VERSION_TYPES = frozenset(
    t.lower()
    for t in (
        T_VERSION,
        "Microsoft.Compute/communityGalleries/images",
        "Microsoft.Compute/communityGalleries/images/versions",
    )
)


def _replication_time(world: World, replicas: int) -> float:
    d = world.config.durations
    return d.replication_per_region + d.replication_per_extra_replica * max(0, replicas - 1)


def _normalise_profile(profile: dict[str, Any], location: str) -> dict[str, Any]:
    """The publishing profile as Azure answers it: its defaults filled in, each target
    region under its display name (``East US`` although ``eastus`` was sent), a region's
    own `excludeFromLatest` only when it was sent, `endOfLifeDate` with a ``+00:00`` offset."""
    profile = dict(profile)
    profile.pop("publishedDate", None)
    profile.setdefault("replicaCount", 1)
    profile.setdefault("excludeFromLatest", False)
    profile.setdefault("storageAccountType", "Standard_LRS")
    _end_of_life(profile, "galleryImageVersion.properties.publishingProfile.endOfLifeDate")
    regions = profile.get("targetRegions") or [{"name": location}]
    normalised = []
    for region in regions:
        region = dict(region)
        region["name"] = display_name(str(region.get("name") or ""))
        region.setdefault("regionalReplicaCount", profile["replicaCount"])
        region.setdefault("storageAccountType", profile["storageAccountType"])
        normalised.append(region)
    profile["targetRegions"] = normalised
    return profile


def _plan_replication(
    world: World,
    profile: dict[str, Any],
    old: dict[str, dict[str, Any]],
    base_delay: float,
) -> dict[str, dict[str, Any]]:
    """Replication record per target region: regions that are new or gain replicas replicate
    again (from now + base_delay); unchanged or shrinking regions keep their record."""
    slow = world.effects.slow_factor
    plan: dict[str, dict[str, Any]] = {}
    for region in profile["targetRegions"]:
        key = region_key(region["name"])
        replicas = int(region["regionalReplicaCount"])
        prev = old.get(key)
        if prev is not None and replicas <= int(prev["replicas"]):
            serving = min(replicas, int(prev.get("serving", 0)))
            plan[key] = {**prev, "name": region["name"], "replicas": replicas, "serving": serving}
            continue
        start = world.now + base_delay * slow
        plan[key] = {
            "name": region["name"],
            "replicas": replicas,
            # replicas that keep serving pools while the new ones replicate
            "serving": _serving(world, prev) if prev is not None else 0,
            "start": start,
            "end": start + _replication_time(world, replicas) * slow,
        }
    return plan


def _serving(world: World, record: dict[str, Any]) -> int:
    if world.now >= float(record["end"]):
        return int(record["replicas"])
    return int(record.get("serving", 0))


def _start_version_lro(
    world: World, call: Call, doc: dict[str, Any], existing: dict[str, Any] | None, base: float
) -> Result:
    regions = doc["_sys"]["regions"]
    end = max([float(r["end"]) for r in regions.values()] + [world.now + base])
    # the LRO lasts until every region has replicated; slow was applied to region times already
    duration = (end - world.now) / world.effects.slow_factor
    return _write_lro(world, call, doc, existing, "image_version", duration=duration)


def version_put(world: World, call: Call) -> Result:
    body = _body(call, "GalleryImageVersions_CreateOrUpdate")
    p = call.params
    require_resource_group(world, p["sub"], p["rg"])
    _require_parent(world, _definition_id(call), T_DEFINITION, p["image"])
    if not _VERSION_NAME.match(p["version"]):
        raise bad_request(
            f"The gallery image version name '{p['version']}' is invalid. It must follow the "
            "format Major(int32).Minor(int32).Patch(int32).",
            target="galleryImageVersionName",
        )
    rid = _version_id(call)
    existing = get_alive(world, rid)
    _refuse_if_deleting(world, existing)
    location = _location(call, body, existing)
    props = copy.deepcopy(body.get("properties") or {})
    # `restore` asks for a soft-deleted version back; Azure never answers it. Soft deletion
    # is not simulated: there is nothing to restore, and the version is made as asked.
    props.pop("restore", None)
    if not props.get("storageProfile"):
        raise bad_request(
            "Required parameter 'storageProfile' is missing (null).",
            target="galleryImageVersion.properties.storageProfile",
        )
    props["publishingProfile"] = _normalise_profile(props.get("publishingProfile") or {}, location)
    return _store_version(world, call, body, props, existing, location)


def _store_version(
    world: World,
    call: Call,
    body: dict[str, Any],
    props: dict[str, Any],
    existing: dict[str, Any] | None,
    location: str,
) -> Result:
    d = world.config.durations
    profile = props["publishingProfile"]
    if existing is not None:
        old = existing["properties"]
        old_profile = old["publishingProfile"]
        for key in ("storageAccountType", "replicationMode", "storageAccountStrategy"):
            if key in profile and not same(old_profile.get(key), profile.get(key)):
                raise property_change_not_allowed(
                    f"galleryImageVersion.properties.publishingProfile.{key}"
                )
        if [s for _, s in _source_ids(old["storageProfile"])] != [
            s for _, s in _source_ids(props["storageProfile"])
        ] and _source_ids(props["storageProfile"]):
            raise property_change_not_allowed("galleryImageVersion.properties.storageProfile")
        props["storageProfile"] = old["storageProfile"]
        removed = {region_key(r["name"]) for r in old_profile["targetRegions"]} - {
            region_key(r["name"]) for r in profile["targetRegions"]
        }
        safety = props.get("safetyProfile") or old.get("safetyProfile") or {}
        props["safetyProfile"] = safety
        if removed and safety.get("allowDeletionOfReplicatedLocations") is False:
            raise ArmError(
                409,
                "OperationNotAllowed",
                "Removing replicated regions "
                f"({', '.join(sorted(removed))}) is not allowed because "
                "safetyProfile.allowDeletionOfReplicatedLocations is false.",
            )
        profile["publishedDate"] = old_profile.get("publishedDate", iso_offset(world.now))
        regions = _plan_replication(world, profile, existing["_sys"].get("regions", {}), 0.0)
        base = d.image_version_update
        created = existing["_sys"]["created"]
    else:
        _check_sources(world, props["storageProfile"])
        _fill_disk_images(world, props["storageProfile"])
        profile["publishedDate"] = iso_offset(world.now)
        regions = _plan_replication(world, profile, {}, d.image_version_create)
        base = d.image_version_create
        created = world.now
    # Set by the service: no policy has flagged the image (so it lists no policyViolations);
    # Azure always answers allowDeletionOfReplicatedLocations, false unless it was sent true.
    props["safetyProfile"] = {
        "allowDeletionOfReplicatedLocations": False,
        **(props.get("safetyProfile") or {}),
        "reportedForPolicyViolation": False,
    }
    doc: dict[str, Any] = {
        "id": _version_id(call),
        "name": call.params["version"],
        "type": T_VERSION,
        "location": location,
    }
    _store_tags(doc, _tags(body, existing))
    doc["properties"] = props
    doc["_sys"] = {"created": created, "regions": regions}
    return _start_version_lro(world, call, doc, existing, base)


def version_patch(world: World, call: Call) -> Result:
    body = _body(call, "GalleryImageVersions_Update")
    require_resource_group(world, call.params["sub"], call.params["rg"])
    _require_parent(world, _definition_id(call), T_DEFINITION, call.params["image"])
    existing = _existing(world, call, _version_id(call))
    _refuse_if_deleting(world, existing)
    props = copy.deepcopy(existing["properties"])
    patch = {k: v for k, v in (body.get("properties") or {}).items() if k != "restore"}
    for key, value in patch.items():
        if key == "publishingProfile":
            merged = dict(props["publishingProfile"])
            if "targetRegions" in (value or {}):
                merged.pop("targetRegions", None)
            merged.update(value or {})
            props["publishingProfile"] = merged
        else:
            props[key] = value
    props["publishingProfile"] = _normalise_profile(
        props["publishingProfile"], existing["location"]
    )
    merged_body = {"tags": body.get("tags")} if "tags" in body else {}
    return _store_version(world, call, merged_body, props, existing, existing["location"])


def replication_summary(world: World, doc: dict[str, Any]) -> dict[str, Any]:
    failed = doc.get("_sys", {}).get("final") == "Failed" and not is_busy(world, doc)
    summary = []
    for region in doc["_sys"].get("regions", {}).values():
        start, end = float(region["start"]), float(region["end"])
        if failed and world.now >= float(doc["_sys"]["until"]) and world.now < end:
            state, progress = "Failed", 0
        elif world.now >= end:
            state, progress = "Completed", 100
        else:
            state = "Replicating"
            progress = 0 if world.now <= start else int(100 * (world.now - start) / (end - start))
        summary.append(
            {"region": region["name"], "state": state, "details": "", "progress": progress}
        )
    states = {s["state"] for s in summary}
    if "Failed" in states:
        aggregated = "Failed"
    elif states <= {"Completed"}:
        aggregated = "Completed"
    else:
        aggregated = "InProgress"
    return {"aggregatedState": aggregated, "summary": summary}


def region_replicas(
    world: World, doc: dict[str, Any], region: str, *, ready_only: bool = False
) -> int:
    """Replicas of a version in a region (0 when the region is not a target).

    With `ready_only`, only replicas that have finished replicating count: while a region
    replicates new replicas, the ones it had before keep serving.
    """
    entry = doc.get("_sys", {}).get("regions", {}).get(region_key(region))
    if not entry:
        return 0
    return _serving(world, entry) if ready_only else int(entry["replicas"])


def _render_version(world: World, doc: dict[str, Any], call: Call | None) -> dict[str, Any]:
    out = _render_tracked(world, doc)
    expand = (call.q("$expand") if call else None) or ""
    if expand.lower() == "replicationstatus":
        out["properties"]["replicationStatus"] = replication_summary(world, doc)
    return out


# -- managed images ----------------------------------------------------------------------------


def _image_id(call: Call) -> str:
    return f"{_rg_path(call)}/images/{call.params['name']}"


def _image_props_for_compare(props: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(props)
    out.setdefault("hyperVGeneration", "V1")
    return out


def image_put(world: World, call: Call) -> Result:
    body = _body(call, "Images_CreateOrUpdate")
    p = call.params
    require_resource_group(world, p["sub"], p["rg"])
    rid = _image_id(call)
    existing = get_alive(world, rid)
    _refuse_if_deleting(world, existing)
    location = _location(call, body, existing)
    props = _image_props_for_compare(body.get("properties") or {})
    _captured_from_vm(world, props)
    if existing is not None:
        _fill_disks(world, props, existing["properties"])
        if _comparable(props) != _comparable(_image_props_for_compare(existing["properties"])):
            raise property_change_not_allowed("properties.storageProfile")
    else:
        _check_image_sources(world, props)
        _fill_disks(world, props, None)
    doc = _tracked(
        rid,
        T_IMAGE,
        location,
        _tags(body, None),
        props,
        world.now,
        _top_level(body, "extendedLocation"),
    )
    return _write_lro(world, call, doc, existing, "managed_image")


def _captured_from_vm(world: World, props: dict[str, Any]) -> None:
    """An image of a VM holds the VM's disks: Azure answers them (managed disk id, size) in
    `storageProfile` although only `sourceVirtualMachine` was sent (example
    Image_CreateFromAVM)."""
    vm_id = (props.get("sourceVirtualMachine") or {}).get("id")
    vm = get_alive(world, str(vm_id)) if vm_id else None
    if vm is None or (props.get("storageProfile") or {}).get("osDisk"):
        return
    disk = (vm["properties"].get("storageProfile") or {}).get("osDisk") or {}
    os_disk: dict[str, Any] = {"osType": disk.get("osType", "Linux"), "osState": "Generalized"}
    if (disk.get("managedDisk") or {}).get("id"):
        os_disk["managedDisk"] = {"id": disk["managedDisk"]["id"]}
    if disk.get("diskSizeGB"):
        os_disk["diskSizeGB"] = disk["diskSizeGB"]
    storage = props.setdefault("storageProfile", {})
    storage["osDisk"] = os_disk


def _fill_disks(world: World, props: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Add what Azure fills in on an image's disks (examples Image_CreateFromASnapshot, Image_Get):
    OS disk caching ReadWrite, Standard_LRS storage, each disk's size from its source, no
    data disks unless asked (and `zoneResilient` only when sent). A size the source no longer tells (it
    was deleted) is the one recorded before."""
    storage = props.get("storageProfile")
    if not isinstance(storage, dict):
        return
    storage.setdefault("dataDisks", [])  # `zoneResilient` is answered only when sent
    before = (previous or {}).get("storageProfile") or {}
    disks = [(storage.get("osDisk"), before.get("osDisk"))]
    old_data = before.get("dataDisks") or []
    disks += [
        (disk, old_data[i] if i < len(old_data) else None)
        for i, disk in enumerate(storage["dataDisks"])
    ]
    if isinstance(storage.get("osDisk"), dict):
        storage["osDisk"].setdefault("caching", "ReadWrite")
    for disk, old in disks:
        if not isinstance(disk, dict):
            continue
        disk.setdefault("storageAccountType", "Standard_LRS")
        source = get_alive(
            world, str((disk.get("snapshot") or disk.get("managedDisk") or {}).get("id"))
        )
        size = (source or {}).get("properties", {}).get("diskSizeGB")
        if size is None and disk.get("blobUri"):
            size = blob_size(world, str(disk["blobUri"]))
        size = size or (old or {}).get("diskSizeGB")
        if size and "diskSizeGB" not in disk:
            disk["diskSizeGB"] = size


def _comparable(value: Any) -> Any:
    """Structure compared case-insensitively, as ARM compares ids and enums."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, str):
        return value.lower()
    return value


def _check_image_sources(world: World, props: dict[str, Any]) -> None:
    storage = props.get("storageProfile") or {}
    os_disk = storage.get("osDisk")
    vm = (props.get("sourceVirtualMachine") or {}).get("id")
    if not os_disk and not vm:
        raise bad_request(
            "Either 'storageProfile.osDisk' or 'sourceVirtualMachine' is required.",
            target="properties.storageProfile.osDisk",
        )
    refs: list[tuple[str, str]] = []
    if vm:
        refs.append(("sourceVirtualMachine.id", vm))
    disks = [("storageProfile.osDisk", os_disk)] if os_disk else []
    disks += [
        (f"storageProfile.dataDisks[{i}]", d) for i, d in enumerate(storage.get("dataDisks") or [])
    ]
    for path, disk in disks:
        if not disk:
            continue
        for key in ("snapshot", "managedDisk"):
            rid = (disk.get(key) or {}).get("id")
            if rid:
                refs.append((f"{path}.{key}.id", rid))
        if disk.get("blobUri") and blob_size(world, str(disk["blobUri"])) is None:
            raise ArmError(
                400,
                "InvalidParameter",
                f"The source blob {disk['blobUri']} is not accessible.",
                target="disks",
            )
        if path == "storageProfile.osDisk" and not (disk.get("osType") and disk.get("osState")):
            raise bad_request(
                "Required parameters 'osType' and 'osState' of the OS disk are " "missing.",
                target="properties.storageProfile.osDisk",
            )
    for path, rid in refs:
        if get_alive(world, rid) is None:
            raise ArmError(
                404, "NotFound", f"Resource '{rid}' was not found.", target=f"properties.{path}"
            )


def image_patch(world: World, call: Call) -> Result:
    body = _body(call, "Images_Update")
    doc = _existing(world, call, _image_id(call))
    _refuse_if_deleting(world, doc)
    # A managed image cannot change after creation except for its tags.
    wanted = body.get("properties") or {}
    current = _image_props_for_compare(doc["properties"])
    for key, value in wanted.items():
        if _comparable(value) != _comparable(current.get(key)):
            raise property_change_not_allowed(f"properties.{key}")
    _store_tags(doc, _tags(body, doc))
    return _write_lro(world, call, doc, doc, "managed_image")


def register(router: Router) -> None:
    """Add the Compute routes (list routes before item routes that share a prefix)."""
    sub = "/subscriptions/{sub}/providers/Microsoft.Compute"
    for rtype, collection, name in (
        (T_GALLERY, "galleries", "Galleries"),
        (T_IMAGE, "images", "Images"),
    ):
        router.add(f"{sub}/{collection}", f"{name}_List", get=list_in_subscription(rtype))
        router.add(f"{RG}/{collection}", f"{name}_ListByResourceGroup", get=list_in_group(rtype))
    router.add(
        GALLERY,
        "Galleries",
        get=_getter(_gallery_id),
        put=gallery_put,
        patch=gallery_patch,
        delete=_deleter(_gallery_id, "gallery", T_DEFINITION),
    )
    router.add(
        GALLERY + "/images",
        "GalleryImages_ListByGallery",
        get=_child_lister(_gallery_id, T_DEFINITION),
    )
    router.add(
        DEFINITION,
        "GalleryImages",
        get=_getter(_definition_id),
        put=definition_put,
        patch=definition_patch,
        delete=_deleter(_definition_id, "image_definition", T_VERSION),
    )
    router.add(
        DEFINITION + "/versions",
        "GalleryImageVersions_ListByGalleryImage",
        get=_child_lister(_definition_id, T_VERSION),
    )
    router.add(
        VERSION,
        "GalleryImageVersions",
        get=_getter(_version_id),
        put=version_put,
        patch=version_patch,
        # Azure lets a version that pools use be deleted; those pools fail their next resize (R6).
        delete=_deleter(_version_id, "image_version"),
    )
    router.add(
        RG + "/images/{name}",
        "Images",
        get=_getter(_image_id),
        put=image_put,
        patch=image_patch,
        delete=_deleter(_image_id, "managed_image"),
    )
    # seeded, read-only
    for rtype, collection, (list_all, list_rg, get) in (
        (
            T_SNAPSHOT,
            "snapshots",
            ("Snapshots_List", "Snapshots_ListByResourceGroup", "Snapshots_Get"),
        ),
        (
            T_VM,
            "virtualMachines",
            ("VirtualMachines_ListAll", "VirtualMachines_List", "VirtualMachines_Get"),
        ),
        (T_DISK, "disks", ("Disks_List", "Disks_ListByResourceGroup", "Disks_Get")),
    ):
        router.add(f"{sub}/{collection}", list_all, get=list_in_subscription(rtype))
        router.add(f"{RG}/{collection}", list_rg, get=list_in_group(rtype))
        router.add(
            f"{RG}/{collection}/{{name}}",
            get,
            get=_getter(partial(_named_in_group, collection)),
        )


def _render_plain(world: World, doc: dict[str, Any], call: Call | None) -> dict[str, Any]:
    return _render_tracked(world, doc)


RENDERERS[T_GALLERY.lower()] = _render_plain
RENDERERS[T_DEFINITION.lower()] = _render_plain
RENDERERS[T_VERSION.lower()] = _render_version
RENDERERS[T_IMAGE.lower()] = _render_plain
