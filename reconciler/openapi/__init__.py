"""Microsoft's OpenAPI definitions of the APIs the tool calls, reduced to their structure.

`reconciler/openapi/specs/` holds one file per swagger the tool depends on (Batch pools and
accounts, galleries, definitions, versions, managed images, snapshots, and the common
types they reference), laid out under the same relative paths as the upstream folder so
``$ref``s resolve the same way. Each is produced by `reconciler.openapi.generate` from
Microsoft's files and keeps structure only: names, types, enums, patterns, bounds,
defaults, flags (``readOnly``, ``x-ms-secret``, ``x-ms-mutability``, ``x-nullable``, long-running
and paging markers) and references to the example files. Descriptive text is dropped.

A bare clone needs nothing else: the test suite validates sandbox traffic against these
files, and a freshness test regenerates them wherever the upstream folder is at hand.
"""

from __future__ import annotations

from pathlib import Path

#: The committed structure-only copies.
SPECS_DIR = Path(__file__).resolve().parent / "specs"

#: Environment variable naming the folder of Microsoft's original swagger files.
UPSTREAM_ENV = "RECONCILE_AZURE_SPECS"


def upstream_dir() -> Path | None:
    """Microsoft's original files, when present: ``$RECONCILE_AZURE_SPECS``, else the shared
    folder beside the repository; None on a bare clone."""
    import os

    override = os.environ.get(UPSTREAM_ENV)
    if override:
        path = Path(override)
        return path if path.is_dir() else None
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "azure-rest-specs"
    return beside if beside.is_dir() else None


__all__ = ["SPECS_DIR", "UPSTREAM_ENV", "upstream_dir"]
