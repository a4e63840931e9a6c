"""What to read from Azure for one spec, and how resources are addressed — pure.

`ReadScope` names the collections a plan needs listed: resource groups whose galleries
and managed images are listed (whole groups, so owned resources that left the spec are
still found for prune / "would delete"), galleries whose definitions and versions are
walked, and Batch accounts whose pools are listed. `scope_for(spec)` derives it from a
resolved spec. `reconciler.azure.read` turns a scope into a `LiveState`, recording in
`LiveState.scopes` which collections it listed (`listed(...)` keys), so the planner can
tell "absent" (its collection was read, it is not there) from "not looked at"
(`was_read`).

Addresses (`address_for`) are derived from resource ids alone, in the spec's own format
(`reconciler.spec.ids`), so a resource Azure returns that the spec never named still has
a stable, readable address: ``gallery:<g>``, ``image:<g>/<def>``,
``version:<g>/<def>/<ver>``, ``managedImage:<name>``, ``batchAccount:<name>``,
``pool:<account>/<pool>`` — names spelled as Azure returns them (as created).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.state import surface
from reconciler.state.model import Kind, LiveState, canonical_id

# The collections `read_live_state` lists, as `LiveState.scopes` names them.
GALLERIES_IN = "galleries"  # parent: resource group id
MANAGED_IMAGES_IN = "managedImages"  # parent: resource group id
IMAGES_IN = "images"  # parent: gallery id
VERSIONS_IN = "versions"  # parent: image definition id
POOLS_IN = "pools"  # parent: Batch account id
ACCOUNTS = "batchAccount"  # the account itself (a GET), id

# Which collection a resource of each kind is found in (and its parent's depth in the id).
_COLLECTION = {
    Kind.GALLERY: GALLERIES_IN,
    Kind.MANAGED_IMAGE: MANAGED_IMAGES_IN,
    Kind.IMAGE: IMAGES_IN,
    Kind.VERSION: VERSIONS_IN,
    Kind.POOL: POOLS_IN,
    Kind.BATCH_ACCOUNT: ACCOUNTS,
}


def listed(collection: str, parent_id: str) -> str:
    """The `LiveState.scopes` entry saying `collection` under `parent_id` was read in full."""
    return f"{collection}:{parent_id.lower().rstrip('/')}"


def resource_group_id(subscription: str, resource_group: str) -> str:
    """A resource group's id as Azure spells it (the one place that builds one)."""
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}"


def rg_id(subscription: str, resource_group: str) -> str:
    """A resource group's id in canonical (lower-case) form, for comparing."""
    return canonical_id(resource_group_id(subscription, resource_group))


@dataclass(frozen=True, slots=True)
class ResourceId:
    """The parts of an ARM resource id the tool cares about (all lower-case)."""

    subscription: str
    resource_group: str
    names: tuple[str, ...]  # resource names below the provider, outermost first
    types: tuple[str, ...]  # their types, e.g. ("galleries", "images", "versions")

    @property
    def resource_group_id(self) -> str:
        return rg_id(self.subscription, self.resource_group)

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else self.resource_group

    @property
    def parent_id(self) -> str:
        """The id one level up (a version's image definition; a gallery's resource group)."""
        if len(self.names) <= 1:
            return self.resource_group_id
        provider = {"galleries": "microsoft.compute", "batchaccounts": "microsoft.batch"}.get(
            self.types[0], "microsoft.compute"
        )
        path = "".join(f"/{t}/{n}" for t, n in zip(self.types[:-1], self.names[:-1], strict=True))
        return f"{self.resource_group_id}/providers/{provider}{path}"


def split_id(
    resource_id: str,
) -> tuple[str, str, str, tuple[str, ...], tuple[str, ...]] | None:
    """The one reading of an ARM id: ``(subscription, resource group, provider namespace,
    types, names)`` as written, or None when it is not one. A resource group's own id has
    no namespace, types or names."""
    parts = [p for p in resource_id.strip().split("/") if p]
    if len(parts) < 4 or parts[0].lower() != "subscriptions":
        return None
    if parts[2].lower() != "resourcegroups":
        return None
    if len(parts) == 4 or parts[4].lower() != "providers":
        return parts[1], parts[3], "", (), ()
    rest = parts[6:]
    if len(parts) < 6 or len(rest) % 2:
        return None
    return parts[1], parts[3], parts[5], tuple(rest[0::2]), tuple(rest[1::2])


