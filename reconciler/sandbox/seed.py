"""Seed files: the resources a world starts with and the product never creates.

Format (see `default_seed.yaml`, the world the example specs expect)::

    subscriptions:
      - id: <guid>
        displayName: ...
        resourceGroups:
          - name: rg-images
            location: westeurope
            snapshots: [{name, location, osType?, diskSizeGB?, hyperVGeneration?}]
            managedImages: [{name, location, osType, osState?, hyperVGeneration?,
                             osDiskSnapshot: <snapshot name in this group>,
                             diskEncryptionSet?: <id>, tags?}]
            virtualMachines: [{name, location, osType?, vmSize?, osDiskSizeGB?}]
            disks: [{name, location, osType?, diskSizeGB?}]       # managed disks
            storageAccounts: [{name, location, blobs?: [{container, name, sizeGB?}]}]
            batchAccounts: [{name, location, poolAllocationMode?, pools?}]
            galleries: [{name, location?, tags?, images?}]
            tags: {...}

Community galleries (published by someone else, read-only; image versions can be built
from their images) sit at the top level, beside `subscriptions`::

    communityGalleries:
      - publicName: contoso-5678
        location: westeurope
        images: [{name, osType?, hyperVGeneration?, osDiskSizeGB?,
                  dataDisks?: [{lun, sizeGB}], versions?: [1.0.0, ...]}]

Galleries, image definitions, image versions and pools — what the product manages — can be
seeded too, so benchmarks and tests start from a large estate without writing it through
the API one request at a time::

    galleries:
      - name: gal0
        tags: {managed-by: reconcile}
        images:                   # image definitions
          - {name: def0, osType: Linux, osState: Generalized, hyperVGeneration: V2,
             identifier: {publisher: p, offer: o, sku: s}, tags?, versions?: [...]}
    versions:                     # under an image definition
      - {name: 1.0.0, source: <managed image, snapshot or version id>,
         targetRegions: [{name: westeurope, replicas: 1}], tags?}
    pools:                        # under a Batch account
      - {name: pool0, vmSize: Standard_D2s_v5, image: <version or managed image id>,
         nodeAgentSkuId: batch.node.ubuntu 22.04, dedicated?: 0, lowPriority?: 0,
         metadata?: {key: value}, tags?,
         properties?: {...}}      # any other pool property, in the REST body's shape

They are created by the same handlers a PUT reaches (so they are exactly what the API would
have made), at a simulated time far enough in the past that every long-running operation,
replication and resize has finished: the world starts settled. Any list entry may carry
`count: N`; it stands for N entries whose `{i}` (in any string) is 0 … N-1, children
included — `{name: "def{i}", count: 100, ...}` declares a hundred definitions. An inner
entry's own `{i}` is its own index; `{gallery}`, `{image}` and `{account}` name the
enclosing entries (e.g. `identifier: {offer: "{image}"}` or a pool's `image:` path).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import yaml

from reconciler.sandbox.arm import region_key
from reconciler.sandbox.clock import iso
from reconciler.sandbox.store import Tx

DEFAULT_SEED = "default_seed.yaml"
T_SNAPSHOT = "Microsoft.Compute/snapshots"
T_IMAGE = "Microsoft.Compute/images"
T_VM = "Microsoft.Compute/virtualMachines"
T_DISK = "Microsoft.Compute/disks"
T_STORAGE = "Microsoft.Storage/storageAccounts"
T_COMMUNITY_IMAGE = "Microsoft.Compute/communityGalleries/images"
T_COMMUNITY_VERSION = "Microsoft.Compute/communityGalleries/images/versions"
T_ACCOUNT = "Microsoft.Batch/batchAccounts"


def load_seed(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Parse a seed file; without a path, the default seed shipped with the package."""
    if path is None:
        text = (
            importlib_resources.files("reconciler.sandbox")
            .joinpath(DEFAULT_SEED)
            .read_text(encoding="utf-8")
        )
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, Mapping) or not isinstance(data.get("subscriptions", []), list):
        raise ValueError(f"{path or DEFAULT_SEED}: a seed needs a 'subscriptions' list")
    return dict(data)


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts).lower()))


