"""Where a saved plan was made, and how `apply PLANFILE` finds its spec and target again."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.commands._options import TargetOptions
from reconciler.commands._saved_plan import inputs_for, origin_for
from reconciler.errors import ReconcileError
from reconciler.plan import Plan, PlanOrigin

HASH = "sha256:" + "0" * 64


@pytest.fixture(autouse=True)
def _no_env_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECONCILE_SANDBOX", raising=False)


def test_origin_records_paths_relative_to_the_directory_and_the_real_sandbox(tmp_path):
    """Spec paths are relative to where plan ran; the sandbox is its real path, links resolved."""
    (tmp_path / "world.sqlite").touch()
    (tmp_path / "link.sqlite").symlink_to(tmp_path / "world.sqlite")
    target = TargetOptions(sandbox=str(tmp_path / "link.sqlite")).target()
    origin = origin_for(["specs/minimal/", str(tmp_path / "other.yaml")], target, cwd=tmp_path)
    assert origin == PlanOrigin(
        base=str(tmp_path.resolve()),
        spec_paths=("specs/minimal", "other.yaml"),
        sandbox=str((tmp_path / "world.sqlite").resolve()),
    )
    assert origin_for([], target, cwd=tmp_path).spec_paths == ("specs",)


def _plan(**origin: str) -> Plan:
    return Plan(
        spec_hash=HASH,
        target="AzureCloud",
        origin=PlanOrigin(base="/nowhere", spec_paths=("spec.yaml",), **origin),
    )


@pytest.mark.parametrize(
    ("recorded", "given", "accepted"),
    [
        ({"cloud": "AzureCloud"}, TargetOptions(cloud="azurecloud"), True),
        ({"cloud": "AzureCloud"}, TargetOptions(cloud="AzureChinaCloud"), False),
        ({"endpoint": "https://arm.example"}, TargetOptions(endpoint="https://arm.example"), True),
        ({"endpoint": "https://arm.example"}, TargetOptions(), True),
        ({"cloud": "AzureUSGovernment"}, TargetOptions(endpoint="https://arm.example"), False),
    ],
    ids=["cloud spelled otherwise", "other cloud", "same endpoint", "plan's own", "other kind"],
)
def test_a_named_target_must_be_the_plans_own(recorded, given, accepted):
    """Targets are compared by identity; leaving them out uses the plan's."""
    plan = _plan(**recorded)
    if not accepted:
        with pytest.raises(ReconcileError, match=r"^p\.json was planned for AzureCloud, not "):
            inputs_for(plan, Path("p.json"), [Path("given.yaml")], given)
        return
    paths, options = inputs_for(plan, Path("p.json"), [Path("given.yaml")], given)
    assert paths == ["given.yaml"]  # paths given win over the recorded ones
    assert (
        options.target()
        == TargetOptions(cloud=recorded.get("cloud"), endpoint=recorded.get("endpoint")).target()
    )
