"""`reconcile schema`: write (or check) the JSON Schema of the spec."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler.spec.schema import SCHEMA_PATH, render_schema


@click.command(name="schema")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=SCHEMA_PATH,
    show_default=True,
    help="Where to write the schema ('-' for stdout).",
)
@click.option("--check", is_flag=True, help="Exit 1 when the file differs instead of writing it.")
def schema(output: Path, check: bool) -> None:
    """Write the JSON Schema of the spec (from the pydantic models) to schemas/."""
    text = render_schema()
    if str(output) == "-":
        sys.stdout.write(text)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            click.echo(f"{output} is stale: run `make schema`", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")
