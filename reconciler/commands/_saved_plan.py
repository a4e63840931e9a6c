"""What `plan --out`, `apply PLANFILE` and `show` do with plan files, outside the pure core.

- `origin_for`: what `plan --out` records about where it ran (spec paths relative to the
  working directory, that directory, and the target's canonical identity);
- `read_plan_file`: a plan file read and validated (any problem is one sentence);
- `inputs_for`: the spec paths and target `apply PLANFILE` uses — the ones given, else
  the plan's own; a target given that is not the plan's (by identity: the real path of
  a sandbox file, however it is spelled) is refused, and so are recorded paths that
  are gone;
- `verify`: the staleness check and the fresh-plan comparison (`reconciler.plan.saved`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from reconciler.commands._options import DEFAULT_PATH, TargetOptions
from reconciler.errors import ReconcileError, StalePlanError
from reconciler.plan.model import Plan, PlanOrigin

ENV_SANDBOX = "RECONCILE_SANDBOX"  # reconciler.azure.target.ENV_SANDBOX, not imported here


def target_identity(target: Any) -> dict[str, str]:
    """One key naming where `target` (a `reconciler.azure.Target`) writes, canonically."""
    if target.sandbox is not None:
        return {"sandbox": os.path.realpath(target.sandbox)}
    if target.cloud.custom:
        return {"endpoint": target.cloud.arm_endpoint}
    return {"cloud": target.cloud.name}


def origin_for(paths: Sequence[str], target: Any, *, cwd: Path | None = None) -> PlanOrigin:
    """The origin `plan --out` records: spec paths relative to `cwd` (default: the current)."""
    base = (cwd or Path.cwd()).resolve()
    relative = tuple(
        os.path.relpath(os.path.abspath(os.path.join(base, p)), base)
        for p in (list(paths) or [DEFAULT_PATH])
    )
    return PlanOrigin(base=str(base), spec_paths=relative, **target_identity(target))


def read_plan_file(path: Path) -> Plan:
    """The plan in `path`, validated against the plan schema; else one clear error."""
    from reconciler.plan import load_plan

    return load_plan(path)


def _recorded_identity(plan: Plan) -> dict[str, str]:
    """The plan's target identity: from its origin, else (saved by library code) its header."""
    origin = plan.origin
    if origin is not None:
        for key in ("sandbox", "endpoint", "cloud"):
            value = getattr(origin, key)
            if value is not None:
                return {key: value}
    if plan.target.startswith("sandbox "):
        return {"sandbox": os.path.realpath(plan.target.removeprefix("sandbox "))}
    if plan.target.startswith("custom "):
        return {"endpoint": plan.target.removeprefix("custom ")}
    return {"cloud": plan.target}


def _options_from(identity: dict[str, str]) -> TargetOptions:
    return TargetOptions(
        sandbox=identity.get("sandbox"),
        cloud=identity.get("cloud"),
        endpoint=identity.get("endpoint"),
    )


def inputs_for(
    plan: Plan, plan_file: Path, paths: Sequence[Path], options: TargetOptions
) -> tuple[list[str], TargetOptions]:
    """The spec paths and target options to apply the saved `plan` with (see module doc)."""
    recorded = _recorded_identity(plan)
    named = options != TargetOptions() or bool(os.environ.get(ENV_SANDBOX))
    if named:
        given = target_identity(options.target())
        if given != recorded:
            raise ReconcileError(
                f"{plan_file} was planned for {plan.target}, not {options.target().describe()}",
                hint="apply it with the same --sandbox / --cloud / --endpoint it was planned "
                "with, or leave them out to use the plan's own",
            )
    else:
        if "sandbox" in recorded and not Path(recorded["sandbox"]).is_file():
            raise ReconcileError(
                f"{plan_file} was planned for sandbox {recorded['sandbox']}, which does not exist",
                hint="pass --sandbox PATH naming the world it was planned for, or plan again",
            )
        options = _options_from(recorded)
    if paths:
        return [str(p) for p in paths], options
    if plan.origin is None:
        return [], options
    return _spec_paths(plan.origin, plan_file), options


def _spec_paths(origin: PlanOrigin, plan_file: Path) -> list[str]:
    """The recorded spec paths: relative to the current directory, else to the plan's base."""
    out = []
    for relative in origin.spec_paths:
        here = Path(relative)
        there = Path(origin.base) / relative
        if here.exists():
            out.append(str(here))
        elif there.exists():
            out.append(str(there))
        else:
            raise ReconcileError(
                f"{plan_file} was made from {relative}, which is neither in "
                f"{Path.cwd()} nor in {origin.base}",
                hint=f"run apply where the plan was made, or name the spec: "
                f"`reconcile apply {plan_file} PATH...`",
            )
    click.echo(f"Using the spec the plan was made from: {' '.join(out)}", err=True)
    return out


def verify(
    saved: Plan,
    spec: Any,
    live: Any,
    *,
    diagnostics: Sequence[Any],
    interrupted: bool,
) -> Plan:
    """`saved`, once it is neither stale nor different from a fresh plan; else an error.

    `interrupted` (the previous apply did not finish) changes the stale hint: that apply
    may itself have moved what the plan observed.
    """
    from reconciler.plan import check_stale, make_plan, spec_hash
    from reconciler.plan.saved import check_matches, with_fresh_unchanged
    from reconciler.plan.targets import select

    try:
        check_stale(saved, spec_hash(spec), live)
    except StalePlanError as error:
        if interrupted:
            error.hint = (
                "an interrupted apply changed these resources; "
                "run `reconcile apply` with the spec to re-plan from live state"
            )
        raise
    fresh = make_plan(
        spec,
        live,
        target=saved.target,
        prune=saved.prune,
        adopt=saved.adopt,
        diagnostics=diagnostics,
    )
    try:
        fresh = select(fresh, saved.targets)
    except ReconcileError as error:
        raise ReconcileError(
            f"the saved plan's targets no longer match: {error.message}", hint=error.hint
        ) from None
    check_matches(saved, fresh)
    return with_fresh_unchanged(saved, fresh)


def plan_file_data(path: Path) -> dict[str, Any] | None:
    """The parsed JSON when `path` is a plan file, else None (specs are YAML).

    A plan file is JSON with ``"kind": "reconcile-plan"``. A ``*.json`` file that is not
    JSON at all, or JSON that is no spec either (no ``apiVersion``), is reported as a
    broken plan file.
    """
    from reconciler.plan.serialize import PLAN_FILE_KIND

    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if path.suffix.lower() != ".json":
            return None
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ReconcileError(
            f"{path} is not a plan file (invalid JSON: {detail})",
            hint="create one with `reconcile plan --out FILE`",
        ) from None
    if isinstance(data, dict) and data.get("kind") == PLAN_FILE_KIND:
        return data
    if path.suffix.lower() == ".json" and not (isinstance(data, dict) and "apiVersion" in data):
        # Neither a plan nor a spec written as JSON: say so, not "missing apiVersion".
        raise ReconcileError(
            f'{path} is not a plan file (no "kind": "{PLAN_FILE_KIND}")',
            hint="create one with `reconcile plan --out FILE`",
        )
    return None


PARTIAL_WARNING = (
    "Warning: this is a partial plan (--target {targets}): only those resources and what "
    "they depend on are reconciled; the rest of the spec is not. Run without --target to "
    "converge everything."
)


def partial_warning(plan: Plan) -> str:
    """Terraform's -target warning, in our words."""
    return PARTIAL_WARNING.format(targets=", ".join(plan.targets))
