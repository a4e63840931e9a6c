"""Write a `Migration` into the spec files, keeping their comments and layout.

ruamel.yaml's round trip keeps every comment, key order, flow mapping and quote of the
files; only what the migration adds or changes is new text: the gallery (when new, put
before `managedImages:` in the managed image's file), the image definition with its
version (appended to the gallery's `images:`), each pool's `image:` and, for pools that
will be drained for the move, `scale.fixed.nodeDeallocationOption`. A blue/green move
leaves the pool as it is and inserts after it a copy of its declared keys (same flow
styles, no comments) named `<pool>-gallery`, booting the version.
`rewrite` returns the new text of each file it changed; `unified_diff` shows them.
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.migrate.model import ImageMove, Migration

# Keys written as one flow mapping (`{publisher: a, offer: b, sku: c}`), as the examples do.
_FLOW_KEYS = frozenset({"identifier", "image"})


def _yaml() -> YAML:
    y = YAML()  # round-trip
    y.preserve_quotes = True
    y.width = 1_000_000  # never fold a long id
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _node(value: Any, key: str | None = None) -> Any:
    """Plain dicts/lists as ruamel nodes: short mappings in lists and `_FLOW_KEYS` in flow."""
    if isinstance(value, Mapping):
        node = CommentedMap((k, _node(v, k)) for k, v in value.items())
        if key in _FLOW_KEYS:
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq()
        for item in value:
            child = _node(item)
            if isinstance(child, CommentedMap) and len(child) == 1 and key == "targetRegions":
                child.fa.set_flow_style()
            seq.append(child)
        return seq
    return value


class _Files:
    """The parsed files, loaded once each and dumped when changed."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.texts = texts
        self.docs: dict[str, Any] = {}
        self.changed: set[str] = set()
        self.new_top_keys: dict[str, set[str]] = {}
        self.yaml = _yaml()

    def doc(self, path: str) -> Any:
        if path not in self.docs:
            self.docs[path] = self.yaml.load(self.texts[path])
        return self.docs[path]

    def dump(self, path: str) -> str:
        out = io.StringIO()
        self.yaml.dump(self.docs[path], out)
        text = _space_new_keys(out.getvalue(), self.new_top_keys.get(path, set()))
        # A node appended after the file's last line lacks the newline that line carried.
        return text if text.endswith("\n") else text + "\n"


def rewrite(migration: Migration, texts: Mapping[str, str]) -> dict[str, str]:
    """The new text of every file `migration` changes (by path, as in `texts`)."""
    files = _Files(texts)
    for move in migration.moves:
        images = _gallery_images(files, move)
        definition = _node(dict(move.definition))
        images.append(definition)
        images.yaml_set_comment_before_after_key(
            len(images) - 1,
            before=f"Published from managed image {move.managed_image.split(':', 1)[-1]} "
            "by `reconcile migrate` (R7).",
            indent=_item_indent(images),
        )
        version = move.definition["versions"][0]["name"]
        for pool in move.pools:
            node = _pool(files.doc(pool.file), pool.account, pool.name)
            if pool.blue_green:
                node = _insert_copy(files.doc(pool.file), pool.account, node, pool.blue_green)
            node["image"] = _node(
                {"gallery": move.gallery, "definition": move.definition_name, "version": version},
                "image",
            )
            if pool.set_drain:
                fixed = node["scale"]["fixed"]
                fixed["nodeDeallocationOption"] = pool.set_drain
            files.changed.add(pool.file)
    return {path: files.dump(path) for path in texts if path in files.changed}


def _gallery_images(files: _Files, move: ImageMove) -> Any:
    """The `images:` list of the gallery `move` publishes into, created as needed."""
    path = move.gallery_file
    doc = files.doc(path)
    files.changed.add(path)
    galleries = doc.get("galleries")
    if galleries is None:
        galleries = CommentedSeq()
        keys = list(doc.keys())
        at = keys.index("managedImages") if "managedImages" in keys else len(keys)
        doc.insert(at, "galleries", galleries)
        files.new_top_keys.setdefault(path, set()).add("galleries")
    for gallery in galleries:
        if isinstance(gallery, Mapping) and gallery.get("name") == move.gallery:
            break
    else:
        gallery = CommentedMap(name=move.gallery)
        defaults = doc.get("defaults") or {}
        for key, value in move.gallery_placement.items():
            given = defaults.get(key)
            if given is None or str(given).replace(" ", "").lower() != value.lower():
                gallery[key] = value
        galleries.append(gallery)
    if gallery.get("images") is None:
        gallery["images"] = CommentedSeq()
    return gallery["images"]


def _item_indent(seq: Any) -> int:
    """The column of a list's items' dashes (for a comment above a new item)."""
    if len(seq) > 1 and hasattr(seq[0], "lc"):
        return max(int(seq[0].lc.col) - 2, 0)
    parent_col = getattr(getattr(seq, "lc", None), "col", None)
    return int(parent_col) if parent_col is not None else 6


def _pool(doc: Any, account: str, pool: str) -> Any:
    for entry in doc.get("batchAccounts") or ():
        if entry.get("name") != account:
            continue
        for node in entry.get("pools") or ():
            if node.get("name") == pool:
                return node
    raise KeyError(f"pool {account}/{pool} not found")


def _insert_copy(doc: Any, account: str, node: Any, name: str) -> Any:
    """A copy of pool `node` named `name`, inserted after it in its account's pools."""
    pools = next(e["pools"] for e in doc["batchAccounts"] if e.get("name") == account)
    copy = _plain_copy(node)
    copy["name"] = name
    at = next(i for i, p in enumerate(pools) if p is node) + 1
    pools.insert(at, copy)
    pools.yaml_set_comment_before_after_key(
        at,
        before=f"Blue/green copy of {node['name']} on the gallery version (`reconcile migrate "
        f"--blue-green`).\nRemove {node['name']} from the spec once this pool serves: "
        "plan --prune then deletes it.",
        indent=_item_indent(pools),
    )
    return copy


def _plain_copy(value: Any) -> Any:
    """A deep copy of a YAML node without its comments (they belong to the original)."""
    if isinstance(value, CommentedMap):
        out = CommentedMap((k, _plain_copy(v)) for k, v in value.items())
        if value.fa.flow_style():
            out.fa.set_flow_style()
        return out
    if isinstance(value, CommentedSeq):
        seq = CommentedSeq(_plain_copy(v) for v in value)
        if value.fa.flow_style():
            seq.fa.set_flow_style()
        return seq
    return value


def _space_new_keys(text: str, keys: set[str]) -> str:
    """A blank line between a newly added top-level section and the key after it."""
    if not keys:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    inside = False
    for line in lines:
        top = bool(line.strip()) and not line[0].isspace() and not line.startswith("#")
        if top and inside and out and out[-1].strip():
            out.append("\n")
        if top:
            inside = line.split(":", 1)[0] in keys
        out.append(line)
    return "".join(out)


def unified_diff(before: Mapping[str, str], after: Mapping[str, str]) -> str:
    """A unified diff of every changed file (``a/PATH`` → ``b/PATH``, as git shows it)."""
    chunks: list[str] = []
    for path in sorted(after):
        relative = not os.path.isabs(path)
        chunks.extend(
            difflib.unified_diff(
                before[path].splitlines(keepends=True),
                after[path].splitlines(keepends=True),
                fromfile=f"a/{path}" if relative else path,
                tofile=f"b/{path}" if relative else path,
            )
        )
    return "".join(chunks)
