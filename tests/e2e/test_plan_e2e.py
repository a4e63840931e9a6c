"""Plan and drift end to end: the `reconcile` CLI against a sandbox world, through the real SDK.

A fresh world (default seed, running thousands of times faster than real time) is read
with the real Azure SDK clients on the in-process transport; changes made "behind the
tool's back" go through the SDK directly, exactly as someone using the portal or the
az CLI would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig
from tests.support.worlds import seeded_world

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
SPEED = 20000.0  # replication that takes 40 simulated minutes takes ~0.1 s
SUB = "00000000-0000-0000-0000-000000000001"
BEFORE_R7 = date(2026, 3, 1)  # managed-image pools could still be created then
SECRETS = {"RENDER_LICENSE_KEY": "e2e-license"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_CONFIG, "RECONCILE_SANDBOX", "GITHUB_STEP_SUMMARY", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Path]:
    """A fresh sandbox world from the default seed; yields its state file."""
    yield seeded_world(tmp_path / "world.sqlite", SandboxConfig(speed=SPEED))


def reconcile(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def apply_spec(world: Path, spec_dir: Path, *, now: date | None = None) -> None:
    """Plan and apply `spec_dir` with the library (the CLI's apply belongs to another suite)."""
    from reconciler.apply import ExecutorSettings, RetryPolicy, apply_plan
    from reconciler.azure import AzureOperations, Target, read_live_state
    from reconciler.plan import make_plan
    from reconciler.spec import load_spec
    from reconciler.state.scope import scope_for
    from reconciler.wiring import azure_clients

    spec = load_spec([str(spec_dir)]).spec
    assert spec is not None
    target = Target.for_sandbox(world)
    with azure_clients(target) as clients:
        plan = make_plan(spec, read_live_state(clients, scope_for(spec)), target="e2e", now=now)
        assert not plan.has_errors, plan.diagnostics
        settings = ExecutorSettings(
            poll_interval=0.02, retry=RetryPolicy(initial=0.05, maximum=1.0)
        )
        result = apply_plan(
            plan, AzureOperations(clients), settings=settings, allow_disruptive=True
        )
        assert result.ok, [(o.address, o.error) for o in result.failed]


def test_empty_world_plan_shows_creates_in_dependency_order(world: Path) -> None:
    """On an empty world every resource is a create, each after what it depends on."""
    result = reconcile(
        "plan", str(SPECS / "production"), "--sandbox", str(world), "--format", "json",
        "--detailed-exitcode",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    plan = json.loads(result.output)
    changes = plan["changes"]
    assert {c["action"] for c in changes} == {"create"}
    position = {c["id"]: i for i, c in enumerate(changes)}
    for c in changes:
        assert all(position[d] < position[c["id"]] for d in c["depends_on"]), c["id"]
    kinds = [c["kind"] for c in changes]
    # Parents first: every pool after the last image resource it may boot.
    assert kinds == ["gallery"] + ["image"] * 3 + ["version"] * 5 + ["pool"] * 7
    minimal = reconcile("plan", str(SPECS / "minimal"), "--sandbox", str(world))
    order = [line.split()[-1] for line in minimal.output.splitlines() if line.startswith("  + ")]
    assert order == [
        "gallery:minimalgallery",
        "image:minimalgallery/minimal-ubuntu",
        "version:minimalgallery/minimal-ubuntu/1.0.0",
        "pool:batchprodweu/minimal",
    ]


def test_drift_injected_through_the_sdk_exits_2_and_names_the_field(world: Path) -> None:
    """Edits made with the SDK behind the tool's back are reported by `reconcile drift`."""
    from azure.mgmt.batch.models import MetadataItem, Pool
    from azure.mgmt.compute.models import GalleryUpdate

    from reconciler.azure import Target
    from reconciler.wiring import azure_clients

    apply_spec(world, SPECS / "minimal")
    assert reconcile("drift", str(SPECS / "minimal"), "--sandbox", str(world)).exit_code == 0

    with azure_clients(Target.for_sandbox(world)) as clients:
        compute = clients.compute(SUB)
        compute.galleries.begin_update(
            "rg-images", "minimalgallery", GalleryUpdate(description="edited in the portal")
        ).result()
        batch = clients.batch(SUB)
        current = batch.pool.get("rg-batch", "batchprodweu", "minimal")
        metadata = [m for m in current.metadata or [] if m.name != "team"]
        batch.pool.update(
            "rg-batch",
            "batchprodweu",
            "minimal",
            Pool(metadata=[*metadata, MetadataItem(name="team", value="someone-else")]),
        )

    result = reconcile("drift", str(SPECS / "minimal"), "--sandbox", str(world))
    assert result.exit_code == 2, result.output
    assert "gallery:minimalgallery" in result.output and "description" in result.output
    assert "edited in the portal" in result.output
    assert "metadata.team" in result.output and "someone-else" in result.output
    data = json.loads(
        reconcile(
            "drift", str(SPECS / "minimal"), "--sandbox", str(world), "--format", "json"
        ).output
    )
    assert {(d["address"], tuple(d["paths"])) for d in data["drift"]} == {
        ("gallery:minimalgallery", ("description",)),
        ("pool:batchprodweu/minimal", ("metadata.team",)),
    }
    # The plan puts it back in place; nothing destructive.
    plan = json.loads(
        reconcile(
            "plan", str(SPECS / "minimal"), "--sandbox", str(world), "--format", "json"
        ).output
    )
    assert {c["address"]: c["action"] for c in plan["changes"] if c["action"] != "no-op"} == {
        "gallery:minimalgallery": "update",
        "pool:batchprodweu/minimal": "update",
    }


@pytest.mark.parametrize("spec_dir", sorted(p.name for p in SPECS.iterdir() if p.is_dir()))
def test_plan_is_empty_after_apply(world: Path, spec_dir: str) -> None:
    """After applying an example spec, `reconcile plan --detailed-exitcode` finds nothing (exit 0)."""
    # New managed-image pools (legacy) were creatable until 31 March 2026 (R7): build that
    # world as it was then; today's plan must keep the pool and find nothing to do.
    apply_spec(world, SPECS / spec_dir, now=BEFORE_R7 if spec_dir == "legacy" else None)
    result = reconcile(
        "plan", str(SPECS / spec_dir), "--sandbox", str(world), "--detailed-exitcode"
    )
    assert result.exit_code == 0, result.output
    assert "No changes to make." in result.output


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (
            {
                "    resourceGroup: rg-batch\n": "    resourceGroup: rg-batch\n"
                "    location: northeurope\n",
                "          - name: 1.0.0\n": "          - name: 1.0.0\n"
                "            targetRegions: [{name: westeurope}, {name: northeurope}]\n",
            },
            (
                "spec.yaml:39:5",
                "batchprodweu is in westeurope, but the spec places it in northeurope",
            ),
        ),
        (
            {"name: batchprodweu": "name: batchelsewhere"},
            ("spec.yaml:38:5", "batchelsewhere was not found"),
        ),
    ],
    ids=["other-region", "not-found"],
)
def test_an_account_not_where_the_spec_says_blocks_its_pools(
    world: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit: dict[str, str],
    said: tuple[str, str],
) -> None:
    """RC512 through the real SDK: the account's real region (or its absence) stops pool writes.

    The diagnostic is placed at the account's declaration, not mid-sentence."""
    text = (SPECS / "minimal" / "spec.yaml").read_text()
    for old, new in edit.items():
        assert old in text
        text = text.replace(old, new, 1)
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "spec.yaml").write_text(text)
    monkeypatch.chdir(spec_dir)  # diagnostics name the file as given
    result = reconcile("plan", "spec.yaml", "--sandbox", str(world), "--format", "json")
    assert result.exit_code == 1, result.output
    plan = json.loads(result.output)
    (error,) = [d for d in plan["diagnostics"] if d["code"] == "RC512"]
    assert (error["where"], said[1] in error["message"]) == (said[0], True), error
    kinds = {c["kind"] for c in plan["changes"] if c["action"] != "no-op"}
    assert kinds == {"gallery", "image", "version"}  # everything but the blocked pool
