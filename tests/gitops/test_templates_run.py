"""The templates' own shell steps, run as real processes against a sandbox world.

Each job gets a fresh checkout (a copy of the example spec at the template's SPEC_DIR),
artifacts travel between jobs as the CI would carry them, the comment and issue calls go
to a local fake of GitHub / Azure DevOps, and Azure is the sandbox (``RECONCILE_SANDBOX``).
What is checked is the world's true state afterwards: the fake's comments and issues,
the sandbox's resources as the next plan sees them.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.gitops.body import has_marker
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.seed import load_seed
from tests.gitops import recorded
from tests.gitops.ci_runner import (
    gh_eval,
    gh_job_enabled,
    run_ado_stage,
    run_github_job,
)
from tests.gitops.fake_forge import TOKEN, running_forge

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / "templates/github/reconcile.yml").read_text())
PIPELINE = yaml.safe_load((ROOT / "templates/azure-devops/azure-pipelines.yml").read_text())
SPEED = 20000.0
LICENSE = "license-from-a-secret"
POOL = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-batch/providers/"
    "Microsoft.Batch/batchAccounts/batchprodweu/pools/sim-canary"
)


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """A fresh sandbox world from the default seed."""
    path = tmp_path / "world.sqlite"
    config = SandboxConfig(speed=SPEED)
    sandbox = Sandbox(path, config=config)
    sandbox.save_config(config)
    sandbox.reset()
    sandbox.seed(load_seed(None))
    sandbox.close()
    return path


def checkout(where: Path) -> Path:
    """A fresh clone of the user's repository: the example spec where the template looks."""
    workspace = where / "repo"
    shutil.copytree(ROOT / "specs" / "production", workspace / "specs" / "production")
    return workspace


