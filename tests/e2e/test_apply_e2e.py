"""Apply end to end: specs → planner → real SDK clients → sandbox, and back to an empty plan.

Each test builds a fresh sandbox world (default seed) running hundreds of times faster than
real time, plans with the real planner, applies through `AzureOperations` (the real Azure
SDK clients on the in-process transport) or the `reconcile` CLI, and re-plans from live
state to prove convergence.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.apply import (
    ApplyLock,
    EventKind,
    ExecutorSettings,
    RecordingProgress,
    RetryPolicy,
    apply_plan,
    state_for_sandbox,
)
from reconciler.azure import (
    AzureOperations,
    RequestCounter,
    Target,
    read_live_state,
)
from reconciler.cli import cli
from reconciler.plan import Action, Plan, make_plan, save_plan
from reconciler.sandbox.config import ENV_CONFIG, FaultRule, SandboxConfig
from reconciler.spec import load_spec
from reconciler.state.model import Kind, LiveState
from reconciler.state.scope import scope_for
from reconciler.wiring import azure_clients
from tests.support.worlds import seeded_world

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
BEFORE_R7 = date(2026, 3, 1)
SPEED = 20000.0  # simulated seconds per real second: replication (2400 s) takes ~0.1 s
FAST = ExecutorSettings(poll_interval=0.02, retry=RetryPolicy(initial=0.05, maximum=1.0))
SECRETS = {"RENDER_LICENSE_KEY": "e2e-license"}  # production's start task references it
SUB = "00000000-0000-0000-0000-000000000001"
POOL_ACCOUNT = f"/subscriptions/{SUB}/resourcegroups/rg-batch/providers/microsoft.batch/batchaccounts/batchprodweu"
VERSIONS = (
    f"/subscriptions/{SUB}/resourcegroups/rg-images/providers/microsoft.compute/galleries/"
    "minimalgallery/images/minimal-ubuntu/versions/"
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    monkeypatch.delenv("RECONCILE_SANDBOX", raising=False)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


class World:
    """One sandbox world plus the plumbing to plan and apply against it."""

    def __init__(
        self,
        path: Path,
        config: SandboxConfig | None = None,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.config = config or SandboxConfig(speed=SPEED)
        seeded_world(path, self.config)
        self.target = Target.for_sandbox(path, config=self.config)
        self.counter = RequestCounter()
        self.clients = azure_clients(self.target, counter=self.counter, client_kwargs=client_kwargs)
        self.ops = AzureOperations(self.clients)

    def load(self, spec_path: Path | str) -> Any:
        loaded = load_spec([str(spec_path)])
        assert loaded.spec is not None, [d.format() for d in loaded.diagnostics]
        return loaded.spec

    def live(self, spec: Any) -> LiveState:
        return read_live_state(self.clients, scope_for(spec))

    def plan(
        self, spec_path: Path | str, *, prune: bool | None = None, now: date | None = None
    ) -> Plan:
        spec = self.load(spec_path)
        return make_plan(spec, self.live(spec), target=self.target.describe(), prune=prune, now=now)

    def apply(self, plan: Plan, **kwargs: Any) -> Any:
        kwargs.setdefault("settings", FAST)
        return apply_plan(plan, self.ops, **kwargs)

    def close(self) -> None:
        self.clients.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path / "world.sqlite")
    yield w
    w.close()


def minimal_text() -> str:
    """specs/minimal's text, owned by name as `minimal` wherever the copy is written.

    Without ``settings.owner`` a spec's owner is its folder's name: an edited copy in
    another folder would be another spec, and refused to touch minimal's resources.
    """
    text = (SPECS / "minimal" / "spec.yaml").read_text()
    head = "apiVersion: reconcile/v1\n"
    assert head in text
    return text.replace(head, head + "\nsettings:\n  owner: minimal\n", 1)


def edited_minimal(tmp_path: Path, *, version: str = "1.1.0", dedicated: int = 700) -> Path:
    """specs/minimal with its only version renamed (a rebuilt image) and the pool grown."""
    text = minimal_text()
    text = text.replace("- name: 1.0.0", f"- name: {version}")
    text = text.replace("fixed: {dedicated: 2}", f"fixed: {{dedicated: {dedicated}}}")
    out = tmp_path / f"spec-{version}-{dedicated}"
    out.mkdir()
    (out / "spec.yaml").write_text(text)
    return out


def grown_minimal(tmp_path: Path, dedicated: int) -> Path:
    """specs/minimal with more nodes in its pool (and so more replicas of its version)."""
    text = minimal_text()
    text = text.replace("fixed: {dedicated: 2}", f"fixed: {{dedicated: {dedicated}}}")
    out = tmp_path / f"grown-{dedicated}"
    out.mkdir()
    (out / "spec.yaml").write_text(text)
    return out


def create_foreign_pool(world: World, *, dedicated: int, **fixed: str) -> str:
    """A pool the tool does not own, booting minimal's version 1.0.0; returns its id."""
    foreign = POOL_ACCOUNT + "/pools/foreign"
    props = {
        "vmSize": "standard_d2s_v5",
        "image.id": VERSIONS + "1.0.0",
        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
        "scale.fixed.dedicated": dedicated,
        "scale.fixed.lowPriority": 0,
        **{f"scale.fixed.{key}": value for key, value in fixed.items()},
    }
    world.ops.create(kind=Kind.POOL, resource_id=foreign, location="westeurope", props=props)
    return foreign


