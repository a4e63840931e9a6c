"""Fixtures for sandbox tests: a seeded world per test and real SDK clients on it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.compute import ComputeManagementClient

from reconciler.sandbox import Sandbox, SandboxConfig, SandboxRequest
from reconciler.sandbox.config import ThrottleConfig
from reconciler.sandbox.seed import load_seed
from reconciler.wiring import sandbox_client_kwargs

SUB = "00000000-0000-0000-0000-000000000001"
RG_IMAGES = "rg-images"
RG_BATCH = "rg-batch"
ACCOUNT = "batchprodweu"  # westeurope
ACCOUNT_EUS = "batchprodeus"  # eastus
COMPUTE = f"/subscriptions/{SUB}/resourceGroups/{RG_IMAGES}/providers/Microsoft.Compute"
MANAGED_IMAGE = f"{COMPUTE}/images/img-build-render-2026-10"
SNAPSHOT = f"{COMPUTE}/snapshots/snap-render-os-2026-10"

# Fast: a 40-minute replication takes 50 ms; small pages so paging is exercised.
FAST = SandboxConfig(
    speed=48000,
    page_size=2,
    poll_pacing=0.005,
    throttle=ThrottleConfig(fractional_retry_after=True),
)
# Time only moves when a test calls `advance` (speed 1e-9: sim time stands still).
FROZEN = replace(FAST, speed=1e-9)


@pytest.fixture
def make_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    """Build a seeded sandbox with the given config (default FAST)."""
    made: list[Sandbox] = []

    def make(config: SandboxConfig = FAST, name: str = "world.sqlite") -> Sandbox:
        sandbox = Sandbox(tmp_path / name, config=config)
        sandbox.seed(load_seed())
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.close()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def frozen(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox(FROZEN)


def compute_client(sandbox: Sandbox, sub: str = SUB) -> ComputeManagementClient:
    return ComputeManagementClient(subscription_id=sub, **sandbox_client_kwargs(sandbox))


def batch_client(sandbox: Sandbox, sub: str = SUB) -> BatchManagementClient:
    return BatchManagementClient(subscription_id=sub, **sandbox_client_kwargs(sandbox))


@pytest.fixture
def compute(sandbox: Sandbox) -> ComputeManagementClient:
    return compute_client(sandbox)


@pytest.fixture
def batch(sandbox: Sandbox) -> BatchManagementClient:
    return batch_client(sandbox)


def definition_body(sku: str = "render", os_state: str = "Generalized") -> dict[str, Any]:
    return {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "osState": os_state,
            "hyperVGeneration": "V2",
            "identifier": {"publisher": "contoso", "offer": "render", "sku": sku},
        },
    }


def target_regions(regions: dict[str, int]) -> list[dict[str, Any]]:
    return [{"name": name, "regionalReplicaCount": count} for name, count in regions.items()]


def version_body(regions: dict[str, int], source: str = MANAGED_IMAGE) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "properties": {
            "storageProfile": {"source": {"id": source}},
            "publishingProfile": {"targetRegions": target_regions(regions)},
        },
    }


def image_body(
    snapshot: str | dict[str, Any] = SNAPSHOT, data: tuple[str, ...] = (), **properties: Any
) -> dict[str, Any]:
    """A managed image from an OS disk snapshot (id, or the whole `snapshot` member) and data
    disk snapshots (luns 0, 1 …)."""
    storage: dict[str, Any] = {
        "osDisk": {
            "osType": "Linux",
            "osState": "Generalized",
            "snapshot": {"id": snapshot} if isinstance(snapshot, str) else snapshot,
        }
    }
    if data:
        storage["dataDisks"] = [{"lun": i, "snapshot": {"id": d}} for i, d in enumerate(data)]
    return {"location": "westeurope", "properties": {"storageProfile": storage, **properties}}


def update_version(
    compute: ComputeManagementClient, publishing_profile: dict[str, Any], **properties: Any
) -> Any:
    """Start a PATCH of version gal/render/1.0.0 (made from MANAGED_IMAGE), with any other
    `properties` beside the publishing profile; returns its poller."""
    return compute.gallery_image_versions.begin_update(
        RG_IMAGES,
        "gal",
        "render",
        "1.0.0",
        {
            "properties": {
                "storageProfile": {"source": {"id": MANAGED_IMAGE}},
                "publishingProfile": publishing_profile,
                **properties,
            }
        },
    )


def make_version(
    compute: ComputeManagementClient,
    regions: dict[str, int] | None = None,
    *,
    gallery: str = "gal",
    image: str = "render",
    version: str = "1.0.0",
    wait: bool = True,
    source: str = MANAGED_IMAGE,
) -> Any:
    """Gallery → definition → version; returns the version (or its poller if not `wait`)."""
    compute.galleries.begin_create_or_update(
        RG_IMAGES, gallery, {"location": "westeurope"}
    ).result()
    compute.gallery_images.begin_create_or_update(
        RG_IMAGES, gallery, image, definition_body(image)
    ).result()
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG_IMAGES, gallery, image, version, version_body(regions or {"westeurope": 1}, source)
    )
    return poller.result() if wait else poller


def begin_frozen_version(
    sandbox: Sandbox, regions: dict[str, int], *, settle: float = 3600.0
) -> Any:
    """Gallery → definition → version gal/render/1.0.0 in a frozen-clock world, `settle`
    simulated seconds after each parent; returns the version's poller."""
    compute = compute_client(sandbox)
    compute.galleries.begin_create_or_update(RG_IMAGES, "gal", {"location": "westeurope"})
    sandbox.advance(settle)
    compute.gallery_images.begin_create_or_update(RG_IMAGES, "gal", "render", definition_body())
    sandbox.advance(settle)
    return compute.gallery_image_versions.begin_create_or_update(
        RG_IMAGES, "gal", "render", "1.0.0", version_body(regions)
    )


def pool_body(image_id: str, dedicated: int = 0, timeout: str = "PT15M", **extra: Any) -> dict:
    props: dict[str, Any] = {
        "vmSize": "Standard_D4s_v5",
        "deploymentConfiguration": {
            "virtualMachineConfiguration": {
                "imageReference": {"id": image_id},
                "nodeAgentSkuId": "batch.node.ubuntu 22.04",
            }
        },
        "scaleSettings": {
            "fixedScale": {"targetDedicatedNodes": dedicated, "resizeTimeout": timeout}
        },
    }
    props.update(extra)
    return {"properties": props}


def rest(
    sandbox: Sandbox, method: str, path: str, body: Any = None, api_version: str = "2025-06-01"
) -> Any:
    """The raw JSON answer to one request, as Azure sends it (before an SDK reshapes it);
    a non-2xx answer fails the test."""
    url = f"https://management.azure.com{path}?api-version={api_version}"
    headers = {"Authorization": "Bearer sandbox-test", "Content-Type": "application/json"}
    raw = b"" if body is None else json.dumps(body).encode()
    response = sandbox.handle(SandboxRequest(method, url, headers, raw))
    assert 200 <= response.status < 300, (method, path, response.status, response.body[:300])
    return json.loads(response.body) if response.body else None


def frozen_version_id(sandbox: Sandbox) -> str:
    """Gallery gal → definition render → version 1.0.0 (westeurope, 1 replica) in a
    frozen-clock world, replicated; returns the version's id."""
    poller = begin_frozen_version(sandbox, {"westeurope": 1})
    sandbox.advance(4 * 3600)
    return str(poller.result().id)
