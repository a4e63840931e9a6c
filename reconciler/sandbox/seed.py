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

from reconciler.sandbox.clock import iso
from reconciler.sandbox.store import Tx

DEFAULT_SEED = "default_seed.yaml"


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
    compute = f"{rg_id}/providers/Microsoft.Compute"
    for snap in group.get("snapshots") or []:
        rid = f"{compute}/snapshots/{snap['name']}"
        props: dict[str, Any] = {
            "timeCreated": iso(now),
            "creationData": {
                "createOption": "Copy",
                "sourceResourceId": f"{compute}/disks/{snap['name']}-source",
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
        tx.put(
            rid,
            "Microsoft.Compute/snapshots",
            rg_id,
            {
                "id": rid,
                "name": snap["name"],
                "type": "Microsoft.Compute/snapshots",
                "location": snap.get("location", group["location"]),
                "tags": dict(snap.get("tags") or {}),
                "sku": {"name": "Standard_LRS", "tier": "Standard"},
                "properties": props,
                "_sys": {"created": now},
            },
        )
    for image in group.get("managedImages") or []:
        rid = f"{compute}/images/{image['name']}"
        os_disk: dict[str, Any] = {
            "osType": image.get("osType", "Linux"),
            "osState": image.get("osState", "Generalized"),
            "caching": "ReadWrite",
            "storageAccountType": "Standard_LRS",
        }
        if image.get("osDiskSnapshot"):
            os_disk["snapshot"] = {"id": f"{compute}/snapshots/{image['osDiskSnapshot']}"}
            sizes = {s["name"]: int(s.get("diskSizeGB", 64)) for s in group.get("snapshots") or []}
            if image["osDiskSnapshot"] in sizes:
                os_disk["diskSizeGB"] = sizes[image["osDiskSnapshot"]]
        tx.put(
            rid,
            "Microsoft.Compute/images",
            rg_id,
            {
                "id": rid,
                "name": image["name"],
                "type": "Microsoft.Compute/images",
                "location": image.get("location", group["location"]),
                "tags": dict(image.get("tags") or {}),
                "properties": {
                    "storageProfile": {"osDisk": os_disk, "dataDisks": [], "zoneResilient": False},
                    "hyperVGeneration": image.get("hyperVGeneration", "V1"),
                },
                "_sys": {"created": now},
            },
        )
    for vm in group.get("virtualMachines") or []:
        rid = f"{compute}/virtualMachines/{vm['name']}"
        tx.put(
            rid,
            "Microsoft.Compute/virtualMachines",
            rg_id,
            {
                "id": rid,
                "name": vm["name"],
                "type": "Microsoft.Compute/virtualMachines",
                "location": vm.get("location", group["location"]),
                "tags": dict(vm.get("tags") or {}),
                "properties": {
                    "vmId": _stable_uuid(rid),
                    "hardwareProfile": {"vmSize": vm.get("vmSize", "Standard_D4s_v5")},
                    "storageProfile": {
                        "osDisk": {
                            "osType": vm.get("osType", "Linux"),
                            "name": f"{vm['name']}-osdisk",
                            "createOption": "FromImage",
                        }
                    },
                    "provisioningState": "Succeeded",
                },
                "_sys": {"created": now},
            },
        )
    for account in group.get("batchAccounts") or []:
        rid = f"{rg_id}/providers/Microsoft.Batch/batchAccounts/{account['name']}"
        location = account.get("location", group["location"])
        region = str(location).replace(" ", "").lower()
        tx.put(
            rid,
            "Microsoft.Batch/batchAccounts",
            rg_id,
            {
                "id": rid,
                "name": account["name"],
                "type": "Microsoft.Batch/batchAccounts",
                "location": location,
                "tags": dict(account.get("tags") or {}),
                "identity": {"type": "None"},
                "properties": {
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
                },
                "_sys": {"created": now},
            },
        )