def span(progress: RecordingProgress, address: str) -> tuple[int, int]:
    """Indices of the first start and the last done event of one change (all its steps)."""
    starts = [
        i
        for i, e in enumerate(progress.events)
        if e.address == address and e.kind is EventKind.START
    ]
    dones = [
        i
        for i, e in enumerate(progress.events)
        if e.address == address and e.kind is EventKind.DONE
    ]
    assert starts and len(starts) == len(dones), f"{address} did not start and finish"
    return starts[0], dones[-1]


# -- convergence ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec_dir", sorted(p.name for p in SPECS.iterdir() if p.is_dir()))
def test_plan_is_empty_after_apply_for_every_example_spec(world: World, spec_dir: str) -> None:
    """Applying each example spec to a fresh world leaves nothing to do on the next plan."""
    # New managed-image pools (the legacy spec) were creatable until 31 March 2026 (R7):
    # build that world as it was then; re-planning today must still find nothing to do.
    plan = world.plan(SPECS / spec_dir, now=BEFORE_R7 if spec_dir == "legacy" else None)
    assert plan.actionable, "the fresh world should need changes"
    result = world.apply(plan)
    assert result.ok, [(o.address, o.error) for o in result.failed]
    again = world.plan(SPECS / spec_dir)
    assert [(c.address, c.action.value, c.changed_paths) for c in again.actionable] == []


# -- ordering ---------------------------------------------------------------------------------


