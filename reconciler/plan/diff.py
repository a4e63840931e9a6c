"""Diff of one desired resource against its live counterpart, limited to what the spec declares.

The diff walks the *desired* paths (never the many fields Azure returns that the spec
does not set), plus live members of collections the spec declares completely
(``targetRegions[…]``, ``scale.…``, ``startTask.environment.…``, ``source.…``,
``network.inboundNatPools[…]``) that the spec no longer has. Both sides are normalised
first (location and id casing, ISO-8601 durations, enum casing, list order) and a value
one side omits is compared with Azure's documented default, so a plan never shows a
change that apply would not make (no perpetual diffs).

Secret references (``${env:NAME}``) are compared by presence only: the live value is a
resolved secret the plan must never carry, so both sides show ``***``.

Each changed path is classified by `reconciler.state.fields.rule_for`; the action of the
resource follows from the strongest mode among its paths.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from reconciler.plan.model import Action
from reconciler.secrets import MASK, is_secret
from reconciler.state import surface
from reconciler.state.fields import VERSION_UPDATE, UpdateMode, rule_for
from reconciler.state.model import Kind, canonical_duration, canonical_id, canonical_location

# Azure's documented default for a value one side omits (path regex per kind). A live
# value equal to the default of an undeclared path is not a difference.
DEFAULTS: dict[Kind, tuple[tuple[str, Any], ...]] = {
    Kind.IMAGE: (("hyperVGeneration", "V1"), ("architecture", "x64")),
    Kind.VERSION: (("excludeFromLatest", False),),
    Kind.POOL: (
        (r"scale\.fixed\.dedicated", 0),
        (r"scale\.fixed\.lowPriority", 0),
        (r"scale\.fixed\.resizeTimeout", "PT15M"),
        (r"taskSlotsPerNode", 1),
        (r"interNodeCommunication", "Disabled"),
        (r"startTask\.maxTaskRetryCount", 0),
        (r"startTask\.waitForSuccess", True),
        (r"startTask\.userIdentity\.elevationLevel", "NonAdmin"),
        (r"startTask\.userIdentity\.scope", "Pool"),
        (r"scale\.autoScale\.evaluationInterval", "PT15M"),
        (r"image\.version", "latest"),
    ),
}

# Paths whose live values may hold resolved secrets: always shown masked.
SECRET_PREFIXES = ("startTask.environment.",)

# Enumerations Azure echoes in its own casing (``nonAdmin``, ``Standard_lrs``…).
_CASELESS = re.compile(
    r"(^|\.)(osType|osState|hyperVGeneration|architecture|storageAccountType|elevationLevel"
    r"|scope|protocol|interNodeCommunication|publicIPAddressProvisioningType"
    r"|nodeDeallocationOption|vmSize)$"
    # Marketplace names: Azure matches them case-blind (`Canonical` is `canonical`).
    r"|^image\.(publisher|offer|sku|version)$"
)
_DURATION_PATH = re.compile(r"(resizeTimeout|evaluationInterval)$")
_ID_PATH = re.compile(
    r"^(image\.id|source\.[A-Za-z]+(\.[A-Za-z]+)?(\[[^\]]*\])?|network\.subnetId|network\.publicIPs"
    r"|targetRegions\[[^\]]*\]\..*(?:SetId|Id|\.id))$"
)
_LOCATION_KEY = re.compile(r"^targetRegions\[([^\]]*)\]")

# Adding or removing a whole member of a keyed collection can be cheaper than changing
# one of its fields: a new target region is an in-place update, although a region's
# storageAccountType alone is not updatable.
ITEM_MODES: dict[tuple[Kind, str], tuple[UpdateMode, str]] = {
    (Kind.VERSION, "targetRegions["): (UpdateMode.IN_PLACE, VERSION_UPDATE),
}

# How much each mode weighs when deciding a resource's action.
_STRENGTH = {
    UpdateMode.IN_PLACE: 1,
    UpdateMode.RESIZE: 0,
    UpdateMode.AT_ZERO_NODES: 2,
    UpdateMode.REPLACE: 3,
}


@dataclass(frozen=True, slots=True)
class PathChange:
    """One differing path: values as written on each side (None = absent), its mode, why,
    and the code of the rule that decided the mode (`reconciler.state.fields`).

    The values are compared normalised but kept as the spec (or Azure) spells them, so
    a plan shows ``Standard_D2s_v5`` rather than the form used for comparing.
    """

    path: str
    before: Any
    after: Any
    mode: UpdateMode
    why: str = ""
    secret: bool = False
    code: str = ""


@dataclass(frozen=True, slots=True)
class ResourceDiff:
    """The differences of one resource and the action they call for."""

    kind: Kind
    paths: tuple[PathChange, ...]

    @property
    def changed_paths(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.paths)

    @property
    def replace_paths(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.paths if p.mode is UpdateMode.REPLACE)

    @property
    def zero_paths(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.paths if p.mode is UpdateMode.AT_ZERO_NODES)

    def action(self) -> Action:
        """The action these differences need (before any pool-state refinement)."""
        if not self.paths:
            return Action.NOOP
        modes = {p.mode for p in self.paths}
        if UpdateMode.REPLACE in modes:
            return Action.REPLACE
        if UpdateMode.AT_ZERO_NODES in modes and self.kind is Kind.POOL:
            return Action.SCALE_TO_ZERO_UPDATE
        if modes == {UpdateMode.RESIZE}:
            return Action.RESIZE
        return Action.UPDATE


_LOCATION, _DURATION, _ID = 1, 2, 3


@functools.lru_cache(maxsize=4096)
def _string_form(path: str) -> int:
    """How string values of `path` are normalised (0: as they are). A plan asks this for
    every path of every resource, of a few hundred distinct paths: the answer is kept."""
    if path == "location":
        return _LOCATION
    if _DURATION_PATH.search(path):
        return _DURATION
    if _ID_PATH.match(path):
        return _ID
    return 0


def normalise_value(path: str, value: Any) -> Any:
    """One value in the form it is compared in (see module doc)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        items = [normalise_value(path, v) for v in value]
        return tuple(sorted(items, key=str))
    if not isinstance(value, str):
        return value
    form = _string_form(path)
    if form == _LOCATION:
        return canonical_location(value)
    if form == _DURATION:
        try:
            return canonical_duration(value)
        except ValueError:
            return value
    if form == _ID:
        return canonical_id(value)
    return value