def parse_id(resource_id: str) -> ResourceId:
    """Split an ARM id (``/subscriptions/s/resourceGroups/rg/providers/ns/t/n[/t/n...]``),
    lower-cased for comparing (see `split_id`)."""
    split = split_id(resource_id)
    if split is None:
        raise ValueError(f"not an ARM resource id: {resource_id!r}")
    subscription, group, _, types, names = split
    return ResourceId(
        subscription.lower(),
        group.lower(),
        tuple(n.lower() for n in names),
        tuple(t.lower() for t in types),
    )


# The kind of a resource from the types in its id.
_KIND_BY_TYPES = {
    ("galleries",): Kind.GALLERY,
    ("galleries", "images"): Kind.IMAGE,
    ("galleries", "images", "versions"): Kind.VERSION,
    ("images",): Kind.MANAGED_IMAGE,
    ("batchaccounts",): Kind.BATCH_ACCOUNT,
    ("batchaccounts", "pools"): Kind.POOL,
}


def kind_of_id(resource_id: str) -> Kind | None:
    """The kind of resource an id names (None for another kind of resource)."""
    split = split_id(resource_id)
    if split is None:
        return None
    return _KIND_BY_TYPES.get(tuple(t.lower() for t in split[3]))


def address_for(kind: Kind, resource_id: str) -> str:
    """The plan address of a resource, from its id (see the module docstring)."""
    split = split_id(resource_id)
    if split is None:
        raise ValueError(f"not an ARM resource id: {resource_id!r}")
    names = split[4] or (split[1],)
    return f"{kind.value}:{'/'.join(names)}"


_PARENT_KIND = {Kind.IMAGE: Kind.GALLERY, Kind.VERSION: Kind.IMAGE, Kind.POOL: Kind.BATCH_ACCOUNT}


def was_read(state: LiveState, kind: Kind, resource_id: str) -> bool:
    """Whether `state` can vouch that a `kind` resource with this id is absent when missing.

    True when the collection it lives in was listed, or when its parent is known absent
    (a missing gallery has no definitions); False means nobody looked.
    """
    rid = parse_id(resource_id)
    parent = resource_id if kind is Kind.BATCH_ACCOUNT else rid.parent_id
    if listed(_COLLECTION[kind], parent) in state.scopes:
        return True
    parent_kind = _PARENT_KIND.get(kind)
    if parent_kind is None or not was_read(state, parent_kind, parent):
        return False
    found = state.get(address_for(parent_kind, parent))
    return found is None or found.id != parent.lower()


