"""Where the tool talks to: the embedded sandbox (a state file) or one Azure cloud.

A `Target` is a frozen value built once from options and the environment
(``--sandbox PATH`` / ``RECONCILE_SANDBOX``, ``--cloud``, ``--endpoint``); everything
downstream (credentials, clients) derives from it, so sandbox and Azure share one
code path. `describe()` is what plan headers print.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.azure.clouds import AZURE_PUBLIC, Cloud, cloud_named, custom_cloud

ENV_SANDBOX = "RECONCILE_SANDBOX"


@dataclass(frozen=True, slots=True)
class Target:
    """Either a sandbox state file or an Azure cloud (never both)."""

    sandbox: Path | None = None
    cloud: Cloud = AZURE_PUBLIC
    # Sandbox only: a `reconciler.sandbox.config.SandboxConfig` overriding the world's own
    # (tests and benchmarks dial latency and faults with it). Not part of equality.
    sandbox_config: Any = field(default=None, compare=False)

    @classmethod
    def for_sandbox(cls, path: str | os.PathLike[str], *, config: Any = None) -> Target:
        return cls(sandbox=Path(path), sandbox_config=config)

    @classmethod
    def for_azure(cls, cloud: str | Cloud = AZURE_PUBLIC, *, endpoint: str | None = None) -> Target:
        if endpoint:
            return cls(cloud=custom_cloud(endpoint))
        return cls(cloud=cloud if isinstance(cloud, Cloud) else cloud_named(cloud))

    @classmethod
    def from_options(
        cls,
        *,
        sandbox: str | os.PathLike[str] | None = None,
        cloud: str | None = None,
        endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Target:
        """Resolve CLI options: an explicit `--sandbox` wins, then ``RECONCILE_SANDBOX``, then Azure."""
        env = os.environ if environ is None else environ
        path = sandbox if sandbox is not None else env.get(ENV_SANDBOX) or None
        if path is not None:
            if cloud or endpoint:
                raise ValueError("--sandbox cannot be combined with --cloud or --endpoint")
            return cls.for_sandbox(path)
        return cls.for_azure(cloud or AZURE_PUBLIC, endpoint=endpoint)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    def describe(self) -> str:
        """``sandbox .reconcile/sandbox.sqlite``, ``AzureCloud``, or ``custom https://…``."""
        if self.sandbox is not None:
            return f"sandbox {self.sandbox}"
        if self.cloud.custom:
            return f"custom {self.cloud.arm_endpoint}"
        return self.cloud.name
