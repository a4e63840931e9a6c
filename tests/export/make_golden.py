"""Write the inputs of the export golden case: specs/production applied in a sandbox, read.

    python -m tests.export.make_golden

Writes ``tests/export/golden/production/{live.json,read.json}``; the expected files are
written only by the test with ``UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from reconciler.azure.exporting import read_for_export
from reconciler.plan.snapshot import live_state_to_dict
from reconciler.state.model import Kind
from reconciler.state.scope import ReadScope
from tests.e2e.test_apply_e2e import BEFORE_R7, SECRETS, SPECS, SUB, World
from tests.e2e.test_export_e2e import LEGACY_IMAGE, LEGACY_POOL

HERE = Path(__file__).parent / "golden" / "production"
ACCOUNTS = tuple(
    f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch/batchAccounts/{a}"
    for a in ("batchprodweu", "batchprodeus")
)


def main() -> None:
    os.environ.update(SECRETS)
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp) / "world.sqlite")
        # Without the legacy estate: it shares rg-images, and is another spec's.
        world.ops.delete(kind=Kind.POOL, resource_id=LEGACY_POOL)
        world.ops.delete(kind=Kind.MANAGED_IMAGE, resource_id=LEGACY_IMAGE)
        world.apply(world.plan(SPECS / "production", now=BEFORE_R7))
        scope = ReadScope(
            gallery_groups=((SUB, "rg-images"), (SUB, "rg-batch")),
            image_groups=((SUB, "rg-images"), (SUB, "rg-batch")),
            batch_accounts=ACCOUNTS,
            every_gallery=True,
        )
        read = read_for_export(world.clients, scope)
        world.close()
    HERE.mkdir(parents=True, exist_ok=True)
    (HERE / "live.json").write_text(json.dumps(live_state_to_dict(read.live), indent=1) + "\n")
    extra = {"unexpressed": dict(read.unexpressed), "readBack": dict(read.read_back)}
    (HERE / "read.json").write_text(json.dumps(extra, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
