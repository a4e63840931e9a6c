"""`reconcile export`'s pure core: live state in, spec files (with comments) out.

`build_export` turns a `LiveState` into the text of ``images.yaml`` and ``pools.yaml``
written in the spec's idiom, with the diagnostics found on the way, the secret variables
the files refer to and what could not be expressed (`reconciler.export.build`);
`reconciler.export.yamltext` writes YAML with comments. Nothing here imports the Azure SDK.
"""

from reconciler.export.build import (
    IMAGES_FILE,
    POOLS_FILE,
    SCHEMA_FILE,
    Export,
    ExportedFile,
    ExportOptions,
    SecretVariable,
    build_export,
    env_name,
    max_nodes_from_formula,
    pretty_id,
)

__all__ = [
    "IMAGES_FILE",
    "POOLS_FILE",
    "SCHEMA_FILE",
    "Export",
    "ExportOptions",
    "ExportedFile",
    "SecretVariable",
    "build_export",
    "env_name",
    "max_nodes_from_formula",
    "pretty_id",
]
