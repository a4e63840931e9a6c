"""Reading spec files: paths → YAML → validated models, every problem as a `Diagnostic`.

`load_spec` is the entry point. It never raises for a problem in the user's files:
YAML syntax errors, duplicate keys, unknown keys (with "did you mean"), wrong
types, missing keys, invalid values, duplicate names across files and dangling
references are all collected, each with ``file:line:col``, and returned together.

Each top-level resource (a gallery with its definitions and versions, a managed
image, a Batch account with its pools) is validated on its own, and one that fails
keeps the children that did not (`_salvage`): a broken version leaves its
definition and sibling versions, a broken pool its account and sibling pools.
Resolution, sizing and the Batch rules then run on everything that validated
(`reconciler.spec.resolve`), so one run reports every problem; the addresses of
what failed (`Loaded.broken`) keep references to them from being called dangling.

Directories are read recursively (``*.yaml`` and ``*.yml``, sorted), and all files
merge into one spec. `defaults:` apply to the file they are written in;
`settings:` are global and must agree where several files set them.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import re
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler.diagnostics import Diagnostic, diag, sort_key
from reconciler.spec import ids
from reconciler.spec.hints import type_hint
from reconciler.spec.models import (
    API_VERSION,
    PATTERN_HELP,
    SECTIONS,
    Defaults,
    ImageDefinition,
    ImageVersion,
    Pool,
    Settings,
    SpecDocument,
    SpecHeader,
    SpecModel,
)
from reconciler.spec.resolved import ResolvedSpec
from reconciler.spec.yamlpos import YList, YMap, load_yaml, position_of


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What `load_spec` returns.

    `spec` is the resolved spec when there is no error (warnings allowed), else None.
    `draft` is the (possibly partial) resolved spec even when there are errors, for
    display only (validate's summary); never plan or apply from it.
    `diagnostics` are sorted by file, line, column.
    """

    spec: ResolvedSpec | None
    diagnostics: tuple[Diagnostic, ...]
    draft: ResolvedSpec | None = None
    files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """Only the errors."""
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """Only the warnings."""
        return tuple(d for d in self.diagnostics if not d.is_error)


@dataclass(slots=True)
class Item:
    """One validated top-level resource and the raw data it came from.

    When some of its children failed validation, `model` holds only the children that
    passed, and `kept` maps the path of each shortened list to the raw indices of the
    children kept: ``()`` for the images of a gallery or the pools of an account,
    ``(j,)`` for the versions of raw image ``j``.
    """

    file: str
    section: str
    index: int
    model: Any
    raw: YMap
    kept: dict[tuple[int, ...], tuple[int, ...]] = field(default_factory=dict)

    def entries(self, models: Sequence[Any], *at: int) -> Iterable[tuple[int, Any]]:
        """The child `models` of the list at `at`, each with its index in the raw list."""
        kept = self.kept.get(at)
        return enumerate(models) if kept is None else zip(kept, models, strict=True)


@dataclass(slots=True)
class FileDoc:
    """One file after validation: header, valid items, and addresses of broken ones."""

    file: str
    raw: YMap
    header: SpecHeader
    items: list[Item] = field(default_factory=list)
    defaults_broken: bool = False  # `defaults:` failed validation: do not report what it lacks


@dataclass(slots=True)
class Loaded:
    """Everything read, handed to resolution."""

    docs: list[FileDoc]
    # Addresses that exist in YAML but failed validation; ``<kind>:<parent>/*`` when
    # the broken resource has no usable name (any sibling might be the one meant).
    broken: set[str]
    diagnostics: list[Diagnostic]
    files: tuple[str, ...]
    digest: str