def base_env(world: Path, tmp_path: Path) -> dict[str, str]:
    """What every runner has: our reconcile first on PATH, the sandbox as Azure."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "RECONCILE_SANDBOX": str(world),
    }


def resize_behind_the_tools_back(world: Path, dedicated: int) -> None:
    """Someone scales a pool in the portal (here: through the Azure SDK)."""
    from reconciler.azure import AzureOperations, Target
    from reconciler.state.model import Kind
    from reconciler.wiring import azure_clients

    with azure_clients(Target.for_sandbox(world)) as clients:
        ops = AzureOperations(clients)
        live = ops.read(kind=Kind.POOL, resource_id=POOL)
        assert live is not None
        ops.update(
            kind=Kind.POOL,
            resource_id=POOL,
            location=live.location,
            props={**live.properties, "scale.fixed.dedicated": dedicated},
            changed_paths=("scale.fixed.dedicated",),
        )


# -- GitHub Actions ---------------------------------------------------------------------


def github_env(world: Path, tmp_path: Path, forge_url: str, event: dict[str, Any]) -> dict:
    event_path = tmp_path / f"event-{len(list(tmp_path.glob('event-*')))}.json"
    event_path.write_text(json.dumps(event))
    return {
        **base_env(world, tmp_path),
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": recorded.REPO,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_API_URL": f"{forge_url}/github",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }


def gh_context(event_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "github.event_name": event_name,
        "github.token": TOKEN,
        "secrets.RENDER_LICENSE_KEY": LICENSE,
        **extra,
    }


def gh_run(job: str, where: Path, ctx: dict, env: dict, artifacts: Path, **kw: Any):
    assert gh_job_enabled(WORKFLOW, job, ctx), f"{job} does not run for {ctx['github.event_name']}"
    return run_github_job(
        WORKFLOW, job, workspace=checkout(where), artifacts=artifacts, ctx=ctx, base_env=env, **kw
    )


def push_and_apply(world: Path, tmp_path: Path, name: str, forge_url: str) -> dict[str, str]:
    """The push flow: plan the merged spec, then apply that plan when it has changes."""
    env = github_env(world, tmp_path, forge_url, {"ref": "refs/heads/main"})
    artifacts = tmp_path / f"artifacts-{name}"
    ctx = gh_context("push")
    planned = gh_run("plan-merged", tmp_path / f"{name}-plan", ctx, env, artifacts)
    assert planned.ok, planned.log
    needs = {f"needs.plan-merged.outputs.{k}": v for k, v in planned.outputs.items()}
    if gh_job_enabled(WORKFLOW, "apply", {**ctx, **needs}):
        applied = gh_run("apply", tmp_path / f"{name}-apply", {**ctx, **needs}, env, artifacts)
        assert applied.ok, applied.log
    return planned.outputs


def test_github_pull_request_flow_keeps_one_plan_comment_edited_on_each_push(world, tmp_path):
    """Two pushes to a PR: validate + plan + comment run twice, one comment exists, edited."""
    ctx = gh_context("pull_request", **{"github.event.pull_request.number": 7})
    assert not gh_job_enabled(WORKFLOW, "plan-merged", ctx)
    assert not gh_job_enabled(WORKFLOW, "drift", ctx)
    with running_forge() as forge:
        for push in (1, 2):
            env = github_env(world, tmp_path, forge.url, {"pull_request": {"number": 7}})
            env["GITHUB_RUN_ID"] = str(push)
            run = gh_run("plan", tmp_path / f"push{push}", ctx, env, tmp_path / "artifacts")
            assert run.ok, run.log
        comments = forge.comments[7]
    assert len(comments) == 1
    body = comments[0]["body"]
    assert has_marker(body, "production")
    assert "## reconcile plan:" in body and "pool:batchprodweu/sim-canary" in body
    assert "actions/runs/2" in body and comments[0]["updated_at"] != comments[0]["created_at"]
    saved = json.loads(
        (tmp_path / "artifacts/reconcile-plan-production-pr-7/plan.json").read_text()
    )
    assert saved["kind"] == "reconcile-plan"


def test_github_push_flow_applies_the_planned_changes_then_has_nothing_to_do(world, tmp_path):
    """On main: plan-merged finds changes, apply (with the secret env) converges, replan is empty."""
    with running_forge() as forge:
        first = push_and_apply(world, tmp_path, "first", forge.url)
        again = push_and_apply(world, tmp_path, "again", forge.url)
    assert first == {"changes": "true", "disruptive": "false"}
    assert again == {"changes": "false", "disruptive": "false"}


def test_github_apply_refuses_the_plan_when_azure_moved_after_it(world, tmp_path):
    """Live state changed between the plan job and the apply job: apply refuses, names it."""
    with running_forge() as forge:
        push_and_apply(world, tmp_path, "first", forge.url)
        resize_behind_the_tools_back(world, 10)
        env = github_env(world, tmp_path, forge.url, {"ref": "refs/heads/main"})
        artifacts = tmp_path / "artifacts-moved"
        ctx = gh_context("push")
        planned = gh_run("plan-merged", tmp_path / "moved-plan", ctx, env, artifacts)
        assert planned.outputs["changes"] == "true", planned.log
        resize_behind_the_tools_back(world, 12)
        needs = {f"needs.plan-merged.outputs.{k}": v for k, v in planned.outputs.items()}
        applied = gh_run("apply", tmp_path / "moved-apply", {**ctx, **needs}, env, artifacts)
    assert not applied.ok
    assert "the saved plan is stale" in applied.log
    assert "pool:batchprodweu/sim-canary" in applied.log


def test_a_disruptive_plan_needs_the_approval_environment(world, tmp_path):
    """A vmSize change (scale to zero) routes apply to production-disruptive and is approved there."""
    with running_forge() as forge:
        push_and_apply(world, tmp_path, "first", forge.url)
        env = github_env(world, tmp_path, forge.url, {"ref": "refs/heads/main"})
        artifacts = tmp_path / "artifacts-disruptive"
        ctx = gh_context("push")
        workspace = checkout(tmp_path / "disruptive-plan")
        pools = workspace / "specs/production/pools.yaml"
        text = pools.read_text()
        canary = text.index("- name: sim-canary")
        text = text[:canary] + text[canary:].replace("Standard_E16s_v5", "Standard_E8s_v5", 1)
        pools.write_text(text)
        planned = run_github_job(
            WORKFLOW, "plan-merged", workspace=workspace, artifacts=artifacts, ctx=ctx, base_env=env
        )
        assert planned.outputs == {"changes": "true", "disruptive": "true"}, planned.log
        needs = {f"needs.plan-merged.outputs.{k}": v for k, v in planned.outputs.items()}
        environment = gh_eval(WORKFLOW["jobs"]["apply"]["environment"], {**ctx, **needs}, workspace)
        assert environment == "production-disruptive"
        apply_ws = tmp_path / "disruptive-apply" / "repo"
        shutil.copytree(workspace, apply_ws)
        applied = run_github_job(
            WORKFLOW,
            "apply",
            workspace=apply_ws,
            artifacts=artifacts,
            ctx={**ctx, **needs},
            base_env=env,
        )
    assert applied.ok, applied.log


def test_github_schedule_flow_opens_one_drift_issue_and_closes_it_when_gone(world, tmp_path):
    """Drift opens one labelled issue, a second run edits it, converging closes it."""
    ctx = gh_context("schedule")
    assert not gh_job_enabled(WORKFLOW, "plan", ctx)
    with running_forge() as forge:
        push_and_apply(world, tmp_path, "first", forge.url)
        resize_behind_the_tools_back(world, 10)
        for n in (1, 2):
            env = github_env(world, tmp_path, forge.url, {"schedule": "23 5 * * *"})
            run = gh_run("drift", tmp_path / f"drift{n}", ctx, env, tmp_path / "a")
            assert run.ok, run.log
        assert list(forge.issues) == [1]
        issue = forge.issues[1]
        assert issue["state"] == "open" and issue["title"] == "Drift in production"
        assert has_marker(issue["body"], "drift-production")
        assert "sim-canary" in issue["body"]
        assert [label["name"] for label in issue["labels"]] == ["reconcile-drift"]

        resize_behind_the_tools_back(world, 20)
        env = github_env(world, tmp_path, forge.url, {"schedule": "23 5 * * *"})
        run = gh_run("drift", tmp_path / "drift3", ctx, env, tmp_path / "a")
        assert run.ok, run.log
        assert forge.issues[1]["state"] == "closed"
        assert forge.comments[1][-1]["body"].startswith("Azure matches the spec again")


# -- Azure Pipelines --------------------------------------------------------------------


def ado_run(world: Path, tmp_path: Path, forge_url: str, reason: str, name: str, state: dict):
    """One pipeline run for `reason`: every stage in order, with stage dependencies."""
    pipeline_ws = tmp_path / f"ado-{name}"
    workspace = checkout(pipeline_ws / "s")
    variables = {
        **{k: str(v) for k, v in PIPELINE["variables"].items()},
        "Build.Reason": reason,
        "Build.SourceBranch": "refs/pull/42/merge"
        if reason == "PullRequest"
        else "refs/heads/main",
        "System.AccessToken": TOKEN,
        "Pipeline.Workspace": str(pipeline_ws),
        "Agent.OS": "Linux",
        "RENDER_LICENSE_KEY": LICENSE,
    }
    env = {
        **base_env(world, tmp_path),
        "TF_BUILD": "True",
        "SYSTEM_COLLECTIONURI": f"{forge_url}/ado/contoso/",
        "SYSTEM_TEAMPROJECT": recorded.ADO_PROJECT,
        "BUILD_REPOSITORY_ID": recorded.ADO_REPO_ID,
        "BUILD_BUILDID": name,
    }
    if reason == "PullRequest":
        env["SYSTEM_PULLREQUEST_PULLREQUESTID"] = str(recorded.ADO_PR)
    dependencies: dict[str, Any] = {s["stage"]: {} for s in PIPELINE["stages"]}
    ran = {}
    for stage in PIPELINE["stages"]:
        needs = stage.get("dependsOn", [])
        needs = [needs] if isinstance(needs, str) else needs
        result = run_ado_stage(
            PIPELINE,
            stage["stage"],
            workspace=workspace,
            pipeline_workspace=pipeline_ws,
            artifacts=pipeline_ws / "artifacts",
            variables=variables,
            dependencies=dependencies,
            base_env=env,
            succeeded=all(n in ran and ran[n].ok for n in needs),
        )
        if result is not None:
            ran[stage["stage"]] = result
            dependencies[stage["stage"]] = result.outputs
    state[name] = ran
    return ran


def test_azure_pipelines_flows_comment_apply_and_report_drift(world, tmp_path):
    """PR: one thread, edited; CI: plan then Apply (not the disruptive stage); schedule: drift."""
    runs: dict[str, Any] = {}
    with running_forge() as forge:
        for n in ("pr1", "pr2"):
            ran = ado_run(world, tmp_path, forge.url, "PullRequest", n, runs)
            assert list(ran) == ["Plan"] and ran["Plan"].ok, ran["Plan"].log
        assert len(forge.threads) == 1
        thread = forge.threads[0]
        assert thread["status"] == "closed"
        assert thread["properties"]["reconcile.key"]["$value"] == "production"
        assert "buildId=pr2" in thread["comments"][0]["content"]

        ran = ado_run(world, tmp_path, forge.url, "IndividualCI", "ci", runs)
        assert list(ran) == ["PlanMerged", "Apply"], {k: v.log for k, v in ran.items()}
        assert ran["PlanMerged"].outputs == {
            "plan.plan.changes": "true",
            "plan.plan.disruptive": "false",
        }
        assert ran["Apply"].ok, ran["Apply"].log

        ran = ado_run(world, tmp_path, forge.url, "Schedule", "nightly", runs)
        assert list(ran) == ["Drift"] and "No drift in production." in ran["Drift"].log

        resize_behind_the_tools_back(world, 10)
        ran = ado_run(world, tmp_path, forge.url, "Schedule", "nightly2", runs)
        assert ran["Drift"].ok, ran["Drift"].log
        assert "##vso[task.complete result=SucceededWithIssues;]" in ran["Drift"].log
        assert (tmp_path / "ado-nightly2/s/repo/drift.md").read_text().count("sim-canary") >= 1
