"""Export of the whole Azure surface: a production pool made by hand adopts and plans empty.

A pool is built outside the tool through the Azure SDK with what a platform team runs in
production — a user-assigned identity, a blobfuse mount by identity, an NFS mount, an
Azure Files mount with its key, container configuration pulling from a registry by
identity, OS disk settings, Trusted Launch, a task scheduling policy, a user account with
a password, a start task with resource files, accelerated networking — next to an image
definition with features and a version with a safety profile. `reconcile export` writes
all of it under Azure's names, with ``${env:NAME}`` references for the secrets Azure
does not return; the files validate, `plan --adopt` holds only adopt actions,
`apply --adopt` carries them out and `plan --detailed-exitcode` exits 0. Because the
secrets are declared, a later change to a group holding them is applied, not refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.plan import Action
from tests.e2e.test_apply_e2e import BEFORE_R7, SUB, World
from tests.e2e.test_apply_e2e import _clean_env as _clean_env  # autouse: no env sandbox
from tests.e2e.test_export_e2e import reconcile
from tests.e2e.test_export_e2e import world_without_legacy as world_without_legacy  # `world`

RG = f"/subscriptions/{SUB}/resourceGroups"
GALLERY = "surfacegallery"
SNAPSHOT = f"{RG}/rg-images/providers/Microsoft.Compute/snapshots/snap-render-os-2026-11"
VERSION_ID = (
    f"{RG}/rg-images/providers/Microsoft.Compute/galleries/{GALLERY}/images/render/versions/1.0.0"
)
IDENTITY = f"{RG}/rg-batch/providers/Microsoft.ManagedIdentity/userAssignedIdentities/render-pool"
SUBNET = f"{RG}/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-batch/subnets/render"
SCOPE = (
    "--subscription",
    SUB,
    "--resource-group",
    "rg-images",
    "--gallery",
    GALLERY,
    "--account",
    "rg-batch/batchprodweu",
)
# The variables export names for the pool's secrets (printed by export, set before apply).
SECRETS = {
    "FARM_USER_RENDER_PASSWORD": "e2e-user-password",
    "FARM_MOUNT_SCENES_ACCOUNT_KEY": "e2e-files-key",
}


def _pool() -> dict[str, Any]:
    """The production pool, as an ARM body sent through the Batch SDK."""
    by_identity = {"resourceId": IDENTITY}
    return {
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        "properties": {
            "vmSize": "Standard_D4s_v5",
            "deploymentConfiguration": {
                "virtualMachineConfiguration": {
                    "imageReference": {"id": VERSION_ID},
                    "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                    "containerConfiguration": {
                        "type": "DockerCompatible",
                        "containerImageNames": ["contoso.azurecr.io/render/agent:7"],
                        "containerRegistries": [
                            {
                                "registryServer": "contoso.azurecr.io",
                                "identityReference": by_identity,
                            }
                        ],
                    },
                    "osDisk": {
                        "ephemeralOSDiskSettings": {"placement": "CacheDisk"},
                        "caching": "ReadOnly",
                        "diskSizeGB": 128,
                        "managedDisk": {"storageAccountType": "Premium_LRS"},
                    },
                    "securityProfile": {
                        "securityType": "trustedLaunch",
                        "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
                    },
                }
            },
            "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 0}},
            "taskSchedulingPolicy": {"nodeFillType": "Pack"},
            "userAccounts": [
                {
                    "name": "render",
                    "password": SECRETS["FARM_USER_RENDER_PASSWORD"],
                    "elevationLevel": "NonAdmin",
                    "linuxUserConfiguration": {"uid": 1001, "gid": 1001},
                }
            ],
            "startTask": {
                "commandLine": "/bin/bash -c 'setup.sh'",
                "resourceFiles": [
                    {
                        "httpUrl": "https://contoso.blob.core.windows.net/tools/setup.sh",
                        "filePath": "setup.sh",
                        "identityReference": by_identity,
                    }
                ],
            },
            "mountConfiguration": [
                {
                    "azureBlobFileSystemConfiguration": {
                        "accountName": "contosoassets",
                        "containerName": "textures",
                        "relativeMountPath": "textures",
                        "identityReference": by_identity,
                    }
                },
                {
                    "nfsMountConfiguration": {
                        "source": "contosocache.file.core.windows.net:/contosocache/cache",
                        "relativeMountPath": "cache",
                    }
                },
                {
                    "azureFileShareConfiguration": {
                        "accountName": "contosofiles",
                        "azureFileUrl": "https://contosofiles.file.core.windows.net/scenes",
                        "accountKey": SECRETS["FARM_MOUNT_SCENES_ACCOUNT_KEY"],
                        "relativeMountPath": "scenes",
                    }
                },
            ],
            "networkConfiguration": {"subnetId": SUBNET, "enableAcceleratedNetworking": True},
        },
    }


def build_by_hand(world: World) -> None:
    """Gallery, definition (features), version (safety profile) and the pool, via the SDK."""
    compute = world.clients.compute(SUB)
    compute.galleries.begin_create_or_update(
        "rg-images", GALLERY, {"location": "westeurope", "properties": {}}
    ).result()
    compute.gallery_images.begin_create_or_update(
        "rg-images",
        GALLERY,
        "render",
        {
            "location": "westeurope",
            "properties": {
                "osType": "Linux",
                "osState": "Generalized",
                "hyperVGeneration": "V2",
                "identifier": {"publisher": "contoso", "offer": "render", "sku": "ubuntu"},
                "features": [{"name": "SecurityType", "value": "TrustedLaunchSupported"}],
            },
        },
    ).result()
    compute.gallery_image_versions.begin_create_or_update(
        "rg-images",
        GALLERY,
        "render",
        "1.0.0",
        {
            "location": "westeurope",
            "properties": {
                "publishingProfile": {"targetRegions": [{"name": "westeurope"}]},
                "storageProfile": {"osDiskImage": {"source": {"id": SNAPSHOT}}},
                "safetyProfile": {"allowDeletionOfReplicatedLocations": True},
            },
        },
    ).result()
    world.clients.batch(SUB).pool.create("rg-batch", "batchprodweu", "farm", _pool())


def _exported_pool(out: Path) -> dict[str, Any]:
    pools = yaml.safe_load((out / "pools.yaml").read_text())["batchAccounts"][0]["pools"]
    return next(p for p in pools if p["name"] == "farm")


def test_a_production_pool_made_by_hand_exports_adopts_and_plans_empty(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """export → validate → plan --adopt (adopts only) → apply --adopt → plan exits 0."""
    build_by_hand(world)
    out = tmp_path / "farm"
    code, text = reconcile("export", *SCOPE, "--out", str(out), sandbox=world.path)
    assert code == 0, text
    for name in SECRETS:
        assert name in text  # the variables to set are printed
    assert all(value not in (out / "pools.yaml").read_text() for value in SECRETS.values())

    pool = _exported_pool(out)
    assert pool["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {IDENTITY: {}},
    }
    props = pool["properties"]
    vmc = props["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert vmc["containerConfiguration"]["containerRegistries"][0]["identityReference"] == {
        "resourceId": IDENTITY
    }
    assert vmc["osDisk"]["ephemeralOSDiskSettings"] == {"placement": "CacheDisk"}
    assert vmc["securityProfile"]["securityType"] == "trustedLaunch"
    assert [next(iter(m)) for m in props["mountConfiguration"]] == [
        "azureBlobFileSystemConfiguration",
        "nfsMountConfiguration",
        "azureFileShareConfiguration",
    ]
    files = props["mountConfiguration"][2]["azureFileShareConfiguration"]
    assert files["accountKey"] == "${env:FARM_MOUNT_SCENES_ACCOUNT_KEY}"
    assert props["userAccounts"][0]["password"] == "${env:FARM_USER_RENDER_PASSWORD}"
    assert props["startTask"]["resourceFiles"][0]["filePath"] == "setup.sh"
    assert props["taskSchedulingPolicy"] == {"nodeFillType": "Pack"}
    assert props["networkConfiguration"] == {"enableAcceleratedNetworking": True}
    assert pool["network"]["subnetId"] == SUBNET
    images = yaml.safe_load((out / "images.yaml").read_text())
    definition = images["galleries"][0]["images"][0]
    assert definition["properties"]["features"] == [
        {"name": "SecurityType", "value": "TrustedLaunchSupported"}
    ]
    version = definition["versions"][0]
    assert version["properties"] == {"safetyProfile": {"allowDeletionOfReplicatedLocations": True}}
    assert "RC606" not in text  # everything was expressible

    result = CliRunner().invoke(cli, ["validate", str(out)])
    assert result.exit_code == 0 and "valid: 0 error(s)" in result.output, result.output

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    plan = world.plan(out, now=BEFORE_R7)
    assert not plan.errors, [d.message for d in plan.errors]
    actions = {(c.address, c.action) for c in plan.actionable}
    assert actions == {
        (f"gallery:{GALLERY}", Action.ADOPT),
        (f"image:{GALLERY}/render", Action.ADOPT),
        (f"version:{GALLERY}/render/1.0.0", Action.ADOPT),
        ("pool:batchprodweu/farm", Action.ADOPT),
    }

    code, text = reconcile("apply", "--adopt", str(out), "--auto-approve", sandbox=world.path)
    assert code == 0, text
    code, text = reconcile("plan", str(out), "--detailed-exitcode", sandbox=world.path)
    assert code == 0, text

    after = world.clients.batch(SUB).pool.get("rg-batch", "batchprodweu", "farm").as_dict()
    assert len(after["properties"]["mountConfiguration"]) == 3  # nothing undeclared lost

    # The secrets are declared: a change to a group holding one is applied, not refused.
    text = (
        (out / "pools.yaml")
        .read_text()
        .replace("elevationLevel: NonAdmin", "elevationLevel: Admin")
    )
    (out / "pools.yaml").write_text(text)
    code, text = reconcile(
        "apply", str(out), "--auto-approve", "--allow-disruptive", sandbox=world.path
    )
    assert code == 0, text
    after = world.clients.batch(SUB).pool.get("rg-batch", "batchprodweu", "farm").as_dict()
    assert after["properties"]["userAccounts"][0]["elevationLevel"] == "Admin"
    code, text = reconcile("plan", str(out), "--detailed-exitcode", sandbox=world.path)
    assert code == 0, text
