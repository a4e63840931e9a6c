"""Export writes every image source a spec can declare: a version from a community gallery
image or from VHDs, managed images of a VM, from managed disks or from VHD blobs. Azure's
answer for such a resource is expressed whole (no RC606), and the exported spec plans
nothing against the world it came from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.apply import ExecutorSettings, RetryPolicy, apply_plan
from reconciler.azure import AzureOperations, Target, read_live_state
from reconciler.azure.exporting import read_for_export
from reconciler.export import ExportOptions, build_export
from reconciler.plan import Action, make_plan
from reconciler.sandbox.config import SandboxConfig
from reconciler.spec import load_spec
from reconciler.state.scope import scope_for
from reconciler.wiring import azure_clients
from tests.support import sources
from tests.support.sources import SUB
from tests.support.worlds import seeded_world

FAST = ExecutorSettings(poll_interval=0.02, retry=RetryPolicy(initial=0.05, maximum=1.0))

# A version of each source kind a version gains beyond snapshots and managed images, and a
# managed image of each kind beyond snapshots.
VERSION_SOURCES = {
    "1.0.0": sources.VERSION_SOURCES["community"],
    "1.0.1": sources.VERSION_SOURCES["vhd"],
}
IMAGE_SOURCES = {f"img-{kind}": source for kind, source in sources.IMAGE_SOURCES.items()}


def _spec() -> dict[str, Any]:
    return {
        "apiVersion": "reconcile/v1",
        "settings": {"owner": "sources"},
        "defaults": {"subscription": SUB, "resourceGroup": "rg-images", "location": "westeurope"},
        "galleries": [
            {
                "name": "srcgallery",
                "images": [
                    {
                        "name": "render",
                        "osType": "Linux",
                        "osState": "Generalized",
                        "hyperVGeneration": "V2",
                        "identifier": {"publisher": "contoso", "offer": "render", "sku": "src"},
                        "versions": [
                            {"name": name, "source": source}
                            for name, source in VERSION_SOURCES.items()
                        ],
                    }
                ],
            }
        ],
        "managedImages": [
            {"name": name, "osType": "Linux", "source": source}
            for name, source in IMAGE_SOURCES.items()
        ],
    }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Target]:
    config = SandboxConfig(speed=20000.0)
    seeded_world(tmp_path / "world.sqlite", config)
    yield Target.for_sandbox(tmp_path / "world.sqlite", config=config)


def _load(folder: Path) -> Any:
    loaded = load_spec([str(folder)])
    assert loaded.spec is not None and not loaded.errors, [d.format() for d in loaded.errors]
    return loaded.spec


def test_every_source_kind_is_exported_and_plans_nothing(world: Target, tmp_path: Path) -> None:
    """Applied, read back and exported, each source comes back as declared, nothing is
    reported unexpressed, and the exported spec plans no change."""
    applied = tmp_path / "applied"
    applied.mkdir()
    (applied / "spec.yaml").write_text(yaml.safe_dump(_spec(), sort_keys=False))
    spec = _load(applied)
    with azure_clients(world) as clients:
        plan = make_plan(spec, read_live_state(clients, scope_for(spec)), target="w")
        assert not plan.errors, [d.format() for d in plan.errors]
        result = apply_plan(plan, AzureOperations(clients), settings=FAST, environ=os.environ)
        assert result.ok, [(o.change_id, o.error) for o in result.failed]
        read = read_for_export(clients, scope_for(spec))
        options = ExportOptions(where="w", when="2026-11-24T10:00:00Z", scope="s", folder="sources")
        export = build_export(
            read.live, options, unexpressed=read.unexpressed, read_back=read.read_back
        )
        assert "RC606" not in [d.code for d in export.diagnostics], [
            d.format() for d in export.diagnostics
        ]
        docs = {f.name: yaml.safe_load(f.text) for f in export.files}
        exported = tmp_path / "exported"
        exported.mkdir()
        for f in export.files:
            (exported / f.name).write_text(f.text)
        back = _load(exported)
        again = make_plan(back, read_live_state(clients, scope_for(back)), target="w")
    images = docs["images.yaml"]
    versions = images["galleries"][0]["images"][0]["versions"]
    assert {v["name"]: v["source"] for v in versions} == VERSION_SOURCES
    mine = [m for m in images["managedImages"] if m["name"] in IMAGE_SOURCES]
    assert {m["name"]: m["source"] for m in mine} == IMAGE_SOURCES
    # The seeded legacy image in the same group is another owner's: the export adopts it.
    changes = [c.address for c in again.changes if c.action is not Action.NOOP]
    assert changes == ["managedImage:img-legacy-render"]
