"""Run the templates' shell steps as the CI would: the same scripts, env and conditions.

Only what the templates themselves say is executed: every ``run:`` (GitHub) or ``script:``
/ AzureCLI ``inlineScript`` (Azure Pipelines) step, in order, under bash, with the env the
workflow, job and step declare (expressions and macros evaluated), outputs collected the
way each CI does (``$GITHUB_OUTPUT``, ``##vso[task.setvariable …;isOutput=true]``) and
conditions evaluated. Steps that install tools or log in (``id``/``name: install``,
checkout, setup-python, azure/login, caching) are skipped: the test's own virtualenv is on
PATH and ``RECONCILE_SANDBOX`` points every command at a sandbox world. Artifacts are
copied between jobs' fresh workspaces as upload/download (publish/download) would.
An expression or macro the test did not provide fails the test: templates cannot grow
inputs this runner silently ignores.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SKIPPED_ACTIONS = ("actions/checkout@", "actions/setup-python@", "azure/login@")
SKIPPED_TASKS = ("UsePythonVersion@", "Cache@")


@dataclass
class StepRun:
    """One executed step: its name, exit status and combined output."""

    name: str
    returncode: int
    output: str


@dataclass
class JobRun:
    """One executed job."""

    ok: bool
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} (exit {s.returncode})\n{s.output}" for s in self.steps)


def _bash(script: str, *, cwd: Path, env: Mapping[str, str], flags: tuple[str, ...]) -> StepRun:
    path = cwd.parent / f".step-{abs(hash(script))}.sh"
    path.write_text(script)
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", *flags, str(path)],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return StepRun("", proc.returncode, proc.stdout + proc.stderr)


def _copy_into(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        shutil.copy2(item, dest / item.name)


# -- GitHub Actions ---------------------------------------------------------------------

_GH_NAME = re.compile(r"(?<![\w'.-])([A-Za-z_][\w-]*(?:\.[\w-]+)+)")


def gh_eval(expr: str, ctx: Mapping[str, Any], workspace: Path, *, success: bool = True) -> Any:
    """Evaluate a GitHub expression (the subset the templates use) against `ctx`."""
    expr = expr.strip()
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2].strip()
    py = re.sub(
        r"hashFiles\('([^']*)'\)",
        lambda m: repr("h" if (workspace / m[1]).exists() else ""),
        expr,
    )
    py = py.replace("cancelled()", "False").replace("always()", "True")
    py = py.replace("success()", repr(success)).replace("failure()", repr(not success))

    def name(m: re.Match[str]) -> str:
        if m[1] not in ctx:
            raise KeyError(f"the template uses ${{{{ {m[1]} }}}}, which the test does not provide")
        return repr(ctx[m[1]])

    py = _GH_NAME.sub(name, py)
    py = py.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    return eval(py, {"__builtins__": {}}, {})  # the test's own templates only


def gh_interpolate(value: Any, ctx: Mapping[str, Any], workspace: Path) -> str:
    """A string with every ``${{ … }}`` replaced as GitHub would (booleans as true/false)."""

    def one(m: re.Match[str]) -> str:
        result = gh_eval(m[1], ctx, workspace)
        if isinstance(result, bool):
            return "true" if result else "false"
        return "" if result is None else str(result)

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


def gh_job_enabled(workflow: Mapping[str, Any], job_id: str, ctx: Mapping[str, Any]) -> bool:
    """Whether the job's ``if:`` lets it run for this event."""
    cond = workflow["jobs"][job_id].get("if")
    return True if cond is None else bool(gh_eval(str(cond), ctx, Path(".")))


def run_github_job(
    workflow: Mapping[str, Any],
    job_id: str,
    *,
    workspace: Path,
    artifacts: Path,
    ctx: Mapping[str, Any],
    base_env: Mapping[str, str],
    before_step: Callable[[str], None] = lambda name: None,
) -> JobRun:
    """Run one job's steps in `workspace` (a fresh checkout) and collect its outputs."""
    job = workflow["jobs"][job_id]
    ctx = dict(ctx)
    env = dict(base_env)
    for scope in (workflow.get("env") or {}, job.get("env") or {}):
        env.update({k: gh_interpolate(v, ctx, workspace) for k, v in scope.items()})
    run = JobRun(ok=True)
    for index, step in enumerate(job["steps"]):
        uses = step.get("uses", "")
        label = step.get("name") or step.get("id") or uses or f"step {index}"
        if step.get("id") == "install" or uses.startswith(SKIPPED_ACTIONS):
            continue
        if not gh_eval(str(step.get("if", "success()")), ctx, workspace, success=run.ok):
            continue
        with_ = {k: gh_interpolate(v, ctx, workspace) for k, v in (step.get("with") or {}).items()}
        if uses.startswith("actions/upload-artifact@"):
            dest = artifacts / with_["name"]
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(workspace / with_["path"], dest)
            continue
        if uses.startswith("actions/download-artifact@"):
            _copy_into(artifacts / with_["name"], workspace)
            continue
        assert "run" in step, f"step {label!r} uses {uses!r}, which this runner does not know"
        before_step(label)
        output_file = workspace.parent / f"github_output_{job_id}_{index}"
        output_file.write_text("")
        step_env = {
            **env,
            **{k: gh_interpolate(v, ctx, workspace) for k, v in (step.get("env") or {}).items()},
            "GITHUB_OUTPUT": str(output_file),
        }
        result = _bash(step["run"], cwd=workspace, env=step_env, flags=("-eo", "pipefail"))
        result.name = label
        run.steps.append(result)
        outputs = dict(
            line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
        )
        for key, value in outputs.items():
            ctx[f"steps.{step.get('id')}.outputs.{key}"] = value
        if result.returncode != 0:
            run.ok = False
    for key, value in (job.get("outputs") or {}).items():
        run.outputs[key] = gh_interpolate(value, ctx, workspace)
    return run


