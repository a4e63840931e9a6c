"""Named Azure clouds and custom ARM endpoints: where ARM lives and which token scope it wants.

Endpoints follow `azure.mgmt.core.tools.get_arm_endpoints` (the SDK's own table) and
Microsoft's "Multicloud: connect to all regions with the Azure libraries for Python":
the token scope is the ARM audience plus ``/.default``. US Government is the one cloud
whose audience differs from its ARM host (``management.core.usgovcloudapi.net``).
Nothing here does I/O or imports the SDK, so the CLI can parse options cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True, slots=True)
class Cloud:
    """One Azure cloud: its ARM endpoint, token audience and Entra ID authority host."""

    name: str
    arm_endpoint: str  # no trailing slash
    audience: str  # no trailing slash; the token scope is audience + "/.default"
    authority: str  # host name, e.g. login.microsoftonline.com

    @property
    def scope(self) -> str:
        """The OAuth scope a token for ARM in this cloud is requested with."""
        return f"{self.audience}/.default"

    @property
    def custom(self) -> bool:
        return self.name not in CLOUDS


AZURE_PUBLIC = Cloud(
    "AzureCloud",
    "https://management.azure.com",
    "https://management.azure.com",
    "login.microsoftonline.com",
)
AZURE_CHINA = Cloud(
    "AzureChinaCloud",
    "https://management.chinacloudapi.cn",
    "https://management.chinacloudapi.cn",
    "login.chinacloudapi.cn",
)
AZURE_US_GOVERNMENT = Cloud(
    "AzureUSGovernment",
    "https://management.usgovcloudapi.net",
    "https://management.core.usgovcloudapi.net",
    "login.microsoftonline.us",
)

CLOUDS: dict[str, Cloud] = {c.name: c for c in (AZURE_PUBLIC, AZURE_CHINA, AZURE_US_GOVERNMENT)}

# Spellings people use (az cli names, SDK enum names, short forms), lower-cased.
_ALIASES = {
    "azurecloud": AZURE_PUBLIC,
    "public": AZURE_PUBLIC,
    "azure_public_cloud": AZURE_PUBLIC,
    "azurechinacloud": AZURE_CHINA,
    "china": AZURE_CHINA,
    "azure_china_cloud": AZURE_CHINA,
    "azureusgovernment": AZURE_US_GOVERNMENT,
    "usgov": AZURE_US_GOVERNMENT,
    "usgovernment": AZURE_US_GOVERNMENT,
    "azure_us_government": AZURE_US_GOVERNMENT,
}


def cloud_named(name: str) -> Cloud:
    """The named cloud (``AzureCloud``, ``AzureChinaCloud``, ``AzureUSGovernment``, or a short alias)."""
    cloud = _ALIASES.get(name.strip().lower())
    if cloud is None:
        known = ", ".join(CLOUDS)
        raise ValueError(f"unknown Azure cloud {name!r}; expected one of {known}")
    return cloud


def custom_cloud(
    endpoint: str, *, audience: str | None = None, authority: str | None = None
) -> Cloud:
    """A cloud reached at a custom ARM endpoint (Azure Stack, a private cloud, a proxy).

    The audience defaults to the endpoint itself and the authority to the public one,
    which is what Microsoft's multicloud guide does for "your own cloud definition".
    """
    parsed = urlparse(endpoint.strip())
    if parsed.scheme != "https" or not parsed.netloc:
        raise ValueError(f"a custom ARM endpoint must be an https URL, got {endpoint!r}")
    base = endpoint.strip().rstrip("/")
    return Cloud(
        name="custom",
        arm_endpoint=base,
        audience=(audience or base).rstrip("/"),
        authority=authority or AZURE_PUBLIC.authority,
    )
