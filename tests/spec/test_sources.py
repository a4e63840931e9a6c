"""Image sources a spec declares: every kind of a version's and a managed image's `source`
loads and resolves, exactly one kind is allowed (errors at the source, naming both), a
managed image's data disks may each be of any kind (but not beside a VM, and one lun
each), and R13's advice (RC213) covers every source that is not snapshots nor an image
already."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.spec import load_spec
from reconciler.spec.resolved import ManagedImageSource, VersionSource, VhdDisk

from .world import SUB, TODAY, rid, snap, world, write

ACCOUNT = (
    f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Storage/"
    "storageAccounts/stimagesweu"
)
VHD = "https://stimagesweu.blob.core.windows.net/vhds/{}.vhd"
COMMUNITY = "/CommunityGalleries/contoso-5678/Images/render"
VM = rid("virtualMachines", "vm-build")


def _with_version_source(source: dict[str, Any]) -> dict[str, Any]:
    def mutate(d: dict[str, Any]) -> None:
        d["galleries"][0]["images"][0]["versions"][0]["source"] = source

    return world(mutate)


def _with_image_source(source: dict[str, Any]) -> dict[str, Any]:
    def mutate(d: dict[str, Any]) -> None:
        d["managedImages"] = [{"name": "mi", "osType": "Linux", "source": source}]

    return world(mutate)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            {"communityGalleryImage": COMMUNITY},
            VersionSource(kind="communityGalleryImage", id=COMMUNITY),
        ),
        (
            {"communityGalleryImage": COMMUNITY + "/Versions/1.0.0"},
            VersionSource(
                kind="communityGalleryImage",
                id=COMMUNITY + "/Versions/1.0.0",
            ),
        ),
        (
            {
                "vhd": {
                    "osDisk": {"uri": VHD.format("os"), "storageAccountId": ACCOUNT},
                    "dataDisks": [
                        {"lun": 3, "uri": VHD.format("data"), "storageAccountId": ACCOUNT}
                    ],
                }
            },
            VersionSource(
                kind="vhd",
                vhd_os_disk=VhdDisk(VHD.format("os"), ACCOUNT),
                vhd_data_disks=(VhdDisk(VHD.format("data"), ACCOUNT, 3),),
            ),
        ),
    ],
    ids=["community image", "community image version", "vhd"],
)
def test_each_new_version_source_resolves(
    tmp_path: Path, source: dict[str, Any], expected: VersionSource
) -> None:
    """A community gallery image or VHDs load and resolve to the version's source."""
    result = load_spec([write(tmp_path, _with_version_source(source))], today=TODAY)
    assert result.spec is not None, [d.format() for d in result.diagnostics]
    (version,) = result.spec.versions.values()
    assert version.source == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            {
                "osDiskSnapshot": snap("os"),
                "dataDiskSnapshots": [{"lun": 1, "snapshot": snap("d")}],
            },
            ("osDiskSnapshot", snap("os"), ((1, snap("d")),)),
        ),
        (
            {
                "osDiskManagedDisk": rid("disks", "os"),
                "dataDiskManagedDisks": [{"lun": 2, "managedDisk": rid("disks", "d")}],
            },
            ("osDiskManagedDisk", rid("disks", "os"), ((2, rid("disks", "d")),)),
        ),
        (
            {
                "osDiskBlobUri": VHD.format("os"),
                "dataDiskBlobUris": [{"lun": 0, "blobUri": VHD.format("d")}],
            },
            ("osDiskBlobUri", VHD.format("os"), ((0, VHD.format("d")),)),
        ),
        ({"virtualMachine": VM}, ("virtualMachine", VM, ())),
        (
            {
                "osDiskSnapshot": snap("os"),
                "dataDiskBlobUris": [{"lun": 4, "blobUri": VHD.format("b")}],
                "dataDiskManagedDisks": [{"lun": 2, "managedDisk": rid("disks", "d")}],
            },
            (
                "osDiskSnapshot",
                snap("os"),
                ((2, rid("disks", "d")), (4, VHD.format("b"))),
            ),
        ),
    ],
    ids=["snapshots", "managed disks", "blobs", "vm", "mixed data disks"],
)
def test_each_managed_image_source_resolves(
    tmp_path: Path, source: dict[str, Any], expected: tuple[str, str, tuple[Any, ...]]
) -> None:
    """Snapshots (as before), managed disks, VHD blobs or a VM resolve to the image's source."""
    result = load_spec([write(tmp_path, _with_image_source(source))], today=TODAY)
    assert result.spec is not None, [d.format() for d in result.diagnostics]
    (image,) = result.spec.managed_images.values()
    kind, os_disk, data = expected
    assert image.source.kind == kind and image.source.os_disk == os_disk
    assert tuple((d.lun, d.ref) for d in image.source.data_disks) == data
    assert isinstance(image.source, ManagedImageSource)
    # Only snapshots are a base snapshot (RC209 groups images by it).
    assert image.os_disk_snapshot_id == (os_disk if kind == "osDiskSnapshot" else None)


