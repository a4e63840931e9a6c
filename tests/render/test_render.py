"""Renderers: colour only on request, JSON valid against its schema, Markdown within GitHub's limit."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.plan import Action, Change, Plan, plan_to_dict
from reconciler.render import render_drift, render_json, render_markdown, render_text
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT
from reconciler.state.model import Kind
from tests.golden.test_golden import CASES, HERE, plan_for

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text())


@pytest.mark.parametrize("case", CASES)
def test_json_output_matches_the_schema(case, monkeypatch):
    """Every golden plan, shown and saved, validates against schemas/plan.schema.json."""
    plan = plan_for(case, monkeypatch)
    jsonschema.validate(json.loads(render_json(plan)), SCHEMA)
    jsonschema.validate(plan_to_dict(plan, for_file=True), SCHEMA)


def test_the_schema_is_itself_valid():
    """The schema is a valid draft 2020-12 document."""
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_colour_only_when_asked(monkeypatch):
    """ANSI escapes appear with color=True and never with color=False."""
    plan = plan_for("move_to_new_version_then_delete_old", monkeypatch)
    assert "\x1b[" not in render_text(plan, color=False)
    assert "\x1b[" in render_text(plan, color=True)
    assert "\x1b[" not in render_drift(plan, "text", color=False)


def test_destructive_changes_are_called_out_first(monkeypatch):
    """The warning about deletes/replaces precedes the list of changes."""
    text = render_text(plan_for("move_to_new_version_then_delete_old", monkeypatch))
    assert text.index("destructive change(s)") < text.index("Changes, in the order")
    md = render_markdown(plan_for("move_to_new_version_then_delete_old", monkeypatch))
    assert md.index("[!WARNING]") < md.index("### Changes")


def test_markdown_has_details_mermaid_and_drift(monkeypatch):
    """The PR comment has per-resource details, a flowchart with edges and a drift section."""
    md = render_markdown(plan_for("split_grow_and_shrink", monkeypatch))
    assert md.count("<details>") == 4
    assert "```mermaid\nflowchart TD" in md and "c0 --> c3" in md
    assert "### Drift" in md


def _huge_plan(n: int) -> Plan:
    changes = tuple(
        Change(
            id=f"pool:acct/p{i:05d}",
            address=f"pool:acct/p{i:05d}",
            kind=Kind.POOL,
            action=Action.CREATE,
            resource_id=f"/subscriptions/s/resourcegroups/r/providers/microsoft.batch/batchaccounts/acct/pools/p{i:05d}",
            location="westeurope",
            reason="pool does not exist yet " + "x" * 40,
            after={"vmSize": "standard_d4s_v5", "scale.fixed.dedicated": i, "metadata.team": "vfx"},
            changed_paths=("metadata.team", "scale.fixed.dedicated", "vmSize"),
        )
        for i in range(n)
    )
    return Plan(spec_hash="sha256:" + "0" * 64, target="t", changes=changes)


@pytest.mark.parametrize("n", [200, 3000])
def test_markdown_stays_under_githubs_limit_and_says_so(n):
    """A plan too large for one comment is summarised at the tail, with a note."""
    md = render_markdown(_huge_plan(n))
    assert len(md) < GITHUB_COMMENT_LIMIT
    assert "Summarised to stay under GitHub's comment limit" in md
    assert md.count("<details>") < n


def test_huge_drift_is_summarised_too():
    """Thousands of drifted resources still fit one comment, with a note saying so."""
    from reconciler.plan import DriftItem

    drift = tuple(
        DriftItem(
            f"pool:acct/p{i:05d}",
            "changed",
            ("metadata.team",),
            "differs",
            {"metadata.team": "a"},
            {"metadata.team": "b"},
        )
        for i in range(5000)
    )
    plan = Plan(spec_hash="sha256:" + "0" * 64, target="t", drift=drift)
    for md in (render_markdown(plan), render_drift(plan, "markdown")):
        assert len(md) < GITHUB_COMMENT_LIMIT
        assert "more drifted resource(s), summarised" in md


def test_small_plans_are_not_summarised(monkeypatch):
    """Nothing is summarised when the comment fits."""
    md = render_markdown(plan_for("create_from_empty_world", monkeypatch))
    assert "Summarised" not in md and md.count("<details>") == 4


def test_secrets_are_masked_in_every_format(monkeypatch):
    """Neither the live secret nor the reference text shows in text, JSON or Markdown."""
    plan = plan_for("update_in_place", monkeypatch)
    for text in (render_text(plan), render_json(plan), render_markdown(plan)):
        assert "live-secret-value" not in text and "another-live-secret-77" not in text
        assert "${env:" not in text


def test_golden_case_files_are_present_for_every_case():
    """Each golden folder has its three expected outputs."""
    for case in CASES:
        for name in ("plan.txt", "plan.json", "plan.md"):
            assert (HERE / case / name).exists(), f"{case}/{name}"


def test_plan_text_shows_values_as_the_spec_wrote_them(tmp_path):
    """Creating the minimal example shows vmSize and ids in the user's spelling, not lower-cased."""
    from pathlib import Path

    from reconciler.plan import make_plan
    from reconciler.render import render_text
    from reconciler.spec import load_spec
    from reconciler.state.model import Kind
    from tests.plan.builders import live, state

    spec = Path(__file__).resolve().parents[2] / "specs" / "minimal" / "spec.yaml"
    result = load_spec([spec])
    assert result.spec is not None
    account = result.spec.batch_accounts["batchAccount:batchprodweu"]
    world = state(live(account.address, Kind.BATCH_ACCOUNT, account.id, {}, owned=False))
    text = render_text(make_plan(result.spec, world, target="t"))
    assert '+ vmSize = "Standard_D2s_v5"' in text
    assert "/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/minimalgallery/" in text
    assert "standard_d2s_v5" not in text and "microsoft.compute" not in text
