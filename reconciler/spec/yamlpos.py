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

Two readers build the same data. The fast one (`_read_fast`, what `load_yaml` tries
first) records where each mapping and list starts and where each list item is, which is
all a valid spec needs (a resource's ``declared_at``, a target region's place), but not
where each key and scalar value is: those are read again from the text, with the full
reader, the first time anyone asks for them (`YMap.key_pos` / `YMap.value_pos`), which
happens when there is something to report. The fast reader gives up on anything
unusual — a problem of any kind (syntax, duplicate key, tag, key type), an anchor, an
alias, a merge key — and the full reader (`_Builder`) reads that file instead, so
every problem is reported by the one reader that always did.
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
    """A dict that knows where it, each key and each value were written.

    Read by the fast reader, a mapping knows its own `pos` at once and reads the
    positions of its keys and values from its file's text when first asked (`_source`).
    """

    __slots__ = ("_key_pos", "_source", "_value_pos", "pos")

    def __init__(self, pos: Pos, source: _Source | None = None) -> None:
        self.pos = pos
        self._source = source
        if source is None:
            self._key_pos: dict[Any, Pos] | None = {}
            self._value_pos: dict[Any, Pos] | None = {}
        else:
            self._key_pos = self._value_pos = None

    @property
    def key_pos(self) -> dict[Any, Pos]:
        """Where each key was written."""
        if self._key_pos is None:
            self._read_positions()
        return self._key_pos  # type: ignore[return-value]

    @property
    def value_pos(self) -> dict[Any, Pos]:
        """Where each value was written (an alias: where the alias is)."""
        if self._value_pos is None:
            self._read_positions()
        return self._value_pos  # type: ignore[return-value]

    @property
    def positions_read(self) -> bool:
        """True when the positions of keys and values are known (no re-read needed)."""
        return self._key_pos is not None

    def _read_positions(self) -> None:
        source = self._source
        if source is None:  # pragma: no cover - a full read always sets both
            raise RuntimeError("a mapping without positions or a text to read them from")
        twin = source.twin(self)
        self._key_pos = twin._key_pos
        self._value_pos = twin._value_pos
        self._source = None


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
_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCT = {
    _INT: _scalar_constructor.construct_yaml_int,
    _BOOL: _scalar_constructor.construct_yaml_bool,
    _FLOAT: _scalar_constructor.construct_yaml_float,
    _TIMESTAMP: _scalar_constructor.construct_yaml_timestamp,
}

# What a constructor raises on text its tag cannot read (``!!bool rg-batch`` → KeyError,
# ``!!timestamp soon`` → AttributeError, ``!!int x`` / ``2026-02-30`` → ValueError, an
# empty ``!!int`` → IndexError).
_CONSTRUCT_ERRORS = (LookupError, ValueError, AttributeError, TypeError, ArithmeticError)
_EXPECTS = {
    _INT: "needs an integer",
    _BOOL: "needs true or false",
    _FLOAT: "needs a number",
    _TIMESTAMP: "needs a date (YYYY-MM-DD) or a time stamp",
}
_NULL_TEXTS = frozenset(("", "~", "null", "Null", "NULL"))
_STANDARD_PREFIX = "tag:yaml.org,2002:"


def _short_tag(tag: str) -> str:
    """A tag as people write it: ``tag:yaml.org,2002:bool`` → ``!!bool``."""
    if tag.startswith(_STANDARD_PREFIX):
        return "!!" + tag[len(_STANDARD_PREFIX) :]
    return tag


def _resolve_plain(value: str) -> str:
    """The implicit tag of a plain scalar (YAML 1.1, as PyYAML resolves it)."""
    for tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            return tag
    return _STR


