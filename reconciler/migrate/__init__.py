"""`reconcile migrate`: move legacy managed-image pools onto Azure Compute Gallery images (R7).

`reconciler.migrate.build` decides, from the resolved spec and what is known of each
managed image (live or declared), which gallery, definition and version to add and which
pools to point at them, and checks what would make the move fail (RC701-RC707).
`reconciler.migrate.rewrite` writes that into the YAML files, keeping their comments and
layout. Both are pure: the live read lives in `reconciler.azure.source_images`.
"""

from reconciler.migrate.build import plan_migration
from reconciler.migrate.model import (
    ImageFacts,
    ImageMove,
    MigrateOptions,
    Migration,
    PoolFacts,
    PoolMove,
)

__all__ = [
    "ImageFacts",
    "ImageMove",
    "MigrateOptions",
    "Migration",
    "PoolFacts",
    "PoolMove",
    "plan_migration",
]