def _formatted(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    result = load_spec([write(tmp_path, data)], today=TODAY)
    return [d.format().replace(str(tmp_path) + "/", "") for d in result.diagnostics]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            _with_version_source(
                {
                    "communityGalleryImage": COMMUNITY,
                    "vhd": {"osDisk": {"uri": VHD.format("os"), "storageAccountId": ACCOUNT}},
                }
            ),
            "spec.yaml:20:9: RC011 galleries[0].images[0].versions[0].source: `source` needs "
            "exactly one of managedImage, snapshots, galleryImageVersion, virtualMachine, "
            "communityGalleryImage, vhd; got communityGalleryImage, vhd [version:g/lin/1.0.0]",
        ),
        (
            _with_version_source({"vhd": {"osDisk": {"uri": VHD.format("os")}}}),
            "spec.yaml:22:13: RC005 missing required key 'storageAccountId' in "
            "galleries[0].images[0].versions[0].source.vhd.osDisk [version:g/lin/1.0.0]\n"
            "  hint: add `storageAccountId:` (The storage account holding the blob.)",
        ),
        (
            _with_version_source(
                {"vhd": {"osDisk": {"uri": "ftp://x/os.vhd", "storageAccountId": ACCOUNT}}}
            ),
            "spec.yaml:22:18: RC011 invalid value string 'ftp://x/os.vhd' for "
            "galleries[0].images[0].versions[0].source.vhd.osDisk.uri: expected a blob URI: "
            "https://{account}.blob.core.windows.net/{container}/{blob}.vhd "
            "[version:g/lin/1.0.0]",
        ),
        (
            _with_version_source({"communityGalleryImage": "/SharedGalleries/x/Images/y"}),
            "spec.yaml:20:32: RC011 invalid value string '/SharedGalleries/x/Images/y' for "
            "galleries[0].images[0].versions[0].source.communityGalleryImage: expected a "
            "community gallery image id: /CommunityGalleries/{publicName}/Images/{def}, "
            "optionally /Versions/{ver} [version:g/lin/1.0.0]",
        ),
        (
            _with_image_source({"virtualMachine": VM, "osDiskBlobUri": VHD.format("os")}),
            "spec.yaml:41:5: RC011 managedImages[0].source: `source` needs exactly one of "
            "osDiskSnapshot, osDiskManagedDisk, osDiskBlobUri, virtualMachine; got "
            "osDiskBlobUri, virtualMachine [managedImage:mi]",
        ),
        (
            _with_image_source({}),
            "spec.yaml:40:11: RC011 managedImages[0].source: `source` needs exactly one of "
            "osDiskSnapshot, osDiskManagedDisk, osDiskBlobUri, virtualMachine; got none "
            "[managedImage:mi]",
        ),
        (
            _with_image_source(
                {
                    "osDiskManagedDisk": rid("disks", "os"),
                    "dataDiskSnapshots": [{"lun": 0, "snapshot": snap("d")}],
                    "dataDiskBlobUris": [{"lun": 0, "blobUri": VHD.format("d")}],
                }
            ),
            "spec.yaml:41:5: RC011 managedImages[0].source: lun 0 is in both "
            "`dataDiskSnapshots` and `dataDiskBlobUris`; each data disk needs its own lun "
            "[managedImage:mi]",
        ),
        (
            _with_image_source(
                {"virtualMachine": VM, "dataDiskBlobUris": [{"lun": 0, "blobUri": VHD.format("d")}]}
            ),
            "spec.yaml:41:5: RC011 managedImages[0].source: `dataDiskBlobUris` does not go with "
            "`virtualMachine`: a virtual machine brings its own data disks [managedImage:mi]",
        ),
        (
            _with_image_source(
                {
                    "osDiskBlobUri": VHD.format("os"),
                    "dataDiskBlobUris": [
                        {"lun": 0, "blobUri": VHD.format("a")},
                        {"lun": 0, "blobUri": VHD.format("b")},
                    ],
                }
            ),
            "spec.yaml:43:5: RC011 managedImages[0].source.dataDiskBlobUris: lun 0 is used "
            "twice; each data disk needs its own lun [managedImage:mi]",
        ),
    ],
    ids=[
        "two version kinds",
        "vhd without its account",
        "not a blob uri",
        "not a community image",
        "two image kinds",
        "no image kind",
        "a lun in two lists",
        "data disks beside a vm",
        "a lun twice",
    ],
)
def test_a_source_problem_is_reported_at_its_position(
    tmp_path: Path, data: dict[str, Any], expected: str
) -> None:
    """Each source problem is the only diagnostic, at the source, saying what to write."""
    assert _formatted(tmp_path, data) == [expected]


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (
            _with_version_source(
                {"vhd": {"osDisk": {"uri": VHD.format("os"), "storageAccountId": ACCOUNT}}}
            ),
            "spec.yaml:21:11",
            "version:g/lin/1.0.0 is built from uploaded VHDs",
        ),
        (
            _with_image_source({"virtualMachine": VM}),
            "spec.yaml:41:21",
            "managedImage:mi is captured from a virtual machine",
        ),
        (
            _with_image_source({"osDiskManagedDisk": rid("disks", "os")}),
            "spec.yaml:41:24",
            "managedImage:mi is built from managed disks",
        ),
        (
            _with_image_source({"osDiskBlobUri": VHD.format("os")}),
            "spec.yaml:41:20",
            "managedImage:mi is built from uploaded VHDs",
        ),
    ],
    ids=["version vhd", "image vm", "image managed disks", "image blobs"],
)
def test_r13_advises_snapshots_over_other_disk_sources(
    tmp_path: Path, data: dict[str, Any], where: str, message: str
) -> None:
    """A version or managed image built from a VM, managed disks or VHDs gets RC213 at its
    source; an image already (community gallery image) does not."""
    prefer = (
        "{snapshots: {osDisk: ...}}" if message.startswith("version:") else "{osDiskSnapshot: ...}"
    )
    assert _formatted(tmp_path, data) == [
        f"{where}: RC213 warning: {message}\n  hint: images built from snapshots of the VM's "
        f"disks scale most reliably; prefer `source: {prefer}`"
    ]
    assert _formatted(tmp_path, _with_version_source({"communityGalleryImage": COMMUNITY})) == []


def test_region_encryption_names_a_vhd_data_disk_lun(tmp_path: Path) -> None:
    """A region may encrypt a VHD data disk the source has (by lun); another lun is RC232."""

    def data(lun: int) -> dict[str, Any]:
        spec = _with_version_source(
            {
                "vhd": {
                    "osDisk": {"uri": VHD.format("os"), "storageAccountId": ACCOUNT},
                    "dataDisks": [{"lun": 1, "uri": VHD.format("d"), "storageAccountId": ACCOUNT}],
                }
            }
        )
        region = spec["galleries"][0]["images"][0]["versions"][0]["targetRegions"][0]
        des = rid("diskEncryptionSets", "des")
        region["encryption"] = {"dataDiskImages": [{"lun": lun, "diskEncryptionSetId": des}]}
        return spec

    assert [o for o in _formatted(tmp_path, data(1)) if "RC232" in o] == []
    (problem,) = [o for o in _formatted(tmp_path, data(2)) if "RC232" in o]
    assert "names data disk lun 2, which the version's source does not have" in problem
    assert "source.vhd.dataDisks (luns: 1)" in problem
