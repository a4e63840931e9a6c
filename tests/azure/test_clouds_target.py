"""Clouds, targets and client construction: endpoints, scopes, sandbox selection, user agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import __version__
from reconciler.azure.clients import USER_AGENT, AzureClients, RequestCounter
from reconciler.azure.clouds import CLOUDS, cloud_named, custom_cloud
from reconciler.azure.credentials import StaticTokenCredential
from reconciler.azure.target import Target
from tests.azure.conftest import SUB, World


def test_named_clouds_have_arm_endpoint_and_scope() -> None:
    """Each named cloud carries Microsoft's ARM endpoint, token scope and login authority."""
    assert cloud_named("AzureCloud").scope == "https://management.azure.com/.default"
    china = cloud_named("azurechinacloud")
    assert china.arm_endpoint == "https://management.chinacloudapi.cn"
    assert china.scope == "https://management.chinacloudapi.cn/.default"
    assert china.authority == "login.chinacloudapi.cn"
    gov = cloud_named("usgov")
    assert gov.arm_endpoint == "https://management.usgovcloudapi.net"
    assert gov.scope == "https://management.core.usgovcloudapi.net/.default"
    assert gov.authority == "login.microsoftonline.us"
    assert set(CLOUDS) == {"AzureCloud", "AzureChinaCloud", "AzureUSGovernment"}
    with pytest.raises(ValueError, match="unknown Azure cloud"):
        cloud_named("AzureGermanCloud")


def test_custom_cloud_defaults_audience_to_endpoint() -> None:
    """A custom endpoint is its own audience unless told otherwise, and must be https."""
    cloud = custom_cloud("https://arm.contoso.test/")
    assert cloud.arm_endpoint == "https://arm.contoso.test"
    assert cloud.scope == "https://arm.contoso.test/.default"
    assert (
        custom_cloud("https://a.test", audience="https://aud.test/").scope
        == "https://aud.test/.default"
    )
    with pytest.raises(ValueError, match="must be an https URL, got 'http://insecure.test'"):
        custom_cloud("http://insecure.test")


def test_target_from_options_and_environment(tmp_path: Path) -> None:
    """--sandbox wins, then RECONCILE_SANDBOX, then Azure; describe() names what plans print."""
    assert Target.from_options(environ={}).describe() == "AzureCloud"
    assert (
        Target.from_options(cloud="AzureUSGovernment", environ={}).describe() == "AzureUSGovernment"
    )
    assert (
        Target.from_options(endpoint="https://arm.contoso.test", environ={}).describe()
        == "custom https://arm.contoso.test"
    )
    env = {"RECONCILE_SANDBOX": ".reconcile/sandbox.sqlite"}
    assert Target.from_options(environ=env).describe() == "sandbox .reconcile/sandbox.sqlite"
    explicit = Target.from_options(sandbox=tmp_path / "w.sqlite", environ=env)
    assert explicit.is_sandbox and explicit.sandbox == tmp_path / "w.sqlite"
    with pytest.raises(ValueError, match="--sandbox cannot be combined with --cloud or --endpoint"):
        Target.from_options(sandbox="x.sqlite", cloud="AzureCloud", environ={})


def test_clients_are_cached_per_subscription_and_tagged(world: World) -> None:
    """Clients are built once per (family, subscription) and send the reconcile user agent."""
    counter = RequestCounter()
    clients = world.clients(counter)
    assert clients.compute(SUB) is clients.compute(SUB.upper())
    assert clients.batch(SUB) is not clients.compute(SUB)
    seen: list[str] = []
    list(
        clients.compute(SUB).galleries.list_by_resource_group(
            "rg-images",
            raw_request_hook=lambda r: seen.append(r.http_request.headers["User-Agent"]),
        )
    )
    assert len(seen) == 1 and seen[0].startswith(f"reconcile/{__version__} ")
    assert f"reconcile/{__version__}" == USER_AGENT
    assert counter.total == 1


def test_azure_clients_point_at_the_cloud() -> None:
    """Against a cloud, clients use its ARM endpoint and token scope (no request is made)."""
    target = Target.for_azure("AzureChinaCloud")
    clients = AzureClients(target, credential=StaticTokenCredential())
    compute = clients.compute(SUB)
    assert compute._config.base_url.rstrip("/") == "https://management.chinacloudapi.cn"
    assert compute._config.credential_scopes == ["https://management.chinacloudapi.cn/.default"]
    assert compute._config.retry_policy.total_retries == 6
    clients.close()


def test_sandbox_clients_come_from_the_wiring_module(world: World) -> None:
    """A sandbox target's clients need the emulator's transport, which only `reconciler.wiring` adds."""
    from reconciler.wiring import azure_clients

    with pytest.raises(ValueError, match=r"reconciler\.wiring\.azure_clients"):
        AzureClients(world.target()).compute(SUB)
    with azure_clients(world.target()) as clients:
        assert clients.compute(SUB)._config.polling_interval == 0
        account = clients.batch(SUB).batch_account.get("rg-batch", "batchprodweu")
        assert account.location == "westeurope"  # the seeded account, read from the emulator
