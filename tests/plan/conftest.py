"""Fixtures shared by the plan command tests."""

from __future__ import annotations

import shutil

import pytest

from reconciler.plan.snapshot import load_live_state
from reconciler.state.model import LiveState
from tests.golden.test_golden import HERE


@pytest.fixture
def world(monkeypatch, tmp_path):
    """Point the commands at a golden case: a copy of its folder as cwd, its live.json as Azure.

    The copy holds a `w.sqlite` file, as a sandbox path must exist; the replaced
    `read_live` never opens it.
    """

    def use(case: str) -> LiveState:
        folder = tmp_path / case
        shutil.copytree(HERE / case, folder)
        (folder / "w.sqlite").touch()
        monkeypatch.chdir(folder)
        live = load_live_state(HERE / case / "live.json")
        monkeypatch.setattr("reconciler.commands._options.read_live", lambda target, spec: live)
        return live

    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("RECONCILE_SANDBOX", raising=False)
    return use
