"""Fixtures for the Azure layer: a seeded sandbox world, real SDK clients on it, builders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.azure.clients import AzureClients, RequestCounter
from reconciler.azure.operations import AzureOperations
from reconciler.azure.target import Target
from reconciler.sandbox import Sandbox, SandboxConfig
from reconciler.sandbox.seed import load_seed
from reconciler.wiring import azure_clients

SUB = "00000000-0000-0000-0000-000000000001"
SUB2 = "00000000-0000-0000-0000-000000000002"
RG = f"/subscriptions/{SUB}/resourceGroups"
IMAGES_RG = f"{RG}/rg-images"
COMPUTE = f"{IMAGES_RG}/providers/Microsoft.Compute"
GALLERY = f"{COMPUTE}/galleries/gal"
DEFINITION = f"{GALLERY}/images/render"
VERSION = f"{DEFINITION}/versions/1.0.0"
MANAGED_IMAGE = f"{COMPUTE}/images/img-build-render-2026-10"
SNAPSHOT = f"{COMPUTE}/snapshots/snap-render-os-2026-10"
SNAPSHOT_DATA = f"{COMPUTE}/snapshots/snap-render-data0-2026-10"
ACCOUNT = f"{RG}/rg-batch/providers/Microsoft.Batch/batchAccounts/batchprodweu"
ACCOUNT_EUS = f"{RG}/rg-batch/providers/Microsoft.Batch/batchAccounts/batchprodeus"
POOL = f"{ACCOUNT}/pools/render"
OWNED = {"tags.managed-by": "reconcile"}

# Fast simulated time (a 40-minute replication takes ~25 ms); Azure's throttling on.
FAST = SandboxConfig(speed=100_000.0)


@dataclass
class World:
    """A seeded sandbox file and factories for clients / operations on it."""

    path: Path
    config: SandboxConfig
    sandbox: Sandbox
    _clients: list[AzureClients] = field(default_factory=list)

    def target(self) -> Target:
        return Target.for_sandbox(self.path, config=self.config)

    def clients(self, counter: RequestCounter | None = None, **kwargs: Any) -> AzureClients:
        clients = azure_clients(self.target(), counter=counter, **kwargs)
        self._clients.append(clients)
        return clients

    def operations(self) -> AzureOperations:
        return AzureOperations(self.clients())

    def close(self) -> None:
        for clients in self._clients:
            clients.close()
        self.sandbox.close()


def make_world(path: Path, config: SandboxConfig = FAST) -> World:
    sandbox = Sandbox(path, config=config)
    sandbox.seed(load_seed())
    return World(path, config, sandbox)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A sandbox seeded with the default seed (subscriptions, groups, accounts, snapshots)."""
    made = make_world(tmp_path / "world.sqlite")
    yield made
    made.close()


def version_props(**extra: Any) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "source.managedImage": MANAGED_IMAGE.lower(),
        "targetRegions[westeurope].replicas": 1,
        "targetRegions[westeurope].storageAccountType": "Standard_LRS",
        "excludeFromLatest": False,
        **OWNED,
        **extra,
    }


def definition_props(sku: str = "render", **extra: Any) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "osType": "Linux",
        "osState": "Generalized",
        "hyperVGeneration": "V2",
        "architecture": "x64",
        "identifier.publisher": "contoso",
        "identifier.offer": "render",
        "identifier.sku": sku,
        **OWNED,
        **extra,
    }


def pool_props(image_id: str = VERSION, dedicated: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "vmSize": "standard_d4s_v5",
        "interNodeCommunication": "Disabled",
        "taskSlotsPerNode": 1,
        "image.id": image_id.lower(),
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "scale.fixed.dedicated": dedicated,
        "scale.fixed.lowPriority": 0,
        "scale.fixed.resizeTimeout": "PT15M",
        "metadata.reconcile.managed-by": "reconcile",
        **OWNED,
        **extra,
    }
