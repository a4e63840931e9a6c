"""The SDK clients for one target, cached per subscription: read pipelines and generated clients.

Reads (`reader`) go through `reconciler.azure.arm.ReadClient`, the generated clients'
pipeline on azure-mgmt-core without their typed operations; writes (`compute`, `batch`)
use the generated `ComputeManagementClient` / `BatchManagementClient`, imported when first
asked for, so `plan` never loads them. Both get the same keyword arguments.

Sandbox mode uses a static token, ARM's public URL and `polling_interval=0`, with the
emulator's in-process transport given by the caller (`reconciler.wiring.azure_clients`:
this package never imports the sandbox); Azure mode passes the cloud's ARM endpoint and
token scope. Either way the clients keep azure-core's retry of 408/429/5xx honouring
`Retry-After` — bounded here in attempts and total time — and announce themselves
with a ``reconcile/<version>`` user agent. Every request of every client of one
`AzureClients` is paced per subscription from ARM's rate-limit headers
(`reconciler.azure.pacing`), so reads and status polls wait for room in the bucket
instead of drawing 429s. Operation-level retries (failed LROs, 409
"operation in progress") belong to apply, not here.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy

from reconciler import __version__
from reconciler.azure.arm import Family, ReadClient
from reconciler.azure.clouds import AZURE_PUBLIC
from reconciler.azure.credentials import StaticTokenCredential
from reconciler.azure.pacing import Pacing, PacingPolicy
from reconciler.azure.target import Target

if TYPE_CHECKING:
    from azure.mgmt.batch import BatchManagementClient
    from azure.mgmt.compute import ComputeManagementClient

USER_AGENT = f"reconcile/{__version__}"

# azure-core retries 408/429/500/502/503/504 honouring Retry-After. Bound it: a few
# attempts, backoff capped at a minute, and at most 5 minutes per call across retries,
# after which the error reaches apply's classification (Transient) instead of stalling.
RETRY_KWARGS: Mapping[str, Any] = {
    "retry_total": 6,
    "retry_backoff_factor": 0.8,
    "retry_backoff_max": 60,
    "timeout": 300,
}

# A sandbox target's clients besides credential and transport: the sandbox answers under
# ARM's public URL, and its simulated clock, not real sleeps, paces long-running operations.
SANDBOX_CLIENT_KWARGS: Mapping[str, Any] = {
    "base_url": AZURE_PUBLIC.arm_endpoint,
    "polling_interval": 0,
}

# Reads run up to this many requests at once; the HTTP connection pool must not be the
# bottleneck (requests' default pool keeps only 10 connections per host).
POOL_CONNECTIONS = 32


class RequestCounter(SansIOHTTPPolicy):
    """Counts every HTTP attempt (retries included) by method and by status.

    Installed as a per-retry policy, so it sees what goes on the wire. Benchmarks and
    tests read it; `reconcile -v` can report it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_method: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.paths: list[tuple[str, str]] = []

    def on_request(self, request: PipelineRequest) -> None:
        http = request.http_request
        with self._lock:
            self.by_method[http.method] += 1
            self.paths.append((http.method, http.url))

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:
        with self._lock:
            self.by_status[response.http_response.status_code] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_method.values())

    def reset(self) -> None:
        with self._lock:
            self.by_method.clear()
            self.by_status.clear()
            self.paths.clear()


class AzureClients:
    """Cached read pipelines and generated clients per subscription; thread-safe.

    `client_kwargs` is merged last (tests inject a transport or policies). `counter`, when
    given, is installed on every client so all HTTP attempts are counted. `pacing` (a
    `Pacing` to share, True for one of its own, False for none) paces every attempt.
    """

    def __init__(
        self,
        target: Target,
        *,
        credential: Any = None,
        counter: RequestCounter | None = None,
        client_kwargs: Mapping[str, Any] | None = None,
        pacing: Pacing | bool = True,
    ) -> None:
        self.target = target
        self.counter = counter
        self.pacing: Pacing | None = (
            pacing if isinstance(pacing, Pacing) else Pacing() if pacing else None
        )
        self._credential = credential
        self._client_kwargs = dict(client_kwargs or {})
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], Any] = {}
        self._base: dict[str, Any] | None = None

    def reader(self, family: Family, subscription_id: str) -> ReadClient:
        """The read pipeline of the `family` client (``compute`` or ``batch``): `send_request` only."""
        return self._get(f"read-{family}", subscription_id, lambda **kw: ReadClient(family, **kw))

    def compute(self, subscription_id: str) -> ComputeManagementClient:
        """The generated compute client (typed operations, for writes)."""
        from azure.mgmt.compute import ComputeManagementClient

        return self._get("compute", subscription_id, ComputeManagementClient)

    def batch(self, subscription_id: str) -> BatchManagementClient:
        """The generated Batch client (typed operations, for writes)."""
        from azure.mgmt.batch import BatchManagementClient

        return self._get("batch", subscription_id, BatchManagementClient)

    def close(self) -> None:
        with self._lock:
            clients, self._cache = list(self._cache.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> AzureClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------

    def _get(self, family: str, subscription_id: str, factory: Callable[..., Any]) -> Any:
        key = (family, subscription_id.lower())
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                client = factory(subscription_id=subscription_id, **self._kwargs())
                self._cache[key] = client
            return client

    def _kwargs(self) -> dict[str, Any]:
        # Called with the lock held: the credential probe and transport run once.
        if self._base is None:
            self._base = self._base_kwargs()
        kwargs = dict(self._base)
        extra: list[Any] = []
        if self.pacing is not None:
            extra.append(PacingPolicy(self.pacing))
        if self.counter is not None:
            extra.append(self.counter)
        if extra:
            kwargs["per_retry_policies"] = [*kwargs.get("per_retry_policies", ()), *extra]
        return kwargs

    def _base_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {**RETRY_KWARGS, "user_agent": USER_AGENT}
        if self.target.sandbox is not None:
            if "transport" not in self._client_kwargs:
                raise ValueError(
                    "a sandbox target needs the emulator's transport: "
                    "build its clients with reconciler.wiring.azure_clients"
                )
            kwargs.update(SANDBOX_CLIENT_KWARGS)
            kwargs["credential"] = self._credential or StaticTokenCredential()
        else:
            from reconciler.azure.credentials import credential_for

            cloud = self.target.cloud
            kwargs.update(
                credential=self._credential or credential_for(self.target),
                base_url=cloud.arm_endpoint,
                credential_scopes=[cloud.scope],
                transport=pooled_transport(),
            )
        kwargs.update(self._client_kwargs)
        return kwargs


def pooled_transport(ca_path: str | None = None) -> Any:
    """azure-core's requests transport with a connection pool sized for concurrent reads.

    `ca_path` is a CA bundle to trust instead of the system's (a served sandbox's local CA).
    """
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=POOL_CONNECTIONS, pool_maxsize=POOL_CONNECTIONS
    )
    session.mount("https://", adapter)
    return RequestsTransport(session=session, session_owner=True, connection_verify=ca_path or True)
