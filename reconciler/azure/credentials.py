"""Credentials: `DefaultAzureCredential` against Azure, a static token in sandbox mode.

`DefaultAzureCredential` fails lazily — the first request raises
`ClientAuthenticationError` with a page of per-credential detail. `credential_for`
probes it once (one token for the cloud's ARM scope) so a missing login surfaces before
any work starts, as one sentence naming what was tried and how to fix it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential
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
        return StaticTokenCredential()
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(
        authority=target.cloud.authority,
        exclude_managed_identity_credential=exclude_managed_identity,
        process_timeout=process_timeout,
    )
    if probe:
        tried = tuple(
            t for t in TRIED if not (exclude_managed_identity and t == "managed identity")
        )
        probe_credential(credential, cloud=target.cloud, tried=tried)
    return credential


def probe_credential(
    credential: TokenCredential,
    *,
    cloud: Cloud,
    environ: Mapping[str, str] | None = None,
    tried: tuple[str, ...] = TRIED,
) -> None:
    """Get one token for `cloud`'s ARM scope; failure becomes a one-sentence `CredentialError`."""
    try:
        with _quiet_identity_logs():
            credential.get_token(cloud.scope)
    except ClientAuthenticationError as exc:
        raise credential_error(exc, cloud=cloud, environ=environ, tried=tried) from exc


@contextmanager
def _quiet_identity_logs() -> Iterator[None]:
    """azure-identity logs a page per failed chain; the person gets our one sentence instead."""
    logger = logging.getLogger("azure.identity")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def credential_error(
    exc: BaseException,
    *,
    cloud: Cloud,
    environ: Mapping[str, str] | None = None,
    tried: tuple[str, ...] = TRIED,
) -> CredentialError:
    """One sentence: what was tried, what was configured but failed, how to fix it."""
    env = os.environ if environ is None else environ
    configured, credential_class = _configured(env)
    where = f"for {cloud.name}" if not cloud.custom else f"for {cloud.arm_endpoint}"
    if configured:
        sentence = (
            f"No Azure credential {where}: {configured} is configured but could not get a "
            f"token ({_reason(exc, credential_class)}); check those settings, or run `az login`."
        )
    else:
        sentence = (
            f"No Azure credential {where}: tried {', '.join(tried[:-1])} and {tried[-1]}, "
            f"and none could sign in; {_FIX}."
        )
    return CredentialError(
        sentence, hint="To work without Azure, use --sandbox PATH (or RECONCILE_SANDBOX=PATH)."
    )


def _configured(env: Mapping[str, str]) -> tuple[str, str]:
    """The credential the environment explicitly asks for, if any (people debug that one):
    (how people name it, the azure-identity class whose failure line explains it)."""
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload identity (AZURE_FEDERATED_TOKEN_FILE)", "WorkloadIdentityCredential"
    if env.get("AZURE_CLIENT_SECRET"):
        return "a service principal (AZURE_CLIENT_SECRET)", "EnvironmentCredential"
    if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        return (
            "a service principal certificate (AZURE_CLIENT_CERTIFICATE_PATH)",
            "EnvironmentCredential",
        )
    return "", ""


_NOISE = ("defaultazurecredential failed", "attempted credentials", "to mitigate", "visit ")


def _reason(exc: BaseException, credential_class: str) -> str:
    """The failure line of `credential_class` in DefaultAzureCredential's report, else the first."""
    text: Any = getattr(exc, "message", None) or str(exc)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    for line in lines:
        if credential_class and line.startswith(f"{credential_class}:"):
            return line.split(":", 1)[1].strip().rstrip(".")[:200]
    for line in lines:
        if not line.lower().startswith(_NOISE):
            return line.rstrip(".")[:200]
    return type(exc).__name__
