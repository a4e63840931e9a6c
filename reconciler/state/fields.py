"""Which fields of each resource kind change in place and which force a new resource.

This is data, read from Microsoft's API definitions (shared azure-rest-specs) and the
Batch documentation, so the planner never grows scattered `if`s per kind:

- Gallery: only `description` and tags are updatable (PATCH GalleryUpdate); the
  location of an existing resource never changes.
- Gallery image definition: `osType`, `osState`, `hyperVGeneration`, `architecture`
  and `identifier` are not updatable — a change means a new definition.
- Gallery image version: `targetRegions` (add/remove regions, replica counts),
  `excludeFromLatest`, `endOfLifeDate` update in place; the source and a region's
  `storageAccountType` never change.
- Managed image: PATCH updates tags only; anything else means a new image.
- Batch pool (2024-07-01+): `scaleSettings`, `startTask`, `metadata` update in place
  on a pool with nodes; `vmSize` and the image (`deploymentConfiguration`, including
  `nodeAgentSkuId`) only when the pool is Steady at 0 nodes; what PATCH cannot change
  at all (network, task slots, inter-node communication, display name) needs a new pool.

Rules match flat paths (see `reconciler.state.model`) with `*` standing for one
segment or one bracketed key. The first matching rule wins; an unmatched path is
`IN_PLACE` (tags, metadata and similar maps are listed explicitly anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from reconciler.state.model import Kind


class UpdateMode(StrEnum):
    """How a change to one field can be carried out."""

    IN_PLACE = "in-place"  # PATCH/PUT on the existing resource
    RESIZE = "resize"  # pool target node counts: in place, but the pool allocates
    AT_ZERO_NODES = "at-zero-nodes"  # pool: only while Steady with 0 nodes
    REPLACE = "replace"  # delete and create again
    WRITE_ONLY = "write-only"  # sent on write, never reported back: never diffed
    STATUS = "status"  # reported by Azure, never written: never diffed

    @property
    def diffed(self) -> bool:
        """Whether a difference in such a field is a change at all."""
        return self not in (UpdateMode.WRITE_ONLY, UpdateMode.STATUS)


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One row of the table: a path pattern, its mode, and why (for people)."""

    pattern: str
    mode: UpdateMode
    why: str = ""

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


def _r(pattern: str, mode: UpdateMode, why: str = "") -> FieldRule:
    return FieldRule(pattern, mode, why)


IN, RS, ZERO, NEW, WO = (
    UpdateMode.IN_PLACE,
    UpdateMode.RESIZE,
    UpdateMode.AT_ZERO_NODES,
    UpdateMode.REPLACE,
    UpdateMode.WRITE_ONLY,
)

FIELDS: dict[Kind, tuple[FieldRule, ...]] = {
    Kind.GALLERY: (
        _r("location", NEW, "a resource's location never changes"),
        _r("description", IN),
        _r("tags.*", IN),
    ),
    Kind.IMAGE: (
        _r("location", NEW, "a resource's location never changes"),
        _r("osType", NEW, "image definition properties are not updatable"),
        _r("osState", NEW, "image definition properties are not updatable"),
        _r("hyperVGeneration", NEW, "image definition properties are not updatable"),
        _r("architecture", NEW, "image definition properties are not updatable"),
        _r("identifier.*", NEW, "the publisher/offer/sku identifier is not updatable"),
        _r("description", IN),
        _r("tags.*", IN),
    ),
    Kind.VERSION: (
        _r("location", NEW, "a resource's location never changes"),
        _r("source.*", NEW, "an image version's source is fixed at creation"),
        _r("source.*.*", NEW, "an image version's source is fixed at creation"),
        _r("targetRegions[*].storageAccountType", NEW, "storageAccountType is not updatable"),
        _r("targetRegions[*].replicas", IN),
        _r("excludeFromLatest", IN),
        _r("endOfLifeDate", IN),
        _r("tags.*", IN),
    ),
    Kind.MANAGED_IMAGE: (
        _r("tags.*", IN),
        _r("*", NEW, "a managed image can only change its tags"),
        _r("*.*", NEW, "a managed image can only change its tags"),
    ),
    Kind.POOL: (
        _r("scale.fixed.dedicated", RS),
        _r("scale.fixed.lowPriority", RS),
        _r("scale.fixed.nodeDeallocationOption", WO, "used only during a resize"),
        _r("scale.*", IN),
        _r("scale.*.*", IN),
        _r("startTask.*", IN),
        _r("startTask.*.*", IN),
        _r("metadata.*", IN),
        # Metadata names may hold dots (the tool's own ``reconcile.owner``).
        _r("metadata.*.*", IN),
        _r("metadata.*.*.*", IN),
        _r("tags.*", IN),
        _r("vmSize", ZERO, "vmSize changes only on a pool steady at 0 nodes"),
        _r("image.id", ZERO, "the image changes only on a pool steady at 0 nodes"),
        _r("nodeAgentSkuId", ZERO, "nodeAgentSkuId changes only on a pool steady at 0 nodes"),
        _r("*", NEW, "not updatable on an existing pool"),
        _r("*.*", NEW, "not updatable on an existing pool"),
        _r("*.*.*", NEW, "not updatable on an existing pool"),
    ),
}


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for token in re.split(r"(\*|\[\*\])", pattern):
        if token == "*":
            parts.append(r"[^.\[\]]+(?:\[[^\]]*\])?")
        elif token == "[*]":
            parts.append(r"\[[^\]]*\]")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts) + "$")


@cache
def rule_for(kind: Kind, path: str) -> FieldRule:
    """The rule governing `path` of a `kind` resource (first match wins)."""
    for rule in FIELDS.get(kind, ()):
        if rule.regex.match(path):
            return rule
    return FieldRule(path, UpdateMode.IN_PLACE)
