"""No ghost worlds: a sandbox path that does not exist is refused, and nothing is created.

Only `reconcile sandbox init` creates a world. Every other command given a missing
`--sandbox` (or ``RECONCILE_SANDBOX``) exits 1 with one sentence and a hint naming the
`init` command — no file, no parent directory, no lock or journal appears.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import ENV_CONFIG, SandboxConfig
from reconciler.sandbox.seed import load_seed

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = str(ROOT / "specs" / "minimal")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_CONFIG, "RECONCILE_SANDBOX", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


COMMANDS = {
    "plan": ["plan", MINIMAL],
    "apply": ["apply", MINIMAL, "--auto-approve"],
    "drift": ["drift", MINIMAL],
    "sandbox show": ["sandbox", "show"],
    "sandbox reset": ["sandbox", "reset"],
    "sandbox serve": ["sandbox", "serve", "--port", "0"],
}


@pytest.mark.parametrize("how", ["option", "environment"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_missing_sandbox_is_refused_and_nothing_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, how: str
) -> None:
    """A mistyped --sandbox / RECONCILE_SANDBOX: exit 1, one sentence, the init hint, no files."""
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "typo" / "nope.sqlite"
    args = list(COMMANDS[name])
    if how == "option":
        args += ["--sandbox", str(missing)]
    else:
        monkeypatch.setenv("RECONCILE_SANDBOX", str(missing))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"error: no sandbox world at {missing}\n"
        f"  hint: run `reconcile sandbox init --sandbox {missing}` to create one, "
        "or check the path\n"
    )
    assert list(tmp_path.iterdir()) == []  # no file, no parent directory, no .reconcile/


def test_sandbox_init_is_the_one_command_that_creates_a_world(tmp_path: Path) -> None:
    """`sandbox init` creates the file (and its directory); then plan reads it."""
    path = tmp_path / "new" / "w.sqlite"
    runner = CliRunner()
    assert runner.invoke(cli, ["sandbox", "init", "--sandbox", str(path)]).exit_code == 0
    assert path.is_file()
    planned = runner.invoke(cli, ["plan", MINIMAL, "--sandbox", str(path)])
    assert planned.exit_code == 0, planned.output


def test_a_directory_is_not_a_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A directory named by RECONCILE_SANDBOX is refused with its own sentence."""
    monkeypatch.setenv("RECONCILE_SANDBOX", str(tmp_path))
    result = CliRunner().invoke(cli, ["plan", MINIMAL])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {tmp_path} is not a sandbox state file\n")


def test_ctrl_c_after_all_work_finished_is_a_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real SIGINT delivered while the summary is written (every change done): exit 0."""
    from reconciler.apply import progress

    path = tmp_path / "w.sqlite"
    config = SandboxConfig(speed=20000.0)
    world = Sandbox(path, config=config)
    world.save_config(config)
    world.reset()
    world.seed(load_seed(None))
    world.close()
    original = progress.PlainProgress.close

    def close_after_ctrl_c(self: progress.PlainProgress, result: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # handled in this (main) thread before returning
        original(self, result)  # type: ignore[arg-type]

    monkeypatch.setattr(progress.PlainProgress, "close", close_after_ctrl_c)
    result = CliRunner().invoke(cli, ["apply", MINIMAL, "--sandbox", str(path), "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert "Stopping (SIGINT): no new change will start; nothing is running.\n" in result.output
    assert "Apply complete: 4 change(s) done" in result.output
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


def _not_a_world(kind: str, path: Path) -> str:
    """Write a file at `path` that is not a sandbox world; return why it is refused."""
    import sqlite3
    from contextlib import closing

    if kind == "yaml":
        path.write_text("apiVersion: reconcile/v1\n", encoding="utf-8")
        return "it is not an SQLite database"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE notes(text TEXT)")
        conn.commit()
    return "an SQLite database without a sandbox world in it"


@pytest.mark.parametrize("kind", ["yaml", "other-database"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_file_that_is_not_a_world_is_refused_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, kind: str
) -> None:
    """A --sandbox naming some other file: exit 1, one sentence saying why, the file unchanged."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "w.sqlite"
    why = _not_a_world(kind, path)
    before = path.read_bytes()
    result = CliRunner().invoke(cli, [*COMMANDS[name], "--sandbox", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"error: {path} is not a sandbox state file ({why})\n")
    assert isinstance(result.exception, SystemExit)  # an exit, not SQLite's DatabaseError
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.sqlite"]


@pytest.mark.parametrize("kind", ["yaml", "other-database"])
def test_sandbox_init_never_overwrites_a_file_that_is_not_a_world(
    tmp_path: Path, kind: str
) -> None:
    """`sandbox init` over a spec or a foreign database refuses and leaves it as it was."""
    path = tmp_path / "w.sqlite"
    why = _not_a_world(kind, path)
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["sandbox", "init", "--sandbox", str(path)])
    assert result.exit_code == 1, result.output
    assert f"{path} exists and is not a sandbox state file ({why}); nothing was written" in (
        result.output
    )
    assert path.read_bytes() == before


def test_sandbox_init_fills_an_empty_file(tmp_path: Path) -> None:
    """An empty file (as `mktemp` makes) is a fine place for a new world."""
    path = tmp_path / "w.sqlite"
    path.write_bytes(b"")
    assert CliRunner().invoke(cli, ["sandbox", "init", "--sandbox", str(path)]).exit_code == 0
    assert CliRunner().invoke(cli, ["plan", MINIMAL, "--sandbox", str(path)]).exit_code == 0
