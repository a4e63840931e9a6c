"""A local emulator of Azure Resource Manager for the resources `reconcile` manages.

Public surface: `Sandbox` (one world in one SQLite file; `handle` is the single entry point
every transport uses), `SandboxRequest`/`SandboxResponse`, `ConnectionDropped`,
`SandboxConfig`/`load_config`, and `SandboxHttpxTransport` (in-process, no sockets). This
package never imports the Azure SDK; `reconciler.wiring` wires SDK clients to it.
"""

from reconciler.sandbox.app import (
    DEFAULT_STATE_PATH,
    ENV_STATE_PATH,
    ConnectionDropped,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
)
from reconciler.sandbox.config import SandboxConfig, load_config

__all__ = [
    "DEFAULT_STATE_PATH",
    "ENV_STATE_PATH",
    "ConnectionDropped",
    "Sandbox",
    "SandboxConfig",
    "SandboxRequest",
    "SandboxResponse",
    "load_config",
]
