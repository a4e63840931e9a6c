"""Credentials: one clear sentence when DefaultAzureCredential cannot sign in; a static token in sandbox mode."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from reconciler.azure.clouds import AZURE_CHINA
from reconciler.azure.credentials import credential_error, credential_for
from reconciler.azure.target import Target
from reconciler.errors import CredentialError


@pytest.fixture
def no_azure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment with no Azure settings and no az/pwsh/azd on PATH."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_", "IMDS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))


def _one_sentence(text: str) -> bool:
    return "\n" not in text and text.endswith(".") and text.count(". ") == 0


def test_no_credential_is_one_sentence_naming_what_was_tried_and_the_fix(
    no_azure: None, caplog: pytest.LogCaptureFixture
) -> None:
    """With nothing configured, probing fails fast with one sentence: what was tried, how to fix it."""
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING), pytest.raises(CredentialError) as caught:
        credential_for(Target.for_azure(), exclude_managed_identity=True, process_timeout=2)
    assert time.perf_counter() - started < 10
    message = str(caught.value)
    assert _one_sentence(message), message
    assert message.startswith("No Azure credential for AzureCloud: tried environment variables")
    assert "managed identity" not in message  # excluded here, so not claimed as tried
    assert "AZURE_FEDERATED_TOKEN_FILE" in message and "`az login`" in message
    assert "--sandbox" in caught.value.hint
    # azure-identity's page-long report is not printed alongside our sentence.
    assert not [r for r in caplog.records if r.name.startswith("azure.identity")]


def test_managed_identity_probe_cannot_hang(no_azure: None) -> None:
    """Including managed identity, the IMDS probe (1 s connect timeout, no retries) still fails fast."""
    started = time.perf_counter()
    with pytest.raises(CredentialError) as caught:
        credential_for(Target.for_azure(), process_timeout=2)
    assert time.perf_counter() - started < 15
    assert "managed identity" in str(caught.value)


def test_configured_workload_identity_failure_names_it(
    no_azure: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """When workload identity is configured but broken, the sentence names it and its reason."""
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000aa")
    monkeypatch.setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-0000000000bb")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(tmp_path / "missing-token"))
    with pytest.raises(CredentialError) as caught:
        credential_for(Target.for_azure("AzureChinaCloud"), exclude_managed_identity=True)
    message = str(caught.value)
    assert _one_sentence(message), message
    assert message.startswith(
        "No Azure credential for AzureChinaCloud: workload identity (AZURE_FEDERATED_TOKEN_FILE)"
    )
    assert "missing-token" in message


def test_credential_error_for_custom_endpoint_names_the_endpoint() -> None:
    """A custom cloud is named by its endpoint in the sentence."""
    error = credential_error(
        RuntimeError("boom"),
        cloud=Target.for_azure(endpoint="https://arm.example.test").cloud,
        environ={},
    )
    assert "for https://arm.example.test:" in str(error)


def test_sandbox_target_uses_a_static_token_without_probing(tmp_path: Path) -> None:
    """In sandbox mode the credential is the static token; nothing reaches Entra ID."""
    credential = credential_for(Target.for_sandbox(tmp_path / "w.sqlite"))
    assert credential.get_token(AZURE_CHINA.scope).token == "reconcile-sandbox-token"