def apply_seed(tx: Tx, data: Mapping[str, Any], now: float, config: Any = None) -> None:
    """Write the seed's resources into the world (existing ids are replaced).

    `config` (a `SandboxConfig`, default values when None) gives the durations that
    managed resources are created with; they are created settled before `now`.
    """
    managed: list[tuple[str, Mapping[str, Any]]] = []
    for sub in data.get("subscriptions") or []:
        sid = str(sub["id"])
        sub_id = f"/subscriptions/{sid}"
        tx.put(
            sub_id,
            "Microsoft.Resources/subscriptions",
            "",
            {
                "id": sub_id,
                "subscriptionId": sid,
                "displayName": sub.get("displayName", sid),
                "state": "Enabled",
                "type": "Microsoft.Resources/subscriptions",
            },
        )
        for group in sub.get("resourceGroups") or []:
            _seed_group(tx, sid, group, now)
            managed.append((sid, group))
    for gallery in data.get("communityGalleries") or []:
        _seed_community_gallery(tx, gallery, now)
    if any(_has_managed(group) for _, group in managed):
        _seed_managed(tx, managed, now, config)


def _seed_group(tx: Tx, sid: str, group: Mapping[str, Any], now: float) -> None:
    rg = str(group["name"])
    rg_id = f"/subscriptions/{sid}/resourceGroups/{rg}"
    tx.put(
        rg_id,
        "Microsoft.Resources/resourceGroups",
        f"/subscriptions/{sid}",
        {
            "id": rg_id,
            "name": rg,
            "type": "Microsoft.Resources/resourceGroups",
            "location": group["location"],
            "tags": dict(group.get("tags") or {}),
            "properties": {"provisioningState": "Succeeded"},
        },
    )
    for snap in group.get("snapshots") or []:
        rid = _seeded_id(rg_id, T_SNAPSHOT, snap)
        props: dict[str, Any] = {
            "timeCreated": iso(now),
            "creationData": {
                "createOption": "Copy",
                "sourceResourceId": f"{rg_id}/providers/Microsoft.Compute/disks/{snap['name']}-source",
            },
            "diskSizeGB": int(snap.get("diskSizeGB", 64)),
            "diskSizeBytes": int(snap.get("diskSizeGB", 64)) * 1024**3,
            "diskState": "Unattached",
            "uniqueId": _stable_uuid(rid),
            "provisioningState": "Succeeded",
            "incremental": False,
            # Azure encrypts every snapshot at rest, with a platform key unless told otherwise.
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        }
        if snap.get("osType"):
            props["osType"] = snap["osType"]
        if snap.get("hyperVGeneration"):
            props["hyperVGeneration"] = snap["hyperVGeneration"]
        sku = {"name": "Standard_LRS", "tier": "Standard"}
        _put_seeded(tx, rg_id, T_SNAPSHOT, snap, group, props, now, sku=sku)
    sizes = {s["name"]: int(s.get("diskSizeGB", 64)) for s in group.get("snapshots") or []}
    for image in group.get("managedImages") or []:
        os_disk: dict[str, Any] = {
            "osType": image.get("osType", "Linux"),
            "osState": image.get("osState", "Generalized"),
            "caching": "ReadWrite",
            "storageAccountType": "Standard_LRS",
        }
        if image.get("diskEncryptionSet"):  # a customer-managed key (id of the set)
            os_disk["diskEncryptionSet"] = {"id": image["diskEncryptionSet"]}
        if image.get("osDiskSnapshot"):
            snapshot = {"name": image["osDiskSnapshot"]}
            os_disk["snapshot"] = {"id": _seeded_id(rg_id, T_SNAPSHOT, snapshot)}
            if image["osDiskSnapshot"] in sizes:
                os_disk["diskSizeGB"] = sizes[image["osDiskSnapshot"]]
        props = {
            "storageProfile": {"osDisk": os_disk, "dataDisks": [], "zoneResilient": False},
            "hyperVGeneration": image.get("hyperVGeneration", "V1"),
        }
        _put_seeded(tx, rg_id, T_IMAGE, image, group, props, now)
    for vm in group.get("virtualMachines") or []:
        disk_name = f"{vm['name']}-osdisk"
        disk_size = int(vm.get("osDiskSizeGB", 64))
        props = {
            "vmId": _stable_uuid(_seeded_id(rg_id, T_VM, vm)),
            "hardwareProfile": {"vmSize": vm.get("vmSize", "Standard_D4s_v5")},
            "storageProfile": {
                "osDisk": {
                    "osType": vm.get("osType", "Linux"),
                    "name": disk_name,
                    "createOption": "FromImage",
                    "diskSizeGB": disk_size,
                    "managedDisk": {
                        "id": _seeded_id(rg_id, T_DISK, {"name": disk_name}),
                        "storageAccountType": "Premium_LRS",
                    },
                }
            },
            "provisioningState": "Succeeded",
        }
        _put_seeded(tx, rg_id, T_VM, vm, group, props, now)
        # The VM's OS disk is a managed disk of its own, attached to it.
        os_disk = {"name": disk_name, "location": vm.get("location", group["location"])}
        _seed_disk(tx, rg_id, group, {**os_disk, "osType": vm.get("osType", "Linux")}, now)
        attached = tx.get(_seeded_id(rg_id, T_DISK, os_disk))
        assert attached is not None
        attached["properties"]["diskState"] = "Attached"
        attached["managedBy"] = _seeded_id(rg_id, T_VM, vm)
        attached["properties"]["diskSizeGB"] = disk_size
        tx.put(attached["id"], T_DISK, rg_id, attached)
    for disk in group.get("disks") or []:
        _seed_disk(tx, rg_id, group, disk, now)
    for account in group.get("storageAccounts") or []:
        props = {
            "provisioningState": "Succeeded",
            "primaryEndpoints": {"blob": f"https://{account['name']}.blob.core.windows.net/"},
        }
        rid = _seeded_id(rg_id, T_STORAGE, account)
        _put_seeded(tx, rg_id, T_STORAGE, account, group, props, now, kind="StorageV2")
        doc = tx.get(rid)
        assert doc is not None
        # Blobs are data-plane objects: kept beside the account, never answered by ARM.
        doc["_sys"]["blobs"] = {
            f"{b['container']}/{b['name']}": int(b.get("sizeGB", 64))
            for b in account.get("blobs") or []
        }
        tx.put(rid, T_STORAGE, rg_id, doc)
    for account in group.get("batchAccounts") or []:
        rid = _seeded_id(rg_id, T_ACCOUNT, account)
        region = region_key(str(account.get("location", group["location"])))
        props = {
            "accountEndpoint": f"{account['name']}.{region}.batch.azure.com",
            "nodeManagementEndpoint": f"{_stable_uuid(rid)}.{region}.service.batch.azure.com",
            "provisioningState": "Succeeded",
            "poolAllocationMode": account.get("poolAllocationMode", "BatchService"),
            "publicNetworkAccess": "Enabled",
            "dedicatedCoreQuota": int(account.get("dedicatedCoreQuota", 100000)),
            "lowPriorityCoreQuota": int(account.get("lowPriorityCoreQuota", 100000)),
            "dedicatedCoreQuotaPerVMFamilyEnforced": False,
            "poolQuota": int(account.get("poolQuota", 100)),
            "activeJobAndJobScheduleQuota": 300,
            "allowedAuthenticationModes": ["AAD", "TaskAuthenticationToken"],
        }
        _put_seeded(tx, rg_id, T_ACCOUNT, account, group, props, now, identity={"type": "None"})


