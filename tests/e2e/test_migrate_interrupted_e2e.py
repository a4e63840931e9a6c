"""A killed migration apply is finished by the next one: every pool on the version, at target.

The legacy farm of `test_migrate_e2e` (fixed and autoscale pools on a managed image, some
with nodes) is migrated with `reconcile migrate --write`; then `reconcile apply
--allow-disruptive` runs as a real process and is killed (SIGKILL) or asked to stop
(SIGTERM) at a point read from its journal: a pool scaling down, a pool at zero nodes
before its image moved, while the image moves, while it scales back, an autoscale pool
held at fixed 0. One more apply must then leave the world, as the SDK reads it, with
every pool booting the gallery version, steady at its target size (autoscale pools on
their formula again), none left at zero that should have nodes, and the managed image
still there.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.azure import AzureOperations, Target, read_live_state
from reconciler.cli import cli
from reconciler.plan import make_plan
from reconciler.sandbox.config import ENV_CONFIG, Durations, SandboxConfig
from reconciler.spec import load_spec
from reconciler.state.model import Kind, canonical_id
from reconciler.state.scope import scope_for
from reconciler.wiring import azure_clients
from tests.e2e.test_apply_e2e import World
from tests.e2e.test_migrate_e2e import BEFORE_CUTOFF, IMAGE_ID, LEGACY, SUB, VERSION_ID
from tests.support.processes import interrupt_when, start_apply

# Simulated seconds per real second, and a drain (nodes finishing their tasks,
# TaskCompletion) of 10 simulated minutes: 0.6 s here, so a journal-timed signal lands
# while it drains (and the drain ends within the pools' 15-minute resize timeout).
SPEED = 1000.0
DRAIN = Durations(node_removal=600.0)
ACCOUNT = "pool:batchprodweu/"
# What each pool must be once converged: (dedicated, spot) nodes, and autoscale or not.
TARGETS = {
    "farm-idle": ((0, 0), False),
    "farm-busy": ((40, 10), False),
    "farm-elastic": ((0, 0), True),
    "farm-elastic-busy": ((6, 0), True),
}


@dataclass(frozen=True)
class Point:
    """Signal once the journal has an `event` record of change `step`, then after `delay` s.

    `at_zero` names a pool that must be at zero nodes when the signal lands (so the case
    is what it says: a pool left at zero mid-migration).
    """

    step: str
    event: str
    delay: float = 0.0
    at_zero: str | None = None
    # A kill after the step's last write may leave nothing undone: Azure finishes an
    # accepted resize by itself (the scale-back's 50 nodes take 45 simulated seconds,
    # 45 ms here), so the case cannot insist the world is short of converged.
    may_converge: bool = False

    def reached(self, records: list[dict[str, Any]]) -> bool:
        return any(
            r.get("event") == self.event and r.get("id") == ACCOUNT + self.step for r in records
        )


POINTS = {
    "busy-draining": Point("farm-busy#scale-down", "start", 0.2),
    "busy-at-zero": Point("farm-busy#scale-down", "done", at_zero="farm-busy"),
    "busy-image-moving": Point("farm-busy#update-at-zero", "start", at_zero="farm-busy"),
    "busy-scaling-back": Point("farm-busy#scale-back", "start", 0.01, may_converge=True),
    "elastic-draining": Point("farm-elastic-busy#scale-down", "start", 0.2),
    "elastic-at-fixed-zero": Point(
        "farm-elastic-busy#scale-down", "done", at_zero="farm-elastic-busy"
    ),
}
CASES = [
    *[(signal.SIGKILL, name) for name in POINTS],
    *[(signal.SIGTERM, name) for name in ("busy-draining", "elastic-at-fixed-zero")],
]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    monkeypatch.delenv("RECONCILE_SANDBOX", raising=False)


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[tuple[World, Path]]:
    """The legacy farm applied before the cutoff, its spec migrated (nothing applied yet)."""
    world = World(tmp_path / "world.sqlite", SandboxConfig(speed=SPEED, durations=DRAIN))
    spec_dir = tmp_path / "farm"
    spec_dir.mkdir()
    (spec_dir / "spec.yaml").write_text(LEGACY, encoding="utf-8")
    assert world.apply(world.plan(spec_dir, now=BEFORE_CUTOFF)).ok
    result = CliRunner().invoke(
        cli,
        [
            *("migrate", str(spec_dir), "--gallery", "farmgallery", "--write"),
            *("--sandbox", str(world.path)),
        ],
    )
    assert result.exit_code == 0, result.output
    yield world, spec_dir
    world.close()


def pool_nodes(path: Path, name: str) -> int:
    """Current nodes of pool `name` as the SDK reads them."""
    pool_id = (
        f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch/"
        f"batchAccounts/batchprodweu/pools/{name}"
    )
    with azure_clients(Target.for_sandbox(path)) as clients:
        pool = AzureOperations(clients).read(kind=Kind.POOL, resource_id=pool_id)
    assert pool is not None, name
    return (pool.current_dedicated or 0) + (pool.current_low_priority or 0)


def problems(path: Path, spec_dir: Path) -> list[str]:
    """Every way the world falls short of the migrated spec (empty when converged)."""
    spec = load_spec([str(spec_dir)]).spec
    assert spec is not None
    target = Target.for_sandbox(path)
    found: list[str] = []
    with azure_clients(target) as clients:
        live = read_live_state(clients, scope_for(spec))
        pools = {p.name: p for p in live.of_kind(Kind.POOL) if p.name in TARGETS}
        for name, (want, autoscale) in TARGETS.items():
            pool = pools.get(name)
            if pool is None:
                found.append(f"{name}: missing")
                continue
            have = (pool.current_dedicated or 0, pool.current_low_priority or 0)
            props = pool.properties
            if pool.image_id != canonical_id(VERSION_ID):
                found.append(f"{name}: boots {pool.image_id}")
            if (pool.allocation_state or "").lower() != "steady" or have != want:
                found.append(f"{name}: {pool.allocation_state} {have}, wanted {want}")
            if autoscale != ("scale.autoScale.formula" in props) or (
                autoscale and "scale.fixed.dedicated" in props
            ):
                found.append(f"{name}: scale settings {sorted(k for k in props if 'scale.' in k)}")
        owned = sorted(p.name for p in live.of_kind(Kind.POOL) if p.owned)
        if owned != sorted(TARGETS):
            found.append(f"owned pools {owned}")
        image = clients.compute(SUB).images.get("rg-images", "img-farm")
        if image.id.lower() != IMAGE_ID.lower():
            found.append(f"managed image {image.id}")
        plan = make_plan(spec, live, target=target.describe())
        found += [f"next plan: {c.id} {c.action.value}" for c in plan.actionable]
    return found


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "point"), CASES, ids=[f"{s.name}-{p}" for s, p in CASES])
def test_a_migration_apply_interrupted_mid_move_is_finished_by_the_next_one(
    migrated: tuple[World, Path], tmp_path: Path, sig: signal.Signals, point: str
) -> None:
    """Killed while pools drain, sit at zero or move, one more apply converges truly."""
    world, spec_dir = migrated
    where = POINTS[point]
    proc = start_apply(spec_dir, world.path, tmp_path, options=["--allow-disruptive"])
    what = interrupt_when(proc, world.path, tmp_path, where.reached, sig, delay=where.delay)
    # Killed: the signal's own status; asked to stop: apply's exit code for SIGTERM (143).
    assert what == {signal.SIGKILL: "exit -9", signal.SIGTERM: "exit 143"}[sig], what
    if where.at_zero is not None:
        assert pool_nodes(world.path, where.at_zero) == 0, what
    if not where.may_converge:
        assert problems(world.path, spec_dir), f"{what}: already converged, the kill proved nothing"

    result = CliRunner().invoke(
        cli,
        [
            *("apply", str(spec_dir), "--sandbox", str(world.path), "--auto-approve"),
            *("--allow-disruptive", "--state-dir", str(tmp_path)),
        ],
    )
    assert result.exit_code == 0, f"{what}; second apply:\n{result.output}"
    assert problems(world.path, spec_dir) == [], what
