"""Credentials: `DefaultAzureCredential` against Azure, a static token in sandbox mode.

`DefaultAzureCredential` fails lazily — the first request raises
`ClientAuthenticationError` with a page of per-credential detail. `credential_for`
probes it once (one token for the cloud's ARM scope) so a missing login surfaces before
any work starts, as one sentence naming what was tried and how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError

from reconciler.azure.clouds import Cloud
from reconciler.azure.target import Target
from reconciler.errors import CredentialError

# What DefaultAzureCredential tries, in its order, as people name them.
TRIED = (
    "environment variables",
    "workload identity",
    "managed identity",
    "Azure CLI",
    "Azure PowerShell",
    "Azure Developer CLI",
)

_FIX = (
    "set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_FEDERATED_TOKEN_FILE for workload identity "
    "(or AZURE_CLIENT_SECRET for a service principal), or run `az login`"
)


def credential_for(
    target: Target,
    *,
    probe: bool = True,
    exclude_managed_identity: bool = False,
    process_timeout: int = 10,
) -> TokenCredential:
    """The credential for `target`, checked once (`probe`) so failures surface early.

    `exclude_managed_identity` skips the IMDS probe (tests, laptops); within
    `DefaultAzureCredential` that probe already uses a 1-second connection timeout and no
    retries, so it cannot hang for long either way.
    """
    if target.is_sandbox:
        from reconciler.azure.sandbox import StaticTokenCredential

        return StaticTokenCredential()
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(
        authority=target.cloud.authority,
        exclude_managed_identity_credential=exclude_managed_identity,
        process_timeout=process_timeout,
    )
    if probe:
        probe_credential(credential, cloud=target.cloud)
    return credential


def probe_credential(
    credential: TokenCredential,
    *,
    cloud: Cloud,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Get one token for `cloud`'s ARM scope; failure becomes a one-sentence `CredentialError`."""
    try:
        credential.get_token(cloud.scope)
    except ClientAuthenticationError as exc:
        raise credential_error(exc, cloud=cloud, environ=environ) from exc


def credential_error(
    exc: BaseException, *, cloud: Cloud, environ: Mapping[str, str] | None = None
) -> CredentialError:
    """One sentence: what was tried, what was configured but failed, how to fix it."""
    env = os.environ if environ is None else environ
    configured = _configured(env)
    where = f"for {cloud.name}" if not cloud.custom else f"for {cloud.arm_endpoint}"
    if configured:
        first = _first_line(exc)
        sentence = (
            f"No Azure credential {where}: {configured} is configured but could not get a "
            f"token ({first}); check those settings, or run `az login`."
        )
    else:
        sentence = (
            f"No Azure credential {where}: tried {', '.join(TRIED[:-1])} and {TRIED[-1]}, "
            f"and none could sign in; {_FIX}."
        )
    return CredentialError(
        sentence, hint="To work without Azure, use --sandbox PATH (or RECONCILE_SANDBOX=PATH)."
    )


def _configured(env: Mapping[str, str]) -> str:
    """The credential the environment explicitly asks for, if any (people debug that one)."""
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload identity (AZURE_FEDERATED_TOKEN_FILE)"
    if env.get("AZURE_CLIENT_SECRET"):
        return "a service principal (AZURE_CLIENT_SECRET)"
    if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        return "a service principal certificate (AZURE_CLIENT_CERTIFICATE_PATH)"
    return ""


def _first_line(exc: BaseException) -> str:
    text: Any = getattr(exc, "message", None) or str(exc)
    for line in str(text).splitlines():
        line = line.strip().rstrip(".")
        if line and not line.lower().startswith("defaultazurecredential failed"):
            return line[:200]
    return type(exc).__name__