def _plain_value(value: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar, as YAML 1.1 reads its text."""
    tag = _resolve_plain(value)
    if tag in (_STR, _MERGE):
        return value
    if tag == _NULL:
        return None
    try:
        return _CONSTRUCT[tag](yaml.ScalarNode(tag, value))
    except _CONSTRUCT_ERRORS:
        # Looks like a date (or number) but is none (2026-02-30): keep the text and
        # let the field's own check say what it expects.
        return value


class _Builder:
    """Builds YMap/YList/scalars straight from the parser's events.

    Skipping PyYAML's node graph and its per-node Python resolver roughly halves the
    cost of reading large specs; plain scalars are resolved once per distinct text.
    """

    def __init__(self) -> None:
        self.problems: list[YamlProblem] = []
        self.anchors: dict[str, Any] = {}
        self._plain: dict[str, Any] = {}
        self.ended = False  # the stream ended with no document at all

    def scalar(self, event: Any) -> Any:
        tag = event.tag
        value = event.value
        if tag is None or tag == "!":
            if event.style or not event.implicit[0]:
                return value  # quoted (or explicitly non-specific): a string
            try:
                return self._plain[value]
            except KeyError:
                pass
            result = _plain_value(value)
            self._plain[value] = result
            return result
        if tag == _STR:
            return value
        if tag == _NULL:
            if value in _NULL_TEXTS:
                return None
            return self._tag_problem(event, "needs an empty value or null")
        constructor = _CONSTRUCT.get(tag)
        if constructor is not None:
            try:
                return constructor(yaml.ScalarNode(tag, value))
            except _CONSTRUCT_ERRORS:
                return self._tag_problem(event, _EXPECTS[tag])
        return self._tag_problem(event, "")

    def _tag_problem(self, event: Any, why: str) -> str:
        """Record an explicit tag the spec cannot use; the value stays its plain text."""
        tag = _short_tag(event.tag)
        if why:
            message = f"YAML tag {tag} does not fit the value {event.value!r}: {why}"
        else:
            message = f"unsupported YAML tag {tag} on {event.value!r}"
        self.problems.append(
            YamlProblem(
                "tag",
                message,
                _mark(event.start_mark),
                f"remove the tag {tag}; the spec uses plain strings, numbers, booleans and dates",
            )
        )
        return str(event.value)

    def _collection_tag(self, event: Any, allowed: str) -> None:
        """Tags on a mapping or list: only the matching standard one (or none) is allowed."""
        if event.tag in (None, "!", allowed):
            return
        tag = _short_tag(event.tag)
        what = "mapping" if allowed == _MAP else "list"
        self.problems.append(
            YamlProblem(
                "tag",
                f"unsupported YAML tag {tag} on a {what}",
                _mark(event.start_mark),
                f"remove the tag {tag}; the spec uses plain mappings and lists",
            )
        )

    def run(self, loader: Any) -> Any:
        """Consume one document's events; return its root value (None when empty)."""
        get = loader.get_event
        event = get()  # StreamStart
        event = get()
        if isinstance(event, yaml.StreamEndEvent):
            self.ended = True
            return None
        # DocumentStart
        root: Any = None
        # Stack entries: [container, pending key or None, key mark, merges, is_map]
        stack: list[list[Any]] = []
        while True:
            event = get()
            cls = type(event)
            if cls is yaml.DocumentEndEvent:
                break
            pos = _mark(event.start_mark)
            value: Any
            if cls is yaml.ScalarEvent:
                value = self.scalar(event)
                if event.anchor is not None:
                    self.anchors[event.anchor] = value
                is_merge_key = event.value == "<<" and not event.style and event.tag is None
            elif cls is yaml.AliasEvent:
                if event.anchor not in self.anchors:
                    self.problems.append(
                        YamlProblem("syntax", f"unknown alias *{event.anchor}", pos)
                    )
                value = self.anchors.get(event.anchor)
                is_merge_key = False
            elif cls is yaml.MappingStartEvent:
                self._collection_tag(event, _MAP)
                container = YMap(pos)
                if event.anchor is not None:
                    self.anchors[event.anchor] = container
                stack.append([container, _NO_KEY, None, [], True])
                continue
            elif cls is yaml.SequenceStartEvent:
                self._collection_tag(event, _SEQ)
                items = YList(pos)
                if event.anchor is not None:
                    self.anchors[event.anchor] = items
                stack.append([items, _NO_KEY, None, [], False])
                continue
            elif cls is yaml.MappingEndEvent:
                entry = stack.pop()
                value = entry[0]
                self._merge(value, entry[3])
                pos = value.pos
                is_merge_key = False
            elif cls is yaml.SequenceEndEvent:
                value = stack.pop()[0]
                pos = value.pos
                is_merge_key = False
            else:  # pragma: no cover - no other events inside a document
                continue
            if not stack:
                root = value
                continue
            self._add(stack[-1], value, pos, is_merge_key)
        return root

    def _add(self, entry: list[Any], value: Any, pos: Pos, is_merge_key: bool) -> None:
        container = entry[0]
        if not entry[4]:
            container.append(value)
            container.item_pos.append(pos)
            return
        if entry[1] is _NO_KEY:
            if is_merge_key:
                entry[1] = _MERGE_KEY
            elif not isinstance(value, str):
                self.problems.append(
                    YamlProblem(
                        "key-type",
                        f"mapping key must be a string, got {_describe(value)}",
                        pos,
                        "quote the key",
                    )
                )
                entry[1] = _BAD_KEY
            else:
                entry[1] = value
            entry[2] = pos
            return
        key, key_pos = entry[1], entry[2]
        entry[1] = _NO_KEY
        if key is _BAD_KEY:
            return
        if key is _MERGE_KEY:
            entry[3].append((value, pos))
            return
        if key in container:
            first = container.key_pos[key]
            self.problems.append(
                YamlProblem(
                    "duplicate-key",
                    f"duplicate key {key!r}",
                    key_pos,
                    f"first defined at line {first[0]}, column {first[1]}; keep one",
                )
            )
            return
        container[key] = value
        container.key_pos[key] = key_pos
        container.value_pos[key] = pos

    def _merge(self, target: YMap, merges: list[tuple[Any, Pos]]) -> None:
        # Merged keys never override keys written in the mapping itself.
        for value, pos in merges:
            sources = value if isinstance(value, YList) else [value]
            for source in sources:
                if not isinstance(source, YMap):
                    self.problems.append(YamlProblem("tag", "`<<` must merge a mapping", pos))
                    continue
                for k, v in source.items():
                    if k not in target:
                        target[k] = v
                        target.key_pos[k] = source.key_pos[k]
                        target.value_pos[k] = source.value_pos[k]


_NO_KEY = object()
_MERGE_KEY = object()
_BAD_KEY = object()


def _mark(mark: Any) -> Pos:
    return (mark.line + 1, mark.column + 1)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


# PyYAML's "while ..." contexts, in the words of someone reading their own file.
_CONTEXTS = {
    "while scanning a simple key": "a key without its `:`",
    "while scanning a quoted scalar": "the quoted string",
    "while scanning a plain scalar": "the value",
    "while scanning a block scalar": "the `|` or `>` text block",
    "while parsing a block mapping": "the mapping",
    "while parsing a block collection": "the list",
    "while parsing a flow mapping": "the `{...}` mapping",
    "while parsing a flow sequence": "the `[...]` list",
    "while parsing a flow node": "the value",
    "while parsing a block node": "the value",
    "while scanning an anchor": "the anchor",
    "while scanning an alias": "the alias",
    "while scanning a tag": "the tag",
    "while scanning a directive": "the directive",
}


def _tab_at(text: str, line: int, col: int) -> Pos | None:
    """Where a tab sits in the indentation around an error mark (1-based), if one does.

    PyYAML reports a tab used for indentation at the tab ("found character that cannot
    start any token") or at the start of the line ("tab character that violates
    indentation"); either way the fix is the same.
    """
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return None
    current = lines[line - 1]
    indent = current[: len(current) - len(current.lstrip(" \t"))]
    if "\t" in indent:
        return (line, indent.index("\t") + 1)
    if 1 <= col <= len(current) and current[col - 1] == "\t":
        return (line, col)
    return None


def _syntax_problem(text: str, exc: yaml.MarkedYAMLError) -> YamlProblem:
    """A PyYAML error as one sentence and a hint, without the parser's internals."""
    mark = exc.problem_mark or exc.context_mark
    pos = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    tab = _tab_at(text, *pos)
    if tab is not None:
        return YamlProblem(
            "syntax",
            "YAML syntax error: a tab character is used for indentation",
            tab,
            "replace the tab with spaces; YAML indents with spaces only",
        )
    problem = exc.problem or "invalid YAML"
    hint = ""
    context_mark = exc.context_mark
    if exc.context and context_mark is not None and context_mark is not mark:
        what = _CONTEXTS.get(exc.context, "the part")
        hint = (
            f"check {what} that starts at line {context_mark.line + 1}, "
            f"column {context_mark.column + 1}"
        )
    return YamlProblem("syntax", f"YAML syntax error: {problem}", pos, hint)


def load_yaml(text: str, *, fast: bool = True) -> tuple[Any, list[YamlProblem]]:
    """Parse one YAML document into position-aware data.

    Returns ``(data, problems)``. A syntax error yields ``(None, [problem])``; other
    problems (duplicate keys, unsupported tags) still return the data read. A second
    document in the same file is a syntax error.

    With `fast` (the default) the fast reader is tried first; the data, the problems
    and every position are the same either way (``fast=False`` only skips the try).
    """
    if fast:
        try:
            return _read_fast(text), []
        except _Unusual:
            pass
    return _read_full(text)


class _Unusual(Exception):
    """The fast reader met something only the full reader handles (or reports)."""


class _Source:
    """The text a document was read from by the fast reader, for its positions later.

    It holds the text and, once asked, the full read of it — never the fast-read data,
    so the fast-read mappings (which point here) form no reference cycle and are freed
    as soon as they are dropped.
    """

    __slots__ = ("_twins", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._twins: dict[Pos, YMap] | None = None

    def twin(self, mapping: YMap) -> YMap:
        """The full read of the mapping that starts where `mapping` does.

        The text is read again once per file, on the first question. Two mappings of
        one document never start at the same place (a mapping as a key, which could,
        sends a file to the full reader), so the start says which one it is.
        """
        if self._twins is None:
            full, problems = _read_full(self.text)
            if problems:  # pragma: no cover - the fast read met no problem in this text
                raise RuntimeError("a fast-read document has problems on a second read")
            twins: dict[Pos, YMap] = {}
            pending = [full]
            while pending:
                value = pending.pop()
                if isinstance(value, YMap):
                    twins[value.pos] = value
                    pending.extend(value.values())
                elif isinstance(value, YList):
                    pending.extend(value)
            self._twins = twins
        found = self._twins.get(mapping.pos)
        if found is None or list(found) != list(mapping):  # pragma: no cover - a bug
            raise RuntimeError(f"the two reads of a document differ at {mapping.pos}")
        return found


def _read_fast(text: str) -> Any:
    """The document's data, mappings without key/value positions; `_Unusual` otherwise."""
    loader = _Loader(text)
    source = _Source(text)
    try:
        get = loader.get_event
        get()  # StreamStart
        if type(get()) is yaml.StreamEndEvent:
            return None  # no document at all
        root = _fast_document(get, source)
        if type(get()) is not yaml.StreamEndEvent:
            raise _Unusual  # a second document: the full reader says so
    except yaml.YAMLError as exc:
        raise _Unusual from exc
    finally:
        loader.dispose()
    return root


_ScalarEvent = yaml.ScalarEvent
_MappingStart = yaml.MappingStartEvent
_MappingEnd = yaml.MappingEndEvent
_SequenceStart = yaml.SequenceStartEvent
_SequenceEnd = yaml.SequenceEndEvent
_DocumentEnd = yaml.DocumentEndEvent


def _fast_document(get: Any, source: _Source) -> Any:
    """One document's events (after DocumentStart) → data; `_Unusual` on anything odd.

    One loop with the state in locals: this is the inner loop of reading a large spec.
    A mapping or list goes into its parent when it starts (the order of keys is the
    same), so ending one only restores the parent's state.
    """
    plain: dict[str, Any] = {}
    stack: list[tuple[Any, bool]] = []
    current: Any = None  # the mapping or list being filled (None: at the top)
    in_map = False
    key: Any = _NO_KEY
    root: Any = None
    while True:
        event = get()
        cls = type(event)
        if cls is _ScalarEvent:
            if event.tag is not None or event.anchor is not None:
                raise _Unusual
            value = event.value
            if not event.style and event.implicit[0]:
                try:
                    value = plain[value]
                except KeyError:
                    if value == "<<":
                        raise _Unusual from None  # a merge key (or its text as a value)
                    resolved = plain[value] = _plain_value(value)
                    value = resolved
        elif cls is _MappingStart or cls is _SequenceStart:
            if event.tag is not None or event.anchor is not None:
                raise _Unusual
            mark = event.start_mark
            pos = (mark.line + 1, mark.column + 1)
            new: Any = YMap(pos, source) if cls is _MappingStart else YList(pos)
            if in_map:
                if key is _NO_KEY or key in current:
                    raise _Unusual  # a mapping or list as a key, or a duplicate key
                current[key] = new
            elif current is not None:
                current.append(new)
                current.item_pos.append(pos)
            else:
                root = new
            stack.append((current, in_map))
            current = new
            in_map = cls is _MappingStart
            key = _NO_KEY
            continue
        elif cls is _MappingEnd or cls is _SequenceEnd:
            current, in_map = stack.pop()
            key = _NO_KEY
            continue
        elif cls is _DocumentEnd:
            return root
        else:
            raise _Unusual  # an alias
        if in_map:
            if key is _NO_KEY:
                if type(value) is not str:
                    raise _Unusual  # not a string key: the full reader reports it
                key = value
            else:
                if key in current:
                    raise _Unusual  # a duplicate key: the full reader reports it
                current[key] = value
                key = _NO_KEY
        elif current is not None:
            current.append(value)
            mark = event.start_mark
            current.item_pos.append((mark.line + 1, mark.column + 1))
        else:
            root = value


def _read_full(text: str) -> tuple[Any, list[YamlProblem]]:
    """Every position and every problem (the reader of record)."""
    loader = _Loader(text)
    builder = _Builder()
    try:
        data = builder.run(loader)
        if not builder.ended:
            event = loader.get_event()
            if not isinstance(event, yaml.StreamEndEvent):
                return None, [
                    YamlProblem(
                        "syntax",
                        "YAML syntax error: expected a single document in the file",
                        _mark(event.start_mark),
                        "split the documents into separate files",
                    )
                ]
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(text, exc)]
    except yaml.YAMLError as exc:  # reader errors (bad characters) carry no mark
        return None, [YamlProblem("syntax", f"YAML error: {exc}", (1, 1))]
    finally:
        loader.dispose()
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
            child = current[part]
            if not current.positions_read and isinstance(child, YMap | YList):
                # Read fast (so no alias): a nested mapping or list is where it starts,
                # and its text need not be read again to say so.
                best = child.pos
            else:
                best = current.value_pos.get(part, best)
            current = child
        elif isinstance(current, YList) and isinstance(part, int):
            if not 0 <= part < len(current):
                return best
            best = current.item_pos[part]
            current = current[part]
        else:
            return best
    return best
