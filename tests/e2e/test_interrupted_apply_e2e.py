"""Interrupted applies finish the job: kill `reconcile apply` anywhere, apply again, converged.

Each case runs a real `reconcile apply specs/production` in a subprocess against a fresh
sandbox world, interrupts it (SIGKILL, SIGTERM or SIGINT) at a point read from its journal
— before anything finished, while image versions replicate, while pools resize, between
pools — then applies once more and checks the world's *true* state, not only the plan:
every declared pool `Steady` at its target node counts, every declared version `Succeeded`
and `Completed` in every target region, the next plan (with prune) empty, and no
duplicates (one owned pool per declared pool, one version per declared version).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.apply import state_for_sandbox
from reconciler.azure import AzureOperations, Target, read_live_state
from reconciler.cli import cli
from reconciler.plan import make_plan
from reconciler.plan.desired import desired_state
from reconciler.plan.graph import replica_counts
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig
from reconciler.spec import load_spec
from reconciler.state.model import Kind
from reconciler.state.scope import scope_for
from reconciler.wiring import azure_clients
from tests.support.processes import interrupt_when, start_apply
from tests.support.worlds import journal_records, seeded_world

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "specs" / "production"
SECRETS = {"RENDER_LICENSE_KEY": "e2e-license"}
# Simulated seconds per real second: a version replicates in ~1 s, the largest pool
# resizes in ~1 s, so a journal-timed signal lands mid-replication or mid-resize.
SPEED = 2000.0


@dataclass(frozen=True)
class KillPoint:
    """Interrupt once the journal has `count` records of `event` for `prefix`, then `delay` s."""

    name: str
    event: str
    prefix: str
    count: int
    delay: float

    def reached(self, records: list[dict[str, object]]) -> bool:
        hits = [
            r
            for r in records
            if r.get("event") == self.event and str(r.get("address", "")).startswith(self.prefix)
        ]
        return len(hits) >= self.count


POINTS = {
    "at-start": KillPoint("at-start", "apply-start", "", 1, 0.0),
    "galleries-done": KillPoint("galleries-done", "done", "image:", 1, 0.0),
    "first-version-replicating": KillPoint("v-start", "start", "version:", 1, 0.15),
    "versions-replicating": KillPoint("v-mid", "start", "version:", 5, 0.5),
    "first-version-done": KillPoint("v-done", "done", "version:", 1, 0.0),
    "first-pool-resizing": KillPoint("p-start", "start", "pool:", 1, 0.1),
    "pools-resizing": KillPoint("p-mid", "start", "pool:", 4, 0.3),
    "some-pools-done": KillPoint("p-done", "done", "pool:", 3, 0.0),
    "most-pools-done": KillPoint("p-most", "done", "pool:", 5, 0.0),
}
CASES = [
    *[(signal.SIGKILL, name) for name in POINTS],
    *[
        (sig, name)
        for sig in (signal.SIGTERM, signal.SIGINT)
        for name in ("versions-replicating", "pools-resizing", "first-version-done")
    ],
]


def interrupt(path: Path, state_dir: Path, sig: signal.Signals, point: KillPoint) -> str:
    """Run apply of the production spec in a subprocess and send `sig` at `point`."""
    proc = start_apply(PRODUCTION, path, state_dir, env=SECRETS)
    return interrupt_when(proc, path, state_dir, point.reached, sig, delay=point.delay)


def problems(path: Path) -> list[str]:
    """Every way the world falls short of the production spec (empty when converged)."""
    loaded = load_spec([str(PRODUCTION)])
    assert loaded.spec is not None
    spec = loaded.spec
    desired = desired_state(spec)
    target = Target.for_sandbox(path)
    clients = azure_clients(target)
    ops = AzureOperations(clients)
    found: list[str] = []
    try:
        for d in desired.resources.values():
            if d.kind is Kind.POOL:
                pool = ops.read(kind=Kind.POOL, resource_id=d.id)
                want = (
                    int(d.properties.get("scale.fixed.dedicated", 0) or 0),
                    int(d.properties.get("scale.fixed.lowPriority", 0) or 0),
                )
                have = (
                    (pool.current_dedicated or 0, pool.current_low_priority or 0) if pool else None
                )
                if pool is None or pool.allocation_state != "Steady" or have != want:
                    state = pool and (pool.allocation_state, have, pool.resize_errors)
                    found.append(f"{d.address}: {state} wanted {want}")
            elif d.kind is Kind.VERSION:
                version = ops.read(kind=Kind.VERSION, resource_id=d.id)
                regions = set(replica_counts(d.properties))
                done = {
                    r.region
                    for r in (version.replication if version else ())
                    if r.state == "Completed"
                }
                if version is None or version.provisioning_state != "Succeeded" or done != regions:
                    state = version and (version.provisioning_state, sorted(done))
                    found.append(f"{d.address}: {state} wanted Succeeded in {sorted(regions)}")
        live = read_live_state(clients, scope_for(spec))
        for kind in (Kind.POOL, Kind.VERSION):
            owned = sorted(r.id for r in live.of_kind(kind) if r.owned)
            declared = sorted(d.id for d in desired.resources.values() if d.kind is kind)
            if owned != declared:
                found.append(f"{kind.value}s owned {owned} but declared {declared}")
        plan = make_plan(spec, live, target=target.describe(), prune=True)
        found += [f"next plan: {c.id} {c.action.value}" for c in plan.actionable]
    finally:
        clients.close()
    return found


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    monkeypatch.delenv("RECONCILE_SANDBOX", raising=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "point"), CASES, ids=[f"{s.name}-{p}" for s, p in CASES])
def test_an_interrupted_apply_is_finished_by_the_next_one(
    tmp_path: Path, sig: signal.Signals, point: str
) -> None:
    """Interrupted anywhere, one more `reconcile apply` leaves the world truly converged."""
    path = tmp_path / "world.sqlite"
    seeded_world(path, SandboxConfig(speed=SPEED))
    what = interrupt(path, tmp_path, sig, POINTS[point])
    if sig is signal.SIGKILL:
        assert what == "exit -9", what
    else:
        # Asked to stop, apply lets what runs finish and starts nothing new: it exits with the
        # signal's code when its journal says something was left unstarted, else 0.
        end = journal_records(state_for_sandbox(path, state_dir=tmp_path).journal)[-1]
        assert end["event"] == "apply-end", end
        assert what == (f"exit {128 + sig}" if end["interrupted"] else "exit 0"), (what, end)
    result = CliRunner().invoke(
        cli,
        [
            *("apply", str(PRODUCTION), "--sandbox", str(path), "--auto-approve"),
            *("--state-dir", str(tmp_path)),
        ],
    )
    assert result.exit_code == 0, f"{what}; second apply:\n{result.output}"
    assert problems(path) == [], what
