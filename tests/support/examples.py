"""Microsoft's x-ms-examples, each tied to its swagger operation.

The example files are read from Microsoft's original folder (`openapi.examples_root`);
on a bare clone there is none and `all_examples` is empty.

An example belongs to the operation whose ``x-ms-examples`` references it. Fallback copies
stored under an older api-version folder (see the specs' README) are matched on the file
name to the operation of the current swagger that references an example of that name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from tests.support import openapi


@dataclass(frozen=True)
class Example:
    """One example file: its operation, parameters and documented responses."""

    name: str  # file stem, e.g. "Gallery_Create"
    path: str  # relative to the examples root
    operation: openapi.OperationInfo
    parameters: dict[str, Any]
    responses: dict[str, Any]

    @property
    def api_version(self) -> str:
        return str(
            self.parameters.get("api-version")
            or self.parameters.get("version")
            or self.operation.api_version
        )

    def url(self, base: str = "https://management.azure.com", **overrides: str) -> str:
        """The example request's URL: path parameters substituted, api-version in the query."""
        values = {**self.parameters, **overrides}
        path = self.operation.path
        for name in self.operation.path_parameters:
            path = path.replace("{" + name + "}", quote(str(values[name]), safe=""))
        return f"{base}{path}?api-version={self.api_version}"

    def request_body(self) -> bytes:
        if self.operation.body_parameter is None:
            return b""
        body = self.parameters.get(self.operation.body_parameter)
        return b"" if body is None else json.dumps(body).encode()


@lru_cache(maxsize=1)
def all_examples() -> tuple[Example, ...]:
    """Every example file under the specs root that maps to a loaded operation."""
    root = openapi.examples_root()
    if root is None:
        return ()
    reg = openapi.registry()
    by_name: dict[str, openapi.OperationInfo] = {}
    for path, op in reg.by_example.items():
        by_name.setdefault(path.rsplit("/", 1)[-1], op)
    found = []
    for file in sorted(root.rglob("*.json")):
        rel = file.relative_to(root).as_posix()
        if "/examples/" not in f"/{rel}":
            continue
        op = reg.by_example.get(rel) or by_name.get(file.name)
        if op is None:
            continue
        data = json.loads(file.read_text(encoding="utf-8"))
        found.append(
            Example(
                name=file.stem,
                path=rel,
                operation=op,
                parameters=data.get("parameters") or {},
                responses=data.get("responses") or {},
            )
        )
    return tuple(found)
