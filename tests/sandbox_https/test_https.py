"""The real Azure SDK clients, on their default `requests` transport, against the HTTPS sandbox."""

from __future__ import annotations

import json

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.batch import models as batch_models
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as compute_models

from reconciler.azure.credentials import StaticTokenCredential
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import SandboxConfig, ThrottleConfig
from reconciler.sandbox.seed import load_seed
from reconciler.sandbox.server import start_in_thread

SUB = "00000000-0000-0000-0000-000000000001"
IMAGES_RG = "rg-images"
BATCH_RG = "rg-batch"
ACCOUNT = "batchprodweu"
SNAPSHOT = (
    f"/subscriptions/{SUB}/resourceGroups/{IMAGES_RG}/providers/Microsoft.Compute"
    "/snapshots/snap-render-os-2026-10"
)
# Fast simulated time; no throttling, so tight polling loops cannot trip the token bucket.
CONFIG = SandboxConfig(speed=1_000_000, throttle=ThrottleConfig(enabled=False))


@pytest.fixture(scope="module")
def https_sandbox(tmp_path_factory):
    state = tmp_path_factory.mktemp("https") / "world.sqlite"
    sandbox = Sandbox(state, config=CONFIG)
    sandbox.seed(load_seed())
    server = start_in_thread(state_path=state, sandbox=sandbox)
    yield server
    server.stop()
    sandbox.close()


def _client_kwargs(server) -> dict:
    return {
        "credential": StaticTokenCredential(),
        "subscription_id": SUB,
        "base_url": server.url,
        "connection_verify": str(server.ca_path),
        "polling_interval": 0,
    }


def test_server_url_is_https_on_loopback(https_sandbox):
    """The server listens on https://127.0.0.1:<port> with a CA file for clients."""
    assert https_sandbox.url.startswith("https://127.0.0.1:")
    assert https_sandbox.ca_path.is_file()


def test_gallery_definition_version_life_cycle_over_https(https_sandbox):
    """Gallery, image definition and version are created, read, listed and deleted via LROs."""
    client = ComputeManagementClient(**_client_kwargs(https_sandbox))
    gallery = client.galleries.begin_create_or_update(
        IMAGES_RG,
        "galhttps",
        compute_models.Gallery(location="westeurope", description="over https"),
    ).result()
    assert gallery.provisioning_state == "Succeeded"
    definition = client.gallery_images.begin_create_or_update(
        IMAGES_RG,
        "galhttps",
        "render",
        compute_models.GalleryImage(
            location="westeurope",
            os_type="Linux",
            os_state="Generalized",
            hyper_v_generation="V2",
            identifier=compute_models.GalleryImageIdentifier(
                publisher="contoso", offer="render", sku="2026"
            ),
        ),
    ).result()
    assert definition.identifier.offer == "render"
    version = client.gallery_image_versions.begin_create_or_update(
        IMAGES_RG,
        "galhttps",
        "render",
        "1.0.0",
        compute_models.GalleryImageVersion(
            location="westeurope",
            publishing_profile=compute_models.GalleryImageVersionPublishingProfile(
                target_regions=[
                    compute_models.TargetRegion(name="westeurope", regional_replica_count=2)
                ]
            ),
            storage_profile=compute_models.GalleryImageVersionStorageProfile(
                os_disk_image=compute_models.GalleryOSDiskImage(
                    source=compute_models.GalleryDiskImageSource(id=SNAPSHOT)
                )
            ),
        ),
    ).result()
    assert version.provisioning_state == "Succeeded"
    read = client.gallery_image_versions.get(
        IMAGES_RG, "galhttps", "render", "1.0.0", expand="ReplicationStatus"
    )
    assert read.replication_status.aggregated_state == "Completed"
    names = [
        v.name
        for v in client.gallery_image_versions.list_by_gallery_image(
            IMAGES_RG, "galhttps", "render"
        )
    ]
    assert names == ["1.0.0"]
    client.gallery_image_versions.begin_delete(IMAGES_RG, "galhttps", "render", "1.0.0").result()
    client.gallery_images.begin_delete(IMAGES_RG, "galhttps", "render").result()
    client.galleries.begin_delete(IMAGES_RG, "galhttps").result()
    with pytest.raises(ResourceNotFoundError):
        client.galleries.get(IMAGES_RG, "galhttps")


