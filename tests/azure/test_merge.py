"""Writes merged into live bodies: each touched group keeps what the spec does not declare."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.azure import mapping, merge
from reconciler.azure.merge import Key
from reconciler.state.model import Kind

VMC = ("properties", "deploymentConfiguration", "virtualMachineConfiguration")
IMAGE = "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/images/new"


@pytest.mark.parametrize(
    ("kind", "path", "where"),
    [
        (Kind.POOL, "vmSize", ("properties", "vmSize")),
        (Kind.POOL, "image.id", (*VMC, "imageReference", "id")),
        (Kind.POOL, "scale.fixed.dedicated", ("properties", "scaleSettings")),
        (
            Kind.POOL,
            "startTask.environment.A",
            ("properties", "startTask", "environmentSettings", Key("A")),
        ),
        (
            Kind.POOL,
            "startTask.userIdentity.scope",
            ("properties", "startTask", "userIdentity", "autoUser", "scope"),
        ),
        (Kind.POOL, "metadata.reconcile.owner", ("properties", "metadata", Key("reconcile.owner"))),
        (
            Kind.POOL,
            "network.inboundNatPools[ssh].backendPort",
            (
                "properties",
                "networkConfiguration",
                "endpointConfiguration",
                "inboundNatPools",
                Key("ssh"),
                "backendPort",
            ),
        ),
        (Kind.POOL, "tags.team", ("tags", "team")),
        (
            Kind.VERSION,
            "targetRegions[eastus].replicas",
            (
                "properties",
                "publishingProfile",
                "targetRegions",
                Key("eastus"),
                "regionalReplicaCount",
            ),
        ),
        (Kind.GALLERY, "description", ("properties", "description")),
    ],
)
def test_every_flat_path_has_a_rest_location(kind: Kind, path: str, where: tuple[Any, ...]) -> None:
    """Each path of the vocabulary names where it lives in the REST body."""
    assert merge.location(kind, path) == where


def _live_pool() -> dict[str, Any]:
    return {
        "etag": 'W/"1"',
        "properties": {
            "vmSize": "STANDARD_D4S_V5",
            "deploymentConfiguration": {
                "virtualMachineConfiguration": {
                    "imageReference": {"publisher": "canonical", "offer": "ubuntu", "sku": "22"},
                    "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                    "containerConfiguration": {"type": "DockerCompatible"},
                    "osDisk": {"caching": "ReadOnly"},
                }
            },
            "startTask": {
                "commandLine": "old",
                "resourceFiles": [{"httpUrl": "https://x/setup.sh", "filePath": "setup.sh"}],
                "environmentSettings": [
                    {"name": "KEEP", "value": "1"},
                    {"name": "GONE", "value": "2"},
                ],
                "userIdentity": {"userName": "render"},
            },
            "metadata": [
                {"name": "by-hand", "value": "kept"},
                {"name": "reconcile.applied", "value": "1.old"},
                {"name": "reconcile.applied-2", "value": "stale"},
            ],
            "allocationState": "Steady",
        },
    }


def test_an_image_change_keeps_the_rest_of_the_deployment_configuration() -> None:
    """The image goes in whole (an id replaces publisher/offer/sku); disks and containers stay."""
    body = mapping.pool_patch_json({"image.id": IMAGE}, ["image.id"], _live_pool())
    vmc = body["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert vmc["imageReference"] == {"id": IMAGE}
    assert vmc["containerConfiguration"] == {"type": "DockerCompatible"}
    assert vmc["osDisk"] == {"caching": "ReadOnly"}
    assert vmc["nodeAgentSkuId"] == "batch.node.ubuntu 22.04"
    assert set(body["properties"]) == {"deploymentConfiguration"}


def test_a_move_to_a_marketplace_image_sends_its_names_without_the_id() -> None:
    """A Marketplace image replaces an id whole (the id the plan removes goes too); the
    rest of the deployment configuration stays."""
    live = _live_pool()
    vmc_live = live["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    vmc_live["imageReference"] = {"id": IMAGE}
    market = {
        "image.publisher": "Canonical",
        "image.offer": "ubuntu-24_04-lts",
        "image.sku": "server",
        "image.version": "latest",
        "nodeAgentSkuId": "batch.node.ubuntu 24.04",
    }
    paths = ["image.id", "image.offer", "image.publisher", "image.sku", "nodeAgentSkuId"]
    body = mapping.pool_patch_json(market, paths, live)
    vmc = body["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert vmc["imageReference"] == {
        "publisher": "Canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": "latest",
    }
    assert vmc["nodeAgentSkuId"] == "batch.node.ubuntu 24.04"
    assert vmc["containerConfiguration"] == {"type": "DockerCompatible"}
    assert merge.location(Kind.POOL, "image.sku") == (
        "properties",
        "deploymentConfiguration",
        "virtualMachineConfiguration",
        "imageReference",
        "sku",
    )


def test_a_start_task_change_keeps_resource_files_and_applies_removals() -> None:
    """Declared paths change, removed ones go, unmodelled members stay; an auto user drops the named one."""
    props = {
        "startTask.commandLine": "new",
        "startTask.environment.KEEP": "1",
        "startTask.userIdentity.elevationLevel": "Admin",
    }
    paths = [
        "startTask.commandLine",
        "startTask.environment.GONE",
        "startTask.userIdentity.elevationLevel",
    ]
    task = mapping.pool_patch_json(props, paths, _live_pool())["properties"]["startTask"]
    assert task["commandLine"] == "new"
    assert task["resourceFiles"] == [{"httpUrl": "https://x/setup.sh", "filePath": "setup.sh"}]
    assert task["environmentSettings"] == [{"name": "KEEP", "value": "1"}]
    assert task["userIdentity"] == {"autoUser": {"elevationLevel": "Admin"}}


def test_a_start_task_without_a_command_line_is_removed() -> None:
    """When the plan removes the command line, the PATCH sends `startTask: {}`."""
    body = mapping.pool_patch_json({}, ["startTask.commandLine"], _live_pool())
    assert body == {"properties": {"startTask": {}}}


def test_metadata_keeps_undeclared_entries_and_drops_stale_record_parts() -> None:
    """Metadata is merged by name; a shorter applied record takes its old continuation with it."""
    props = {"metadata.team": "vfx", "metadata.reconcile.applied": "1.new"}
    body = mapping.pool_patch_json(
        props, ["metadata.team", "metadata.reconcile.applied"], _live_pool()
    )
    assert body["properties"]["metadata"] == [
        {"name": "by-hand", "value": "kept"},
        {"name": "reconcile.applied", "value": "1.new"},
        {"name": "team", "value": "vfx"},
    ]


def test_a_version_update_keeps_region_settings_the_spec_does_not_model() -> None:
    """Regions merge by canonical name (Azure answers display names); dropped ones go, read-only members too."""
    live = {
        "location": "westeurope",
        "tags": {"by-hand": "kept"},
        "properties": {
            "storageProfile": {"source": {"id": "/x/images/src"}},
            "publishingProfile": {
                "publishedDate": "2026-01-01T00:00:00+00:00",
                "targetRegions": [
                    {
                        "name": "West Europe",
                        "regionalReplicaCount": 1,
                        "encryption": {"osDiskImage": {"diskEncryptionSetId": "/des/weu"}},
                    },
                    {"name": "East US", "regionalReplicaCount": 1},
                ],
            },
        },
    }
    props = {
        "location": "westeurope",
        "source.managedImage": "/x/images/src",
        "targetRegions[westeurope].replicas": 3,
        "tags.managed-by": "reconcile",
    }
    body = mapping.update_json(
        Kind.VERSION,
        live,
        props,
        ["targetRegions[westeurope].replicas", "targetRegions[eastus].replicas"],
        location="westeurope",
        allow_region_removal=True,
    )
    profile = body["properties"]["publishingProfile"]
    assert "publishedDate" not in profile
    (region,) = profile["targetRegions"]
    assert region["regionalReplicaCount"] == 3
    assert region["encryption"] == {"osDiskImage": {"diskEncryptionSetId": "/des/weu"}}
    assert body["properties"]["safetyProfile"] == {"allowDeletionOfReplicatedLocations": True}
    assert body["tags"] == {"by-hand": "kept", "managed-by": "reconcile"}


def test_a_definition_update_sends_its_required_identity_unchanged() -> None:
    """GalleryImageUpdate requires osType, osState and identifier: they go back as they are."""
    live = {
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "identifier": {"publisher": "p", "offer": "o", "sku": "s"},
            "features": [{"name": "SecurityType", "value": "TrustedLaunch"}],
            "description": "old",
        }
    }
    body = mapping.update_json(Kind.IMAGE, live, {"description": "new"}, ["description"])
    assert body["properties"] == {
        "description": "new",
        "osType": "Linux",
        "osState": "Generalized",
        "identifier": {"publisher": "p", "offer": "o", "sku": "s"},
    }


def test_a_replacement_keeps_every_writable_member_and_names_missing_secrets() -> None:
    """Read-only members and removed paths are left out; required secrets Azure withheld are named."""
    old = _live_pool()
    old["identity"] = {
        "type": "UserAssigned",
        "userAssignedIdentities": {"/id/ua": {"principalId": "p", "clientId": "c"}},
    }
    old["properties"]["userAccounts"] = [{"name": "render"}]  # password withheld
    old["properties"]["mountConfiguration"] = [
        {"azureBlobFileSystemConfiguration": {"accountName": "a", "containerName": "c"}},
        {"azureBlobFileSystemConfiguration": {"identityReference": {"resourceId": "/id/ua"}}},
    ]
    props = {"startTask.commandLine": "old", "startTask.environment.KEEP": "1"}
    base, missing = mapping.replacement_json(Kind.POOL, old, props, ["startTask.environment.GONE"])
    assert "allocationState" not in base["properties"]
    assert "etag" not in base
    assert base["identity"]["userAssignedIdentities"] == {"/id/ua": {}}
    assert [e["name"] for e in base["properties"]["startTask"]["environmentSettings"]] == ["KEEP"]
    assert missing == (
        "properties.userAccounts[0].password",
        "properties.mountConfiguration[0].azureBlobFileSystemConfiguration.accountKey or sasKey",
    )


def test_a_create_over_a_base_lets_the_spec_win_and_keeps_the_rest() -> None:
    """Declared values replace the base's; scale settings are the spec's alone."""
    base = {
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/ua": {}}},
        "properties": {
            "taskSlotsPerNode": 1,
            "scaleSettings": {"autoScale": {"formula": "$TargetDedicatedNodes=1"}},
            "taskSchedulingPolicy": {"nodeFillType": "Pack"},
        },
    }
    props = {"taskSlotsPerNode": 4, "scale.fixed.dedicated": 2, "vmSize": "standard_d4s_v5"}
    body = mapping.create_json(Kind.POOL, props, base=base)
    assert body["identity"] == base["identity"]
    assert body["properties"]["taskSlotsPerNode"] == 4
    assert body["properties"]["scaleSettings"] == {"fixedScale": {"targetDedicatedNodes": 2}}
    assert body["properties"]["taskSchedulingPolicy"] == {"nodeFillType": "Pack"}
