"""The read pipeline (`reconciler.azure.arm`): the same requests on the wire as the generated clients send."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from azure.core.pipeline.transport import HttpTransport
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.batch import _version as batch_version
from azure.mgmt.batch.operations import _operations as batch_ops
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import _version as compute_version
from azure.mgmt.compute.operations import _operations as compute_ops

from reconciler.azure.arm import API_VERSIONS, SDK_MONIKERS, Family, ReadClient
from reconciler.azure.clients import AzureClients
from reconciler.azure.credentials import SANDBOX_TOKEN, StaticTokenCredential
from reconciler.azure.target import Target
from reconciler.wiring import sandbox_transport
from tests.azure.conftest import ACCOUNT, FAST, SUB, World, make_world
from tests.azure.test_read import populate, read_scope_through

# Random per request (azure-core's RequestIdPolicy): present on both, never equal.
_REQUEST_ID = "x-ms-client-request-id"

Wire = tuple[str, str, tuple[tuple[str, str], ...]]


class RecordingTransport(HttpTransport):  # type: ignore[type-arg]
    """Records each request as it reaches the transport (method, URL, headers), then sends it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.sent: list[Wire] = []
        self.request_ids: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.request_ids.append(headers.pop(_REQUEST_ID, ""))
            self.sent.append((request.method, request.url, tuple(sorted(headers.items()))))
        return self._inner.send(request, **kwargs)

    def open(self) -> None:
        self._inner.open()

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> RecordingTransport:
        self._inner.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self._inner.__exit__(*args)


class GeneratedReads(AzureClients):
    """`AzureClients` whose reads go through the generated clients, as they did before `ReadClient`."""

    def reader(self, family: Family, subscription_id: str) -> Any:  # type: ignore[override]
        return self.compute(subscription_id) if family == "compute" else self.batch(subscription_id)


def _recorded(world: World, clients_type: type[AzureClients]) -> RecordingTransport:
    """Every request one read of `SCOPE` sends, through `clients_type` on `world`."""
    transport = RecordingTransport(sandbox_transport(world.sandbox))
    read_scope_through(world, transport, clients_type)
    return transport


def test_every_read_goes_out_as_through_the_generated_clients(tmp_path: Path) -> None:
    """A paged read of galleries, versions, images, accounts and pools sends the same URLs and headers (user agent, authorization …) as through the generated clients."""
    world = make_world(tmp_path / "paged.sqlite", replace(FAST, page_size=2))
    try:
        populate(world, definitions=2, versions=3, pools=3)
        ours = _recorded(world, AzureClients)
        generated = _recorded(world, GeneratedReads)
    finally:
        world.close()
    paths = [url.split("?")[0] for _, url, _ in ours.sent]
    assert len(paths) > len(set(paths))  # nextLink pages included
    accounts = [w for w in ours.sent if "/batchAccounts/" in w[1] and "/pools" not in w[1]]
    # Before, the account came from the typed `batch_account.get` (its Accept header).
    assert all(("accept", "application/json") in w[2] for w in accounts) and accounts
    assert sorted(ours.sent) == sorted(generated.sent)
    assert all(ours.request_ids) and len(set(ours.request_ids)) == len(ours.request_ids)
    agents = {dict(h)["user-agent"] for _, url, h in ours.sent}
    compute_agent = next(dict(h)["user-agent"] for _, u, h in ours.sent if "Compute" in u)
    assert compute_agent.startswith("reconcile/") and " azsdk-python-mgmt-compute/" in compute_agent
    assert len(agents) == 2  # one per family, as the two generated clients send
    assert all(dict(h)["authorization"] == f"Bearer {SANDBOX_TOKEN}" for _, _, h in ours.sent)


