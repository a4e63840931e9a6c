"""The image sources besides snapshots: VHD blobs, community gallery images, managed disks
and virtual machines, accepted and answered as Azure does (examples
GalleryImageVersion_Create_WithVHD, _WithCommunityImageVersionAsSource, Image_CreateFromAVM,
Image_CreateFromABlob, Image_CreateFromAManagedDisk)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.sandbox import Sandbox, SandboxRequest
from tests.sandbox.conftest import COMPUTE, RG_IMAGES, SUB, definition_body, rest

GALLERY_API = "2026-03-03"
IMAGES_API = "2026-04-01"
ACCOUNT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG_IMAGES}/providers/Microsoft.Storage/"
    "storageAccounts/stimagesweu"
)
OS_VHD = "https://stimagesweu.blob.core.windows.net/vhds/render-os-2026-10.vhd"
DATA_VHD = "https://stimagesweu.blob.core.windows.net/vhds/render-data0-2026-10.vhd"
COMMUNITY = "/CommunityGalleries/contoso-5678/Images/render"
VERSIONS = f"{COMPUTE}/galleries/gal/images/render/versions"


@pytest.fixture
def definition(sandbox: Sandbox) -> None:
    rest(sandbox, "PUT", f"{COMPUTE}/galleries/gal", {"location": "westeurope"}, GALLERY_API)
    rest(sandbox, "PUT", f"{COMPUTE}/galleries/gal/images/render", definition_body(), GALLERY_API)


def _version(storage: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "properties": {
            "storageProfile": storage,
            "publishingProfile": {
                "targetRegions": [{"name": "westeurope", "regionalReplicaCount": 1}]
            },
            **properties,
        },
    }


def _vhd(uri: str = OS_VHD, account: str = ACCOUNT_ID) -> dict[str, Any]:
    return {"source": {"uri": uri, "storageAccountId": account}}


def _refused(
    sandbox: Sandbox, path: str, body: dict[str, Any], api: str, status: int = 400
) -> dict[str, Any]:
    """The ARM error a PUT of `body` is refused with (its status must be `status`)."""
    url = f"https://management.azure.com{path}?api-version={api}"
    headers = {"Authorization": "Bearer sandbox-test", "Content-Type": "application/json"}
    response = sandbox.handle(SandboxRequest("PUT", url, headers, json.dumps(body).encode()))
    assert response.status == status, (response.status, response.body[:300])
    return dict(json.loads(response.body)["error"])


def test_a_version_from_vhds_reports_their_sizes_and_host_caching(sandbox, definition):
    """A version from VHDs answers each blob's URI and account, its size, and host caching
    ReadOnly for the OS disk and None for data disks unless sent."""
    storage = {
        "osDiskImage": _vhd(),
        "dataDiskImages": [{"lun": 0, **_vhd(DATA_VHD)}],
    }
    rest(sandbox, "PUT", f"{VERSIONS}/1.0.0", _version(storage), GALLERY_API)
    got = rest(sandbox, "GET", f"{VERSIONS}/1.0.0", None, GALLERY_API)["properties"]
    profile = got["storageProfile"]
    assert profile["osDiskImage"] == {
        "source": {"uri": OS_VHD, "storageAccountId": ACCOUNT_ID},
        "hostCaching": "ReadOnly",
        "sizeInGB": 64,
    }
    assert profile["dataDiskImages"] == [
        {
            "lun": 0,
            "source": {"uri": DATA_VHD, "storageAccountId": ACCOUNT_ID},
            "hostCaching": "None",
            "sizeInGB": 256,
        }
    ]


@pytest.mark.parametrize(
    ("disk", "message"),
    [
        (_vhd(OS_VHD.replace("render-os", "missing")), "is not accessible"),
        (_vhd(OS_VHD.replace("stimagesweu", "stother")), "is not accessible"),
        (_vhd(account=ACCOUNT_ID.replace("stimagesweu", "stnone")), "was not found"),
        ({"source": {"uri": OS_VHD}}, "storageAccountId' is required"),
    ],
)
def test_a_vhd_source_is_checked_like_a_snapshot(sandbox, definition, disk, message):
    """A VHD that is not a blob of the named, existing storage account is refused with
    InvalidParameter, as Compute refuses a blob it cannot read."""
    error = _refused(sandbox, f"{VERSIONS}/1.0.0", _version({"osDiskImage": disk}), GALLERY_API)
    assert error["code"] == "InvalidParameter"
    assert message in error["message"]


def test_a_version_from_a_community_gallery_image_holds_its_disks(sandbox, definition):
    """A version built from a community gallery image answers that image's disk sizes; a
    community image that does not exist is refused."""
    storage = {"source": {"communityGalleryImageId": COMMUNITY}}
    rest(sandbox, "PUT", f"{VERSIONS}/1.0.0", _version(storage), GALLERY_API)
    got = rest(sandbox, "GET", f"{VERSIONS}/1.0.0", None, GALLERY_API)["properties"]
    assert got["storageProfile"]["source"] == {"communityGalleryImageId": COMMUNITY}
    assert got["storageProfile"]["osDiskImage"] == {"sizeInGB": 30, "hostCaching": "ReadOnly"}
    missing = {"source": {"communityGalleryImageId": COMMUNITY + "-nope"}}
    error = _refused(sandbox, f"{VERSIONS}/1.0.1", _version(missing), GALLERY_API)
    assert error["code"] == "InvalidParameter"


def test_restore_is_accepted_and_never_answered(sandbox, definition):
    """`restore` is a request (bring a soft-deleted version back): taken, never returned."""
    storage = {"osDiskImage": _vhd()}
    rest(sandbox, "PUT", f"{VERSIONS}/1.0.0", _version(storage, restore=True), GALLERY_API)
    got = rest(sandbox, "GET", f"{VERSIONS}/1.0.0", None, GALLERY_API)["properties"]
    assert "restore" not in got


def _image(os_disk: dict[str, Any], data: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    storage: dict[str, Any] = {"osDisk": {"osType": "Linux", "osState": "Generalized", **os_disk}}
    if data:
        storage["dataDisks"] = data
    return {"location": "westeurope", "properties": {"storageProfile": storage}}


DISKS = f"{COMPUTE}/disks"


@pytest.mark.parametrize(
    ("os_disk", "data"),
    [
        (
            {"managedDisk": {"id": f"{DISKS}/disk-render-os-2026-10"}},
            {"lun": 0, "managedDisk": {"id": f"{DISKS}/disk-render-data0-2026-10"}},
        ),
        ({"blobUri": OS_VHD}, {"lun": 0, "blobUri": DATA_VHD}),
    ],
    ids=["managed disks", "blobs"],
)
def test_a_managed_image_from_managed_disks_or_blobs_reports_their_sizes(sandbox, os_disk, data):
    """A managed image from managed disks or VHD blobs answers them with their sizes."""
    path = f"{COMPUTE}/images/from-disks"
    rest(sandbox, "PUT", path, _image(os_disk, [data]), IMAGES_API)
    storage = rest(sandbox, "GET", path, None, IMAGES_API)["properties"]["storageProfile"]
    assert {k: storage["osDisk"][k] for k in os_disk} == os_disk
    assert (storage["osDisk"]["diskSizeGB"], storage["dataDisks"][0]["diskSizeGB"]) == (64, 256)
    assert {k: storage["dataDisks"][0][k] for k in data} == data


def test_a_managed_image_from_a_missing_blob_is_refused(sandbox):
    """A blob that does not exist is refused as Compute refuses it (InvalidParameter)."""
    error = _refused(
        sandbox, f"{COMPUTE}/images/nope", _image({"blobUri": OS_VHD + "x"}), IMAGES_API
    )
    assert (error["code"], error["target"]) == ("InvalidParameter", "disks")
    assert error["message"] == f"The source blob {OS_VHD}x is not accessible."


def test_a_managed_image_of_a_vm_answers_the_vms_disk(sandbox):
    """An image captured from a VM names the VM and answers its OS disk (a managed disk)."""
    vm = f"{COMPUTE}/virtualMachines/vm-build-sim-01"
    body = {"location": "westeurope", "properties": {"sourceVirtualMachine": {"id": vm}}}
    path = f"{COMPUTE}/images/from-vm"
    rest(sandbox, "PUT", path, body, IMAGES_API)
    got = rest(sandbox, "GET", path, None, IMAGES_API)["properties"]
    assert got["sourceVirtualMachine"] == {"id": vm}
    os_disk = got["storageProfile"]["osDisk"]
    assert os_disk["managedDisk"] == {"id": f"{DISKS}/vm-build-sim-01-osdisk"}
    assert (os_disk["osType"], os_disk["diskSizeGB"]) == ("Linux", 64)
    # The same PUT again is no change (Azure's idempotent create).
    rest(sandbox, "PUT", path, body, IMAGES_API)


def test_seeded_managed_disks_are_readable(compute):
    """The seeded managed disks are listed and read like snapshots."""
    names = {d.name for d in compute.disks.list_by_resource_group(RG_IMAGES)}
    assert {"disk-render-os-2026-10", "disk-render-data0-2026-10"} <= names
    assert compute.disks.get(RG_IMAGES, "disk-render-data0-2026-10").disk_size_gb == 256


def test_a_missing_managed_disk_is_refused(sandbox):
    """A managed disk that does not exist is refused with 404 NotFound, as a snapshot is."""
    body = _image({"managedDisk": {"id": f"{DISKS}/nope"}})
    error = _refused(sandbox, f"{COMPUTE}/images/nope", body, IMAGES_API, status=404)
    assert error["code"] == "NotFound"
