"""What a replacement keeps from the resource it replaces, held until the new one exists.

A pool replacement is two steps: `#delete-replaced`, then `#create-replacement`. The new
pool must keep every property the spec does not declare, and those can be read only from
the old pool — which the first step deletes. So the first step reads them
(`Operations.replacement_base`) and puts them here *before* deleting; the create takes
them from here and the entry goes once the new pool exists.

With a directory, each entry is a file written atomically and fsynced (mode 0600) before
the delete starts, so an apply killed between the two steps leaves it behind: the next
apply re-plans the now absent pool as a create, and that create finds the entry by the
pool's resource id and keeps the old pool's properties after all. Entries hold what Azure
returned; Azure never returns secrets, so none are written here by a real apply.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.apply.journal import open_private
from reconciler.state.model import canonical_id


class CarryStore:
    """Entries by resource id: in memory, and on disk when given a directory."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _file(self, resource_id: str) -> Path | None:
        if self.directory is None:
            return None
        key = hashlib.sha256(canonical_id(resource_id).encode()).hexdigest()[:24]
        return self.directory / f"{key}.json"

    def save(self, resource_id: str, body: Mapping[str, Any]) -> None:
        """Keep `body` for `resource_id`, durably when there is a directory."""
        entry = {"resource_id": canonical_id(resource_id), "body": dict(body)}
        with self._lock:
            self._memory[canonical_id(resource_id)] = entry
        path = self._file(resource_id)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = path.with_suffix(".tmp")
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        fd = open_private(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        _fsync_dir(path.parent)

    def load(self, resource_id: str) -> Mapping[str, Any] | None:
        """The body kept for `resource_id`, or None."""
        with self._lock:
            entry = self._memory.get(canonical_id(resource_id))
        if entry is None:
            path = self._file(resource_id)
            if path is None or not path.exists():
                return None
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            if entry.get("resource_id") != canonical_id(resource_id):
                return None
        body = entry.get("body")
        return body if isinstance(body, dict) else None

    def discard(self, resource_id: str) -> None:
        """Forget `resource_id`'s entry (the new resource exists, or nothing was deleted)."""
        with self._lock:
            self._memory.pop(canonical_id(resource_id), None)
        path = self._file(resource_id)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
