"""The Azure-named half of an exported resource: ``identity:`` / ``properties:`` blocks.

Export reads every writable member of a resource (`ReadScope.every_azure_member`); the
flat state then holds, besides the friendly paths, each member the friendly keys do not
own under its Azure name (`reconciler.state.surface.flatten`). This module turns those
flat paths back into Azure's nesting, in the order of Microsoft's API definition, as a
spec writes them (`azure_blocks`):

- values equal to what Azure fills in by itself are left out: the table's ``default``
  (a pool's ``taskSchedulingPolicy.nodeFillType: Spread``…) and `AZURE_FILLS`, what the
  service sets when a request leaves a member out. Left out means "not managed", so the
  exported spec plans nothing there whatever the value; a list item is never emptied
  (a written list is the whole list: an item left out would be removed);
- ids in Azure's usual casing, open objects (an extension's ``settings``) as mappings;
- secrets (``x-ms-secret``) Azure never returns: each one the resource needs
  (`reconciler.state.secret_members`) becomes a ``${env:NAME}`` reference
  (`secret_references`), NAME built from the resource's name and where the secret sits:
  ``RENDER_USER_BATCH_PASSWORD``, ``RENDER_MOUNT_SCENES_ACCOUNT_KEY``,
  ``RENDER_REGISTRY_CONTOSO_AZURECR_IO_PASSWORD``, ``RENDER_START_TASK_REGISTRY_PASSWORD``.

Pure: flat state in, plain mappings out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.state import surface
from reconciler.state.model import Kind
from reconciler.state.secret_members import MissingSecret, missing_secrets
from reconciler.state.surface import MapKey, Node, Segments

# Values Azure fills in by itself (its defaults, or what follows from the source): not
# worth a line in the export. Leaf paths, list items as ``[*]``; `ANY` matches any value.
ANY = object()
AZURE_FILLS: dict[Kind, tuple[tuple[str, tuple[Any, ...]], ...]] = {
    Kind.POOL: (("properties.taskSchedulingPolicy.nodeFillType", ("Spread",)),),
    Kind.VERSION: (
        ("properties.publishingProfile.targetRegions[*].excludeFromLatest", (False,)),
        # ReadWrite is what a version published from a managed image gets; storage
        # profiles are fixed at creation, so nothing is lost by not managing them.
        ("properties.storageProfile.osDiskImage.hostCaching", ("None", "ReadOnly", "ReadWrite")),
        ("properties.storageProfile.dataDiskImages[*].hostCaching", ("None", "ReadOnly")),
        ("properties.safetyProfile.allowDeletionOfReplicatedLocations", (False,)),
    ),
    Kind.MANAGED_IMAGE: (
        ("properties.storageProfile.osDisk.caching", ("None", "ReadWrite")),
        ("properties.storageProfile.osDisk.storageAccountType", ("Standard_LRS",)),
        ("properties.storageProfile.osDisk.diskSizeGB", (ANY,)),
        ("properties.storageProfile.osDisk.osState", ("Generalized",)),
        ("properties.storageProfile.dataDisks[*].caching", ("None", "ReadOnly")),
        ("properties.storageProfile.dataDisks[*].storageAccountType", ("Standard_LRS",)),
        ("properties.storageProfile.dataDisks[*].diskSizeGB", (ANY,)),
        ("properties.storageProfile.zoneResilient", (False,)),
    ),
}

# A version's default replica count and storage type apply to regions that do not give
# their own; Azure reports every region's own, so these two say nothing more when they
# equal Azure's default or a region's value (`folded_version_members`).
REPLICA_COUNT = "properties.publishingProfile.replicaCount"
STORAGE_TYPE = "properties.publishingProfile.storageAccountType"

# The keys that hold Azure-named members, in the order a spec writes them.
_ROOT_ORDER = ("identity", "extendedLocation", "properties")

_DROPPED = object()


# The same, looked up by (kind, path): export asks once per member of every resource.
_FILLS_AT: dict[tuple[Kind, str], tuple[Any, ...]] = {
    (kind, path): values for kind, fills in AZURE_FILLS.items() for path, values in fills
}


def is_filled(kind: Kind, pattern: str, value: Any) -> bool:
    """Whether `value` at `pattern` (list items as ``[*]``) is one Azure fills in itself."""
    values = _FILLS_AT.get((kind, pattern))
    return values is not None and any(
        v is ANY or (v == value and type(v) is type(value)) for v in values
    )


def folded_version_members(props: Mapping[str, Any]) -> frozenset[str]:
    """A version's ``replicaCount`` / ``storageAccountType`` when they add nothing."""
    replicas = {
        v for p, v in props.items() if p.startswith("targetRegions[") and p.endswith("].replicas")
    }
    storage = {
        str(v).lower()
        for p, v in props.items()
        if p.startswith("targetRegions[") and p.endswith("].storageAccountType")
    }
    out = set()
    if props.get(REPLICA_COUNT) in {1, *replicas}:
        out.add(REPLICA_COUNT)
    if str(props.get(STORAGE_TYPE, "")).lower() in {"standard_lrs", *storage}:
        out.add(STORAGE_TYPE)
    return frozenset(out)


