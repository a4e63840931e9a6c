"""Live state: what Azure reports now, as normalised, frozen values.

The Azure layer (`reconciler.azure`) builds these from SDK models; the planner
(`reconciler.plan`) compares them with the resolved spec. Nothing here does I/O.
"""

from reconciler.state.fields import FIELDS, FieldRule, UpdateMode, rule_for
from reconciler.state.model import (
    OWNER_METADATA_KEY,
    OWNER_TAG,
    OWNER_VALUE,
    Kind,
    LiveResource,
    LiveState,
    RegionReplication,
    fingerprint,
)

__all__ = [
    "FIELDS",
    "OWNER_METADATA_KEY",
    "OWNER_TAG",
    "OWNER_VALUE",
    "FieldRule",
    "Kind",
    "LiveResource",
    "LiveState",
    "RegionReplication",
    "UpdateMode",
    "fingerprint",
    "rule_for",
]
