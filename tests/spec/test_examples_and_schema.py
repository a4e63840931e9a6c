"""The example specs load clean and match the sandbox world; the checked-in schema is current."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler.spec import load_spec
from reconciler.spec.schema import SCHEMA_PATH, render_schema

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
EXAMPLE_DIRS = sorted(p for p in SPECS.iterdir() if p.is_dir())
EXAMPLE_FILES = sorted(SPECS.rglob("*.yaml"))
SEED = ROOT / "reconciler" / "sandbox" / "default_seed.yaml"


@pytest.mark.parametrize("folder", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_each_example_folder_is_a_valid_spec(folder: Path) -> None:
    """Each folder under specs/ validates on its own without errors."""
    result = load_spec([folder])
    assert result.ok, [d.format() for d in result.diagnostics]


def test_all_examples_merge_into_one_valid_world() -> None:
    """specs/ as a whole is one valid spec (names do not collide across folders)."""
    result = load_spec([SPECS])
    assert result.ok, [d.format() for d in result.errors]
    assert [d.code for d in result.warnings] == ["RC207"]


def test_minimal_and_production_have_no_warnings() -> None:
    """Only the legacy example is flagged (R7); the others are clean."""
    for name in ("minimal", "production"):
        assert load_spec([SPECS / name]).diagnostics == ()


def test_production_sizes_replicas_from_thousands_of_nodes() -> None:
    """The production example computes 5 replicas for 3000 VMs and keeps the floor of 6."""
    spec = load_spec([SPECS / "production"]).spec
    assert spec is not None
    target = spec.versions["version:imagegallery/render-ubuntu/1.1.0"].target_regions["westeurope"]
    assert (target.sizing.nodes, target.sizing.computed, target.replicas) == (3000, 5, 6)
    eus = spec.versions["version:imagegallery/render-ubuntu/1.1.0"].target_regions["eastus"]
    assert eus.replicas == 3
    assert spec.pools["pool:batchprodweu/render"].scale.resize_timeout == "PT45M"
    pinned = spec.pools["pool:batchprodweu/render"].image
    assert pinned.pinned_from_latest and pinned.id.endswith("/versions/1.1.0")
    sim = spec.pools["pool:batchprodweu/sim"].image
    assert sim.id.endswith("/sim-ubuntu/versions/2.0.0")  # 2.1.0 is excluded from latest


def test_legacy_example_is_flagged_with_a_migration_hint() -> None:
    """The legacy managed-image pool is an R7 warning whose hint explains the migration."""
    result = load_spec([SPECS / "legacy"])
    assert result.ok
    (warning,) = result.warnings
    assert warning.code == "RC207" and "migrate" in warning.hint
    pool = result.spec.pools["pool:batchlegacy/legacy-render"]
    assert pool.resize_timeout.computed_minutes == 20


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(SPECS)))
def test_examples_carry_the_schema_modeline_and_validate_against_it(path: Path) -> None:
    """Each example starts with the yaml-language-server modeline and passes the JSON Schema."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schemas/spec.schema.json\n")
    schema = json.loads((ROOT / SCHEMA_PATH).read_text(encoding="utf-8"))
    data = json.loads(json.dumps(yaml.safe_load(text), default=str))
    jsonschema.Draft202012Validator(schema).validate(data)


def test_examples_match_the_sandbox_default_world() -> None:
    """Every snapshot, managed image, VM and Batch account the examples use is in the seed."""
    seed = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    existing: set[str] = set()
    accounts: dict[str, tuple[str, str, str]] = {}
    for sub in seed["subscriptions"]:
        for rg in sub["resourceGroups"]:
            base = f"/subscriptions/{sub['id']}/resourceGroups/{rg['name']}/providers/"
            for kind, key in (
                ("Microsoft.Compute/snapshots", "snapshots"),
                ("Microsoft.Compute/images", "managedImages"),
                ("Microsoft.Compute/virtualMachines", "virtualMachines"),
            ):
                for item in rg.get(key, []):
                    existing.add(f"{base}{kind}/{item['name']}".lower())
            for acct in rg.get("batchAccounts", []):
                accounts[acct["name"]] = (sub["id"], rg["name"], acct["location"])
    spec = load_spec([SPECS]).spec
    assert spec is not None
    used: set[str] = set()
    for version in spec.versions.values():
        src = version.source
        used.update(i for i in (src.id, src.os_disk_snapshot_id) if i)
        used.update(d.snapshot_id for d in src.data_disks)
    for image in spec.managed_images.values():
        used.add(image.os_disk_snapshot_id)
        used.update(d.snapshot_id for d in image.data_disks)
    missing = {u for u in used if u.lower() not in existing}
    assert not missing
    for account in spec.batch_accounts.values():
        assert accounts[account.name] == (
            account.subscription,
            account.resource_group,
            account.location,
        )


def test_checked_in_schema_is_current() -> None:
    """schemas/spec.schema.json equals the schema generated from the models."""
    current = (ROOT / SCHEMA_PATH).read_text(encoding="utf-8")
    assert current == render_schema(), "schemas/spec.schema.json is stale: run `make schema`"


def test_schema_rejects_what_the_models_reject() -> None:
    """The JSON Schema forbids unknown keys and enforces enums, like the models."""
    schema = json.loads(render_schema())
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({"apiVersion": "reconcile/v1", "galaxies": []})
    assert not validator.is_valid(
        {
            "apiVersion": "reconcile/v1",
            "galleries": [{"name": "g", "images": [{"name": "d", "osType": "linux"}]}],
        }
    )
    assert validator.is_valid({"apiVersion": "reconcile/v1"})


def test_rules_doc_lists_every_code_with_its_severity_and_phase() -> None:
    """docs/rules.md has one row per registered code, with the same severity, phase and rule."""
    from reconciler.spec import CODES

    rows = {}
    for line in (ROOT / "docs" / "rules.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| RC"):
            rule = cells[3].replace(" / ", "/").replace(", ", "/")  # "R9, R10" is R9/R10
            rows[cells[0]] = (cells[1], cells[2], rule)
    assert rows == {c.code: (c.severity, c.phase, c.rule) for c in CODES.values()}


def test_every_planner_code_is_registered_with_its_severity() -> None:
    """Each planner-only code in reconciler.plan.codes is in CODES as a plan-phase code."""
    import runpy

    from reconciler.spec import CODES

    # Read the module on its own: importing reconciler.plan would pull in the whole planner.
    PLANNER_CODES = runpy.run_path(str(ROOT / "reconciler" / "plan" / "codes.py"))["PLANNER_CODES"]

    assert {"RC511", "RC512"} <= set(PLANNER_CODES)
    for code in PLANNER_CODES:
        assert CODES[code].phase == "plan", code
