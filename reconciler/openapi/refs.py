"""The committed swagger files of a folder, loaded lazily, with cross-file ``$ref`` resolution.

A ref's file part is taken literally (relative to the referring file) when that names a file
in the folder, else matched on its trailing path, as the upstream specs' README prescribes
(``../../../../../../common-types/resource-management/v5/types.json`` finds the one
``common-types/resource-management/v5/types.json``). Shared by the writable-surface walk and
the test suite's traffic validator, so both read a ``$ref`` the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class SwaggerFiles:
    """Every ``*.json`` under `root` outside ``examples/`` folders, each parsed on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"no swagger files at {self.root}")
        self.files = sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*.json")
            if "examples" not in p.relative_to(self.root).parts
        )
        self._known = frozenset(self.files)
        self._docs: dict[str, Any] = {}

    def doc(self, rel: str) -> Any:
        """The parsed file at `rel` (relative to the root)."""
        if rel not in self._docs:
            with open(self.root / rel, encoding="utf-8") as fh:
                self._docs[rel] = json.load(fh)
        return self._docs[rel]

    def resolve_file(self, base: str, ref_file: str) -> str | None:
        """Map a ref's file part to a file under the root (literal path, else trailing path)."""
        if not ref_file:
            return base
        literal = (self.root / base).parent / ref_file
        try:
            rel = literal.resolve().relative_to(self.root).as_posix()
            if rel in self._known:
                return rel
        except ValueError:
            pass
        parts = [p for p in ref_file.split("/") if p not in ("", ".", "..")]
        for start in range(len(parts)):
            tail = "/".join(parts[start:])
            hits = [f for f in self.files if f == tail or f.endswith("/" + tail)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                return None
        return None

    def resolve(self, base: str, ref: str) -> tuple[str, str, Any] | None:
        """Resolve a ``$ref`` from file `base` to (file, pointer, target), or None."""
        ref_file, _, pointer = ref.partition("#")
        rel = self.resolve_file(base, ref_file)
        if rel is None:
            return None
        node: Any = self.doc(rel)
        for token in pointer.strip("/").split("/") if pointer.strip("/") else []:
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
        return rel, pointer, node


__all__ = ["SwaggerFiles"]