def test_batch_pool_create_get_delete_over_https(https_sandbox):
    """A Batch pool is created synchronously with an ETag, read back, and deleted via its LRO."""
    client = BatchManagementClient(**_client_kwargs(https_sandbox))
    pool = client.pool.create(
        BATCH_RG,
        ACCOUNT,
        "pool-https",
        batch_models.Pool(
            vm_size="Standard_D4ds_v5",
            deployment_configuration=batch_models.DeploymentConfiguration(
                virtual_machine_configuration=batch_models.VirtualMachineConfiguration(
                    image_reference=batch_models.ImageReference(
                        publisher="canonical",
                        offer="ubuntu-24_04-lts",
                        sku="server",
                        version="latest",
                    ),
                    node_agent_sku_id="batch.node.ubuntu 24.04",
                )
            ),
            scale_settings=batch_models.ScaleSettings(
                fixed_scale=batch_models.FixedScaleSettings(target_dedicated_nodes=0)
            ),
        ),
    )
    assert pool.etag
    got = client.pool.get(BATCH_RG, ACCOUNT, "pool-https")
    assert got.vm_size.lower() == "standard_d4ds_v5"
    assert "pool-https" in [p.name for p in client.pool.list_by_batch_account(BATCH_RG, ACCOUNT)]
    client.pool.begin_delete(BATCH_RG, ACCOUNT, "pool-https").result()
    with pytest.raises(ResourceNotFoundError):
        client.pool.get(BATCH_RG, ACCOUNT, "pool-https")


def test_request_without_token_gets_401(https_sandbox):
    """A request with no Authorization header is refused with 401 and an ARM error body."""
    url = (
        f"{https_sandbox.url}/subscriptions/{SUB}/resourceGroups/{BATCH_RG}/providers"
        f"/Microsoft.Batch/batchAccounts/{ACCOUNT}?api-version=2025-06-01"
    )
    response = requests.get(url, verify=str(https_sandbox.ca_path), timeout=10)
    assert response.status_code == 401
    assert json.loads(response.content)["error"]["code"] == "AuthenticationFailed"
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_untrusted_client_fails_tls_verification(https_sandbox):
    """Without the sandbox CA, a client refuses the server certificate."""
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(https_sandbox.url + "/subscriptions", timeout=10)


@pytest.mark.parametrize("kind", ["drop", "drop_after"])
def test_dropped_connections_reset_the_socket_and_the_sdk_retries(tmp_path, kind):
    """An injected dropped connection kills the HTTPS connection; the SDK's retry rides it out."""
    from reconciler.sandbox.config import FaultRule

    config = SandboxConfig(
        speed=1_000_000,
        throttle=ThrottleConfig(enabled=False),
        faults=(
            FaultRule(kind=kind, method="GET", path=f"/batchAccounts/{ACCOUNT}$", first_n=1),
            FaultRule(kind=kind, method="GET", path="/pools/none$", first_n=1),
        ),
    )
    state = tmp_path / "world.sqlite"
    sandbox = Sandbox(state, config=config)
    sandbox.seed(load_seed())
    server = start_in_thread(state_path=state, sandbox=sandbox)
    try:
        client = BatchManagementClient(**_client_kwargs(server), retry_backoff_factor=0.01)
        assert client.batch_account.get(BATCH_RG, ACCOUNT).name == ACCOUNT
        url = (
            f"{server.url}/subscriptions/{SUB}/resourceGroups/{BATCH_RG}/providers"
            f"/Microsoft.Batch/batchAccounts/{ACCOUNT}/pools/none?api-version=2025-06-01"
        )
        broken = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)
        with pytest.raises(broken):
            requests.get(
                url, headers={"Authorization": "Bearer t"}, verify=str(server.ca_path), timeout=10
            )
    finally:
        server.stop()
        sandbox.close()


def test_concurrent_clients_are_served_in_parallel(https_sandbox):
    """Eight clients issuing requests at once over HTTPS all get their answers."""
    from concurrent.futures import ThreadPoolExecutor

    url = (
        f"{https_sandbox.url}/subscriptions/{SUB}/resourceGroups/{BATCH_RG}/providers"
        f"/Microsoft.Batch/batchAccounts/{ACCOUNT}?api-version=2025-06-01"
    )

    def client(_: int) -> list[int]:
        with requests.Session() as session:
            return [
                session.get(
                    url,
                    headers={"Authorization": "Bearer t"},
                    verify=str(https_sandbox.ca_path),
                    timeout=10,
                ).status_code
                for _ in range(10)
            ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [s for batch in pool.map(client, range(8)) for s in batch]
    assert statuses == [200] * 80
