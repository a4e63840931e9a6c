"""One image source of every kind besides snapshots, as a spec's `source:` declares it.

Each names what the default sandbox seed holds in rg-images: the VHD blobs of storage
account stimagesweu, the render managed disks, a build VM, a build managed image and a
community gallery image. Tests that need "a resource per source kind" declare these
(read-only: copy before changing one).
"""

from __future__ import annotations

from typing import Any

SUB = "00000000-0000-0000-0000-000000000001"
_RG = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers"
COMPUTE = f"{_RG}/Microsoft.Compute"
STORAGE_ACCOUNT = f"{_RG}/Microsoft.Storage/storageAccounts/stimagesweu"
VHD = "https://stimagesweu.blob.core.windows.net/vhds/render-{}-2026-10.vhd"


def vhd(disk: str) -> dict[str, str]:
    """A version's VHD disk: blob `render-<disk>-2026-10.vhd` of stimagesweu."""
    return {"uri": VHD.format(disk), "storageAccountId": STORAGE_ACCOUNT}


# A gallery image version's sources, by a short name of their kind.
VERSION_SOURCES: dict[str, dict[str, Any]] = {
    "vhd": {"vhd": {"osDisk": vhd("os"), "dataDisks": [{"lun": 0, **vhd("data0")}]}},
    "community": {"communityGalleryImage": "/CommunityGalleries/contoso-5678/Images/render"},
    "image": {"managedImage": f"{COMPUTE}/images/img-build-render-2026-10"},
    "vm": {"virtualMachine": f"{COMPUTE}/virtualMachines/vm-build-sim-01"},
}

# A managed image's sources, by a short name of their kind.
IMAGE_SOURCES: dict[str, dict[str, Any]] = {
    "vm": {"virtualMachine": f"{COMPUTE}/virtualMachines/vm-build-sim-01"},
    "disks": {
        "osDiskManagedDisk": f"{COMPUTE}/disks/disk-render-os-2026-10",
        "dataDiskManagedDisks": [
            {"lun": 0, "managedDisk": f"{COMPUTE}/disks/disk-render-data0-2026-10"}
        ],
    },
    "blobs": {
        "osDiskBlobUri": VHD.format("os"),
        "dataDiskBlobUris": [{"lun": 0, "blobUri": VHD.format("data0")}],
    },
}
