"""The only package that imports `azure.*`: credentials, clouds, clients, mapping, reads, writes.

Public surface (imported lazily, so `import reconciler.azure` stays cheap)::

    Target, Cloud, cloud_named, custom_cloud       where to talk to
    credential_for                                 DefaultAzureCredential / sandbox token
    AzureClients, RequestCounter                   cached SDK clients per subscription
    read_live_state                                LiveState for a ReadScope (list calls)
    AzureOperations                                the apply port (create/update/delete/read)
    classify                                       SDK exception → reconciler.errors
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Target": "reconciler.azure.target",
    "Cloud": "reconciler.azure.clouds",
    "cloud_named": "reconciler.azure.clouds",
    "custom_cloud": "reconciler.azure.clouds",
    "credential_for": "reconciler.azure.credentials",
    "AzureClients": "reconciler.azure.clients",
    "RequestCounter": "reconciler.azure.clients",
    "read_live_state": "reconciler.azure.read",
    "AzureOperations": "reconciler.azure.operations",
    "classify": "reconciler.azure.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
