"""Saved plans and `--target` end to end: the `reconcile` CLI against a sandbox world.

A saved plan is applied with nothing but its file, from another directory and with the
sandbox spelled differently; a plan file edited after `plan --out` is refused and the
world, read back through the real SDK clients, is exactly as it was; `--target` applies
only part of a spec and says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig
from reconciler.sandbox.seed import load_seed
from reconciler.state.model import Kind

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
CLI = (sys.executable, "-m", "reconciler.cli")  # `reconcile` in a process of its own
SPEED = 20000.0  # replication that takes 40 simulated minutes takes ~0.1 s
SUB = "00000000-0000-0000-0000-000000000001"
POOL = (
    f"/subscriptions/{SUB}/resourcegroups/rg-batch/providers/microsoft.batch/"
    "batchaccounts/batchprodweu/pools/minimal"
)
VERSION = (
    f"/subscriptions/{SUB}/resourcegroups/rg-images/providers/microsoft.compute/galleries/"
    "minimalgallery/images/minimal-ubuntu/versions/1.0.0"
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_CONFIG, "RECONCILE_SANDBOX", "GITHUB_STEP_SUMMARY", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A checkout-like folder (specs/minimal, a grown copy, a fresh world) as the cwd."""
    checkout = tmp_path / "checkout"
    (checkout / "specs").mkdir(parents=True)
    shutil.copytree(SPECS / "minimal", checkout / "specs" / "minimal")
    text = (SPECS / "minimal" / "spec.yaml").read_text()
    (checkout / "specs" / "grown").mkdir()
    (checkout / "specs" / "grown" / "spec.yaml").write_text(
        # The same spec, grown: it keeps minimal's owner name (else it would be another spec).
        text.replace("fixed: {dedicated: 2}", "fixed: {dedicated: 40}").replace(
            "apiVersion: reconcile/v1\n",
            "apiVersion: reconcile/v1\nsettings:\n  owner: minimal\n",
            1,
        )
    )
    config = SandboxConfig(speed=SPEED)
    sandbox = Sandbox(checkout / "world.sqlite", config=config)
    sandbox.save_config(config)
    sandbox.reset()
    sandbox.seed(load_seed(None))
    sandbox.close()
    monkeypatch.chdir(checkout)
    yield checkout


