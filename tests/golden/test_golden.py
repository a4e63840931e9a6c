"""Golden cases: (spec, live snapshot) in, expected text / JSON / Markdown out.

Each folder under tests/golden holds ``spec.yaml``, ``live.json`` (a LiveState snapshot),
``case.json`` (options: prune, adopt, now) and the expected ``plan.txt``, ``plan.json`` and
``plan.md``. Inputs are written by ``python -m tests.golden.make_cases``; expected
outputs only with ``UPDATE_GOLDEN=1`` (or ``pytest tests/golden --update-golden``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from reconciler.plan import Plan, make_plan
from reconciler.plan.snapshot import load_live_state
from reconciler.render import render_json, render_markdown, render_text
from reconciler.spec import load_spec

HERE = Path(__file__).parent
CASES = sorted(p.name for p in HERE.iterdir() if (p / "spec.yaml").exists())
TODAY = date(2026, 11, 24)


def plan_for(case: str, monkeypatch: pytest.MonkeyPatch) -> Plan:
    folder = HERE / case
    options = json.loads((folder / "case.json").read_text())
    monkeypatch.chdir(folder)  # diagnostics name the spec as given: no machine paths
    result = load_spec(["spec.yaml"], today=TODAY)
    assert result.spec is not None, [d.format() for d in result.diagnostics]
    now = date.fromisoformat(options["now"]) if "now" in options else TODAY
    return make_plan(
        result.spec,
        load_live_state(folder / "live.json"),
        target="golden",
        prune=options.get("prune"),
        adopt=options.get("adopt"),
        now=now,
        diagnostics=result.diagnostics,
    )


def outputs(plan: Plan) -> dict[str, str]:
    return {
        "plan.txt": render_text(plan, color=False),
        "plan.json": render_json(plan),
        "plan.md": render_markdown(plan),
    }


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str, monkeypatch: pytest.MonkeyPatch, update_golden: bool) -> None:
    """The plan of each golden case renders exactly as its expected files say."""
    got = outputs(plan_for(case, monkeypatch))
    folder = HERE / case
    for name, text in got.items():
        path = folder / name
        if update_golden:
            path.write_text(text, encoding="utf-8")
            continue
        assert path.exists(), f"{case}/{name} missing: run with UPDATE_GOLDEN=1 and review"
        assert (
            text == path.read_text(encoding="utf-8")
        ), f"{case}/{name} differs; if intended, regenerate with UPDATE_GOLDEN=1 and review the diff"


def test_golden_cases_exist() -> None:
    """The golden folder holds the cases the planner's behaviours are pinned by, and only cases."""
    folders = sorted(
        p.name for p in HERE.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
    )
    assert folders == CASES  # a folder without spec.yaml would otherwise go untested
    assert len(CASES) >= 10
