"""Real Azure SDK clients against the sandbox, in-process.

`sandbox_client_kwargs(path)` gives everything a management client needs besides its
subscription: a static bearer-token credential, the in-process transport, ARM's public
base URL and `polling_interval=0` (the sandbox's clock, not real sleeps, paces LROs)::

    ComputeManagementClient(subscription_id=sub, **sandbox_client_kwargs(path))
    BatchManagementClient(subscription_id=sub, **sandbox_client_kwargs(path))
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo

from reconciler.azure.transport import HttpxTransport
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig
from reconciler.sandbox.httpx_transport import SandboxHttpxTransport

ARM_BASE_URL = "https://management.azure.com"
SANDBOX_TOKEN = "reconcile-sandbox-token"


class StaticTokenCredential:
    """A `TokenCredential` that always gives the same bearer token (sandbox mode)."""

    def __init__(self, token: str = SANDBOX_TOKEN, *, lifetime: int = 3600) -> None:
        self._token = token
        self._lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + self._lifetime)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._token, int(time.time()) + self._lifetime)

    def close(self) -> None:
        pass

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *args: Any) -> None:
        pass


_SANDBOXES: dict[tuple[str, SandboxConfig | None, str | None], Sandbox] = {}
_LOCK = threading.Lock()


def open_sandbox(path: str | os.PathLike[str], *, config: SandboxConfig | None = None) -> Sandbox:
    """One `Sandbox` per (file, config) in this process, shared by every client built on it."""
    # Without an explicit config the env var decides, so it is part of the key.
    env = os.environ.get(ENV_CONFIG) if config is None else None
    key = (str(Path(path).resolve()), config, env)
    with _LOCK:
        sandbox = _SANDBOXES.get(key)
        if sandbox is None:
            sandbox = Sandbox(path, config=config)
            _SANDBOXES[key] = sandbox
        return sandbox


def sandbox_client_kwargs(
    path: str | os.PathLike[str] | Sandbox, *, config: SandboxConfig | None = None
) -> dict[str, Any]:
    """Keyword arguments that point a management client at the sandbox in `path`."""
    sandbox = path if isinstance(path, Sandbox) else open_sandbox(path, config=config)
    return {
        "credential": StaticTokenCredential(),
        "transport": HttpxTransport(transport=SandboxHttpxTransport(sandbox)),
        "base_url": ARM_BASE_URL,
        "polling_interval": 0,
    }
