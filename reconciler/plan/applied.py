"""The applied record: what apply last wrote on a resource, and what a difference means.

Every write of apply leaves on the resource a compact record of the declared fields it
applied (a tag on galleries, definitions, versions and managed images; a metadata entry
on pools). The planner ignores the record when diffing and reads it to tell, for each
path where the spec and Azure differ:

- *spec* (pending): the spec moved away from what was applied, Azure did not;
- *drift*: Azure moved away from what was applied (someone changed it), the spec did not;
- *both*: each moved;
- *unrecorded*: no usable record (the resource predates records, was adopted by hand,
  or the record is damaged): the planner counts such differences as drift, as it did
  before records existed, so a scheduled `drift` keeps alerting; the next apply records.

Format (version 1): ``1`` + ``.`` (complete) or ``+`` (cut short) + entries, sorted.
An entry is 6 base64url characters: 3 for the path (18 bits of SHA-256 of the path), 3
for the value (18 bits of SHA-256 of path and comparable value, see
`reconciler.plan.diff.comparable`). Secret references record only that a value was
present (``~~~``): no hash of a secret is ever written. Paths whose 3-character keys
collide record ``???``, which classifies as unrecorded. The text is cut into values of
at most 250 characters (Azure: tag values up to 256) under ``reconcile-applied``,
``reconcile-applied-2``, ... (at most `MAX_PARTS`, so a resource keeps room for its own
tags under Azure's 50); a record that does not fit is cut short, and paths it lacks
classify as unrecorded. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from reconciler.plan.diff import comparable, normalise_path
from reconciler.secrets import is_secret
from reconciler.state.model import APPLIED_METADATA_KEY, APPLIED_TAG, Kind

VERSION = "1"
PART_CHARS = 250
MAX_PARTS = 4
KEY_CHARS = 3
VALUE_CHARS = 3
SECRET = "~~~"  # a secret reference was applied: only its presence is recorded
AMBIGUOUS = "???"  # two applied paths share a key: neither can be classified


class Cause(StrEnum):
    """Why one path differs (see module doc). Values appear in JSON plans."""

    SPEC = "spec"
    DRIFT = "drift"
    BOTH = "spec+drift"
    UNRECORDED = "unrecorded"


def record_base(kind: Kind) -> str:
    """The flat path of the record's first part on a resource of `kind`."""
    return f"metadata.{APPLIED_METADATA_KEY}" if kind is Kind.POOL else f"tags.{APPLIED_TAG}"


def record_paths(kind: Kind, parts: int = MAX_PARTS) -> tuple[str, ...]:
    """The flat paths of every part the record may use on a resource of `kind`."""
    base = record_base(kind)
    return (base, *(f"{base}-{n}" for n in range(2, parts + 1)))


def is_record_path(kind: Kind, path: str) -> bool:
    """True for the record's own paths (never recorded, never diffed)."""
    return path in record_paths(kind)


def _b64(data: bytes, chars: int) -> str:
    return base64.urlsafe_b64encode(data).decode()[:chars]


@lru_cache(maxsize=8192)  # the same few paths, for every resource an apply writes
def path_key(path: str) -> str:
    """3 base64url characters naming a (normalised) path in the record."""
    return _b64(hashlib.sha256(path.encode()).digest(), KEY_CHARS)


def token(kind: Kind, path: str, value: Any) -> str | None:
    """The record's token for `value` at `path`; None when absent (and no default)."""
    if is_secret(value):
        return SECRET
    normal = comparable(kind, path, value)
    if normal is None:
        return None
    if isinstance(normal, tuple):
        normal = list(normal)
    text = json.dumps([path, normal], separators=(",", ":"), sort_keys=True, default=str)
    return _b64(hashlib.sha256(text.encode()).digest(), VALUE_CHARS)


def encode(kind: Kind, props: Mapping[str, Any]) -> dict[str, str]:
    """The record of writing `props` (declared, secret references unresolved), as flat
    paths → values ready to merge into the props sent to Azure."""
    entries: dict[str, str] = {}
    for raw_path, value in props.items():
        if is_record_path(kind, raw_path):
            continue
        path = normalise_path(raw_path)
        recorded = token(kind, path, value)
        if recorded is None:
            continue
        key = path_key(path)
        entries[key] = AMBIGUOUS if key in entries else recorded
    body = "".join(key + entries[key] for key in sorted(entries))
    room = PART_CHARS * MAX_PARTS - 2
    room -= room % (KEY_CHARS + VALUE_CHARS)
    text = VERSION + ("." if len(body) <= room else "+") + body[:room]
    parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)]
    return dict(zip(record_paths(kind, len(parts)), parts, strict=True))


@dataclass(frozen=True, slots=True)
class Record:
    """A decoded record: path key → token, and whether it was cut short."""

    entries: Mapping[str, str]
    partial: bool = False

    def at(self, path: str) -> str | None:
        """The token applied at `path`, None if it was absent; AMBIGUOUS when unknown."""
        found = self.entries.get(path_key(normalise_path(path)))
        if found is None and self.partial:
            return AMBIGUOUS
        return found


def decode(kind: Kind, live: Mapping[str, Any]) -> Record | None:
    """The record on a live resource's flat properties; None when absent or unreadable."""
    text = ""
    for path in record_paths(kind):
        part = live.get(path)
        if not isinstance(part, str):
            break
        text += part
    if len(text) < 2 or text[0] != VERSION or text[1] not in ".+":
        return None
    body = text[2:]
    size = KEY_CHARS + VALUE_CHARS
    if len(body) % size:
        return None
    entries = {
        body[i : i + KEY_CHARS]: body[i + KEY_CHARS : i + size] for i in range(0, len(body), size)
    }
    return Record(entries, partial=text[1] == "+")


def classify(kind: Kind, path: str, desired: Any, live: Any, record: Record | None) -> Cause:
    """Why `path` differs between the spec (`desired`) and Azure (`live`); see module doc."""
    if record is None:
        return Cause.UNRECORDED
    applied = record.at(path)
    if applied == AMBIGUOUS:
        return Cause.UNRECORDED
    path = normalise_path(path)
    want = token(kind, path, desired)
    # Against a recorded secret the live value is the resolved secret: presence only.
    present = SECRET if live is not None else None
    have = present if applied == SECRET else token(kind, path, live)
    spec_moved = want != applied
    azure_moved = have != applied
    if spec_moved and azure_moved:
        return Cause.BOTH
    if azure_moved:
        return Cause.DRIFT
    if spec_moved:
        return Cause.SPEC
    # Both equal the record, yet they differ: a token collision (1 in 262,144).
    return Cause.UNRECORDED


def change_cause(causes: list[Cause]) -> str:
    """One label for a change from its paths' causes: spec, drift, spec+drift, unrecorded."""
    spec = any(c in (Cause.SPEC, Cause.BOTH) for c in causes)
    drift = any(c in (Cause.DRIFT, Cause.BOTH) for c in causes)
    unrecorded = any(c is Cause.UNRECORDED for c in causes)
    if spec and (drift or unrecorded):
        return Cause.BOTH.value
    if drift:
        return Cause.DRIFT.value
    if unrecorded:
        return Cause.UNRECORDED.value
    return Cause.SPEC.value


__all__ = [
    "Cause",
    "Record",
    "change_cause",
    "classify",
    "decode",
    "encode",
    "is_record_path",
    "record_paths",
    "token",
]