@dataclass(frozen=True, slots=True)
class ReadScope:
    """What to list. Ids and names are stored lower-case; tuples are sorted and unique.

    - `gallery_groups`: (subscription, resource group) pairs whose galleries are listed;
      every gallery found there that is owned or named in `galleries` is walked
      (definitions, then versions).
    - `galleries`: gallery ids the spec names; their groups are listed too.
    - `image_groups`: (subscription, resource group) pairs whose managed images are listed.
    - `batch_accounts`: account ids; each account is read and its pools listed.
    - `every_gallery`: walk every gallery found in `gallery_groups`, owned or not
      (`reconcile export` writes down what exists, not only what a spec names).
    - `azure_groups`: (kind, group) pairs — ``(pool, properties.mountConfiguration)`` —
      whose Azure-named members the flat state keeps, because a spec declares members
      there (`reconciler.state.surface`); `every_azure_member` keeps all of them (export).
    """

    gallery_groups: tuple[tuple[str, str], ...] = ()
    galleries: tuple[str, ...] = ()
    image_groups: tuple[tuple[str, str], ...] = ()
    batch_accounts: tuple[str, ...] = ()
    every_gallery: bool = False
    azure_groups: tuple[tuple[str, str], ...] = ()
    every_azure_member: bool = False

    def __post_init__(self) -> None:
        galleries = _norm(self.galleries)
        groups = {(s.lower(), g.lower()) for s, g in self.gallery_groups}
        # A named gallery implies listing its group (that is how it is found).
        groups |= {(r.subscription, r.resource_group) for r in map(parse_id, galleries)}
        object.__setattr__(self, "galleries", galleries)
        object.__setattr__(self, "gallery_groups", tuple(sorted(groups)))
        object.__setattr__(
            self,
            "image_groups",
            tuple(sorted({(s.lower(), g.lower()) for s, g in self.image_groups})),
        )
        object.__setattr__(self, "batch_accounts", _norm(self.batch_accounts))
        object.__setattr__(self, "azure_groups", tuple(sorted(set(self.azure_groups))))

    def azure_groups_of(self, kind: Kind) -> frozenset[str] | None:
        """The groups of `kind` whose Azure-named members are read (None: all of them)."""
        if self.every_azure_member:
            return None
        if not self.azure_groups:
            return _NO_GROUPS  # asked once per resource read: the common case is free
        return frozenset(g for k, g in self.azure_groups if k == kind.value)

    @property
    def subscriptions(self) -> tuple[str, ...]:
        subs = {s for s, _ in self.gallery_groups} | {s for s, _ in self.image_groups}
        subs |= {parse_id(a).subscription for a in self.batch_accounts}
        return tuple(sorted(subs))

    @property
    def empty(self) -> bool:
        return not (self.gallery_groups or self.image_groups or self.batch_accounts)

    def union(self, other: ReadScope) -> ReadScope:
        """Both scopes' collections (e.g. the spec's plus those of a previous apply's journal)."""
        return ReadScope(
            gallery_groups=self.gallery_groups + other.gallery_groups,
            galleries=self.galleries + other.galleries,
            image_groups=self.image_groups + other.image_groups,
            batch_accounts=self.batch_accounts + other.batch_accounts,
            every_gallery=self.every_gallery or other.every_gallery,
            azure_groups=self.azure_groups + other.azure_groups,
            every_azure_member=self.every_azure_member or other.every_azure_member,
        )

    def with_resources(self, kinds_and_ids: Iterable[tuple[Kind, str]]) -> ReadScope:
        """This scope widened to find the given resources (e.g. owned ones no longer in the spec)."""
        galleries: list[str] = []
        gallery_groups: list[tuple[str, str]] = []
        image_groups: list[tuple[str, str]] = []
        accounts: list[str] = []
        for kind, resource_id in kinds_and_ids:
            rid = parse_id(resource_id)
            if kind in (Kind.GALLERY, Kind.IMAGE, Kind.VERSION):
                gallery_id = (
                    f"{rid.resource_group_id}/providers/microsoft.compute/galleries/{rid.names[0]}"
                )
                galleries.append(gallery_id)
            elif kind is Kind.MANAGED_IMAGE:
                image_groups.append((rid.subscription, rid.resource_group))
            elif kind in (Kind.BATCH_ACCOUNT, Kind.POOL):
                accounts.append(
                    f"{rid.resource_group_id}/providers/microsoft.batch/batchaccounts/{rid.names[0]}"
                )
        return self.union(
            ReadScope(
                gallery_groups=tuple(gallery_groups),
                galleries=tuple(galleries),
                image_groups=tuple(image_groups),
                batch_accounts=tuple(accounts),
            )
        )


_NO_GROUPS: frozenset[str] = frozenset()


def _norm(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({canonical_id(i) for i in ids}))


def scope_for(spec: Any) -> ReadScope:
    """The scope a `reconciler.spec.ResolvedSpec` needs read.

    Whole resource groups are listed for galleries and managed images (owned resources
    that left the spec are found there); every declared gallery is walked; each declared
    Batch account is read with all its pools (R6 needs every pool, owned or not). Images
    that pools boot from by raw id are in scope too, so rules about them (R9, R10) see
    live values.
    """
    galleries = [g.id for g in spec.galleries.values()]
    image_groups = [(m.subscription, m.resource_group) for m in spec.managed_images.values()]
    for pool in spec.pools.values():
        if split_id(pool.image.id) is None:
            continue  # a shared or community gallery's image: nothing of ours to list
        image = parse_id(pool.image.id)
        if pool.image.image_kind == "galleryImageVersion" and len(image.names) >= 1:
            galleries.append(
                f"{image.resource_group_id}/providers/microsoft.compute/galleries/{image.names[0]}"
            )
        elif pool.image.image_kind == "managedImage":
            image_groups.append((image.subscription, image.resource_group))
    azure_groups: set[tuple[str, str]] = set()
    for kind, declared in (
        (Kind.GALLERY, spec.galleries),
        (Kind.IMAGE, spec.images),
        (Kind.VERSION, spec.versions),
        (Kind.MANAGED_IMAGE, spec.managed_images),
        (Kind.POOL, spec.pools),
    ):
        for resource in declared.values():
            members = getattr(resource, "azure", None)
            if members is not None and members.values:
                groups = surface.groups_of(list(members.values))
                azure_groups |= {(kind.value, g) for g in groups}
    return ReadScope(
        galleries=tuple(galleries),
        image_groups=tuple(image_groups),
        batch_accounts=tuple(a.id for a in spec.batch_accounts.values()),
        azure_groups=tuple(azure_groups),
    )
