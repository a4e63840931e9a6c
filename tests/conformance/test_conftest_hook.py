"""The suite-wide hook that validates every `Sandbox.handle` exchange."""

from __future__ import annotations

import json

import pytest

from reconciler.sandbox.app import Sandbox, SandboxRequest
from reconciler.sandbox.seed import load_seed

SUB = "00000000-0000-0000-0000-000000000001"
GALLERY = (
    f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg-images"
    "/providers/Microsoft.Compute/galleries/hooked?api-version=2026-03-03"
)
AUTH = {"Authorization": "Bearer t", "Content-Type": "application/json"}


@pytest.fixture
def sandbox(tmp_path):
    world = Sandbox(tmp_path / "w.sqlite")
    world.seed(load_seed())
    yield world
    world.close()


def test_every_exchange_is_checked(sandbox, openapi_check):
    """The autouse fixture wraps Sandbox.handle and counts each exchange it validates."""
    assert openapi_check is not None
    before = openapi_check.exchanges
    sandbox.handle(SandboxRequest("GET", GALLERY, AUTH, b""))
    assert openapi_check.exchanges == before + 1
    assert openapi_check.violations == []


def test_violations_are_collected_not_raised(sandbox, openapi_check):
    """A schema violation is recorded for teardown; handle still returns the response."""
    body = json.dumps({"location": "westeurope", "properties": {"descripton": "typo"}})
    response = sandbox.handle(SandboxRequest("PUT", GALLERY, AUTH, body.encode()))
    if 200 <= response.status < 300:
        assert any("descripton" in v for v in openapi_check.violations)
        openapi_check.violations.clear()  # expected here; do not fail this test
    else:
        assert response.status == 400


@pytest.mark.no_openapi_check
def test_marker_opts_out(sandbox, openapi_check):
    """Tests marked no_openapi_check are not wrapped."""
    assert openapi_check is None
    response = sandbox.handle(SandboxRequest("PUT", GALLERY, AUTH, b"{not json"))
    assert response.status == 400