def reconcile(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def read(world: Path, kind: Kind, resource_id: str) -> Any:
    """The resource as Azure (the sandbox) reports it, through the real SDK clients."""
    from reconciler.azure import AzureOperations, Target
    from reconciler.wiring import azure_clients

    with azure_clients(Target.for_sandbox(world)) as clients:
        return AzureOperations(clients).read(kind=kind, resource_id=resource_id)


def minimal_applied(world: Path) -> None:
    result = reconcile("apply", "specs/minimal", "--sandbox", str(world), "--auto-approve")
    assert result.exit_code == 0, result.output


def test_apply_of_a_plan_file_alone_uses_its_spec_and_sandbox_from_anywhere(here: Path) -> None:
    """`reconcile apply p.json`, run from another directory, needs no other argument."""
    made = reconcile("plan", "specs/minimal", "--sandbox", "world.sqlite", "--out", "p.json")
    assert made.exit_code == 0, made.output
    assert "apply it with `reconcile apply p.json`" in made.output
    elsewhere = here.parent / "elsewhere"
    elsewhere.mkdir()
    # Its own process, as a person or a CI step would run it from that directory.
    result = subprocess.run(
        [*CLI, "apply", str(here / "p.json"), "--auto-approve"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Using the spec the plan was made from: {here / 'specs/minimal'}" in result.stderr
    assert "Apply complete: 4 change(s) done" in result.stdout
    assert list(elsewhere.iterdir()) == []  # nothing left behind where it ran
    pool = read(here / "world.sqlite", Kind.POOL, POOL)
    assert pool is not None and pool.properties["scale.fixed.dedicated"] == 2


@pytest.mark.parametrize("spelling", ["absolute", "symlink", "dotted"])
def test_a_saved_plan_is_accepted_however_the_sandbox_is_spelled(here: Path, spelling: str) -> None:
    """The plan's target is the sandbox file's real path, not the text typed for it."""
    assert reconcile("plan", "specs/minimal", "--sandbox", "world.sqlite", "--out", "p.json")
    (here / "link.sqlite").symlink_to(here / "world.sqlite")
    given = {
        "absolute": str(here / "world.sqlite"),
        "symlink": "link.sqlite",
        "dotted": "./specs/../world.sqlite",
    }[spelling]
    result = reconcile("apply", "p.json", "specs/minimal", "--sandbox", given, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert read(here / "world.sqlite", Kind.POOL, POOL) is not None


def test_a_saved_plan_is_refused_on_another_world(here: Path) -> None:
    """Another sandbox file is another target: refused before anything is read or written."""
    assert reconcile("plan", "specs/minimal", "--sandbox", "world.sqlite", "--out", "p.json")
    shutil.copy(here / "world.sqlite", here / "other.sqlite")
    result = reconcile("apply", "p.json", "--sandbox", "other.sqlite", "--auto-approve")
    assert result.exit_code == 1
    assert result.output.startswith(
        "error: p.json was planned for sandbox world.sqlite, not sandbox other.sqlite\n"
    )
    assert read(here / "other.sqlite", Kind.POOL, POOL) is None


def test_gone_spec_or_sandbox_is_one_clear_error(here: Path) -> None:
    """When what the plan was made from is gone, apply names it and touches nothing."""
    shutil.copy(here / "world.sqlite", here / "gone.sqlite")
    # Planned in its own process: this one never opens the world that is then removed.
    made = subprocess.run(
        [*CLI, "plan", "specs/minimal", "--sandbox", "gone.sqlite", "--out", "p.json"],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    shutil.move(here / "specs" / "minimal", here / "moved")
    result = reconcile("apply", "p.json", "--auto-approve")
    assert result.exit_code == 1
    assert result.output == (
        f"error: p.json was made from specs/minimal, which is neither in {here} nor in {here}\n"
        "  hint: run apply where the plan was made, or name the spec: "
        "`reconcile apply p.json PATH...`\n"
    )
    shutil.move(here / "moved", here / "specs" / "minimal")
    (here / "gone.sqlite").unlink()
    result = reconcile("apply", "p.json", "--auto-approve")
    assert result.exit_code == 1
    assert result.output == (
        f"error: p.json was planned for sandbox {here / 'gone.sqlite'}, which does not exist\n"
        "  hint: pass --sandbox PATH naming the world it was planned for, or plan again\n"
    )
    assert not (here / "gone.sqlite").exists()  # no empty world made in its place


def _pool_change(data: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in data["changes"] if c["address"] == "pool:batchprodweu/minimal")


def _json_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        data = json.loads(text)
        edit(data)
        return json.dumps(data)

    return apply


TAMPERING: dict[str, tuple[Callable[[str], str], str]] = {
    "resize becomes delete": (
        _json_edit(lambda d: _pool_change(d).update(action="delete", destructive=True)),
        "error: the saved plan is not what the spec and live state produce now: "
        "pool:batchprodweu/minimal: the plan says delete, a fresh plan says resize\n",
    ),
    "after nodes 9999": (
        _json_edit(lambda d: _pool_change(d)["after"].update({"scale.fixed.dedicated": 9999})),
        "error: the saved plan is not what the spec and live state produce now: "
        "pool:batchprodweu/minimal: after differ from a fresh plan\n",
    ),
    "observed removed": (
        _json_edit(lambda d: d.pop("observed")),
        "error: p.json is not a valid plan file: the document: 'observed' is a required "
        "property\n",
    ),
    "observed emptied": (
        _json_edit(lambda d: d.update(observed={})),
        "error: the saved plan is not what the spec and live state produce now: "
        "the resources it observed are not the ones a fresh plan observes\n",
    ),
    "subscription changed": (
        lambda text: text.replace(SUB, "11111111-1111-1111-1111-111111111111"),
        "error: the saved plan is stale: pool:batchprodweu/minimal is gone;",
    ),
    "malformed JSON": (
        lambda text: text[: len(text) // 2],
        "error: p.json is not a plan file (invalid JSON: ",
    ),
    "changes null": (
        _json_edit(lambda d: d.update(changes=None)),
        "error: p.json is not a valid plan file: changes: None is not of type 'array'\n",
    ),
    "unknown action": (
        _json_edit(lambda d: _pool_change(d).update(action="destroy")),
        "error: p.json is not a valid plan file: changes[0].action: 'destroy' is not one of",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_an_edited_plan_file_is_refused_and_the_world_untouched(here: Path, case: str) -> None:
    """Each edit of a saved plan is refused with one clear error; Azure is exactly as before."""
    world = here / "world.sqlite"
    minimal_applied(world)
    made = reconcile("plan", "specs/grown", "--sandbox", "world.sqlite", "--out", "p.json")
    assert made.exit_code == 0, made.output
    edit, expected = TAMPERING[case]
    plan_file = here / "p.json"
    plan_file.write_text(edit(plan_file.read_text()))
    before = read(world, Kind.POOL, POOL)

    result = reconcile("apply", "p.json", "--auto-approve")

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, never a traceback
    assert expected in result.output
    assert "Traceback" not in result.output
    after = read(world, Kind.POOL, POOL)
    assert after is not None and after.properties["scale.fixed.dedicated"] == 2
    assert after.etag == before.etag


def test_the_untouched_plan_of_the_same_change_is_applied(here: Path) -> None:
    """The control for the tampering cases: the plan as saved resizes the pool."""
    world = here / "world.sqlite"
    minimal_applied(world)
    assert reconcile("plan", "specs/grown", "--sandbox", "world.sqlite", "--out", "p.json")
    result = reconcile("apply", "p.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert read(world, Kind.POOL, POOL).properties["scale.fixed.dedicated"] == 40


PARTIAL = (
    "Warning: this is a partial plan (--target version:*): only those resources and what "
    "they depend on are reconciled; the rest of the spec is not. Run without --target to "
    "converge everything.\n"
)


def test_target_applies_only_part_of_the_spec_and_warns(here: Path) -> None:
    """`apply --target version:*` creates the version and its parents, not the pool."""
    world = here / "world.sqlite"
    result = reconcile(
        "apply", "specs/minimal", "--sandbox", "world.sqlite", "--target", "version:*",
        "--auto-approve",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Partial plan: only version:* and what they depend on" in result.output
    assert result.output.count(PARTIAL) == 2  # before the changes start and in the end
    assert "Apply complete: 3 change(s) done" in result.output
    assert read(world, Kind.VERSION, VERSION) is not None
    assert read(world, Kind.POOL, POOL) is None
    rest = reconcile("plan", "specs/minimal", "--sandbox", "world.sqlite")
    assert "Plan: 1 to create, 0 to update" in rest.output


def test_a_saved_partial_plan_keeps_its_targets(here: Path) -> None:
    """`plan --target --out` then `apply FILE`: the same partial plan, with the warning."""
    made = reconcile(
        "plan", "specs/minimal", "--sandbox", "world.sqlite", "--target", "version:*",
        "--out", "p.json", "--format", "json",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    saved = json.loads((here / "p.json").read_text())
    assert saved["partial"] is True and saved["targets"] == ["version:*"]
    result = reconcile("apply", "p.json", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert PARTIAL in result.output
    assert read(here / "world.sqlite", Kind.POOL, POOL) is None
    both = reconcile("apply", "p.json", "--target", "pool:*", "--auto-approve")
    assert both.exit_code == 1
    assert "error: --target cannot be combined with a saved plan" in both.output


def test_a_target_that_matches_nothing_is_refused_with_a_suggestion(here: Path) -> None:
    """A mistyped target is an error naming the closest address; nothing is applied."""
    result = reconcile(
        "apply", "specs/minimal", "--sandbox", "world.sqlite", "--target",
        "pool:batchprodweu/minimall", "--auto-approve",
    )  # fmt: skip
    assert result.exit_code == 1
    assert (
        "error: --target pool:batchprodweu/minimall matches no resource; "
        "did you mean pool:batchprodweu/minimal?\n"
    ) in result.output
    assert read(here / "world.sqlite", Kind.VERSION, VERSION) is None
