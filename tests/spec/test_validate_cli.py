"""`reconcile validate` and `reconcile schema` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli

from .world import pool, world, write

ROOT = Path(__file__).resolve().parents[2]


def test_valid_spec_exits_zero_and_shows_the_sizing(tmp_path: Path) -> None:
    """A valid spec exits 0 and prints replicas and resize timeouts with their arithmetic."""
    path = write(tmp_path, world(lambda d: pool(d)["scale"]["fixed"].update(dedicated=3000)))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "version:g/lin/1.0.0  westeurope  5" in result.output
    assert "max(1, ceil(3000 / 600)) = 5" in result.output
    assert "pool:acct/p1  3000   PT45M" in result.output
    assert result.output.rstrip().endswith("valid: 0 error(s), 0 warning(s) in 1 file(s)")
    assert "\x1b[" not in result.output


def test_errors_exit_one_with_every_diagnostic(tmp_path: Path) -> None:
    """A spec with errors exits 1 and prints file:line:col: CODE lines, never a traceback."""
    path = write(tmp_path, "apiVersion: reconcile/v1\ngalleries:\n  - name: g\n    colour: red\n")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:4:5: RC003 unknown key 'colour'" in result.output
    assert "Traceback" not in result.output
    assert "invalid: 1 error(s)" in result.output


def test_json_format_is_one_document(tmp_path: Path) -> None:
    """--format json prints the diagnostics and the sizing as one JSON document."""
    path = write(tmp_path, world(lambda d: pool(d)["scale"]["fixed"].update(dedicated=601)))
    result = CliRunner().invoke(cli, ["validate", "--format", "json", str(path)])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["valid"] is True and data["diagnostics"] == []
    (replicas,) = data["summary"]["replicas"]
    assert (replicas["region"], replicas["final"], replicas["pools"][0]["nodes"]) == (
        "westeurope",
        2,
        601,
    )
    assert data["summary"]["resizeTimeouts"][0]["final"] == "PT15M"


def test_json_errors(tmp_path: Path) -> None:
    """--format json reports errors with their positions and exits 1."""
    result = CliRunner().invoke(cli, ["validate", "--format", "json", str(tmp_path / "none")])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["valid"] is False and data["diagnostics"][0]["code"] == "RC010"


def test_default_path_is_specs_directory() -> None:
    """Without arguments, validate reads specs/ of the current directory."""
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        result = CliRunner().invoke(cli, ["validate"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "in 4 file(s)" in result.output


def test_validate_imports_no_azure_module_and_starts_fast() -> None:
    """Validating the examples in a fresh interpreter never imports azure.* and is quick."""
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "from reconciler.cli import main\n"
        "sys.argv = ['reconcile', 'validate', 'specs/']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "loaded = sorted(m for m in sys.modules if m == 'azure' or m.startswith('azure.'))\n"
        "assert not loaded, loaded\n"
        "assert 'rich' not in sys.modules\n"
        "print('elapsed', time.perf_counter() - t, file=sys.stderr)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert elapsed < 5.0


def test_colour_only_on_a_terminal_without_no_color(monkeypatch) -> None:
    """ANSI colour is used on a TTY and switched off by NO_COLOR."""
    from reconciler.commands._options import use_color

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())


def test_schema_command_writes_and_checks(tmp_path: Path) -> None:
    """`reconcile schema -o F` writes the schema; `--check` fails when F is stale."""
    target = tmp_path / "s.json"
    runner = CliRunner()
    assert runner.invoke(cli, ["schema", "--check", "-o", str(target)]).exit_code == 1
    assert runner.invoke(cli, ["schema", "-o", str(target)]).exit_code == 0
    assert runner.invoke(cli, ["schema", "--check", "-o", str(target)]).exit_code == 0
    assert json.loads(target.read_text())["title"] == "reconcile spec"


def test_unset_secret_reference_is_a_warning_and_validate_stays_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate names a ${env:NAME} whose variable is unset (RC303 warning) and still exits 0."""
    monkeypatch.delenv("RENDER_LICENSE_KEY", raising=False)
    result = CliRunner().invoke(cli, ["validate", str(ROOT / "specs" / "production")])
    assert result.exit_code == 0, result.output
    assert "RC303 warning: environment variable RENDER_LICENSE_KEY is not set here" in (
        result.output
    )
    assert "needed by pool:batchprodweu/render" in result.output
    monkeypatch.setenv("RENDER_LICENSE_KEY", "x")
    assert "RC303" not in CliRunner().invoke(cli, ["validate", str(ROOT / "specs")]).output
