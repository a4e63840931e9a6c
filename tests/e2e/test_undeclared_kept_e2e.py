"""Nothing undeclared is lost: a rich pool made outside the tool survives the tool's writes.

A pool is created through the Azure SDK with what a production platform team uses (a
user-assigned identity, Azure Files and blobfuse mounts, container configuration, OS and
data disks, Trusted Launch, zonal placement, a task scheduling policy, user accounts, a
start task with resource files and container settings, accelerated networking) and the
tool's ownership marks. The spec declares only its name, vmSize, image, nodeAgentSkuId and
scale. Three changes are then planned and applied through the real SDK clients against the
sandbox — an image rollout (at zero nodes), a start-task change (a PATCH on a pool with
nodes allowed) and a taskSlotsPerNode change (today a replacement) — and after each the
whole pool body Azure returns is compared with the body before: only what was changed
differs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import ExecutorSettings, RetryPolicy, apply_plan
from reconciler.azure import AzureOperations, Target, read_live_state
from reconciler.plan import Action, make_plan
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig
from reconciler.spec import load_spec
from reconciler.state.scope import scope_for
from reconciler.wiring import azure_clients
from tests.support.worlds import seeded_world

SUB = "00000000-0000-0000-0000-000000000001"
RG = f"/subscriptions/{SUB}/resourceGroups"
SNAPSHOTS = f"{RG}/rg-images/providers/Microsoft.Compute/snapshots"
VERSIONS = (
    f"{RG}/rg-images/providers/Microsoft.Compute/galleries/keepgallery/images/render/versions"
)
IDENTITY = f"{RG}/rg-batch/providers/Microsoft.ManagedIdentity/userAssignedIdentities/render-pool"
SUBNET = f"{RG}/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-batch/subnets/render"
FAST = ExecutorSettings(poll_interval=0.02, retry=RetryPolicy(initial=0.05, maximum=1.0))
OWNER = "render-team"

SPEC = """\
apiVersion: reconcile/v1
settings: {{owner: {owner}}}
defaults:
  subscription: {sub}
  resourceGroup: rg-images
  location: westeurope
galleries:
  - name: keepgallery
    images:
      - name: render
        osType: Linux
        osState: Generalized
        hyperVGeneration: V2
        identifier: {{publisher: contoso, offer: render, sku: ubuntu-22-04}}
        versions:
          - name: 1.0.0
            source: {{snapshots: {{osDisk: {snapshots}/snap-render-os-2026-10}}}}
          - name: 1.1.0
            source: {{snapshots: {{osDisk: {snapshots}/snap-render-os-2026-11}}}}
batchAccounts:
  - name: batchprodweu
    resourceGroup: rg-batch
    pools:
{pools}
"""

POOL = """\
      - name: keep
        vmSize: Standard_D4s_v5
        image: {{gallery: keepgallery, definition: render, version: {version}}}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        scale:
          fixed: {{dedicated: 2}}
