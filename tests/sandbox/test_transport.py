"""`reconciler.azure.transport.HttpxTransport` over real sockets: the SDK against the sandbox's
HTTPS server through httpx, and httpx connection errors mapped to azure-core's."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.mgmt.compute import ComputeManagementClient

from reconciler.azure.credentials import StaticTokenCredential
from reconciler.azure.transport import HttpxTransport
from reconciler.sandbox import Sandbox
from tests.sandbox.conftest import RG_IMAGES, SUB


def test_httpx_transport_is_an_azure_core_transport():
    """HttpxTransport plugs into azure-core as an HttpTransport."""
    assert issubclass(HttpxTransport, HttpTransport)


def test_sdk_over_https_through_the_httpx_transport(sandbox: Sandbox, tmp_path):
    """A real SDK client reaches the HTTPS server through httpx and runs an LRO and a list."""
    from reconciler.sandbox.server import start_in_thread

    server = start_in_thread(state_path=sandbox.path, cert_dir=tmp_path / "certs", sandbox=sandbox)
    try:
        trust = ssl.create_default_context(cafile=str(server.ca_path))
        transport = HttpxTransport(httpx.Client(verify=trust))
        client = ComputeManagementClient(
            subscription_id=SUB,
            credential=StaticTokenCredential(),
            base_url=server.url,
            transport=transport,
            polling_interval=0,
        )
        gallery = client.galleries.begin_create_or_update(
            RG_IMAGES, "g", {"location": "westeurope"}
        ).result()
        assert gallery.provisioning_state == "Succeeded"
        assert [g.name for g in client.galleries.list_by_resource_group(RG_IMAGES)] == ["g"]
    finally:
        server.stop()


def test_connection_refused_maps_to_service_request_error():
    """A refused connection surfaces as azure-core's ServiceRequestError (safe to retry)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = HttpxTransport(transport=httpx.HTTPTransport())
    with pytest.raises(ServiceRequestError):
        transport.send(HttpRequest("GET", f"http://127.0.0.1:{port}/"))
    transport.close()