@functools.lru_cache(maxsize=4096)
def normalise_path(path: str) -> str:
    """Paths keyed by region use canonical region names (``targetRegions[westeurope]``)."""
    match = _LOCATION_KEY.match(path)
    if match:
        return f"targetRegions[{canonical_location(match.group(1))}]" + path[match.end() :]
    return path


def as_written(props: Mapping[str, Any]) -> dict[str, Any]:
    """A flat property mapping keyed by normalised paths, values as given (for display)."""
    out: dict[str, Any] = {}
    for raw_path, value in props.items():
        if value is None:
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, list):
            value = tuple(value)
        out[normalise_path(raw_path)] = value
    return out


def normalise(props: Mapping[str, Any], kind: Kind | None = None) -> dict[str, Any]:
    """A flat property mapping with normalised paths and values (absent values dropped)."""
    out: dict[str, Any] = {}
    # Asked for every path of every resource: the Azure-named test is inlined.
    azure = _AZURE if kind is not None else _NOTHING
    for raw_path, raw_value in props.items():
        path = normalise_path(raw_path)
        if path.startswith(azure):
            value = normal_value(kind, path, raw_value)
        else:
            value = normalise_value(path, raw_value)
        if value is not None:
            out[path] = value
    return out


# Azure-named paths (`reconciler.state.surface.is_azure_path`), as a prefix test.
_AZURE = surface.ROOT_PREFIXES
_NOTHING: tuple[str, ...] = ()


def normal_value(kind: Kind | None, path: str, value: Any) -> Any:
    """`normalise_value`, with Azure-named paths normalised from the field table."""
    if kind is not None and path.startswith(_AZURE):
        if isinstance(value, list):
            value = tuple(value)
        return surface.normal(kind, path, value)
    return normalise_value(path, value)


def default_for(kind: Kind, path: str) -> Any:
    """Azure's default for an omitted `path`, or None when there is none."""
    if path.startswith(_AZURE):
        return surface.default_of(kind, path)
    for pattern, value in DEFAULTS.get(kind, ()):
        if re.fullmatch(pattern, path):
            return value
    return None


def same(path: str, desired: Any, live: Any) -> bool:
    """Whether two normalised values are equal for this path."""
    if isinstance(desired, str) and isinstance(live, str) and _CASELESS.search(path):
        return desired.casefold() == live.casefold()
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    return bool(desired == live)