def test_the_account_get_is_the_typed_operations_request(world: World) -> None:
    """The Batch account GET sends what the typed `batch_account.get` sends: URL, api-version, Accept, user agent, authorization."""
    ours = _recorded(world, AzureClients)
    mine = next(w for w in ours.sent if w[1].split("?")[0].endswith("/batchprodweu"))
    transport = RecordingTransport(sandbox_transport(world.sandbox))
    clients = AzureClients(world.target(), client_kwargs={"transport": transport})
    try:
        account = clients.batch(SUB).batch_account.get("rg-batch", "batchprodweu")
    finally:
        clients.close()
    assert account.id.lower() == ACCOUNT.lower()
    assert transport.sent == [mine]


@pytest.mark.parametrize(
    ("builder", "kwargs", "resource_type"),
    [
        (
            compute_ops.build_galleries_list_by_resource_group_request,
            {"resource_group_name": "rg"},
            "Microsoft.Compute/galleries",
        ),
        (
            compute_ops.build_gallery_images_list_by_gallery_request,
            {"resource_group_name": "rg", "gallery_name": "g"},
            "Microsoft.Compute/galleries",
        ),
        (
            compute_ops.build_gallery_image_versions_list_by_gallery_image_request,
            {"resource_group_name": "rg", "gallery_name": "g", "gallery_image_name": "d"},
            "Microsoft.Compute/galleries",
        ),
        (
            compute_ops.build_gallery_image_versions_get_request,
            {
                "resource_group_name": "rg",
                "gallery_name": "g",
                "gallery_image_name": "d",
                "gallery_image_version_name": "1.0.0",
            },
            "Microsoft.Compute/galleries",
        ),
        (
            compute_ops.build_images_list_by_resource_group_request,
            {"resource_group_name": "rg"},
            "Microsoft.Compute/images",
        ),
        (
            batch_ops.build_batch_account_get_request,
            {"resource_group_name": "rg", "account_name": "a"},
            "Microsoft.Batch/batchAccounts",
        ),
        (
            batch_ops.build_pool_list_by_batch_account_request,
            {"resource_group_name": "rg", "account_name": "a"},
            "Microsoft.Batch/batchAccounts",
        ),
    ],
    ids=["galleries", "definitions", "versions", "version", "managed-images", "account", "pools"],
)
def test_api_versions_are_the_sdk_operations(
    builder: Any, kwargs: dict[str, Any], resource_type: str
) -> None:
    """Each typed operation the reads stand in for uses the api-version the table gives its resource type."""
    request = builder(subscription_id=SUB, **kwargs)
    assert f"api-version={API_VERSIONS[resource_type]}" in request.url


def test_sdk_monikers_are_the_installed_packages() -> None:
    """The user agent names each generated client's package and version, as the generated clients do."""
    assert SDK_MONIKERS["compute"] == f"mgmt-compute/{compute_version.VERSION}"
    assert SDK_MONIKERS["batch"] == f"mgmt-batch/{batch_version.VERSION}"


@pytest.mark.parametrize(
    ("family", "generated"),
    [("compute", ComputeManagementClient), ("batch", BatchManagementClient)],
)
def test_policies_are_the_generated_clients_in_order(family: Family, generated: Any) -> None:
    """Against a cloud, the read pipeline holds the generated client's policies, of the same types, in the same order, with its scopes and retry bounds."""
    target = Target.for_azure("AzureChinaCloud")
    clients = AzureClients(target, credential=StaticTokenCredential())
    try:
        reader: ReadClient = clients.reader(family, SUB)
        sdk = clients.compute(SUB) if family == "compute" else clients.batch(SUB)
        ours = [
            type(p._policy if hasattr(p, "_policy") else p)
            for p in reader._client._pipeline._impl_policies
        ]
        theirs = [
            type(p._policy if hasattr(p, "_policy") else p)
            for p in sdk._client._pipeline._impl_policies
        ]
        assert ours == theirs
        assert reader.base_url.rstrip("/") == "https://management.chinacloudapi.cn"
        assert reader.credential_scopes == sdk._config.credential_scopes
        retry = next(
            p for p in reader._client._pipeline._impl_policies if type(p).__name__ == "RetryPolicy"
        )
        assert retry.total_retries == 6
        assert reader is clients.reader(family, SUB.upper())
    finally:
        clients.close()