def test_replicas_grow_before_the_pool_that_needs_them_grows(world: World, tmp_path: Path) -> None:
    """Growing a pool 2→1300 nodes raises its version's replicas 1→3 first, then resizes."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    plan = world.plan(grown_minimal(tmp_path, 1300))
    version = "version:minimalgallery/minimal-ubuntu/1.0.0"
    pool = "pool:batchprodweu/minimal"
    # resizeTimeout grows with the node count (R2), so the pool is an update, not a resize.
    assert [(c.address, c.action, c.changed_paths) for c in plan.actionable] == [
        (version, Action.UPDATE, ("targetRegions[westeurope].replicas",)),
        (pool, Action.UPDATE, ("scale.fixed.dedicated", "scale.fixed.resizeTimeout")),
    ]
    progress = RecordingProgress()
    result = world.apply(plan, progress=progress)
    assert result.ok, result.failed
    _, version_done = span(progress, version)
    pool_start, _ = span(progress, pool)
    assert version_done < pool_start
    replication = [
        e.data["regions"] for e in progress.of(EventKind.PROGRESS) if e.address == version
    ]
    assert replication[-1] == {"westeurope": {"state": "Completed", "progress": 100}}
    nodes = [e.data for e in progress.of(EventKind.PROGRESS) if e.address == pool]
    assert nodes[-1]["dedicated"] == 1300 and nodes[-1]["target_dedicated"] == 1300
    assert world.plan(tmp_path / "grown-1300").actionable == ()


def test_new_version_exists_before_the_pool_moves_and_the_old_goes_after(
    world: World, tmp_path: Path
) -> None:
    """Rolling out 1.1.0: create it, move the pool (scale-to-zero steps), then delete 1.0.0."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    plan = world.plan(edited_minimal(tmp_path), prune=True)
    new, old = (
        "version:minimalgallery/minimal-ubuntu/1.1.0",
        "version:minimalgallery/minimal-ubuntu/1.0.0",
    )
    pool = "pool:batchprodweu/minimal"
    assert {c.address: c.action for c in plan.actionable} == {
        new: Action.CREATE,
        pool: Action.SCALE_TO_ZERO_UPDATE,
        old: Action.DELETE,
    }
    progress = RecordingProgress()
    result = world.apply(plan, progress=progress, allow_disruptive=True)
    assert result.ok, result.failed
    _, new_done = span(progress, new)
    pool_start, _ = span(progress, pool)
    old_start, _ = span(progress, old)
    steps = [e.change_id for e in progress.of(EventKind.DONE) if e.address == pool]
    assert steps == [pool + "#scale-down", pool + "#update-at-zero", pool + "#scale-back"]
    moved = next(
        i
        for i, e in enumerate(progress.events)
        if e.kind is EventKind.DONE and e.change_id == pool + "#update-at-zero"
    )
    # The old version goes once no pool boots it: after the pool's update at zero nodes.
    assert new_done < pool_start and moved < old_start
    live = world.live(world.load(tmp_path / "spec-1.1.0-700"))
    pools = [r for r in live.of_kind(Kind.POOL) if r.name == "minimal"]
    assert pools[0].image_id == VERSIONS + "1.1.0" and pools[0].current_dedicated == 700
    assert world.plan(tmp_path / "spec-1.1.0-700", prune=True).actionable == ()


def test_independent_changes_really_overlap_through_the_sdk(world: World) -> None:
    """In the production spec, versions replicate concurrently: their spans overlap."""
    progress = RecordingProgress()
    result = world.apply(world.plan(SPECS / "production"), progress=progress, parallelism=10)
    assert result.ok, result.failed
    versions = [o for o in result.outcomes if o.address.startswith("version:")]
    assert sorted(o.address for o in versions) == [
        "version:imagegallery/render-ubuntu/1.0.0",
        "version:imagegallery/render-ubuntu/1.1.0",
        "version:imagegallery/render-windows/1.0.0",
        "version:imagegallery/sim-ubuntu/2.0.0",
        "version:imagegallery/sim-ubuntu/2.1.0",
    ]
    overlaps = sum(
        1
        for a in versions
        for b in versions
        if a is not b and a.started < b.finished and b.started < a.finished  # type: ignore[operator]
    )
    assert overlaps >= len(versions)
    in_flight = 0
    most = 0
    for e in progress.events:
        if e.kind is EventKind.START:
            in_flight += 1
        elif e.kind in (EventKind.DONE, EventKind.FAILED):
            in_flight -= 1
        most = max(most, in_flight)
    assert 1 < most <= 10


# -- conflicts and staleness ------------------------------------------------------------------


def touch_pool_metadata(world: World, value: str) -> None:
    """A concurrent change by someone else: pool metadata edited through the SDK."""
    pool_id = POOL_ACCOUNT + "/pools/minimal"
    live = world.ops.read(kind=Kind.POOL, resource_id=pool_id)
    assert live is not None
    props = {**live.properties, "metadata.touched": value}
    world.ops.update(
        kind=Kind.POOL,
        resource_id=pool_id,
        location=live.location,
        props=props,
        changed_paths=("metadata.touched",),
    )