# -- Azure Pipelines --------------------------------------------------------------------


def ado_macros(value: Any, variables: Mapping[str, str]) -> str:
    """A string with every ``$(name)`` macro expanded from `variables`."""

    def one(m: re.Match[str]) -> str:
        if m[1] not in variables:
            raise KeyError(f"the pipeline uses $({m[1]}), which the test does not provide")
        return ado_macros(variables[m[1]], variables)

    return re.sub(r"\$\(([\w.]+)\)", one, str(value))


class _Outputs(dict[str, str]):
    """A stage's outputs as conditions see them: a skipped stage's outputs are empty."""

    def __missing__(self, key: str) -> str:
        return ""


def ado_condition(
    expr: str, variables: Mapping[str, str], dependencies: Mapping[str, Any], *, success: bool
) -> bool:
    """Evaluate an Azure Pipelines condition (the functions the template uses)."""

    def eq(a: Any, b: Any) -> bool:
        return str(a).lower() == str(b).lower()

    namespace = {
        "_and": lambda *a: all(a),
        "_or": lambda *a: any(a),
        "_in": lambda x, *a: any(eq(x, y) for y in a),
        "eq": eq,
        "ne": lambda a, b: not eq(a, b),
        "succeeded": lambda: success,
        "succeededOrFailed": lambda: True,
        "always": lambda: True,
        "variables": variables,
        "dependencies": {k: _Outputs(v) for k, v in dependencies.items()},
    }
    py = re.sub(r"\b(and|or|in)\(", r"_\1(", expr)
    py = re.sub(r"dependencies\.(\w+)\.outputs", r"dependencies['\1']", py)
    return bool(eval(py, {"__builtins__": {}}, namespace))  # the test's own templates only


def _ado_steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "steps" in job:
        return job["steps"]
    return job["strategy"]["runOnce"]["deploy"]["steps"]


def run_ado_stage(
    pipeline: Mapping[str, Any],
    stage_name: str,
    *,
    workspace: Path,
    pipeline_workspace: Path,
    artifacts: Path,
    variables: Mapping[str, str],
    dependencies: Mapping[str, Any],
    base_env: Mapping[str, str],
    succeeded: bool = True,
) -> JobRun | None:
    """Run a stage's jobs if its condition holds; None when the condition skips it.

    `dependencies` maps every earlier stage to its outputs (empty when skipped) and
    `succeeded` says whether the stages this one depends on ran and succeeded.
    """
    stage = next(s for s in pipeline["stages"] if s["stage"] == stage_name)
    condition = stage.get("condition", "succeeded()")
    if not ado_condition(condition, variables, dependencies, success=succeeded):
        return None
    run = JobRun(ok=True)
    for job in stage["jobs"]:
        job_name = job.get("job") or job.get("deployment")
        for index, step in enumerate(_ado_steps(job)):
            label = step.get("displayName") or step.get("name") or f"step {index}"
            task = step.get("task", "")
            if (
                step.get("name") == "install"
                or "checkout" in step
                or task.startswith(SKIPPED_TASKS)
            ):
                continue
            if not ado_condition(
                step.get("condition", "succeeded()"), variables, {}, success=run.ok
            ):
                continue
            if "publish" in step:
                dest = artifacts / step["artifact"]
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(workspace / step["publish"], dest)
                continue
            if "download" in step:
                _copy_into(artifacts / step["artifact"], pipeline_workspace / step["artifact"])
                continue
            if task.startswith("AzureCLI@"):
                assert step["inputs"]["scriptType"] == "bash"
                script = step["inputs"]["inlineScript"]
            else:
                assert "script" in step, f"step {label!r} ({task!r}) is unknown to this runner"
                script = step["script"]
            env = {
                **base_env,
                # Azure Pipelines exposes every non-secret variable as an env var.
                **{
                    k.upper().replace(".", "_"): ado_macros(v, variables)
                    for k, v in variables.items()
                    if k != "System.AccessToken"
                },
                **{k: ado_macros(v, variables) for k, v in (step.get("env") or {}).items()},
            }
            result = _bash(script, cwd=workspace, env=env, flags=())
            result.name = label
            run.steps.append(result)
            for var, value in re.findall(
                r"##vso\[task\.setvariable variable=(\w+);isOutput=true\](.*)", result.output
            ):
                run.outputs[f"{job_name}.{step.get('name')}.{var}"] = value.strip()
            if result.returncode != 0:
                run.ok = False
    return run
