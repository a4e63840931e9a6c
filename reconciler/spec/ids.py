"""Addresses (the tool's stable names for resources) and Azure resource ids.

An *address* names a resource in every message and in the plan:
``gallery:<g>``, ``image:<g>/<def>``, ``version:<g>/<def>/<ver>``,
``managedImage:<name>``, ``batchAccount:<name>``, ``pool:<account>/<pool>``.

Resource ids are built exactly as Azure spells them (``resourceGroups``,
``Microsoft.Compute``); compare them with `normalize_id` (Azure treats ids
case-insensitively and echoes them in varying case).
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.state.model import canonical_id, canonical_location
from reconciler.state.scope import resource_group_id, split_id


def gallery_address(gallery: str) -> str:
    """``gallery:<g>``"""
    return f"gallery:{gallery}"


def image_address(gallery: str, definition: str) -> str:
    """``image:<g>/<def>``"""
    return f"image:{gallery}/{definition}"


def version_address(gallery: str, definition: str, version: str) -> str:
    """``version:<g>/<def>/<ver>``"""
    return f"version:{gallery}/{definition}/{version}"


def managed_image_address(name: str) -> str:
    """``managedImage:<name>``"""
    return f"managedImage:{name}"


def batch_account_address(account: str) -> str:
    """``batchAccount:<name>``"""
    return f"batchAccount:{account}"


def pool_address(account: str, pool: str) -> str:
    """``pool:<account>/<pool>``"""
    return f"pool:{account}/{pool}"


def _rg(subscription: str, resource_group: str) -> str:
    return resource_group_id(subscription, resource_group)


def gallery_id(subscription: str, resource_group: str, gallery: str) -> str:
    """Resource id of a gallery."""
    return f"{_rg(subscription, resource_group)}/providers/Microsoft.Compute/galleries/{gallery}"


def image_id(subscription: str, resource_group: str, gallery: str, definition: str) -> str:
    """Resource id of a gallery image definition."""
    return f"{gallery_id(subscription, resource_group, gallery)}/images/{definition}"


def version_id(
    subscription: str, resource_group: str, gallery: str, definition: str, version: str
) -> str:
    """Resource id of a gallery image version."""
    return f"{image_id(subscription, resource_group, gallery, definition)}/versions/{version}"


def managed_image_id(subscription: str, resource_group: str, name: str) -> str:
    """Resource id of a managed image."""
    return f"{_rg(subscription, resource_group)}/providers/Microsoft.Compute/images/{name}"


def batch_account_id(subscription: str, resource_group: str, account: str) -> str:
    """Resource id of a Batch account."""
    return f"{_rg(subscription, resource_group)}/providers/Microsoft.Batch/batchAccounts/{account}"


def pool_id(subscription: str, resource_group: str, account: str, pool: str) -> str:
    """Resource id of a Batch pool (management plane)."""
    return f"{batch_account_id(subscription, resource_group, account)}/pools/{pool}"


# The spec compares ids and regions in the same canonical forms as live state.
normalize_id = canonical_id
normalize_location = canonical_location


@dataclass(frozen=True, slots=True)
class ParsedId:
    """The parts of an ARM resource id. `kind` is the (case-folded) type path, e.g.
    ``microsoft.compute/galleries/images/versions``; `names` the names along it."""

    subscription: str
    resource_group: str
    kind: str
    names: tuple[str, ...]

    @property
    def name(self) -> str:
        """The last name (the resource's own)."""
        return self.names[-1]


def parse_id(resource_id: str) -> ParsedId | None:
    """Split an ARM id into subscription, resource group, type path and names (or None),
    as written (`reconciler.state.scope.split_id` reads it)."""
    split = split_id(resource_id)
    if split is None or not split[4]:
        return None
    subscription, group, namespace, types, names = split
    kind = "/".join([namespace, *types]).lower()
    return ParsedId(subscription, group, kind, names)


KIND_VERSION = "microsoft.compute/galleries/images/versions"
KIND_MANAGED_IMAGE = "microsoft.compute/images"
KIND_SNAPSHOT = "microsoft.compute/snapshots"
KIND_VM = "microsoft.compute/virtualmachines"