def test_etag_conflict_stops_the_pool_branch_with_changed_since_plan(
    world: World, tmp_path: Path
) -> None:
    """A pool changed between plan and apply is not overwritten; its write fails If-Match."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    plan = world.plan(grown_minimal(tmp_path, 40))
    touch_pool_metadata(world, "by-someone-else")
    result = world.apply(plan)
    pool = next(o for o in result.outcomes if o.address == "pool:batchprodweu/minimal")
    assert pool.status.value == "failed" and pool.error_type == "ConflictError"
    assert (pool.error or "").startswith(
        "pool:batchprodweu/minimal changed since plan: Azure refused the write because the "
        "resource no longer matches what the plan saw (HTTP 412 ConditionNotMet: "
    )
    live = world.ops.read(kind=Kind.POOL, resource_id=POOL_ACCOUNT + "/pools/minimal")
    assert live is not None and live.properties["scale.fixed.dedicated"] == 2
    assert live.properties["metadata.touched"] == "by-someone-else"


def test_a_stale_saved_plan_is_refused_naming_what_moved(world: World, tmp_path: Path) -> None:
    """`reconcile apply PLANFILE` stops when a planned resource changed since the plan."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    spec_dir = grown_minimal(tmp_path, 40)
    plan_file = tmp_path / "plan.json"
    save_plan(world.plan(spec_dir), plan_file)
    touch_pool_metadata(world, "moved")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["apply", str(plan_file), str(spec_dir), "--sandbox", str(world.path), "--auto-approve"],
    )
    assert result.exit_code == 1, result.output
    assert (
        "error: the saved plan is stale: pool:batchprodweu/minimal changed "
        "(moved: pool:batchprodweu/minimal)\n"
        "  hint: run `reconcile plan --out FILE` again and review the new plan\n"
    ) in result.output
    live = world.ops.read(kind=Kind.POOL, resource_id=POOL_ACCOUNT + "/pools/minimal")
    assert live is not None and live.properties["scale.fixed.dedicated"] == 2


def test_a_fresh_saved_plan_is_applied_exactly(world: World, tmp_path: Path) -> None:
    """`reconcile apply PLANFILE` on an unchanged world applies it and the next plan is empty."""
    plan_file = tmp_path / "plan.json"
    save_plan(world.plan(SPECS / "minimal"), plan_file)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "apply",
            str(plan_file),
            str(SPECS / "minimal"),
            "--sandbox",
            str(world.path),
            "--auto-approve",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Apply complete: 4 change(s) done" in result.output
    assert world.plan(SPECS / "minimal").actionable == ()


def test_apply_without_a_tty_or_auto_approve_refuses_to_prompt(world: World) -> None:
    """Without a terminal and without --auto-approve nothing is applied and the reason is given."""
    result = CliRunner().invoke(
        cli, ["apply", str(SPECS / "minimal"), "--sandbox", str(world.path)]
    )
    assert result.exit_code == 1
    assert "refusing to prompt" in result.output and "--auto-approve" in result.output
    assert world.plan(SPECS / "minimal").actionable != ()


def test_a_second_concurrent_apply_is_refused_cleanly(world: World) -> None:
    """While one apply holds the target's lock, another refuses and names the holder."""
    (lock_path,) = state_for_sandbox(world.path).locks
    with ApplyLock(lock_path):
        result = CliRunner().invoke(
            cli, ["apply", str(SPECS / "minimal"), "--sandbox", str(world.path), "--auto-approve"]
        )
    assert result.exit_code == 1
    assert "another apply holds the lock since" in result.output
    assert f"pid {os.getpid()}" in result.output
    assert world.plan(SPECS / "minimal").actionable != ()


