"""`reconcile sandbox`: create, inspect, reset and serve the local Azure emulator.

Only `init` creates a world; `show`, `reset` and `serve` refuse a path that does not
exist (`require_sandbox`), so a typo never conjures up an empty one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from reconciler.commands._options import not_a_world, require_sandbox, sandbox_option
from reconciler.sandbox.app import DEFAULT_STATE_PATH, ENV_STATE_PATH

sandbox_path_option = sandbox_option(
    help=f"Sandbox state file (env {ENV_STATE_PATH}; default {DEFAULT_STATE_PATH})."
)


def _seed_option(help: str) -> Callable[..., Any]:
    """`--seed FILE` (parameter ``seed_file``), shared by `init` and `reset`."""
    return click.option(
        "--seed",
        "seed_file",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help=help,
    )


def _state_path(explicit: str | None) -> Path:
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get(ENV_STATE_PATH) or DEFAULT_STATE_PATH)


def _existing_world(explicit: str | None) -> Path:
    """The state file of a world that must already exist (exit 1 with a hint otherwise)."""
    path = _state_path(explicit)
    require_sandbox(path)
    return path


@click.group(name="sandbox")
def sandbox() -> None:
    """Run and manage the local Azure emulator (state in one SQLite file)."""


@sandbox.command()
@sandbox_path_option
@_seed_option(help="Seed YAML (default: the seed matching the example specs).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Sandbox config YAML/JSON stored in the world.",
)
@click.option(
    "--speed",
    type=float,
    default=None,
    help="Simulated seconds per real second (overrides the config).",
)
def init(
    sandbox: str | None, seed_file: str | None, config_file: str | None, speed: float | None
) -> None:
    """Create (or recreate) a world from a seed."""
    from dataclasses import replace

    from reconciler.sandbox.app import Sandbox
    from reconciler.sandbox.config import SandboxConfig, load_config
    from reconciler.sandbox.seed import load_seed

    path = _state_path(sandbox)
    if path.is_file() and (problem := not_a_world(path)):
        # Recreating a world only ever replaces a world (or an empty file, as from
        # mktemp), never a file that is something else.
        raise click.ClickException(
            f"{path} exists and is not a sandbox state file ({problem}); nothing was written. "
            "Choose another --sandbox path or remove the file."
        )
    try:
        config = load_config(config_file) if config_file else SandboxConfig()
        if speed is not None:
            config = replace(config, speed=speed)
        data = load_seed(seed_file)
    except (OSError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    world = Sandbox(path, config=config)
    world.reset()
    world.seed(data)
    count = len(world.resources())
    world.close()
    click.echo(f"sandbox world created in {path}: {count} resources, speed ×{config.speed:g}")


@sandbox.command()
@sandbox_path_option
@click.option("--json", "as_json", is_flag=True, help="Print the resources as JSON.")
def show(sandbox: str | None, as_json: bool) -> None:
    """Print what is in the world now."""
    import json

    from reconciler.sandbox.app import Sandbox

    path = _existing_world(sandbox)
    world = Sandbox(path)
    items = world.resources()
    world.close()
    if as_json:
        click.echo(json.dumps(items, indent=2, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    tables: dict[str, Table] = {}
    for item in items:
        props = item.get("properties") or {}
        state = str(props.get("provisioningState", ""))
        if "allocationState" in props:
            state += (
                f" {props['allocationState']} {props.get('currentDedicatedNodes', 0)}"
                f"+{props.get('currentLowPriorityNodes', 0)} nodes"
            )
        sub, group, resource = _split_id(str(item.get("id", "")))
        if sub not in tables:
            tables[sub] = Table(title=f"subscription {sub}")
            for column in ("resource group", "resource", "state"):
                tables[sub].add_column(column, overflow="fold")
        if resource:
            tables[sub].add_row(group, resource, state)
        elif group:
            tables[sub].add_row(group, "", state)
    console = Console()
    console.print(f"sandbox {path}")
    for table in tables.values():
        console.print(table)


@sandbox.command()
@sandbox_path_option
@_seed_option(help="Seed YAML to load after emptying (default: the default seed).")
def reset(sandbox: str | None, seed_file: str | None) -> None:
    """Empty the world and load the seed again (config kept)."""
    from reconciler.sandbox.app import Sandbox
    from reconciler.sandbox.seed import load_seed

    path = _existing_world(sandbox)
    world = Sandbox(path)
    world.reset()
    world.seed(load_seed(seed_file))
    world.close()
    click.echo(f"sandbox world in {path} reset")


@sandbox.command()
@sandbox_path_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8443,
    show_default=True,
    help="Loopback port to listen on (0: any free port).",
)
@click.option(
    "--cert-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the local CA and server certificate live (default: the server's choice).",
)
def serve(sandbox: str | None, port: int, cert_dir: Path | None) -> None:
    """Serve the world over loopback HTTPS (127.0.0.1 only)."""
    from reconciler.sandbox.server import run_server

    path = _existing_world(sandbox)
    run_server(
        state_path=path,
        host="127.0.0.1",
        port=port,
        cert_dir=cert_dir,
    )


def _split_id(rid: str) -> tuple[str, str, str]:
    """(subscription, resource group, provider path) of an ARM id, for display."""
    parts = rid.strip("/").split("/")
    sub = parts[1] if len(parts) > 1 else ""
    group = parts[3] if len(parts) > 3 and parts[2].lower() == "resourcegroups" else ""
    if "providers" in parts:
        # drop the namespace (Microsoft.Compute/...): the resource type says enough
        return sub, group, "/".join(parts[parts.index("providers") + 2 :])
    return sub, group, ""