"""


def _spec_text(*, version: str | None, extra: str = "") -> str:
    pools = POOL.format(version=version) + extra if version else "      []"
    if not version:
        text = SPEC.format(owner=OWNER, sub=SUB, snapshots=SNAPSHOTS, pools="")
        return text.replace("    pools:\n\n", "    pools: []\n")
    return SPEC.format(owner=OWNER, sub=SUB, snapshots=SNAPSHOTS, pools=pools)


def _rich_pool(image_id: str) -> dict[str, Any]:
    """A production pool as a platform team builds it, outside the tool."""
    by_identity = {"resourceId": IDENTITY}
    registry = {"registryServer": "contoso.azurecr.io", "identityReference": by_identity}
    return {
        "tags": {"managed-by": "reconcile", "reconcile-owner": OWNER, "env": "production"},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}},
        "properties": {
            "vmSize": "STANDARD_D4S_V5",
            "displayName": "Render farm",
            "deploymentConfiguration": {
                "virtualMachineConfiguration": {
                    "imageReference": {"id": image_id},
                    "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                    "containerConfiguration": {
                        "type": "DockerCompatible",
                        "containerImageNames": ["contoso.azurecr.io/render/agent:7"],
                        "containerRegistries": [registry],
                    },
                    "osDisk": {
                        "ephemeralOSDiskSettings": {"placement": "CacheDisk"},
                        "caching": "ReadOnly",
                        "diskSizeGB": 128,
                        "managedDisk": {"storageAccountType": "Premium_LRS"},
                    },
                    "dataDisks": [
                        {
                            "lun": 0,
                            "diskSizeGB": 512,
                            "caching": "ReadWrite",
                            "storageAccountType": "Premium_LRS",
                        }
                    ],
                    "securityProfile": {
                        "securityType": "trustedLaunch",
                        "encryptionAtHost": True,
                        "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
                    },
                    "nodePlacementConfiguration": {"policy": "Zonal"},
                }
            },
            "scaleSettings": {
                "fixedScale": {
                    "targetDedicatedNodes": 2,
                    "targetLowPriorityNodes": 0,
                    "resizeTimeout": "PT15M",
                }
            },
            "taskSchedulingPolicy": {"nodeFillType": "Pack"},
            "userAccounts": [
                {
                    "name": "render",
                    "password": "e2e-not-a-real-password",
                    "elevationLevel": "NonAdmin",
                    "linuxUserConfiguration": {"uid": 1001, "gid": 1001},
                }
            ],
            "startTask": {
                "commandLine": "/bin/bash -c 'setup.sh'",
                "waitForSuccess": True,
                "resourceFiles": [
                    {
                        "httpUrl": "https://contoso.blob.core.windows.net/tools/setup.sh",
                        "filePath": "setup.sh",
                        "identityReference": by_identity,
                    }
                ],
                "containerSettings": {
                    "imageName": "contoso.azurecr.io/render/setup:3",
                    "workingDirectory": "TaskWorkingDirectory",
                    "registry": registry,
                },
            },
            "mountConfiguration": [
                {
                    "azureFileShareConfiguration": {
                        "accountName": "contosofiles",
                        "azureFileUrl": "https://contosofiles.file.core.windows.net/scenes",
                        "accountKey": "e2e-not-a-real-key",
                        "relativeMountPath": "scenes",
                        "mountOptions": "-o vers=3.0,dir_mode=0777",
                    }
                },
                {
                    "azureBlobFileSystemConfiguration": {
                        "accountName": "contosoassets",
                        "containerName": "textures",
                        "relativeMountPath": "textures",
                        "identityReference": by_identity,
                    }
                },
            ],
            "networkConfiguration": {
                "subnetId": SUBNET,
                "enableAcceleratedNetworking": True,
                "publicIPAddressConfiguration": {"provision": "NoPublicIPAddresses"},
            },
            "metadata": [
                {"name": "reconcile.managed-by", "value": "reconcile"},
                {"name": "reconcile.owner", "value": OWNER},
                {"name": "cost-centre", "value": "vfx-4711"},
            ],
        },
    }


# What Azure reports about the pool's life rather than its configuration.
_STATUS = {
    "lastModified",
    "creationTime",
    "provisioningState",
    "provisioningStateTransitionTime",
    "allocationState",
    "allocationStateTransitionTime",
    "currentDedicatedNodes",
    "currentLowPriorityNodes",
    "resizeOperationStatus",
    "autoScaleRun",
    "currentNodeCommunicationMode",
}


class World:
    """A sandbox world, real SDK clients on it, and plan/apply of a spec written per step."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        path = tmp_path / "world.sqlite"
        config = SandboxConfig(speed=20000.0)
        seeded_world(path, config)
        self.target = Target.for_sandbox(path, config=config)
        self.clients = azure_clients(self.target)
        self.ops = AzureOperations(self.clients)
        self.steps = 0

    def apply(self, text: str) -> Any:
        """Write `text` as a spec, plan it on live state, apply it; return the plan."""
        self.steps += 1
        folder = self.tmp / f"spec-{self.steps}"
        folder.mkdir()
        (folder / "spec.yaml").write_text(text)
        loaded = load_spec([str(folder)])
        assert loaded.spec is not None, [d.format() for d in loaded.diagnostics]
        live = read_live_state(self.clients, scope_for(loaded.spec))
        plan = make_plan(loaded.spec, live, target=self.target.describe())
        assert not plan.errors, [d.format() for d in plan.errors]
        result = apply_plan(plan, self.ops, allow_disruptive=True, settings=FAST)
        assert result.ok, [(o.change_id, o.error) for o in result.failed]
        return plan

    def pools(self) -> Any:
        return self.clients.batch(SUB).pool

    def body(self) -> dict[str, Any]:
        """The pool as Azure returns it, without status (allocation, times, ETag)."""
        model = self.pools().get("rg-batch", "batchprodweu", "keep")
        doc = json.loads(json.dumps(model.as_dict() if hasattr(model, "as_dict") else model))
        doc.pop("etag", None)
        for name in _STATUS:
            doc["properties"].pop(name, None)
        return doc

    def close(self) -> None:
        self.clients.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    monkeypatch.delenv("RECONCILE_SANDBOX", raising=False)
    made = World(tmp_path)
    yield made
    made.close()


