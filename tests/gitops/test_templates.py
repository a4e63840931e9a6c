"""The shipped CI templates pass the schemas GitHub and Azure Pipelines publish; broken ones fail."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_templates.sh"
TEMPLATES = ROOT / "templates"
# A proxy that refuses every connection: the validator must not need the network.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


def _check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), str(directory)],
        capture_output=True,
        text=True,
        env={**os.environ, **OFFLINE},
        timeout=120,
    )


def test_the_shipped_templates_are_valid_offline():
    """Both templates validate against the bundled schemas with no network."""
    result = _check(TEMPLATES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok -- validation done") == 2


@pytest.mark.parametrize(
    ("path", "old", "new", "where"),
    [
        (
            "github/reconcile.yml",
            "    runs-on: ubuntu-latest\n",
            "    runs_on: ubuntu-latest\n",
            "jobs",
        ),
        (
            "github/reconcile.yml",
            "      cancel-in-progress: true",
            "      cancel-in-progress: maybe",
            "jobs",
        ),
        ("github/reconcile.yml", "  pull_request:\n", "  pull-request:\n", "on"),
        (
            "azure-devops/azure-pipelines.yml",
            "          - script: reconcile validate",
            "          - scirpt: reconcile validate",
            "stages",
        ),
        (
            "azure-devops/azure-pipelines.yml",
            "      - deployment: apply\n        environment:",
            "      - deployment: apply\n        environmnet:",
            "stages",
        ),
    ],
    ids=[
        "gh-runs_on",
        "gh-concurrency-bool",
        "gh-trigger-name",
        "ado-step-key",
        "ado-environment-key",
    ],
)
def test_a_deliberately_broken_template_fails_the_check(tmp_path, path, old, new, where):
    """One misspelt key or wrong value makes scripts/check_templates.sh exit non-zero."""
    broken = tmp_path / "templates"
    shutil.copytree(TEMPLATES, broken)
    target = broken / path
    text = target.read_text()
    assert old in text, "the template changed; update this test's edit"
    target.write_text(text.replace(old, new, 1))
    result = _check(broken)
    assert result.returncode != 0
    assert "Schema validation errors were encountered" in result.stdout
    assert str(target) in result.stdout
    assert where in result.stdout


def test_an_empty_directory_is_an_error_not_a_pass(tmp_path):
    """No templates to check is a failure, so a moved folder cannot pass silently."""
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "expected workflows" in result.stderr
