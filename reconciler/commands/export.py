"""`reconcile export --out DIR`: write the spec of what exists in a scope.

Wiring only: the scope comes from the options (`--subscription`, `--resource-group`,
`--account`, `--gallery`), `reconciler.azure.exporting` reads it with plan's list calls,
`reconciler.export` writes the spec files, and this module checks the scope was real,
writes the folder (all files or none) and prints the summary: counts, diagnostics, what
could not be expressed and the environment variables the spec refers to.

Batch accounts are named (`--account`): plan never lists the accounts of a group (the
tool never creates accounts), and export reads with the same calls.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from reconciler.commands._options import TargetOptions, fail, target_options
from reconciler.errors import ReconcileError

OURS = ("images.yaml", "pools.yaml", "spec.schema.json")


@click.command("export")
@click.option("--subscription", required=True, metavar="ID", help="Subscription to read.")
@click.option(
    "--resource-group",
    "groups",
    multiple=True,
    required=True,
    metavar="NAME",
    help="Resource group whose galleries and managed images are exported (repeatable).",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="[GROUP/]NAME",
    help="Batch account whose pools are exported (repeatable); found in the given "
    "resource groups unless GROUP/ says which.",
)
@click.option(
    "--gallery",
    "galleries",
    multiple=True,
    metavar="NAME",
    help="Export only these galleries (repeatable; default: every gallery in the groups).",
)
@click.option(
    "--all-managed-images",
    is_flag=True,
    help="Also export unowned managed images no exported pool boots (build outputs are "
    "left out by default, so the spec never owns or prunes them).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Folder to write images.yaml, pools.yaml and spec.schema.json into.",
)
@click.option("--force", is_flag=True, help="Write into DIR even when it is not empty.")
@target_options
def export(
    subscription: str,
    groups: tuple[str, ...],
    accounts: tuple[str, ...],
    galleries: tuple[str, ...],
    all_managed_images: bool,
    out: str,
    force: bool,
    target: TargetOptions,
) -> None:
    """Write the spec of the galleries, images and Batch pools that exist in a scope."""
    out_dir = Path(out)
    _check_out(out_dir, force)
    account_ids = _account_candidates(subscription, groups, accounts)
    resolved = target.target()

    from reconciler.azure.exporting import read_for_export, scope_problem
    from reconciler.export import ExportOptions, build_export
    from reconciler.state.scope import ReadScope
    from reconciler.wiring import azure_clients

    gallery_ids = [
        f"/subscriptions/{subscription}/resourceGroups/{g}/providers/Microsoft.Compute/galleries/{name}"
        for g in groups
        for name in galleries
    ]
    scope = ReadScope(
        gallery_groups=tuple((subscription, g) for g in groups),
        galleries=tuple(gallery_ids),
        image_groups=tuple((subscription, g) for g in groups),
        batch_accounts=tuple(i for ids in account_ids.values() for i in ids),
        every_gallery=not galleries,
    )
    try:
        with azure_clients(resolved) as clients:
            read = read_for_export(clients, scope)
            _check_scope(clients, scope_problem, subscription, groups, read.live)
    except ReconcileError as exc:
        fail(exc.message, exc.hint)
    _check_named(read.live, account_ids, galleries, groups)

    where = resolved.describe()
    if resolved.sandbox is not None:
        where = f"sandbox {Path(str(resolved.sandbox)).name}"
    options = ExportOptions(
        where=where,
        when=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        scope=_scope_text(subscription, groups, accounts, galleries),
        folder=out_dir.resolve().name,
        galleries=galleries,
        all_managed_images=all_managed_images,
    )
    result = build_export(
        read.live, options, unexpressed=read.unexpressed, read_back=read.read_back
    )
    errors = _write(out_dir, result)
    _summary(out_dir, result, errors)


def _check_out(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        fail(
            f"{out_dir} exists and is not a folder; nothing was written",
            hint="choose another --out",
        )
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        fail(
            f"{out_dir} exists and is not empty; nothing was written",
            hint="choose a new folder with --out, or add --force to write into this one",
        )


def _account_candidates(
    subscription: str, groups: tuple[str, ...], accounts: tuple[str, ...]
) -> dict[str, list[str]]:
    """Each --account as the ids it may have (one per group unless GROUP/ is given)."""
    out: dict[str, list[str]] = {}
    for given in accounts:
        group, _, name = given.rpartition("/")
        where = (group,) if group else groups
        out[given] = [
            f"/subscriptions/{subscription}/resourceGroups/{g}/providers/Microsoft.Batch/batchAccounts/{name}"
            for g in where
        ]
    return out


def _check_scope(
    clients: Any, probe: Any, subscription: str, groups: tuple[str, ...], live: Any
) -> None:
    """A group where nothing was found is probed once: missing or forbidden is an error."""
    from reconciler.state.scope import parse_id

    seen = {parse_id(r.id).resource_group for r in live.resources.values()}
    for group in groups:
        if group.lower() in seen:
            continue
        problem = probe(clients, subscription, group)
        if problem is None:
            continue
        status, code = problem
        if code == "SubscriptionNotFound":
            fail(
                f"subscription {subscription} was not found; nothing was written",
                hint="check --subscription (and that your identity can see it)",
            )
        if code == "ResourceGroupNotFound" or status == 404:
            fail(
                f"resource group {group} was not found in subscription {subscription}; "
                "nothing was written",
                hint="check --resource-group",
            )
        if status in (401, 403):
            fail(
                f"no permission to read resource group {group} ({code or status}); "
                "nothing was written",
                hint="grant the identity the Reader role on the group",
            )
        fail(f"reading resource group {group} failed ({code or status}); nothing was written")


def _check_named(
    live: Any,
    account_ids: dict[str, list[str]],
    galleries: tuple[str, ...],
    groups: tuple[str, ...],
) -> None:
    found = {r.id for r in live.resources.values()}
    for given, ids in account_ids.items():
        if not any(i.lower() in found for i in ids):
            where = ", ".join(sorted({i.split("/")[4] for i in ids}))
            fail(
                f"Batch account {given} was not found in resource group(s) {where}; "
                "nothing was written",
                hint="check --account, or name its group as GROUP/NAME",
            )
    names = {r.name.lower() for r in live.resources.values() if r.address.startswith("gallery:")}
    for name in galleries:
        if name.lower() not in names:
            fail(
                f"gallery {name} was not found in resource group(s) {', '.join(groups)}; "
                "nothing was written",
                hint="check --gallery",
            )


def _scope_text(
    subscription: str,
    groups: tuple[str, ...],
    accounts: tuple[str, ...],
    galleries: tuple[str, ...],
) -> str:
    text = f"subscription {subscription}, resource group(s) {', '.join(groups)}"
    if galleries:
        text += f", gallery(ies) {', '.join(galleries)}"
    if accounts:
        text += f", Batch account(s) {', '.join(accounts)}"
    return text


def _write(out_dir: Path, result: Any) -> int:
    """Write every file into a fresh folder next to `out_dir`, validate, then move in.

    Returns the number of validation errors of the exported spec (expected: none).
    """
    from reconciler.spec import load_spec
    from reconciler.spec.schema import render_schema

    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=parent))
    except OSError as exc:
        fail(f"cannot write into {parent}: {exc.strerror or exc}; nothing was written")
    try:
        for exported in result.files:
            (staging / exported.name).write_text(exported.text, encoding="utf-8")
        (staging / "spec.schema.json").write_text(render_schema(), encoding="utf-8")
        loaded = load_spec([str(staging)])
        errors = len(loaded.errors)
        if out_dir.exists():
            for name in OURS:
                if (out_dir / name).exists() and not (staging / name).exists():
                    (out_dir / name).unlink()
            for item in staging.iterdir():
                os.replace(item, out_dir / item.name)
        else:
            os.replace(staging, out_dir)
    except OSError as exc:
        fail(f"cannot write {out_dir}: {exc.strerror or exc}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return errors


def _summary(out_dir: Path, result: Any, errors: int) -> None:
    for d in result.diagnostics:
        click.echo(
            d.format().replace(f"{d.file}:", f"{out_dir / d.file}:", 1) if d.file else d.format(),
            err=True,
        )
    counts = ", ".join(f"{n} {what}" for what, n in result.counts.items())
    names = ", ".join([*(f.name for f in result.files), "spec.schema.json"])
    click.echo(f"Exported {counts} to {out_dir}/ ({names}).")
    click.echo(
        f"Owner: {result.owner}"
        + ("; settings.adopt is on (some resources are not owned yet)." if result.adopt else ".")
    )
    if result.skipped_images:
        click.echo(
            f"Left out {len(result.skipped_images)} unowned managed image(s) no pool boots "
            "(build outputs; --all-managed-images exports them)."
        )
    if result.unexpressed:
        total = sum(len(m) for _, m in result.unexpressed)
        click.echo(
            f"Not expressible in the spec yet: {total} member(s) on {len(result.unexpressed)} "
            "resource(s), listed in comments (RC606); they stay untouched."
        )
    if result.secrets:
        click.echo("Set these environment variables where `reconcile apply` runs:")
        for s in result.secrets:
            click.echo(f"  {s.name}  ({s.pool}, {s.what})")
    if errors:
        click.echo(
            f"warning: the exported spec has {errors} validation error(s); run `reconcile validate {out_dir}`.",
            err=True,
        )
    click.echo(f"Next: reconcile validate {out_dir}  then  reconcile plan --adopt {out_dir}")