def _seed_disk(
    tx: Tx, rg_id: str, group: Mapping[str, Any], disk: Mapping[str, Any], now: float
) -> None:
    props: dict[str, Any] = {
        "timeCreated": iso(now),
        "creationData": {"createOption": "Empty"},
        "diskSizeGB": int(disk.get("diskSizeGB", 64)),
        "diskState": "Unattached",
        "uniqueId": _stable_uuid(_seeded_id(rg_id, T_DISK, disk)),
        "provisioningState": "Succeeded",
    }
    if disk.get("osType"):
        props["osType"] = disk["osType"]
    sku = {"name": "Standard_LRS", "tier": "Standard"}
    _put_seeded(tx, rg_id, T_DISK, disk, group, props, now, sku=sku)


def _seed_community_gallery(tx: Tx, gallery: Mapping[str, Any], now: float) -> None:
    """A community gallery's images and versions, under the ids Azure gives them
    (``/CommunityGalleries/{publicName}/Images/{name}/Versions/{version}``)."""
    gid = f"/CommunityGalleries/{gallery['publicName']}"
    for image in gallery.get("images") or []:
        iid = f"{gid}/Images/{image['name']}"
        disks: dict[str, Any] = {
            "osDiskImage": {
                "sizeInGB": int(image.get("osDiskSizeGB", 30)),
                "hostCaching": "ReadOnly",
            }
        }
        data = [
            {"lun": int(d["lun"]), "sizeInGB": int(d.get("sizeGB", 32)), "hostCaching": "None"}
            for d in image.get("dataDisks") or []
        ]
        if data:
            disks["dataDiskImages"] = data
        props = {
            "osType": image.get("osType", "Linux"),
            "osState": "Generalized",
            "hyperVGeneration": image.get("hyperVGeneration", "V2"),
            "storageProfile": disks,
        }
        doc = {
            "id": iid,
            "name": image["name"],
            "type": T_COMMUNITY_IMAGE,
            "location": gallery.get("location", "westeurope"),
            "properties": props,
            "_sys": {"created": now},
        }
        tx.put(iid, T_COMMUNITY_IMAGE, gid, doc)
        for version in image.get("versions") or []:
            vid = f"{iid}/Versions/{version}"
            vdoc = {**doc, "id": vid, "name": str(version), "type": T_COMMUNITY_VERSION}
            tx.put(vid, T_COMMUNITY_VERSION, iid, vdoc)


