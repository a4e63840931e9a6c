"""`reconcile migrate PATH... --gallery NAME`: move managed-image pools to a gallery image (R7).

Loads the spec, reads what Azure says of the managed images and pools (unless
``--offline``), decides the migration (`reconciler.migrate.build`; ``--blue-green``: new
``<pool>-gallery`` pools beside those with nodes) and shows it as a
unified diff of the spec files. ``--write`` rewrites them in place (comments and layout
kept); ``--out DIR`` writes the migrated spec there instead. Nothing is written while a
check fails (RC701-RC706), nor when the migrated spec would not validate. Azure itself is
never changed here: `reconcile plan` and `reconcile apply --allow-disruptive` do that.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import click

from reconciler.commands._options import (
    TargetOptions,
    fail,
    load_spec_or_exit,
    target_options,
)
from reconciler.errors import ReconcileError
from reconciler.migrate.model import DEFAULT_DRAIN, DEFAULT_IDENTIFIER, DRAIN_CHOICES


@click.command("migrate")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--gallery",
    required=True,
    metavar="NAME",
    help="Gallery to publish into (declared in the spec, or new).",
)
@click.option(
    "--resource-group",
    default=None,
    metavar="RG",
    help="A new gallery's resource group (default: the managed image's).",
)
@click.option(
    "--location",
    default=None,
    metavar="REGION",
    help="A new gallery's region (default: the managed image's).",
)
@click.option(
    "--identifier",
    default=DEFAULT_IDENTIFIER,
    show_default=True,
    metavar="TEMPLATE",
    help="publisher/offer/sku of each new definition; placeholders {image}, {gallery}, "
    "{os}, {generation}, {pool}, {account} and the first pool's metadata keys ({team}).",
)
@click.option(
    "--version",
    "version",
    default="1.0.0",
    show_default=True,
    metavar="X.Y.Z",
    help="Name of the version each image is published as.",
)
@click.option(
    "--drain",
    type=click.Choice([*DRAIN_CHOICES, "none"], case_sensitive=False),
    default=DEFAULT_DRAIN,
    show_default=True,
    help="nodeDeallocationOption written on fixed pools that declare none and will be "
    "scaled to zero for the move ('none': leave them as they are).",
)
@click.option(
    "--blue-green",
    is_flag=True,
    help="Leave each pool with nodes on its managed image and add a copy of it, "
    "'<pool>-gallery', on the version; remove the old pool from the spec when done.",
)
@click.option("--write", is_flag=True, help="Rewrite the spec files in place.")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write the migrated spec into DIR instead.",
)
@click.option(
    "--offline", is_flag=True, help="Use only the spec: no read of the images and pools in Azure."
)
@target_options
def migrate(
    paths: tuple[str, ...],
    gallery: str,
    resource_group: str | None,
    location: str | None,
    identifier: str,
    version: str,
    drain: str,
    blue_green: bool,
    write: bool,
    out_dir: str | None,
    offline: bool,
    target: TargetOptions,
) -> None:
    """Publish the managed images pools boot from in a gallery and point the pools at it."""
    from reconciler.migrate import MigrateOptions, plan_migration
    from reconciler.migrate.build import TemplateError, summary
    from reconciler.migrate.rewrite import rewrite, unified_diff
    from reconciler.spec.models import P_GALLERY, P_VERSION

    if write and out_dir:
        fail("--write and --out exclude each other", hint="rewrite in place or write beside")
    if not re.fullmatch(P_GALLERY, gallery):
        fail(f"--gallery {gallery!r} is not a valid gallery name")
    if not re.fullmatch(P_VERSION, version):
        fail(f"--version {version!r} is not X.Y.Z", hint="e.g. --version 1.0.0")
    spec, _ = load_spec_or_exit(paths, nothing="nothing was migrated")
    options = MigrateOptions(
        gallery=gallery,
        resource_group=resource_group,
        location=location,
        identifier=identifier,
        version=version,
        drain=None if drain.lower() == "none" else _drain(drain),
        blue_green=blue_green,
    )
    facts, pools_now = ({}, {}) if offline else _read_live(spec, target)
    try:
        migration = plan_migration(spec, options, facts=facts, pools_now=pools_now)
    except TemplateError as exc:
        fail(str(exc), hint="e.g. --identifier 'publisher={team},offer={image},sku={image}'")
    for d in migration.diagnostics:
        click.echo(d.format(), err=True)
    if migration.has_errors:
        errors = sum(1 for d in migration.diagnostics if d.is_error)
        fail(f"{errors} problem(s) stop the migration; nothing was written")
    if not migration.moves:
        click.echo("Nothing to migrate: no pool of the spec boots a managed image.", err=True)
        return
    texts = {f: Path(f).read_text(encoding="utf-8") for f in spec.files}
    changed = rewrite(migration, texts)
    _check_valid({**texts, **changed})
    for line in summary(migration):
        click.echo(line, err=True)
    if write:
        for path, text in changed.items():
            Path(path).write_text(text, encoding="utf-8")
        click.echo(f"Rewrote {', '.join(sorted(changed))}.", err=True)
    elif out_dir:
        root = _common_root(list(texts))
        for path, text in {**texts, **changed}.items():
            dest = Path(out_dir) / os.path.relpath(path, root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        click.echo(f"Wrote the migrated spec to {out_dir}.", err=True)
    else:
        click.echo(unified_diff(texts, changed), nl=False)
        click.echo(
            "Nothing written: --write rewrites the files, --out DIR writes beside.", err=True
        )
        return
    click.echo(
        "Next: `reconcile plan` shows the ordered move; `reconcile apply --allow-disruptive` "
        "carries it out. The managed images stay while pools boot them (R6).",
        err=True,
    )
    green = [p for m in migration.moves for p in m.pools if p.blue_green]
    if green:
        click.echo(
            f"Blue/green: the plan creates {', '.join(p.blue_green or '' for p in green)} and "
            "keeps the old pools on their managed images; each old pool is deleted only when "
            "you remove it from the spec (then `reconcile plan --prune`).",
            err=True,
        )


def _drain(value: str) -> str:
    return next(c for c in DRAIN_CHOICES if c.lower() == value.lower())


def _read_live(spec: Any, options: TargetOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """Managed image facts and pools' current nodes, by canonical id; failures exit 1."""
    from reconciler.azure.source_images import read_image_facts
    from reconciler.commands._options import read_live
    from reconciler.migrate.model import PoolFacts
    from reconciler.state.model import Kind
    from reconciler.wiring import azure_clients

    target = options.target()
    used = [m.id for m in spec.managed_images.values() if m.used_by]
    try:
        with azure_clients(target) as clients:
            live = read_live(target, spec, clients=clients)
            facts = read_image_facts(clients, used)
    except ReconcileError as exc:
        fail(exc.message, exc.hint)
    pools = {
        p.id: PoolFacts(
            allocation_state=p.allocation_state or "",
            dedicated=p.current_dedicated or 0,
            low_priority=p.current_low_priority or 0,
        )
        for p in live.of_kind(Kind.POOL)
    }
    return facts, pools


def _check_valid(texts: dict[str, str]) -> None:
    """Load the migrated files as a spec; any error means a bug here: exit 1, write nothing."""
    from reconciler.spec import load_spec

    with tempfile.TemporaryDirectory(prefix="reconcile-migrate-") as tmp:
        names: dict[str, str] = {}
        for i, (path, text) in enumerate(texts.items()):
            copy = Path(tmp) / f"{i:03d}-{Path(path).name}"
            copy.write_text(text, encoding="utf-8")
            names[str(copy)] = path
        result = load_spec([tmp])
    if result.spec is not None:
        return
    for d in result.errors:
        line = d.format()
        for copy_path, original in names.items():
            line = line.replace(copy_path, original)
        click.echo(line, err=True)
    fail(
        "the migrated spec would not validate; nothing was written",
        hint="fix the problems above in the spec (or report them) and migrate again",
    )


def _common_root(paths: list[str]) -> str:
    parents = [os.path.dirname(os.path.abspath(p)) for p in paths]
    return os.path.commonpath(parents) if parents else "."