def azure_blocks(
    kind: Kind,
    props: Mapping[str, Any],
    *,
    skip: frozenset[str] = frozenset(),
    pretty: Callable[[str], str] = lambda text: text,
) -> dict[str, Any]:
    """The Azure-named members in `props` as spec blocks (``identity``, ``properties``…).

    `skip` names flat paths left out besides defaults and fills; `pretty` spells the ids
    used as map keys (the flat state keeps those lower-case).
    """
    if kind not in surface.SURFACE_KINDS:
        return {}
    tree: dict[Any, Any] = {}
    for path, value in props.items():
        if path in skip or not surface.is_azure_path(kind, path):
            continue
        segments = surface.segments_of(path)
        node = tree
        for segment in segments[:-1]:
            node = node.setdefault(segment, {})
        node[segments[-1]] = value
    if not tree:
        return {}
    root = surface.table(kind).children or {}
    out: dict[str, Any] = {}
    for name in sorted(tree, key=lambda n: (*_ROOT_ORDER, n).index(n)):
        child = root.get(name)
        if child is None:
            continue
        shaped = _Shaper(kind, pretty).shape(child, tree[name], (name,), name, drop=True)
        if shaped is not _DROPPED:
            out[name] = shaped
    return out


@dataclass(frozen=True, slots=True)
class _Shaper:
    kind: Kind
    pretty: Callable[[str], str]

    def shape(self, node: Node, value: Any, segs: Segments, pattern: str, *, drop: bool) -> Any:
        """`value` (flat leaves gathered into nested dicts) in Azure's nesting and order."""
        if node.field is not None:
            return self.leaf(node, value, segs, pattern, drop=drop)
        if node.item is not None:
            if not isinstance(value, Mapping):
                return _DROPPED
            items = []
            for index in sorted(i for i in value if isinstance(i, int)):
                here, at = (*segs, index), f"{pattern}[*]"
                item = self.shape(node.item, value[index], here, at, drop=drop)
                if item is _DROPPED or item in ({}, []):
                    # Every member was a default: keep them, or the item would be removed.
                    item = self.shape(node.item, value[index], here, at, drop=False)
                items.append(item)
            return items or _DROPPED
        children = node.children or {}
        out: dict[str, Any] = {}
        for name, child in children.items():
            if name in value:
                shaped = self.shape(
                    child, value[name], (*segs, name), f"{pattern}.{name}", drop=drop
                )
                if shaped is not _DROPPED:
                    out[name] = shaped
        return out or _DROPPED

    def leaf(self, node: Node, value: Any, segs: Segments, pattern: str, *, drop: bool) -> Any:
        field = node.field
        assert field is not None
        if field.type == "map" and isinstance(value, Mapping):
            entries = {}
            for key, item in value.items():
                name = key.value if isinstance(key, MapKey) else str(key)
                if name.startswith("/subscriptions/"):
                    name = self.pretty(name)
                entries[name] = _opened(item)
            return entries or _DROPPED
        if isinstance(value, tuple):
            value = list(value)
        elif field.type in ("object", "any"):
            value = _opened(value)
        if drop and _is_default(self.kind, segs, pattern, field.default, value):
            return _DROPPED
        return value


def _is_default(kind: Kind, segs: Segments, pattern: str, default: Any, value: Any) -> bool:
    if is_filled(kind, pattern, value):
        return True
    if default is None or isinstance(value, list | dict):
        return False
    path = surface.flat_path(segs)
    return surface.normal(kind, path, value) == surface.normal(kind, path, default)


def _opened(value: Any) -> Any:
    """An open object kept as JSON text in the flat state, as a mapping again."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# -- secrets ----------------------------------------------------------------------------

# Collections whose items a secret's name tells apart, with the word it uses for them.
_ITEM_WORDS = {
    "userAccounts": "user",
    "mountConfiguration": "mount",
    "containerRegistries": "registry",
    "extensions": "extension",
}
# Nesting that says nothing about which secret it is.
_SILENT = frozenset(
    {"properties", "deploymentConfiguration", "virtualMachineConfiguration", "containerSettings"}
)


def secret_references(
    kind: Kind, blocks: dict[str, Any], name_for: Callable[[tuple[str, ...], str], str]
) -> list[tuple[str, str]]:
    """Write a ``${env:NAME}`` reference for each secret `blocks` need; ``(NAME, member)``.

    `name_for(words, member)` picks the variable's name (unique within the export) from
    the words that say where the secret sits; `member` is its REST path.
    """
    out = []
    for missing in missing_secrets(kind, blocks):
        parent = _at(blocks, missing.parent)
        if not isinstance(parent, dict):
            continue
        member = missing.members[0]
        shown = MissingSecret(missing.parent, (member,)).shown
        name = name_for((*_words(blocks, missing.parent), _snake(member)), shown)
        parent[member] = f"${{env:{name}}}"
        out.append((name, shown))
    return out


def _at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for segment in path:
        doc = doc[segment]
    return doc


def _words(blocks: dict[str, Any], parent: tuple[str | int, ...]) -> list[str]:
    words: list[str] = []
    doc: Any = blocks
    for index, segment in enumerate(parent):
        doc = doc[segment]
        if isinstance(segment, int):
            words.append(_item_label(doc, segment))
            continue
        following = parent[index + 1] if index + 1 < len(parent) else None
        if isinstance(following, int):
            words.append(_ITEM_WORDS.get(segment, _snake(segment)))
        elif segment not in _SILENT and not segment.endswith("Configuration"):
            words.append(_snake(segment))
    return words


def _item_label(item: Any, index: int) -> str:
    """What tells a list item apart: its name, registry server or mount path."""
    if isinstance(item, Mapping):
        for member in ("name", "registryServer", "relativeMountPath"):
            if isinstance(item.get(member), str):
                return item[member]
        inner = [v for v in item.values() if isinstance(v, Mapping)]
        if len(inner) == 1 and isinstance(inner[0].get("relativeMountPath"), str):
            return inner[0]["relativeMountPath"]
    return str(index)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)


__all__ = [
    "ANY",
    "AZURE_FILLS",
    "REPLICA_COUNT",
    "STORAGE_TYPE",
    "azure_blocks",
    "folded_version_members",
    "is_filled",
    "secret_references",
]
