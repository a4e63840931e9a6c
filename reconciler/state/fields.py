"""Which fields of each resource kind change in place, at zero nodes, or only in a new resource.

This is data, read from Microsoft's API definitions (shared azure-rest-specs) and the
Batch documentation, so the planner never grows scattered `if`s per kind. Every rule
carries a reason code (`U1`…`U13`, listed in ``docs/apply.md``) that the plan quotes
when a rule forces a replacement or a scale to zero:

- Gallery: `description`, tags (and the other GalleryUpdate members) update in place;
  the location of an existing resource never changes (U1, U2).
- Gallery image definition: `osType`, `osState`, `hyperVGeneration`, `architecture`
  and `identifier` are not updatable — a change means a new definition (U3); the rest
  updates in place (U4).
- Gallery image version: the source (U5) and a region's `storageAccountType` (U6) never
  change; `targetRegions` (add/remove regions, replica counts), `excludeFromLatest`,
  `endOfLifeDate` and tags update in place (U7).
- Managed image: PATCH updates tags only; anything else means a new image (U8).
- Batch pool, management-plane Pool_Update (API 2024-07-01+), per Microsoft's "Update
  Batch pool properties": target node counts resize the pool (U9);
  `applicationPackages`, `certificates`, `metadata`, `scaleSettings` and `startTask`
  (and tags) update with nodes present (U10); the identity may change with nodes
  present, though nodes keep the old one until they are recreated (U11); *every other*
  updatable pool property — vmSize, the image and `nodeAgentSkuId`, network,
  `taskSlotsPerNode`, `interNodeCommunication`, `displayName`, mounts, containers,
  disks, security profile, user accounts, task scheduling, upgrade policy… — is
  accepted only while the pool is steady at 0 nodes (U12): a scale to zero, the
  update, and a scale back, never a replacement. Nothing a pool declares forces a new
  pool: Pool_Update can change it all.
- Values sent on write that Azure never reports back are write-only (U13).

Rules match flat paths (see `reconciler.state.model`) with `*` standing for one
segment or one bracketed key and `**` for one or more of them. The first matching rule
wins; an unmatched path is `IN_PLACE` (the pool's table ends in a catch-all).
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
    """One row of the table: a path pattern, its mode, the rule's code and why (for people)."""

    pattern: str
    mode: UpdateMode
    why: str = ""
    code: str = ""

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.pattern)


# The reason codes: one per rule of Microsoft's that decides a mode (docs/apply.md).
LOCATION = "U1"
GALLERY_UPDATE = "U2"
DEFINITION_FIXED = "U3"
DEFINITION_UPDATE = "U4"
VERSION_SOURCE = "U5"
VERSION_STORAGE = "U6"
VERSION_UPDATE = "U7"
MANAGED_IMAGE_TAGS = "U8"
POOL_RESIZE = "U9"
POOL_WITH_NODES = "U10"
POOL_IDENTITY = "U11"
POOL_AT_ZERO = "U12"
WRITE_ONLY_CODE = "U13"

IN, RS, ZERO, NEW, WO = (
    UpdateMode.IN_PLACE,
    UpdateMode.RESIZE,
    UpdateMode.AT_ZERO_NODES,
    UpdateMode.REPLACE,
    UpdateMode.WRITE_ONLY,
)

_LOCATION_RULE = FieldRule("location", NEW, "a resource's location never changes", LOCATION)
_AT_ZERO_WHY = "Pool_Update accepts it only while the pool is steady at 0 nodes"


def _pool_with_nodes(pattern: str) -> FieldRule:
    return FieldRule(
        pattern, IN, "Pool_Update changes it while the pool has nodes", POOL_WITH_NODES
    )


def _pool_at_zero(pattern: str, what: str = "") -> FieldRule:
    why = f"{what} changes only on a pool steady at 0 nodes" if what else _AT_ZERO_WHY
    return FieldRule(pattern, ZERO, why, POOL_AT_ZERO)


FIELDS: dict[Kind, tuple[FieldRule, ...]] = {
    Kind.GALLERY: (
        _LOCATION_RULE,
        FieldRule("**", IN, "GalleryUpdate (PATCH) changes it in place", GALLERY_UPDATE),
    ),
    Kind.IMAGE: (
        _LOCATION_RULE,
        *(
            FieldRule(
                pattern, NEW, "image definition properties are not updatable", DEFINITION_FIXED
            )
            for pattern in ("osType", "osState", "hyperVGeneration", "architecture")
        ),
        FieldRule(
            "identifier.**",
            NEW,
            "the publisher/offer/sku identifier is not updatable",
            DEFINITION_FIXED,
        ),
        FieldRule(
            "properties.purchasePlan.**",
            NEW,
            "a definition's purchase plan is not updatable",
            DEFINITION_FIXED,
        ),
        FieldRule("**", IN, "GalleryImageUpdate (PATCH) changes it in place", DEFINITION_UPDATE),
    ),
    Kind.VERSION: (
        _LOCATION_RULE,
        FieldRule(
            "source.**", NEW, "an image version's source is fixed at creation", VERSION_SOURCE
        ),
        FieldRule(
            "properties.storageProfile.**",
            NEW,
            "an image version's disks are fixed at creation",
            VERSION_SOURCE,
        ),
        FieldRule(
            "properties.securityProfile.**",
            NEW,
            "an image version's security profile is fixed at creation",
            VERSION_SOURCE,
        ),
        FieldRule(
            "targetRegions[*].storageAccountType",
            NEW,
            "storageAccountType is not updatable",
            VERSION_STORAGE,
        ),
        FieldRule(
            "targetRegions[*].encryption.**",
            NEW,
            "a region's disk encryption is fixed once it is replicated",
            VERSION_STORAGE,
        ),
        FieldRule(
            "**", IN, "GalleryImageVersionUpdate (PATCH) changes it in place", VERSION_UPDATE
        ),
    ),
    Kind.MANAGED_IMAGE: (
        FieldRule("tags.*", IN, "a managed image's PATCH changes its tags", MANAGED_IMAGE_TAGS),
        FieldRule("**", NEW, "a managed image can only change its tags", MANAGED_IMAGE_TAGS),
    ),
    Kind.POOL: (
        FieldRule("scale.fixed.dedicated", RS, "a new target resizes the pool", POOL_RESIZE),
        FieldRule("scale.fixed.lowPriority", RS, "a new target resizes the pool", POOL_RESIZE),
        FieldRule(
            "scale.fixed.nodeDeallocationOption", WO, "used only during a resize", WRITE_ONLY_CODE
        ),
        _pool_with_nodes("scale.**"),
        _pool_with_nodes("startTask.**"),
        _pool_with_nodes("properties.startTask.**"),
        *(_pool_with_nodes(f"properties.{p}") for p in ("applicationPackages**", "certificates**")),
        # Metadata names may hold dots (the tool's own ``reconcile.owner``).
        _pool_with_nodes("metadata.**"),
        _pool_with_nodes("tags.**"),
        FieldRule(
            "identity.**",
            IN,
            "Pool_Update changes it with nodes present; nodes keep the old identity until "
            "they are recreated",
            POOL_IDENTITY,
        ),
        _pool_at_zero("vmSize", "vmSize"),
        _pool_at_zero("image.**", "the image"),
        _pool_at_zero("nodeAgentSkuId", "nodeAgentSkuId"),
        _pool_at_zero("**"),
    ),
}


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for token in re.split(r"(\*\*|\*|\[\*\])", pattern):
        if token == "**":
            parts.append(r".+")
        elif token == "*":
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