def expand_paths(paths: Sequence[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Files named by `paths`: files as given, directories recursively (*.yaml, *.yml)."""
    files: list[Path] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
            if not found:
                problems.append(
                    diag(
                        "RC010",
                        f"no *.yaml or *.yml files in directory {str(raw)!r}",
                        hint="point at a spec file or a directory holding spec files",
                        at=(str(raw), 1, 1),
                    )
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(
                diag(
                    "RC010",
                    f"no such file or directory: {str(raw)!r}",
                    hint="check the path; without one, commands read specs/",
                    at=(str(raw), 1, 1),
                )
            )
    unique = list(dict.fromkeys(files))
    return unique, problems


def read_files(paths: Sequence[str | Path]) -> Loaded:
    """Read and validate every file; no resolution yet."""
    files, diagnostics = expand_paths(paths)
    docs: list[FileDoc] = []
    broken: set[str] = set()
    digest = hashlib.sha256()
    for path in files:
        name = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            diagnostics.append(diag("RC001", f"cannot read file: {exc}", at=(name, 1, 1)))
            continue
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
        doc = _read_one(name, text, diagnostics, broken)
        if doc is not None:
            docs.append(doc)
    return Loaded(docs, broken, diagnostics, tuple(str(f) for f in files), digest.hexdigest())


def _read_one(
    name: str, text: str, diagnostics: list[Diagnostic], broken: set[str]
) -> FileDoc | None:
    data, problems = load_yaml(text)
    for p in problems:
        code = {"syntax": "RC001", "duplicate-key": "RC002", "tag": "RC004", "key-type": "RC004"}[
            p.kind
        ]
        diagnostics.append(diag(code, p.message, hint=p.hint, at=(name, *p.pos)))
    if any(p.kind == "syntax" for p in problems):
        return None
    if data is None:
        diagnostics.append(
            diag(
                "RC008",
                "the file is empty",
                hint=f"a spec file starts with `apiVersion: {API_VERSION}`",
                at=(name, 1, 1),
            )
        )
        return None
    if not isinstance(data, YMap):
        diagnostics.append(
            diag(
                "RC004",
                f"expected a mapping at the top of the file, got {_type_name(data)}",
                hint=f"a spec file is a mapping starting with `apiVersion: {API_VERSION}`",
                at=(name, 1, 1),
            )
        )
        return None
    try:
        header = SpecHeader.model_validate(data)
    except ValidationError as exc:
        diagnostics.extend(_from_validation(exc, SpecDocument, data, (), name))
        # Salvage the resource lists when only the header is wrong.
        failed = {e["loc"][0] for e in exc.errors() if e["loc"]}
        if any(
            section in failed for section in SECTIONS if not isinstance(data.get(section), list)
        ):
            return None
        # Keep what did validate so one bad header key does not cascade.
        header = SpecHeader.model_construct(
            apiVersion=API_VERSION,
            settings=_try(Settings, data.get("settings")) if "settings" not in failed else None,
            defaults=_try(Defaults, data.get("defaults")) if "defaults" not in failed else None,
        )
        defaults_broken = "defaults" in failed
    else:
        defaults_broken = False
    doc = FileDoc(name, data, header, defaults_broken=defaults_broken)
    for section, model in SECTIONS.items():
        raw_list = data.get(section)
        if not isinstance(raw_list, YList):
            continue
        for index, raw in enumerate(raw_list):
            if not isinstance(raw, YMap):
                diagnostics.append(
                    diag(
                        "RC004",
                        f"expected a mapping for {section}[{index}], got {_type_name(raw)}",
                        at=(name, *raw_list.item_pos[index]),
                    )
                )
                continue
            try:
                validated = model.model_validate(raw)
            except ValidationError as exc:
                diagnostics.extend(_from_validation(exc, model, data, (section, index), name))
                salvaged = _salvage(section, raw, exc, broken)
                if salvaged is not None:
                    doc.items.append(Item(name, section, index, *salvaged))
                continue
            doc.items.append(Item(name, section, index, validated, raw))
    return doc


def _try(model: type[SpecModel], raw: Any) -> Any:
    if raw is None:
        return None
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


# The lists whose items are resources of their own, per top-level section: when a
# resource fails validation, its valid children still resolve and get checked.
_CHILDREN: dict[str, tuple[str, type[SpecModel], str | None, type[SpecModel] | None]] = {
    "galleries": ("images", ImageDefinition, "versions", ImageVersion),
    "batchAccounts": ("pools", Pool, None, None),
}


def _salvage(
    section: str, raw: YMap, exc: ValidationError, broken: set[str]
) -> tuple[Any, YMap, dict[tuple[int, ...], tuple[int, ...]]] | None:
    """What of a resource that failed validation is still valid: ``(model, raw, kept)``.

    The errors are already reported; this only decides which parts failed (by the
    location of each error) and rebuilds the resource from the parts that did not.
    A failed parent takes its children with it (they cannot be placed without it);
    a failed child leaves its parent and siblings alone. Failed parts go to `broken`.
    """
    name = _name(raw)
    if section not in _CHILDREN or name is None:
        broken.update(_raw_addresses(section, raw))
        return None
    key, child_model, grand_key, grand_model = _CHILDREN[section]
    own, children, grandchildren = False, set(), set()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if len(loc) < 2 or loc[0] != key:
            own = True
        elif grand_key is None or len(loc) < 4 or loc[2] != grand_key:
            children.add(loc[1])
        else:
            grandchildren.add((loc[1], loc[3]))
    raw_children = raw.get(key) or []
    model = _try(SECTIONS[section], _without(raw, key)) if not own else None
    if model is None:
        broken.update(_raw_addresses(section, raw))
        return None
    kept: dict[tuple[int, ...], tuple[int, ...]] = {}
    valid: list[Any] = []
    indices: list[int] = []
    for j, c_raw in enumerate(raw_children):
        c_name = _name(c_raw)
        if j in children:
            broken.update(_raw_addresses(section, raw, only=j))
            continue
        failed = sorted(k for jj, k in grandchildren if jj == j)
        if not failed:
            child = _try(child_model, c_raw)
        else:
            assert grand_key is not None and grand_model is not None and c_name is not None
            child = _try(child_model, _without(c_raw, grand_key))
            ok = [k for k in range(len(c_raw[grand_key])) if k not in failed]
            grand = [_try(grand_model, c_raw[grand_key][k]) for k in ok]
            if child is not None and None not in grand:
                child = child.model_copy(update={grand_key: grand})
                kept[(j,)] = tuple(ok)
            else:
                child = None
            for k in failed:
                broken.add(ids.version_address(name, c_name, _name(c_raw[grand_key][k]) or "*"))
        if child is None:  # not expected: pydantic reported no error in these parts
            broken.update(_raw_addresses(section, raw, only=j))
            continue
        valid.append(child)
        indices.append(j)
    kept[()] = tuple(indices)
    return model.model_copy(update={key: valid}), raw, kept


def _without(raw: YMap, key: str) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k != key}


def _name(raw: Any) -> str | None:
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else None


def _raw_addresses(section: str, raw: YMap, *, only: int | None = None) -> set[str]:
    """Addresses declared by a resource that failed validation (to avoid knock-on errors).

    With `only`, just the child at that index of the resource's list (and its children).
    A resource without a usable name is ``<kind>:...*``: it might be the one any
    reference to its kind (under the same parent) means.
    """
    name = _name(raw)
    if section == "managedImages":
        return {ids.managed_image_address(name or "*")}
    if section == "batchAccounts":
        if only is not None:
            return {ids.pool_address(name or "*", _name(raw["pools"][only]) or "*")}
        return {ids.batch_account_address(name or "*")}
    if name is None:
        return {ids.gallery_address("*")}
    out = set() if only is not None else {ids.gallery_address(name)}
    images = raw.get("images")
    for j, image in enumerate(images if isinstance(images, list) else []):
        if only is not None and j != only:
            continue
        i_name = _name(image)
        out.add(ids.image_address(name, i_name or "*"))
        versions = image.get("versions") if i_name is not None else None
        for version in versions if isinstance(versions, list) else []:
            out.add(ids.version_address(name, i_name, _name(version) or "*"))  # type: ignore[arg-type]
    return out


# --- pydantic errors → diagnostics ------------------------------------------------

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "int_parsing": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "float_type": "a number",
    "none_required": "nothing (null)",
}
# The JSON type each of those error kinds expects, by the kind's first word.
_JSON_TYPES = {
    "string": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "tuple": "array",
    "dict": "object",
    "model": "object",
    "date": "date",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value:g}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!s}"


def _strip(tp: Any) -> Any:
    """Unwrap Annotated and Optional to the interesting type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    tp: Any = model
    for part in loc:
        tp = _strip(tp)
        origin = typing.get_origin(tp)
        if isinstance(part, int):
            if origin is not list:
                return None
            tp = typing.get_args(tp)[0]
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            f = tp.model_fields.get(part)
            if f is None:
                return None
            tp = f.annotation
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _strip(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _path_text(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _address_for(root: YMap, loc: Sequence[str | int]) -> str | None:
    """Best-effort address of the resource that contains `loc` (from raw names)."""

    def name_at(*path: str | int) -> str | None:
        node: Any = root
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        value = node.get("name") if isinstance(node, dict) else None
        return value if isinstance(value, str) else None

    if len(loc) < 2:
        return None
    section, i = loc[0], loc[1]
    top = name_at(section, i)
    if top is None:
        return None
    if section == "galleries":
        if len(loc) >= 4 and loc[2] == "images":
            image = name_at(section, i, "images", loc[3])
            if image is None:
                return ids.gallery_address(top)
            if len(loc) >= 6 and loc[4] == "versions":
                version = name_at(section, i, "images", loc[3], "versions", loc[5])
                if version is not None:
                    return ids.version_address(top, image, version)
            return ids.image_address(top, image)
        return ids.gallery_address(top)
    if section == "managedImages":
        return ids.managed_image_address(top)
    if section == "batchAccounts":
        if len(loc) >= 4 and loc[2] == "pools":
            pool = name_at(section, i, "pools", loc[3])
            if pool is not None:
                return ids.pool_address(top, pool)
        return ids.batch_account_address(top)
    return None


def _from_validation(
    exc: ValidationError,
    model: type[SpecModel],
    root: YMap,
    prefix: tuple[str | int, ...],
    file: str,
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    errors = exc.errors(include_url=False)
    # A misspelt key shows up twice: unknown `osStat` and missing `osState`. Report the
    # misspelling only (its hint names the right key).
    suggested: set[tuple[str | int, ...]] = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            parent = _model_at(model, loc[:-1])
            if parent is not None:
                for guess in difflib.get_close_matches(
                    str(loc[-1]), list(parent.model_fields), 1, 0.6
                ):
                    suggested.add((*loc[:-1], guess))
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "missing" and loc in suggested:
            continue
        full = prefix + loc
        address = _address_for(root, full)
        out.append(_one_error(error, model, loc, full, root, file, address))
    return out


def _one_error(
    error: Any,
    model: type[SpecModel],
    loc: tuple[str | int, ...],
    full: tuple[str | int, ...],
    root: YMap,
    file: str,
    address: str | None,
) -> Diagnostic:
    kind = error["type"]
    value = error.get("input")
    field_name = next((p for p in reversed(full) if isinstance(p, str)), "value")
    path = _path_text(full)
    pos = position_of(root, full) or (1, 1)
    at = (file, *pos)
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = sorted(parent.model_fields) if parent else []
        unknown = str(loc[-1])
        match = difflib.get_close_matches(unknown, allowed, n=1, cutoff=0.6)
        if not match:
            lowered = {a.lower(): a for a in allowed}
            match = [lowered[unknown.lower()]] if unknown.lower() in lowered else []
        hint = f"did you mean {match[0]!r}?" if match else ""
        if parent is not None and (parent.__name__, unknown) in _NOT_SUPPORTED:
            hint = _NOT_SUPPORTED[(parent.__name__, unknown)]
        if allowed:
            hint = (hint + " " if hint else "") + f"allowed keys here: {', '.join(allowed)}"
        where = _path_text(full[:-1])
        return diag(
            "RC003",
            f"unknown key {unknown!r} in {where}",
            hint=hint,
            address=address,
            at=(file, *(position_of(root, full, key=True) or pos)),
        )
    if kind == "missing":
        parent = _model_at(model, loc[:-1])
        description = ""
        if parent is not None:
            f = parent.model_fields.get(str(loc[-1]))
            description = (f.description or "") if f else ""
        hint = f"add `{field_name}:`" + (f" ({description})" if description else "")
        return diag(
            "RC005",
            f"missing required key {field_name!r} in {_path_text(full[:-1])}",
            hint=hint,
            address=address,
            at=at,
        )
    if kind in _TYPE_WORDS:
        expected = _TYPE_WORDS[kind]
        hint = type_hint(field_name, _JSON_TYPES.get(kind.split("_")[0], ""), value)
        return diag(
            "RC004",
            f"wrong type for {path}: expected {expected}, got {_type_name(value)}",
            hint=hint,
            address=address,
            at=at,
        )
    if kind == "literal_error" and full == ("apiVersion",):
        return diag(
            "RC008",
            f"unsupported apiVersion {_type_name(value)}",
            hint=f"this version of reconcile reads `apiVersion: {API_VERSION}`",
            at=at,
        )
    if kind in ("literal_error", "enum"):
        expected_text = error.get("ctx", {}).get("expected", "")
        choices = re.findall(r"'([^']*)'", expected_text)
        hint = ""
        if isinstance(value, str) and choices:
            lowered = {c.lower(): c for c in choices}
            guess = lowered.get(value.lower()) or next(
                iter(difflib.get_close_matches(value, choices, n=1, cutoff=0.6)), None
            )
            if guess:
                hint = f"did you mean {guess!r}? (values are case-sensitive)"
        return diag(
            "RC011",
            f"invalid value {_type_name(value)} for {path}: expected one of {', '.join(choices) or expected_text}",
            hint=hint,
            address=address,
            at=at,
        )
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        expected = PATTERN_HELP.get(pattern, f"a string matching {pattern}")
        return diag(
            "RC011",
            f"invalid value {_type_name(value)} for {path}: expected {expected}",
            address=address,
            at=at,
        )
    if kind in (
        "greater_than_equal",
        "less_than_equal",
        "greater_than",
        "less_than",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
    ):
        ctx = error.get("ctx", {})
        bound = {
            "greater_than_equal": f"at least {ctx.get('ge')}",
            "less_than_equal": f"at most {ctx.get('le')}",
            "greater_than": f"more than {ctx.get('gt')}",
            "less_than": f"less than {ctx.get('lt')}",
            "too_short": f"at least {ctx.get('min_length')} item(s)",
            "too_long": f"at most {ctx.get('max_length')} item(s)",
            "string_too_short": f"at least {ctx.get('min_length')} character(s)",
            "string_too_long": f"at most {ctx.get('max_length')} characters",
        }[kind]
        hint = _RANGE_HINTS.get(field_name, "")
        shown = _type_name(value) if not isinstance(value, dict | list) else _type_name(value)
        return diag(
            "RC011",
            f"invalid value {shown} for {path}: must be {bound}",
            hint=hint,
            address=address,
            at=at,
        )
    message = error.get("msg", "invalid value")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return diag(
        "RC011", f"{path}: {message}", hint=_VALUE_HINTS.get(field_name, ""), address=address, at=at
    )


#: Keys Azure has but the spec deliberately leaves out, and what to write instead
#: (a bare "unknown key" would read like a typo).
_NOT_SUPPORTED = {
    ("UserIdentity", "userName"): "a named user is not supported: it must be one of the "
    "pool's user accounts, which the spec does not declare; run the start task as the "
    "auto user with `elevationLevel: Admin` (or NonAdmin) and `scope: Pool` (or Task).",
}

#: How to fix a value that breaks a rule spanning a model's fields, by the field's key.
_VALUE_HINTS = {
    "image": "write one of {gallery: G, definition: D} (version optional), {managedImage: NAME}, "
    "{id: IMAGE_ID}, or a Marketplace image {publisher: P, offer: O, sku: S} (version "
    "optional, latest by default)",
}

_RANGE_HINTS = {
    "vmsPerReplica": "R1: one gallery replica serves at most 600 VMs; lower values add headroom",
    "minutesPer1000Nodes": "R2: resizeTimeout needs at least 15 minutes per 1000 nodes",
    "taskSlotsPerNode": "Batch allows at most 256 (and at most 4 × the VM size's cores)",
    "tags": "Azure allows at most 50 tags, values up to 256 characters",
}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic objects.

    Loading allocates hundreds of thousands of dicts, tuples and dataclasses, none of
    them in reference cycles; with the collector on, its repeated full passes over
    them cost more than the loading itself (measured: 2x on a 10,000-resource spec).

    On the way out, what was allocated meanwhile joins the oldest generation
    (`gc.freeze` then `gc.unfreeze`, which only move lists of objects): left in the
    youngest, the first collection after the pause would walk every one of them
    (≈0.2 s at 10,000 resources). The oldest generation is still collected as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def load_spec(
    paths: Sequence[str | Path],
    *,
    today: Any = None,
) -> LoadResult:
    """Load, validate and resolve spec files (or directories of them).

    Never raises for problems in the files; they are returned as diagnostics.
    `today` (a `datetime.date`) is used by date-dependent rules (end-of-life
    warnings); it defaults to the current UTC date.
    """
    from reconciler.spec.resolve import resolve  # resolve imports this module

    with gc_paused():
        loaded = read_files(paths)
        draft, more = resolve(loaded, today=today)
    diagnostics = tuple(sorted([*loaded.diagnostics, *more], key=sort_key))
    ok = not any(d.is_error for d in diagnostics)
    return LoadResult(
        spec=draft if ok else None,
        diagnostics=diagnostics,
        draft=draft,
        files=loaded.files,
    )
