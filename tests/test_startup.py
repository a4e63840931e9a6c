"""The console script's start-up steps skip only work whose outcome is known: pydantic's plugin look-up."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import startup
from reconciler.startup import (
    PYDANTIC_PLUGINS_ENV,
    collector_paused,
    prepare,
    pydantic_plugins_installed,
)

ROOT = Path(__file__).resolve().parents[1]

PLUGIN_MODULE = """\
import os


class Plugin:
    def new_schema_validator(self, schema, schema_type, *args, **kwargs):
        with open(os.environ["PLUGIN_SAW"], "a", encoding="utf-8") as fh:
            fh.write(f"{schema_type.__name__}\\n")
        return None, None, None


plugin = Plugin()
"""


def _distribution(folder: Path, name: str, entry_points: str | None) -> None:
    """A distribution's metadata folder, as pip installs it, with `entry_points` when given."""
    meta = folder / f"{name}-1.0.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (meta / "entry_points.txt").write_text(entry_points)


@pytest.mark.parametrize(
    ("entry_points", "expected"),
    [
        (None, False),
        ("[console_scripts]\ntool = tool:main\n", False),
        ("[pydantic]\nfake = fakeplugin:plugin\n", True),
        ("[console_scripts]\ntool = tool:main\n\n [ pydantic ] \nfake = fakeplugin:plugin\n", True),
        ("[pydantic.other]\nx = y\n", False),
    ],
    ids=["no-entry-points", "other-group", "pydantic", "pydantic-spaced", "similar-name"],
)
def test_finds_a_pydantic_entry_point_group(
    tmp_path: Path, entry_points: str | None, expected: bool
) -> None:
    """Only a distribution declaring the ``pydantic`` entry point group counts as a plugin."""
    _distribution(tmp_path / "site", "tool", entry_points)
    assert (
        pydantic_plugins_installed([str(tmp_path / "missing"), str(tmp_path / "site")]) is expected
    )


def test_cannot_tell_inside_a_zip(tmp_path: Path) -> None:
    """A zip or egg file on the path is left to importlib.metadata: the answer is unknown."""
    archive = tmp_path / "lib.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    assert pydantic_plugins_installed([str(archive)]) is None


@pytest.mark.parametrize(
    ("preset", "plugin", "expected"),
    [
        (None, False, "__all__"),
        (None, True, None),
        ("", False, ""),
        ("fake", False, "fake"),
    ],
    ids=["none-installed", "plugin-installed", "user-enabled", "user-value"],
)
def test_prepare_tells_pydantic_only_what_it_would_find(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    preset: str | None,
    plugin: bool,
    expected: str | None,
) -> None:
    """Plugins are switched off only when none is installed and the user set nothing."""
    _distribution(
        tmp_path, "fakeplugin", "[pydantic]\nfake = fakeplugin:plugin\n" if plugin else None
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    monkeypatch.setattr(
        startup, "_freeze_imports", False
    )  # restored: pytest's process is no console script
    if preset is None:
        monkeypatch.delenv(PYDANTIC_PLUGINS_ENV, raising=False)
    else:
        monkeypatch.setenv(PYDANTIC_PLUGINS_ENV, preset)
    prepare()
    assert os.environ.get(PYDANTIC_PLUGINS_ENV) == expected


def test_an_installed_pydantic_plugin_still_sees_the_spec_models(tmp_path: Path) -> None:
    """`reconcile validate` with a pydantic plugin installed: the plugin is loaded and sees the spec's validators."""
    site = tmp_path / "site"
    _distribution(site, "fakeplugin", "[pydantic]\nfake = fakeplugin:plugin\n")
    (site / "fakeplugin.py").write_text(PLUGIN_MODULE)
    saw = tmp_path / "saw.txt"
    env = {k: v for k, v in os.environ.items() if k != PYDANTIC_PLUGINS_ENV}
    env.update(PYTHONPATH=f"{site}{os.pathsep}{ROOT}", PLUGIN_SAW=str(saw))
    code = "import sys; from reconciler.cli import main; sys.argv[0] = 'reconcile'; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", "specs/minimal"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "SpecHeader" in saw.read_text(encoding="utf-8").split()


@pytest.mark.parametrize("was_enabled", [True, False])
def test_collector_paused_restores_the_collector(was_enabled: bool) -> None:
    """The collector is off inside the block and as it was after it, exception or not."""
    (gc.enable if was_enabled else gc.disable)()
    try:
        with pytest.raises(RuntimeError), collector_paused():
            assert not gc.isenabled()
            raise RuntimeError("an import failed")
        assert gc.isenabled() is was_enabled
    finally:
        gc.enable()


@pytest.mark.parametrize("console_script", [False, True], ids=["library", "console-script"])
def test_imports_are_frozen_only_in_the_console_scripts_process(
    monkeypatch: pytest.MonkeyPatch, console_script: bool
) -> None:
    """After `prepare`, what exists after the imports is frozen; in a library's process nothing is."""
    monkeypatch.setattr(startup, "_freeze_imports", console_script)
    before = gc.get_freeze_count()
    try:
        with collector_paused():
            made = [[] for _ in range(10)]
        assert (gc.get_freeze_count() >= before + len(made)) is console_script
    finally:
        gc.unfreeze()
