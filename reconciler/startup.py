"""What the console script does before a command runs, so start-up pays only for what it uses.

Each step leaves behaviour as it is and only skips work whose outcome is known:

- httpx's package imports its own command-line client (`httpx._main`: rich, pygments and
  click's help machinery, ≈60 ms) only to offer `httpx.main`; with that module marked
  absent httpx falls back to a stub `main` and nothing else changes.
- pydantic looks for plugins on first validation by listing every installed
  distribution's entry points through `importlib.metadata` (≈35–60 ms, and the import of
  `email` and `importlib.metadata` with it). The same question is answered here by
  reading the ``entry_points.txt`` files on `sys.path` directly (≈2 ms); only when no
  distribution declares a ``pydantic`` entry point group is pydantic told so, with its
  own switch (``PYDANTIC_DISABLE_PLUGINS``). An installed plugin, a value the user set,
  or a path this cannot read leaves pydantic to look for itself.

Only the process's entry point calls `prepare`: library users keep httpx and pydantic as
they are.

`collector_paused` is for the commands' own lazy imports: importing allocates modules,
classes and functions that live as long as the process, and the cyclic collector's passes
over them free nothing (≈30 ms of a `plan`'s start-up, most of it while the Azure SDK's
modules load). The collector is paused while a command imports what it needs. In the
console script's process (after `prepare`) what exists then is also moved out of its sight
(`gc.freeze`: it is the program, not garbage; reference counting still frees it), so it is
never walked again; elsewhere (tests running many commands in one process) the collector
simply resumes.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"

# Set by `prepare`: this process is the console script's, its imports are its program.
_freeze_imports = False

# An entry-point group header in entry_points.txt (an INI section): ``[pydantic]``.
_PYDANTIC_GROUP = re.compile(r"^\s*\[\s*pydantic\s*\]\s*$", re.MULTILINE)


def prepare() -> None:
    """Skip the imports and look-ups the command line never needs (see the module docstring)."""
    global _freeze_imports
    _freeze_imports = True
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    if PYDANTIC_PLUGINS_ENV not in os.environ and pydantic_plugins_installed() is False:
        os.environ[PYDANTIC_PLUGINS_ENV] = "__all__"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block of imports (and freeze them, see above)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze_imports:
            gc.freeze()  # modules, classes, functions: never garbage, never walked again
        if enabled:
            gc.enable()


def pydantic_plugins_installed(path: list[str] | None = None) -> bool | None:
    """Whether a distribution on `path` (default `sys.path`) declares a pydantic plugin.

    None when it cannot tell: a zip or egg file on the path, or a metadata folder it
    cannot read (`importlib.metadata` would look inside those; this does not).
    """
    for entry in sys.path if path is None else path:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                return None  # a zip or egg: only importlib.metadata reads inside it
            continue  # importlib.metadata skips what does not exist, as here
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        for name in names:
            if not name.lower().endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except (FileNotFoundError, NotADirectoryError):
                continue
            except (OSError, UnicodeDecodeError):
                return None
            if _PYDANTIC_GROUP.search(text):
                return True
    return False
