"""The spec: YAML files → validated, resolved, sized `ResolvedSpec` and diagnostics.

Public surface (everything else in this package is an implementation detail):

- `load_spec(paths, *, today=None) -> LoadResult` — read files/directories, validate,
  resolve, size, run the Batch rules. `LoadResult.spec` is a `ResolvedSpec` when there
  is no error, `LoadResult.diagnostics` every problem found (errors and warnings).
- `Diagnostic` — ``code``, ``severity``, ``message``, ``hint``, ``address``, ``file``,
  ``line``, ``col``; ``.format()`` → ``file:line:col: CODE message`` + hint line. The
  one diagnostic type of every layer, re-exported from `reconciler.diagnostics`.
- `ResolvedSpec` and its value objects (see `reconciler.spec.resolved`).
- `resolve_secrets(spec, *, environ=None)` — the only place ``${env:NAME}`` is read.
- Address and resource-id helpers (`reconciler.spec.ids`), sizing functions
  (`reconciler.spec.sizing`), the code registry `CODES`.

Importing this package never imports the Azure SDK.
"""

from reconciler.diagnostics import CODES, Code, Diagnostic
from reconciler.spec.ids import (
    batch_account_address,
    batch_account_id,
    gallery_address,
    gallery_id,
    image_address,
    image_id,
    managed_image_address,
    managed_image_id,
    normalize_id,
    normalize_location,
    parse_id,
    pool_address,
    pool_id,
    version_address,
    version_id,
)
from reconciler.spec.loader import LoadResult, load_spec
from reconciler.spec.resolved import (
    AutoScale,
    DataDisk,
    FixedScale,
    ImageIdentifier,
    InboundNatPool,
    Network,
    PoolImageRef,
    ResolvedBatchAccount,
    ResolvedGallery,
    ResolvedImage,
    ResolvedManagedImage,
    ResolvedPool,
    ResolvedSpec,
    ResolvedTargetRegion,
    ResolvedVersion,
    Settings,
    SourceLocation,
    StartTask,
    VersionSource,
    to_jsonable,
)
from reconciler.spec.secrets import PoolSecrets, Revealed, resolve_secrets
from reconciler.spec.sizing import (
    Contribution,
    ReplicaSizing,
    ResizeTimeoutSizing,
    required_replicas,
    required_resize_timeout_minutes,
)

__all__ = [
    "CODES",
    "AutoScale",
    "Code",
    "Contribution",
    "DataDisk",
    "Diagnostic",
    "FixedScale",
    "ImageIdentifier",
    "InboundNatPool",
    "LoadResult",
    "Network",
    "PoolImageRef",
    "PoolSecrets",
    "ReplicaSizing",
    "ResizeTimeoutSizing",
    "ResolvedBatchAccount",
    "ResolvedGallery",
    "ResolvedImage",
    "ResolvedManagedImage",
    "ResolvedPool",
    "ResolvedSpec",
    "ResolvedTargetRegion",
    "ResolvedVersion",
    "Revealed",
    "Settings",
    "SourceLocation",
    "StartTask",
    "VersionSource",
    "batch_account_address",
    "batch_account_id",
    "gallery_address",
    "gallery_id",
    "image_address",
    "image_id",
    "load_spec",
    "managed_image_address",
    "managed_image_id",
    "normalize_id",
    "normalize_location",
    "parse_id",
    "pool_address",
    "pool_id",
    "required_replicas",
    "required_resize_timeout_minutes",
    "resolve_secrets",
    "to_jsonable",
    "version_address",
    "version_id",
]