def _seeded_id(rg_id: str, rtype: str, entry: Mapping[str, Any]) -> str:
    return f"{rg_id}/providers/{rtype}/{entry['name']}"


def _put_seeded(
    tx: Tx,
    rg_id: str,
    rtype: str,
    entry: Mapping[str, Any],
    group: Mapping[str, Any],
    properties: dict[str, Any],
    now: float,
    **extra: Any,
) -> None:
    """Store the seed `entry` as a resource of `rtype` in the group (its location by default)."""
    rid = _seeded_id(rg_id, rtype, entry)
    doc = {
        "id": rid,
        "name": entry["name"],
        "type": rtype,
        "location": entry.get("location", group["location"]),
        "tags": dict(entry.get("tags") or {}),
        **extra,
        "properties": properties,
        "_sys": {"created": now},
    }
    tx.put(rid, rtype, rg_id, doc)


# -- managed resources: created through the resource providers' own handlers ----------------

_SETTLE = 30 * 86400.0  # simulated seconds before now at which managed resources are made


def _has_managed(group: Mapping[str, Any]) -> bool:
    return bool(group.get("galleries")) or any(
        a.get("pools") for a in group.get("batchAccounts") or []
    )


def expand(entries: Any, **names: str) -> list[dict[str, Any]]:
    """Entries with `count: N` expanded into N copies with `{i}` (and `names`) filled in."""
    out: list[dict[str, Any]] = []
    for entry in entries or []:
        if not isinstance(entry, Mapping):
            raise ValueError(f"seed: expected a mapping, got {entry!r}")
        count = int(entry.get("count", 1))
        for i in range(count):
            values = {**names, "i": str(i)}
            out.append(
                {
                    k: (_fill(v, values) if k not in _NESTED else v)
                    for k, v in entry.items()
                    if k != "count"
                }
            )
    return out


_NESTED = ("images", "versions", "pools")


