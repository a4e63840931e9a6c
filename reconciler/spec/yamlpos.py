"""YAML → plain Python data that remembers where every key and value was written.

PyYAML's composer (the C one when available: it keeps marks) gives a node tree with
positions; we construct it ourselves instead of using a Constructor so that:

- mappings become `YMap` (a `dict`) carrying the position of the mapping, of each key
  and of each value; sequences become `YList` (a `list`) carrying each item's
  position. Pydantic validates them as ordinary dicts and lists, and any error loc
  can be mapped back to ``line:col`` by walking the same data (`position_of`);
- duplicate keys are reported (PyYAML silently keeps the last one);
- merge keys (``<<: *anchor``) and aliases work as in YAML 1.1.

Positions are 1-based ``(line, col)`` tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

try:  # The C composer is ~10x faster and still records marks.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

Pos = tuple[int, int]

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class YMap(dict):  # type: ignore[type-arg]
    """A dict that knows where it, each key and each value were written."""

    __slots__ = ("key_pos", "pos", "value_pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.key_pos: dict[Any, Pos] = {}
        self.value_pos: dict[Any, Pos] = {}


class YList(list):  # type: ignore[type-arg]
    """A list that knows where it and each item were written."""

    __slots__ = ("item_pos", "pos")

    def __init__(self, pos: Pos) -> None:
        super().__init__()
        self.pos = pos
        self.item_pos: list[Pos] = []


@dataclass(frozen=True, slots=True)
class YamlProblem:
    """A problem found while reading YAML (syntax, duplicate key, unsupported tag)."""

    kind: str  # "syntax" | "duplicate-key" | "tag" | "key-type"
    message: str
    pos: Pos
    hint: str = ""


_scalar_constructor = yaml.SafeLoader("")  # only its scalar methods are used


def _pos(node: yaml.Node) -> Pos:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


class _Builder:
    """Turns one composed node tree into YMap/YList/scalars, collecting problems."""

    def __init__(self) -> None:
        self.problems: list[YamlProblem] = []
        self._memo: dict[int, Any] = {}

    def build(self, node: yaml.Node) -> Any:
        # Aliases share node objects: build once, reuse (also stops recursive anchors).
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if isinstance(node, yaml.MappingNode):
            result: Any = YMap(_pos(node))
            self._memo[key] = result
            self._fill_map(result, node)
            return result
        if isinstance(node, yaml.SequenceNode):
            seq = YList(_pos(node))
            self._memo[key] = seq
            for item in node.value:
                seq.append(self.build(item))
                seq.item_pos.append(_pos(item))
            return seq
        value = self._scalar(node)
        self._memo[key] = value
        return value

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _NULL:
            return None
        if tag == _INT:
            return _scalar_constructor.construct_yaml_int(node)
        if tag == _BOOL:
            return _scalar_constructor.construct_yaml_bool(node)
        if tag == _FLOAT:
            return _scalar_constructor.construct_yaml_float(node)
        if tag == _TIMESTAMP:
            return _scalar_constructor.construct_yaml_timestamp(node)
        self.problems.append(
            YamlProblem(
                "tag",
                f"unsupported YAML tag {tag!r}",
                _pos(node),
                "remove the tag; the spec uses plain strings, numbers, booleans and dates",
            )
        )
        return node.value

    def _fill_map(self, target: YMap, node: yaml.MappingNode) -> None:
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = self.build(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.problems.append(
                    YamlProblem(
                        "key-type",
                        f"mapping key must be a string, got {_describe(key_node)}",
                        _pos(key_node),
                        "quote the key",
                    )
                )
                continue
            if key in target:
                first = target.key_pos[key]
                self.problems.append(
                    YamlProblem(
                        "duplicate-key",
                        f"duplicate key {key!r}",
                        _pos(key_node),
                        f"first defined at line {first[0]}, column {first[1]}; keep one",
                    )
                )
                continue
            target[key] = self.build(value_node)
            target.key_pos[key] = _pos(key_node)
            target.value_pos[key] = _pos(value_node)
        # Merged keys never override keys written in the mapping itself.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                built = self.build(source)
                if not isinstance(built, YMap):
                    self.problems.append(
                        YamlProblem("tag", "`<<` must merge a mapping", _pos(source))
                    )
                    continue
                for k, v in built.items():
                    if k not in target:
                        target[k] = v
                        target.key_pos[k] = built.key_pos[k]
                        target.value_pos[k] = built.value_pos[k]


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return repr(node.value)


def load_yaml(text: str, name: str = "<string>") -> tuple[Any, list[YamlProblem]]:
    """Parse one YAML document into position-aware data.

    Returns ``(data, problems)``. A syntax error yields ``(None, [problem])``; other
    problems (duplicate keys, unsupported tags) still return the data read.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or "invalid YAML"
        hint = ""
        if exc.context:
            hint = exc.context
            if exc.context_mark is not None and exc.context_mark is not mark:
                hint += f" (line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        return None, [YamlProblem("syntax", f"YAML syntax error: {problem}", pos, hint)]
    except yaml.YAMLError as exc:  # reader errors (bad characters) carry no mark
        return None, [YamlProblem("syntax", f"YAML error: {exc}", (1, 1))]
    finally:
        loader.dispose()
    if node is None:
        return None, []
    builder = _Builder()
    data = builder.build(node)
    return data, builder.problems


def position_of(root: Any, loc: Sequence[str | int], *, key: bool = False) -> Pos | None:
    """Where the value (or, with ``key=True``, the key) at `loc` was written.

    Walks as far down `loc` as the data goes and returns the deepest position known,
    so a missing key reports its parent mapping and a bad item its list entry.
    """
    current = root
    best: Pos | None = getattr(root, "pos", None)
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, YMap) and isinstance(part, str):
            if part not in current:
                return best
            if last and key:
                return current.key_pos.get(part, best)
            best = current.value_pos.get(part, best)
            current = current[part]
        elif isinstance(current, YList) and isinstance(part, int):
            if not 0 <= part < len(current):
                return best
            best = current.item_pos[part]
            current = current[part]
        else:
            return best
    return best