def _without_record(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` without the applied record (metadata apply writes with every change)."""
    out = copy.deepcopy(doc)
    out["properties"]["metadata"] = [
        m
        for m in out["properties"].get("metadata", [])
        if not m["name"].startswith("reconcile.applied")
    ]
    return out


def _adopted(world: World) -> dict[str, Any]:
    """The rich pool, made outside the tool, declared minimally and planned clean."""
    world.apply(_spec_text(version=None))
    created = world.pools().create(
        "rg-batch", "batchprodweu", "keep", _rich_pool(f"{VERSIONS}/1.0.0")
    )
    assert created is not None
    plan = world.apply(_spec_text(version="1.0.0"))
    pool = [c for c in plan.changes if c.address == "pool:batchprodweu/keep"]
    assert [c.action for c in pool] == [Action.NOOP], [c.changed_paths for c in pool]
    return world.body()


def test_an_image_rollout_keeps_every_undeclared_property(world: World) -> None:
    """Moving the pool to a new image version changes its image reference and nothing else."""
    before = _adopted(world)
    plan = world.apply(_spec_text(version="1.1.0"))
    actions = {c.action for c in plan.changes if c.address == "pool:batchprodweu/keep"}
    assert actions == {Action.SCALE_TO_ZERO_UPDATE}
    after = world.body()
    expected = copy.deepcopy(before)
    vmc = expected["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    vmc["imageReference"] = {"id": f"{VERSIONS}/1.1.0".lower()}
    got_vmc = after["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]
    got_vmc["imageReference"]["id"] = got_vmc["imageReference"]["id"].lower()
    assert _without_record(after) == expected


def test_a_start_task_change_keeps_resource_files_and_container_settings(world: World) -> None:
    """A new start-task command line is the only change: resource files, container settings stay."""
    before = _adopted(world)
    task = (
        "        startTask:\n"
        "          commandLine: /bin/bash -c 'setup.sh --v2'\n"
        "          waitForSuccess: true\n"
    )
    plan = world.apply(_spec_text(version="1.0.0", extra=task))
    changes = [c for c in plan.changes if c.address == "pool:batchprodweu/keep"]
    assert [c.action for c in changes] == [Action.UPDATE]
    assert changes[0].changed_paths == ("startTask.commandLine",)
    after = world.body()
    expected = copy.deepcopy(before)
    expected["properties"]["startTask"]["commandLine"] = "/bin/bash -c 'setup.sh --v2'"
    assert _without_record(after) == expected


def test_a_task_slots_change_at_zero_nodes_keeps_every_undeclared_property(
    world: World,
) -> None:
    """taskSlotsPerNode changes only at zero nodes (U12): the same pool keeps everything else."""
    before = _adopted(world)
    plan = world.apply(_spec_text(version="1.0.0", extra="        taskSlotsPerNode: 4\n"))
    actions = {c.action for c in plan.changes if c.address == "pool:batchprodweu/keep"}
    assert actions == {Action.SCALE_TO_ZERO_UPDATE}
    after = world.body()
    expected = copy.deepcopy(before)
    expected["properties"]["taskSlotsPerNode"] = 4
    # Azure answers vmSize in its own case (it compares it case-blind).
    assert after["properties"]["vmSize"].lower() == expected["properties"]["vmSize"].lower()
    expected["properties"]["vmSize"] = after["properties"]["vmSize"]
    assert _without_record(after) == expected
    # And the tool sees what it wrote: the next plan is clean.
    plan = world.apply(_spec_text(version="1.0.0", extra="        taskSlotsPerNode: 4\n"))
    assert {c.action for c in plan.changes} <= {Action.NOOP}