@pytest.mark.parametrize(
    ("layout", "reason"),
    [
        ("under-a-file", "Not a directory"),
        ("journal-is-a-directory", "is not a regular file"),
    ],
)
def test_an_unusable_state_dir_is_one_sentence_and_changes_nothing(
    world: World, tmp_path: Path, layout: str, reason: str
) -> None:
    """A --state-dir apply cannot use is refused in one sentence with a hint, before any change."""
    state_dir = tmp_path / "state"
    if layout == "under-a-file":
        (tmp_path / "a-file").write_text("", encoding="utf-8")
        state_dir = tmp_path / "a-file" / "state"
    else:
        journal = state_for_sandbox(world.path, state_dir=state_dir).journal
        journal.mkdir(parents=True)
    result = CliRunner().invoke(
        cli,
        [
            *("apply", str(SPECS / "minimal"), "--sandbox", str(world.path)),
            *("--state-dir", str(state_dir), "--auto-approve"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # no OSError traceback
    assert reason in result.output and "\n  hint: " in result.output
    assert len(world.plan(SPECS / "minimal").actionable) == 4


# -- resize re-issue (R3) ---------------------------------------------------------------------


def test_a_pool_that_stops_short_gets_its_resize_reissued(world: World, tmp_path: Path) -> None:
    """Demand from a foreign pool on the same image slows allocation past resizeTimeout; apply re-issues."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    # A pool the tool does not own boots the same version: its 1,000 nodes share the
    # replica, so our pool's 600-node resize runs past its 15-minute timeout.
    create_foreign_pool(world, dedicated=1000, resizeTimeout="PT30M")
    plan = world.plan(grown_minimal(tmp_path, 600))
    progress = RecordingProgress()
    result = world.apply(plan, progress=progress)
    assert result.ok, result.failed
    pool = next(o for o in result.outcomes if o.address == "pool:batchprodweu/minimal")
    reissued = [n for n in pool.notes if n.startswith("resize re-issued")]
    assert reissued, pool.notes
    # Numbered from 1; how far each attempt got depends on the simulated allocation.
    for number, note in enumerate(reissued, start=1):
        pattern = rf"resize re-issued \({number} of 3\): stopped at \d+\+0 of 600\+0 nodes \(AllocationTimedOut\)"
        assert re.fullmatch(pattern, note), note
    live = world.ops.read(kind=Kind.POOL, resource_id=POOL_ACCOUNT + "/pools/minimal")
    assert live is not None and live.current_dedicated == 600


# -- faults -----------------------------------------------------------------------------------


def faulty(path: Path, *faults: FaultRule) -> World:
    # azure-core's own HTTP retries keep their policy; only their backoff is shortened so a
    # storm of a dozen 429s costs milliseconds, not the seconds real Azure would want.
    return World(
        path,
        SandboxConfig(speed=SPEED, seed=7, faults=faults),
        client_kwargs={"retry_backoff_factor": 0.01, "retry_backoff_max": 0.05},
    )


def _saw_status(status: int) -> Any:
    return lambda world, result, progress: world.counter.by_status[status] > 0


def _retried(world: World, result: Any, progress: RecordingProgress) -> bool:
    return bool(progress.of(EventKind.RETRY))


def _adopted(world: World, result: Any, progress: RecordingProgress) -> bool:
    # azure-core re-sends the dropped PUT, which meets If-None-Match: the pool is adopted.
    pool = result.outcome("pool:batchprodweu/minimal")
    return pool.notes == ("already existed as planned (an earlier attempt created it)",)


@pytest.mark.no_openapi_check
@pytest.mark.parametrize(
    ("faults", "evidence"),
    [
        pytest.param(
            (FaultRule(kind="throttle", op_class="write", first_n=12, retry_after=0),),
            _saw_status(429),
            id="429-storm",
        ),
        pytest.param(
            (FaultRule(kind="status", status=503, method="PUT", first_n=6),),
            _saw_status(503),
            id="5xx",
        ),
        pytest.param(
            (
                FaultRule(
                    kind="lro_fail", path="/versions/", code="InternalExecutionError", first_n=2
                ),
            ),
            _retried,
            id="failed-lro",
        ),
        pytest.param(
            (FaultRule(kind="drop_after", method="PUT", path="/pools/", first_n=1),),
            _adopted,
            id="answer-lost-after-pool-create",
        ),
    ],
)
def test_injected_faults_end_in_convergence(
    tmp_path: Path, faults: tuple[FaultRule, ...], evidence: Any
) -> None:
    """Throttling, 5xx, failed LROs and lost answers are retried and the world converges."""
    world = faulty(tmp_path / "faulty.sqlite", *faults)
    try:
        progress = RecordingProgress()
        result = world.apply(world.plan(SPECS / "minimal"), progress=progress)
        assert result.ok, [(o.address, o.error) for o in result.failed]
        assert evidence(world, result, progress), "the fault never fired"
        assert world.plan(SPECS / "minimal").actionable == ()
    finally:
        world.close()


def test_a_permanent_failure_skips_dependents_and_a_rerun_converges(tmp_path: Path) -> None:
    """A version whose LRO fails permanently skips its pool; the next apply repairs it and converges."""
    world = faulty(
        tmp_path / "perm.sqlite",
        FaultRule(kind="lro_fail", path="/versions/", code="InvalidParameter", first_n=1),
    )
    try:
        result = world.apply(world.plan(SPECS / "minimal"))
        assert [o.address for o in result.failed] == ["version:minimalgallery/minimal-ubuntu/1.0.0"]
        assert [o.address for o in result.skipped] == ["pool:batchprodweu/minimal"]
        assert [o.address for o in result.done] == [
            "gallery:minimalgallery",
            "image:minimalgallery/minimal-ubuntu",
        ]
        # The failed version is not counted as present: the next plan creates it again.
        again = world.plan(SPECS / "minimal")
        repair = next(c for c in again.actionable if c.kind is Kind.VERSION)
        assert repair.action is Action.CREATE and "provisioning state Failed" in repair.reason
        assert world.apply(again).ok
        assert world.plan(SPECS / "minimal").actionable == ()
        live = world.ops.read(kind=Kind.VERSION, resource_id=VERSIONS + "1.0.0")
        assert live is not None and live.provisioning_state == "Succeeded"
    finally:
        world.close()


# -- R6 ---------------------------------------------------------------------------------------


def test_an_image_a_foreign_pool_uses_survives_prune(world: World, tmp_path: Path) -> None:
    """With --prune, a version a pool outside the spec still boots is kept; the rest goes ahead (R6)."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    foreign = create_foreign_pool(world, dedicated=1)
    spec_dir = edited_minimal(tmp_path, dedicated=2)
    plan = world.plan(spec_dir, prune=True)
    assert not [c for c in plan.actionable if c.action is Action.DELETE]
    result = CliRunner().invoke(
        cli,
        [
            "apply",
            str(spec_dir),
            "--sandbox",
            str(world.path),
            "--prune",
            "--allow-disruptive",
            "--auto-approve",
        ],
    )
    # The planner keeps the in-use version (a warning naming the pool) and applies the rest.
    assert result.exit_code == 0, result.output
    assert "RC513" in result.output and "pool:batchprodweu/foreign" in result.output
    old = world.ops.read(kind=Kind.VERSION, resource_id=VERSIONS + "1.0.0")
    assert old is not None, "the in-use version was deleted"
    still = world.ops.read(kind=Kind.POOL, resource_id=foreign)
    assert still is not None and still.image_id == VERSIONS + "1.0.0"
    ours = world.ops.read(kind=Kind.POOL, resource_id=POOL_ACCOUNT + "/pools/minimal")
    assert ours is not None and ours.image_id == VERSIONS + "1.1.0"
    # Once the foreign pool boots something else, the next pruning plan lets 1.0.0 go.
    world.ops.delete(kind=Kind.POOL, resource_id=foreign)
    again = world.plan(spec_dir, prune=True)
    assert [(c.address, c.action) for c in again.actionable] == [
        ("version:minimalgallery/minimal-ubuntu/1.0.0", Action.DELETE)
    ]


# -- crash and resume -------------------------------------------------------------------------


def test_a_killed_apply_is_resumed_to_convergence(tmp_path: Path) -> None:
    """SIGKILL mid-apply (production spec), then `reconcile apply` again: converged, nothing lost."""
    path = tmp_path / "crash.sqlite"
    World(path, SandboxConfig(speed=1500.0)).close()  # slow enough to kill mid-way
    journal = state_for_sandbox(path).journal
    env = {**os.environ, **SECRETS}
    env.pop(ENV_CONFIG, None)
    command = [
        sys.executable,
        "-m",
        "reconciler.cli",
        "apply",
        str(SPECS / "production"),
        "--sandbox",
        str(path),
        "--auto-approve",
    ]
    first = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and first.poll() is None:
        if journal.exists():
            done = journal.read_text().count('"event":"done"')
            if done >= 5:
                break
        time.sleep(0.02)
    assert first.poll() is None, "the apply finished before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    records = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    assert records[-1]["event"] != "apply-end"

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "was interrupted" in second.stderr
    started_again = re.findall(r"start\s+\S+\s+(\S+):", second.stdout)
    finished_before = {r["address"] for r in records if r["event"] == "done"}
    # Both sides non-empty, or the disjointness below would hold for nothing.
    assert len(finished_before) >= 5 and started_again, second.stdout
    assert not finished_before & {a.rstrip(":") for a in started_again}

    world = World.__new__(World)
    world.path, world.config = path, SandboxConfig(speed=1500.0)
    world.target = Target.for_sandbox(path)
    world.clients = azure_clients(world.target)
    world.ops = AzureOperations(world.clients)
    try:
        assert world.plan(SPECS / "production", prune=True).actionable == ()
    finally:
        world.close()


# -- applied records and owners ----------------------------------------------------------------


def test_drift_reports_what_changed_in_azure_not_what_the_spec_changed(
    world: World, tmp_path: Path
) -> None:
    """After apply, a change made through the SDK is drift; a spec edit is pending, not drift."""
    from azure.mgmt.batch import models as batch_models
    from azure.mgmt.compute import models as compute_models

    assert world.apply(world.plan(SPECS / "minimal")).ok
    # Someone edits Azure through the SDK: the gallery's description and the pool's team.
    compute = world.clients.compute(SUB)
    compute.galleries.begin_update(
        "rg-images", "minimalgallery", compute_models.GalleryUpdate(description="by hand")
    ).result()
    pool = world.clients.batch(SUB).pool
    live = pool.get("rg-batch", "batchprodweu", "minimal")
    metadata = [
        batch_models.MetadataItem(name=m.name, value="someone" if m.name == "team" else m.value)
        for m in live.metadata
    ]
    pool.update("rg-batch", "batchprodweu", "minimal", batch_models.Pool(metadata=metadata))
    # And the spec moves on: more nodes (so more replicas), not yet applied.
    spec_dir = grown_minimal(tmp_path, 700)

    plan = world.plan(spec_dir)
    causes = {c.address: c.cause for c in plan.actionable}
    assert causes == {
        "gallery:minimalgallery": "drift",
        "version:minimalgallery/minimal-ubuntu/1.0.0": "spec",
        "pool:batchprodweu/minimal": "spec+drift",
    }
    assert {d.address: d.paths for d in plan.drift} == {
        "gallery:minimalgallery": ("description",),
        "pool:batchprodweu/minimal": ("metadata.team",),
    }
    result = CliRunner().invoke(
        cli, ["drift", str(spec_dir), "--sandbox", str(world.path), "--format", "json"]
    )
    assert result.exit_code == 2, result.output
    doc = json.loads(result.output)
    assert [(d["address"], d["paths"]) for d in doc["drift"]] == [
        ("gallery:minimalgallery", ["description"]),
        ("pool:batchprodweu/minimal", ["metadata.team"]),
    ]
    # Applied, both kinds are gone: the world matches the spec and the records match the world.
    assert world.apply(plan).ok
    again = world.plan(spec_dir)
    assert again.actionable == () and again.drift == ()
    result = CliRunner().invoke(
        cli,
        ["drift", str(spec_dir), "--sandbox", str(world.path), "--detailed-exitcode"],
    )
    assert result.exit_code == 0, result.output
    assert "No drift" in result.output


def test_a_spec_edit_alone_is_pending_and_drift_exits_zero(world: World, tmp_path: Path) -> None:
    """A new pool and a resize in the spec, Azure untouched: drift reports nothing (exit 0)."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    spec_dir = grown_minimal(tmp_path, 5)
    text = (spec_dir / "spec.yaml").read_text()
    (spec_dir / "spec.yaml").write_text(
        text
        + "      - name: minimal-two\n"
        + "        vmSize: Standard_D2s_v5\n"
        + "        image: {gallery: minimalgallery, definition: minimal-ubuntu}\n"
        + "        nodeAgentSkuId: batch.node.ubuntu 22.04\n"
        + "        scale:\n          fixed: {dedicated: 1}\n"
    )
    plan = world.plan(spec_dir)
    assert {c.address: c.cause for c in plan.actionable} == {
        "pool:batchprodweu/minimal": "spec",
        "pool:batchprodweu/minimal-two": "spec",
    }
    for fmt in ("text", "markdown"):
        result = CliRunner().invoke(
            cli,
            ["drift", str(spec_dir), "--sandbox", str(world.path), "--format", fmt],
        )
        assert result.exit_code == 0, result.output
        assert "minimal-two" not in result.output
        assert "No drift" in result.output
        assert "2 spec change(s) not yet applied (not drift" in result.output


def test_prune_of_one_spec_never_touches_another_specs_resources(world: World) -> None:
    """`plan specs/minimal --prune` where specs/production was applied deletes none of it."""
    production = world.plan(SPECS / "production")
    assert world.apply(production).ok
    owned = {c.resource_id for c in production.actionable}
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            str(SPECS / "minimal"),
            "--sandbox",
            str(world.path),
            "--prune",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [c["address"] for c in doc["changes"] if c["action"] == "delete"] == []
    (seen,) = [d for d in doc["diagnostics"] if d["code"] == "RC521"]
    assert "owned by spec 'production'" in seen["message"]
    assert doc["owner"] == "minimal"
    # Applied for real, production's resources are all still there.
    result = CliRunner().invoke(
        cli,
        [
            "apply",
            str(SPECS / "minimal"),
            "--sandbox",
            str(world.path),
            "--prune",
            "--auto-approve",
        ],
    )
    assert result.exit_code == 0, result.output
    kinds = {c.resource_id: c.kind for c in production.actionable}
    missing = [rid for rid in owned if world.ops.read(kind=kinds[rid], resource_id=rid) is None]
    assert missing == []
    assert world.plan(SPECS / "production").actionable == ()


def test_pool_properties_that_change_only_at_zero_nodes_are_updated_not_replaced(
    world: World, tmp_path: Path
) -> None:
    """Network, task slots, inter-node communication, display name: to zero, update, back."""
    assert world.apply(world.plan(SPECS / "minimal")).ok
    subnet = (
        f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/"
        "virtualNetworks/vnet/subnets/batch"
    )
    text = minimal_text().replace(
        "        displayName: Getting started\n",
        "        displayName: Getting started (v2)\n"
        "        taskSlotsPerNode: 4\n"
        "        interNodeCommunication: Enabled\n"
        f"        network: {{subnetId: {subnet}}}\n",
    )
    folder = tmp_path / "at-zero"
    folder.mkdir()
    (folder / "spec.yaml").write_text(text)
    pool = "pool:batchprodweu/minimal"
    plan = world.plan(folder)
    steps = {c.step: c for c in plan.actionable if c.address == pool}
    assert set(steps) == {"scale-down", "update-at-zero", "scale-back"}
    assert steps["scale-down"].action is Action.SCALE_TO_ZERO_UPDATE
    assert "[U12]" in steps["scale-down"].reason
    middle = steps["update-at-zero"]
    assert set(middle.changed_paths) == {
        "displayName",
        "interNodeCommunication",
        "network.subnetId",
        "taskSlotsPerNode",
    }
    before = world.clients.batch(SUB).pool.get("rg-batch", "batchprodweu", "minimal")
    result = world.apply(plan, allow_disruptive=True)
    assert result.ok, [(o.address, o.error) for o in result.failed]
    after = world.clients.batch(SUB).pool.get("rg-batch", "batchprodweu", "minimal")
    assert after.creation_time == before.creation_time  # the same pool, not a replacement
    assert (after.display_name, after.task_slots_per_node, after.inter_node_communication) == (
        "Getting started (v2)",
        4,
        "Enabled",
    )
    assert after.network_configuration.subnet_id.lower() == subnet.lower()
    assert after.current_dedicated_nodes == 2
    assert world.plan(folder).actionable == ()