def _fill(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, Mapping):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def _seed_managed(
    tx: Tx, groups: list[tuple[str, Mapping[str, Any]]], now: float, config: Any
) -> None:
    """Galleries, definitions and versions first (pools need their versions), then pools."""
    from reconciler.sandbox.arm import ArmError, Call, Effects, Router, World
    from reconciler.sandbox.batch import register as register_batch
    from reconciler.sandbox.compute import register as register_compute
    from reconciler.sandbox.config import SandboxConfig

    router = Router()
    register_compute(router)
    register_batch(router)
    # Images are made first, pools a while later: a pool's resize needs its version's
    # replicas to have finished, and both must have settled by now.
    images_at = World(tx, now - 2 * _SETTLE, config or SandboxConfig(), Effects())
    pools_at = World(tx, now - _SETTLE, config or SandboxConfig(), Effects())

    def put(path: str, api: str, body: dict[str, Any], world: World = images_at) -> None:
        handler, params = router.match("PUT", path)
        raw = json.dumps(body).encode()
        call = Call("PUT", ARM, path, {"api-version": api}, {}, body, params, raw)
        try:
            handler(world, call)
        except ArmError as error:
            raise ValueError(f"seed: {path}: {error.code}: {error.message}") from error

    operations_before = {r[0] for r in tx.operation_ids()}
    for sid, group in groups:
        rg_id = f"/subscriptions/{sid}/resourceGroups/{group['name']}"
        for gallery in expand(group.get("galleries")):
            gid = f"{rg_id}/providers/Microsoft.Compute/galleries/{gallery['name']}"
            location = gallery.get("location", group["location"])
            put(gid, GALLERY_API, _tracked_body(gallery, location, {}))
            for image in expand(gallery.get("images"), gallery=gallery["name"]):
                did = f"{gid}/images/{image['name']}"
                props = {
                    "osType": image.get("osType", "Linux"),
                    "osState": image.get("osState", "Generalized"),
                    "hyperVGeneration": image.get("hyperVGeneration", "V2"),
                    "identifier": dict(image.get("identifier") or {}),
                }
                put(did, GALLERY_API, _tracked_body(image, location, props))
                for version in expand(
                    image.get("versions"), gallery=gallery["name"], image=image["name"]
                ):
                    put(
                        f"{did}/versions/{version['name']}",
                        GALLERY_API,
                        _version_body(version, location),
                    )
    for sid, group in groups:
        rg_id = f"/subscriptions/{sid}/resourceGroups/{group['name']}"
        for account in group.get("batchAccounts") or []:
            aid = f"{rg_id}/providers/{T_ACCOUNT}/{account['name']}"
            for pool in expand(account.get("pools"), account=account["name"]):
                put(f"{aid}/pools/{pool['name']}", BATCH_API, _pool_body(pool), pools_at)
    # The handlers recorded long-running operations nobody will poll; drop them.
    tx.delete_operations({r[0] for r in tx.operation_ids()} - operations_before)


ARM = "https://management.azure.com"
GALLERY_API = "2026-03-03"
BATCH_API = "2025-06-01"


def _tracked_body(
    entry: Mapping[str, Any], location: str, properties: dict[str, Any]
) -> dict[str, Any]:
    return {
        "location": entry.get("location", location),
        "tags": dict(entry.get("tags") or {}),
        "properties": properties,
    }


def _version_body(version: Mapping[str, Any], location: str) -> dict[str, Any]:
    source = str(version["source"])
    if "/snapshots/" in source.lower():
        storage: dict[str, Any] = {"osDiskImage": {"source": {"id": source}}}
    else:
        storage = {"source": {"id": source}}
    regions = version.get("targetRegions") or [{"name": version.get("location", location)}]
    profile = {
        "targetRegions": [
            {"name": r["name"], "regionalReplicaCount": int(r.get("replicas", 1))} for r in regions
        ]
    }
    body = _tracked_body(version, location, {"publishingProfile": profile})
    body["properties"]["storageProfile"] = storage
    return body


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _pool_body(pool: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "vmSize": pool.get("vmSize", "Standard_D2s_v5"),
        "deploymentConfiguration": {
            "virtualMachineConfiguration": {
                "imageReference": {"id": str(pool["image"])},
                "nodeAgentSkuId": pool.get("nodeAgentSkuId", "batch.node.ubuntu 22.04"),
            }
        },
        "scaleSettings": {
            "fixedScale": {
                "targetDedicatedNodes": int(pool.get("dedicated", 0)),
                "targetLowPriorityNodes": int(pool.get("lowPriority", 0)),
            }
        },
    }
    if pool.get("metadata"):
        props["metadata"] = [{"name": k, "value": str(v)} for k, v in pool["metadata"].items()]
    # Anything else a pool has, in the REST body's own shape, laid over the above.
    props = _deep_merge(props, pool.get("properties") or {})
    body: dict[str, Any] = {"properties": props}
    if pool.get("tags"):
        body["tags"] = dict(pool["tags"])
    return body