def comparable(kind: Kind, path: str, value: Any) -> Any:
    """The value as `same` compares it: normalised, Azure's default when absent, casefolded
    where Azure echoes its own casing; None when absent with no default."""
    normal = normal_value(kind, path, value)
    if normal is None:
        normal = default_for(kind, path)
    if isinstance(normal, str) and _CASELESS.search(path):
        return normal.casefold()
    return normal


def _member(collection: str, path: str) -> str | None:
    """The member of `collection` that `path` belongs to (``targetRegions[x]``, ``scale.fixed``)."""
    if not path.startswith(collection):
        return None
    rest = path[len(collection) :]
    if collection.endswith("["):
        end = rest.find("]")
        return None if end < 0 else collection + rest[: end + 1]
    match = re.match(r"[^.\[]+", rest)
    return None if match is None else collection + match.group(0)


def _has_member(props: Mapping[str, Any], member: str) -> bool:
    return any(p == member or p.startswith((member + ".", member + "[")) for p in props)


def _mode_for(
    kind: Kind, path: str, desired: Mapping[str, Any], live: Mapping[str, Any]
) -> tuple[UpdateMode, str, str]:
    for (item_kind, collection), (mode, code) in ITEM_MODES.items():
        if item_kind is not kind:
            continue
        member = _member(collection, path)
        if member is not None and (_has_member(desired, member) != _has_member(live, member)):
            return mode, f"a whole {collection.rstrip('[.')} entry is added or removed", code
    rule = rule_for(kind, path)
    return rule.mode, rule.why, rule.code


def _within(path: str, prefixes: set[str]) -> bool:
    """Whether `path` is one of `prefixes` or lies under one of them."""
    return any(path == p or path.startswith((p + ".", p + "[")) for p in prefixes)


def diff_resource(
    kind: Kind,
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    complete: tuple[str, ...] = (),
) -> ResourceDiff:
    """Differences between desired and live flat properties of one `kind` resource.

    Both mappings may be raw; they are normalised here. `complete` names the collection
    prefixes the spec declares completely (see module doc).
    """
    want = normalise(desired, kind)
    have = normalise(live, kind)
    want_shown = as_written(desired)
    have_shown = as_written(live)
    # Declared null / empty: ensure absent (only Azure-named members can be, so a resource
    # with as many paths as it has declared values has none).
    absent = (
        {normalise_path(p) for p, v in desired.items() if v is None}
        if len(want) != len(desired)
        else set()
    )
    candidates = set(want)
    for path in have:
        if path in want:
            continue
        if path in absent:
            candidates.add(path)
            continue
        for collection in complete:
            member = _member(collection, path)
            if member is not None and not _has_member(want, member):
                candidates.add(path)
                break
    changes: list[PathChange] = []
    for path in sorted(candidates):
        mode, why, code = _mode_for(kind, path, want, have)
        if not mode.diffed or (path.startswith(_AZURE) and surface.is_secret_path(kind, path)):
            # Azure never returns a secret (x-ms-secret): it is written, never compared.
            continue
        after = want.get(path)
        before = have.get(path)
        if absent and after is None and before is not None and _within(path, absent):
            if before == normal_value(kind, path, default_for(kind, path)):
                continue  # Azure's own default where the spec wants nothing: the same
            changes.append(PathChange(path, have_shown.get(path), None, mode, why, code=code))
            continue
        if is_secret(after):
            # Presence only: the live value is the resolved secret.
            if before is None:
                changes.append(PathChange(path, None, MASK, mode, why, secret=True, code=code))
            continue
        effective_after = after if after is not None else default_for(kind, path)
        effective_before = before if before is not None else default_for(kind, path)
        if effective_after is None and effective_before is None:
            continue
        if (
            effective_after is not None
            and effective_before is not None
            and same(path, effective_after, effective_before)
        ):
            continue
        # A live environment value may be a resolved secret (the spec may have used a
        # reference before): never show it.
        secret = path.startswith(SECRET_PREFIXES)
        shown_before = have_shown.get(path)
        changes.append(
            PathChange(
                path,
                MASK if secret and shown_before is not None else shown_before,
                want_shown.get(path),
                mode,
                why,
                secret=secret,
                code=code,
            )
        )
    return ResourceDiff(kind, tuple(changes))
