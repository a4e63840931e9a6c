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
                             osDiskSnapshot: <snapshot name in this group>, tags?}]
            virtualMachines: [{name, location, osType?, vmSize?}]
            batchAccounts: [{name, location, poolAllocationMode?}]
            tags: {...}
"""

from __future__ import annotations

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


def apply_seed(tx: Tx, data: Mapping[str, Any], now: float) -> None:
    """Write the seed's resources into the world (existing ids are replaced)."""
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
        props = {
            "vmId": _stable_uuid(_seeded_id(rg_id, T_VM, vm)),
            "hardwareProfile": {"vmSize": vm.get("vmSize", "Standard_D4s_v5")},
            "storageProfile": {
                "osDisk": {
                    "osType": vm.get("osType", "Linux"),
                    "name": f"{vm['name']}-osdisk",
                    "createOption": "FromImage",
                }
            },
            "provisioningState": "Succeeded",
        }
        _put_seeded(tx, rg_id, T_VM, vm, group, props, now)
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
