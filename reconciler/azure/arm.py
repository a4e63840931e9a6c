"""The read pipeline: azure-mgmt-core's `ARMPipelineClient` with the generated clients' policies.

`plan`, `drift` and `export`'s listing send plain GETs and map the JSON themselves
(`reconciler.azure.read`), so they need a client's pipeline, not its typed operations.
Importing `azure.mgmt.compute` loads the whole generated package (≈4 MB of operations and
models, 0.15–0.2 s of a start-up), and `azure.mgmt.batch` another 40 ms; `ReadClient`
builds the same pipeline the generated `ComputeManagementClient` / `BatchManagementClient`
build, straight on `ARMPipelineClient` (the Azure SDK's own client, which the generated
ones wrap), so a read never imports them.

"The same pipeline" means the generated clients' policy list in their order, each built
from the same keyword arguments (`AzureClients` passes its retry bounds, user agent,
transport, pacing and counter to both), and their `sdk_moniker`, so the user agent reads
``reconcile/<version> azsdk-python-mgmt-compute/<SDK version> Python/…`` as before. A
request goes out with the same URL, api-version, user agent, authorization and retries;
`tests/azure/test_arm.py` sends every read of a plan through both and compares them on the
wire, and checks `SDK_MONIKERS` and `API_VERSIONS` against the installed SDK.

Writes (`apply`, `reconciler.azure.operations`) keep the generated clients: their typed
long-running operations are what they use.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

from azure.core.pipeline import policies
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import (
    ARMAutoResourceProviderRegistrationPolicy,
    ARMChallengeAuthenticationPolicy,
    ARMHttpLoggingPolicy,
)

from reconciler.azure.clouds import AZURE_PUBLIC

Family = Literal["compute", "batch"]

# The `sdk_moniker` each generated client puts in the user agent (its package and version:
# azure-mgmt-compute 39, azure-mgmt-batch 19); a test keeps them the installed SDK's.
SDK_MONIKERS: Mapping[Family, str] = {
    "compute": "mgmt-compute/39.0.0",
    "batch": "mgmt-batch/19.0.0",
}

# The api-version of each typed operation whose request the reads send, by resource type:
# one table, checked against the SDK's operations by `tests/azure/test_arm.py`.
API_VERSIONS: Mapping[str, str] = {
    "Microsoft.Compute/galleries": "2026-03-03",  # galleries, definitions and versions
    "Microsoft.Compute/images": "2026-04-01",  # managed images
    "Microsoft.Batch/batchAccounts": "2025-06-01",  # Batch accounts and pools
}


class ReadClient:
    """An ARM pipeline with the policies of one generated management client; `send_request` only.

    `kwargs` are what the generated client would be given (retry bounds, ``user_agent``,
    ``transport``, ``per_retry_policies`` …) and reach the same policies; a ``*_policy``
    keyword replaces that policy, as it does in the generated client's configuration.
    """

    def __init__(
        self,
        family: Family,
        *,
        credential: Any,
        subscription_id: str = "",
        base_url: str = AZURE_PUBLIC.arm_endpoint,
        credential_scopes: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if credential is None:
            raise ValueError("Parameter 'credential' must not be None.")
        self.family = family
        self.subscription_id = subscription_id
        self.base_url = base_url
        self.credential_scopes = list(credential_scopes or [AZURE_PUBLIC.scope])
        kwargs.setdefault("sdk_moniker", SDK_MONIKERS[family])
        redirect = kwargs.get("redirect_policy") or policies.RedirectPolicy(**kwargs)
        pipeline = [
            policies.RequestIdPolicy(**kwargs),
            kwargs.get("headers_policy") or policies.HeadersPolicy(**kwargs),
            kwargs.get("user_agent_policy") or policies.UserAgentPolicy(**kwargs),
            kwargs.get("proxy_policy") or policies.ProxyPolicy(**kwargs),
            policies.ContentDecodePolicy(**kwargs),
            ARMAutoResourceProviderRegistrationPolicy(),
            redirect,
            kwargs.get("retry_policy") or policies.RetryPolicy(**kwargs),
            kwargs.get("authentication_policy")
            or ARMChallengeAuthenticationPolicy(credential, *self.credential_scopes, **kwargs),
            kwargs.get("custom_hook_policy") or policies.CustomHookPolicy(**kwargs),
            kwargs.get("logging_policy") or policies.NetworkTraceLoggingPolicy(**kwargs),
            policies.DistributedTracingPolicy(**kwargs),
            policies.SensitiveHeaderCleanupPolicy(**kwargs) if redirect else None,
            kwargs.get("http_logging_policy") or ARMHttpLoggingPolicy(**kwargs),
        ]
        self._client: ARMPipelineClient[HttpRequest, HttpResponse] = ARMPipelineClient(
            base_url=base_url, policies=pipeline, **kwargs
        )

    def send_request(
        self, request: HttpRequest, *, stream: bool = False, **kwargs: Any
    ) -> HttpResponse:
        """Run `request` (a path under the ARM endpoint, or an absolute `nextLink`) through the pipeline.

        Like the generated clients' `send_request`: the caller's request is left as it was.
        A request without a body (every read) is rebuilt from its method, URL and headers,
        which is all it carries; others are deep-copied as the generated clients do.
        """
        if request.content is None and not request.files and not request.data:
            request_copy = HttpRequest(
                request.method,
                self._client.format_url(request.url),
                headers=dict(request.headers),
            )
        else:
            request_copy = copy.deepcopy(request)
            request_copy.url = self._client.format_url(request_copy.url)
        return self._client.send_request(request_copy, stream=stream, **kwargs)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ReadClient:
        self._client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.__exit__(*exc)
