"""Sandbox worlds and apply journals as the end-to-end tests (and benches) set them up and read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.sandbox.app import Sandbox
from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.seed import load_seed


def seeded_world(path: Path, config: SandboxConfig) -> Path:
    """A fresh world at `path` holding the default seed, `config` stored as its default.

    `Sandbox.reset` stores the config and restarts the clock, so no `save_config` is needed.
    """
    sandbox = Sandbox(path, config=config)
    sandbox.reset()
    sandbox.seed(load_seed(None))
    sandbox.close()
    return path


def journal_records(journal: Path) -> list[dict[str, Any]]:
    """Every record of an apply journal so far; none when it does not exist yet."""
    if not journal.exists():
        return []
    out = []
    for line in journal.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a torn last line, being written right now
    return out
