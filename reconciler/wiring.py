"""Wiring of the real Azure SDK clients to the in-process sandbox emulator.

This module owns the one place where the two sides meet: `reconciler.azure` (the SDK
clients) never imports `reconciler.sandbox`, and the emulator never imports the client
it is tested with (both are layer contracts checked in CI). Commands, tests and
benchmarks build their clients here:

    azure_clients(target)                    AzureClients for a sandbox or an Azure target
                                             (a sandbox's through `in_process_transport`)
    sandbox_client_kwargs(path)              keyword arguments for a bare SDK client::

        ComputeManagementClient(subscription_id=sub, **sandbox_client_kwargs(path))

The sandbox is imported only when a sandbox target asks for it, so a run against Azure
never loads the emulator.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.azure.clients import SANDBOX_CLIENT_KWARGS, AzureClients
from reconciler.azure.credentials import StaticTokenCredential
from reconciler.azure.target import Target

if TYPE_CHECKING:
    from reconciler.azure.inprocess import InProcessTransport
    from reconciler.azure.transport import HttpxTransport
    from reconciler.sandbox.app import Sandbox
    from reconciler.sandbox.config import SandboxConfig

_SANDBOXES: dict[tuple[str, Any, str | None], Sandbox] = {}
_LOCK = threading.Lock()


def open_sandbox(path: str | os.PathLike[str], *, config: SandboxConfig | None = None) -> Sandbox:
    """One `Sandbox` per (file, config) in this process, shared by every client built on it."""
    from reconciler.sandbox.app import Sandbox
    from reconciler.sandbox.config import ENV_CONFIG

    # Without an explicit config the env var decides, so it is part of the key.
    env = os.environ.get(ENV_CONFIG) if config is None else None
    key = (str(Path(path).resolve()), config, env)
    with _LOCK:
        sandbox = _SANDBOXES.get(key)
        if sandbox is None:
            sandbox = Sandbox(path, config=config)
            _SANDBOXES[key] = sandbox
        return sandbox


def sandbox_transport(
    path: str | os.PathLike[str] | Sandbox, *, config: SandboxConfig | None = None
) -> HttpxTransport:
    """An azure-core transport that hands each request to the sandbox in `path` (no sockets)."""
    from reconciler.azure.transport import HttpxTransport
    from reconciler.sandbox.app import Sandbox
    from reconciler.sandbox.httpx_transport import SandboxHttpxTransport

    sandbox = path if isinstance(path, Sandbox) else open_sandbox(path, config=config)
    return HttpxTransport(transport=SandboxHttpxTransport(sandbox))


def sandbox_client_kwargs(
    path: str | os.PathLike[str] | Sandbox, *, config: SandboxConfig | None = None
) -> dict[str, Any]:
    """Keyword arguments that point a management client at the sandbox in `path`.

    Everything a client needs besides its subscription: a static bearer-token credential,
    the in-process transport, ARM's public base URL and `polling_interval=0` (the
    sandbox's clock, not real sleeps, paces long-running operations).
    """
    return {
        "credential": StaticTokenCredential(),
        "transport": sandbox_transport(path, config=config),
        **SANDBOX_CLIENT_KWARGS,
    }


def azure_clients(
    target: Target, *, client_kwargs: Mapping[str, Any] | None = None, **kwargs: Any
) -> AzureClients:
    """`AzureClients` for `target`; a sandbox target's clients reach its emulator in-process.

    `kwargs` go to `AzureClients` as they are; `client_kwargs` are merged over the
    sandbox's transport, so a test can still inject its own.
    """
    if target.sandbox is not None:
        transport = in_process_transport(target.sandbox, config=target.sandbox_config)
        client_kwargs = {"transport": transport, **(client_kwargs or {})}
    return AzureClients(target, client_kwargs=client_kwargs, **kwargs)


def in_process_transport(
    path: str | os.PathLike[str] | Sandbox, *, config: SandboxConfig | None = None
) -> InProcessTransport:
    """An azure-core transport that calls the sandbox in `path` directly (no HTTP client).

    What `azure_clients` gives a sandbox target: the same requests and answers as
    `sandbox_transport`'s (the sandbox sees the SDK's headers, without those an HTTP
    client adds, which it never reads), without importing httpx (start-up time).
    """
    from reconciler.azure.inprocess import ConnectionLost, InProcessTransport
    from reconciler.sandbox.app import ConnectionDropped, Sandbox, SandboxRequest

    sandbox = path if isinstance(path, Sandbox) else open_sandbox(path, config=config)

    def handle(
        method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        try:
            answer = sandbox.handle(
                SandboxRequest(method=method, url=url, headers=headers, body=body)
            )
        except ConnectionDropped as dropped:
            # The messages a socket's failure gives through the HTTP transports.
            if dropped.processed:
                message = "Server disconnected without sending a response."
            else:
                message = "Connection refused by the sandbox."
            raise ConnectionLost(message, processed=dropped.processed) from dropped
        return answer.status, answer.headers, answer.body

    return InProcessTransport(handle)
