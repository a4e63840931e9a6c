"""The names of the diagnostic codes the planner raises.

The registry (`reconciler.diagnostics.CODES`) owns every code's severity, rule and
title: RC501–RC505 (plan-phase rules R6, R7, R11, R3, R14), the cross-resource codes the
planner re-checks against live state (RC202–RC205 for R9/R10, RC210 for R4) and the
planner-only codes below. Those describe ownership, ordering and live facts the spec got
wrong (RC512: the Batch account's real region), which only reading Azure can reveal.
"""

from __future__ import annotations

IN_USE = "RC501"  # R6: image still used by a pool must not be deleted or replaced
MANAGED_IMAGE_POOL_REFUSED = "RC502"  # R7
RESIZE_AGAIN = "RC504"  # R3: pool missed its target within resizeTimeout
GALLERY_OTHER_SUBSCRIPTION = "RC202"  # R9
NO_REPLICA_IN_ACCOUNT_REGION = "RC203"  # R9
MANAGED_IMAGE_OTHER_REGION = "RC204"  # R10
MANAGED_IMAGE_OTHER_SUBSCRIPTION = "RC205"  # R10
MANAGED_IMAGE_NODE_LIMIT = "RC210"  # R4

NOT_OWNED = "RC506"  # exists with the spec's name but carries no ownership mark
WOULD_DELETE = "RC507"  # owned, not in the spec, prune is off
REPLACE_HAS_CHILDREN = "RC508"  # a replaced parent still holds children
DELETE_KEPT = "RC509"  # an owned parent kept because it still holds what is not deleted
CYCLE = "RC510"  # the dependency graph has a cycle
OUTSIDE_POOLS_NEED_REPLICAS = "RC511"  # R1 counting pools outside the spec too
ACCOUNT_NOT_AS_DECLARED = "RC512"  # the Batch account is in another region, or not found
IN_USE_KEPT = "RC513"  # R6: an owned image left out of the spec is kept while a pool boots it
OWNED_BY_OTHER_SPEC = "RC520"  # declared here, but another spec's owner name is on it
OWNED_BY_OTHER_SPEC_SEEN = "RC521"  # not declared here, owned by another spec: left alone
OWNED_BY_NO_SPEC = "RC522"  # not declared here, only the old managed-by mark: left alone
PUBLISHED_IMAGE_UNUSED = "RC708"  # R6: a migrated managed image no pool boots: prunable

# The planner-only codes; each is registered in CODES (phase "plan"), which gives its
# severity and title.
PLANNER_CODES: tuple[str, ...] = (
    NOT_OWNED,
    WOULD_DELETE,
    REPLACE_HAS_CHILDREN,
    DELETE_KEPT,
    CYCLE,
    OUTSIDE_POOLS_NEED_REPLICAS,
    ACCOUNT_NOT_AS_DECLARED,
    IN_USE_KEPT,
    OWNED_BY_OTHER_SPEC,
    OWNED_BY_OTHER_SPEC_SEEN,
    OWNED_BY_NO_SPEC,
    PUBLISHED_IMAGE_UNUSED,
)
