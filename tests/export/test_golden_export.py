"""Golden export: specs/production, applied by the tool and read back, exports to these files.

Inputs (``live.json``, ``read.json``) come from ``python -m tests.export.make_golden``; the
expected ``images.yaml`` / ``pools.yaml`` are rewritten only with ``UPDATE_GOLDEN=1``.
The exported files must also load without errors and plan nothing against the same
live state.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from reconciler.export import ExportOptions, build_export
from reconciler.plan import make_plan
from reconciler.plan.snapshot import load_live_state
from reconciler.spec import load_spec

CASE = Path(__file__).parent / "golden" / "production"
OPTIONS = ExportOptions(
    where="sandbox world.sqlite",
    when="2026-11-24T10:00:00Z",
    scope="subscription 00000000-0000-0000-0000-000000000001, resource group(s) rg-images, "
    "rg-batch, Batch account(s) batchprodweu, batchprodeus",
    folder="production",
)


def exported() -> dict[str, str]:
    read = json.loads((CASE / "read.json").read_text())
    result = build_export(
        load_live_state(CASE / "live.json"),
        OPTIONS,
        unexpressed={k: tuple(v) for k, v in read["unexpressed"].items()},
        read_back=read["readBack"],
    )
    return {f.name: f.text for f in result.files}


def test_production_exports_to_the_golden_files() -> None:
    """images.yaml and pools.yaml are exactly the reviewed ones."""
    files = exported()
    assert sorted(files) == ["images.yaml", "pools.yaml"]
    for name, text in files.items():
        expected = CASE / "expected" / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            expected.parent.mkdir(exist_ok=True)
            expected.write_text(text)
        assert text == expected.read_text(), name


def test_the_golden_export_plans_nothing_against_the_world_it_came_from(
    tmp_path: Path, monkeypatch
) -> None:
    """Loaded back, the exported spec is valid and its plan against that live state is empty."""
    for name, text in exported().items():
        (tmp_path / name).write_text(text)
    monkeypatch.setenv("RENDER_LICENSE_KEY", "golden")
    loaded = load_spec([str(tmp_path)])
    assert loaded.spec is not None and not loaded.errors, [d.format() for d in loaded.errors]
    plan = make_plan(
        loaded.spec, load_live_state(CASE / "live.json"), target="golden", now=date(2026, 3, 1)
    )
    assert plan.actionable == () and not plan.errors
