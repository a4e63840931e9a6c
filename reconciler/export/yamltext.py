"""A small, deterministic YAML writer that keeps comments next to what they explain.

PyYAML cannot write comments and ruamel.yaml is not a dependency, so spec files are
written here: block mappings and sequences, two-space indents, keys in the order given,
scalars quoted by PyYAML's own rules (so what is written reads back as the same value).
A `Commented` wraps any value to put ``# …`` lines above its key or list item, and may
carry an `anchor` whose line number `dump` reports (diagnostics then name
``file:line:col``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

_WIDTH = 1_000_000  # never fold a long scalar onto several lines
# Strings PyYAML would write plain anyway (a letter or / first, no ": ", " #" or ending
# ":"), minus the words YAML 1.1 reads as booleans or null: written without asking it.
_PLAIN = re.compile(r"[A-Za-z/][A-Za-z0-9_ ./@()+=,-]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null"})


@dataclass(frozen=True, slots=True)
class Commented:
    """`value` written with `comments` (one ``# `` line each) above it."""

    value: Any
    comments: tuple[str, ...] = ()
    anchor: str | None = None


def scalar(value: Any) -> str:
    """One scalar as YAML text that reads back as the same value and type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return _quoted(text)


@lru_cache(maxsize=65536)
def _quoted(text: str) -> str:
    """PyYAML's spelling of a string (quoted when it must be), one line."""
    style = '"' if ("\n" in text or "\t" in text) else None
    out = yaml.safe_dump(
        text, default_style=style, width=_WIDTH, allow_unicode=True, explicit_end=False
    )
    out = out.rstrip("\n")
    if out.endswith("\n..."):
        out = out[: -len("\n...")]
    return out


def dump(
    doc: Mapping[str, Any], *, header: Sequence[str] = ()
) -> tuple[str, dict[str, tuple[int, int]]]:
    """YAML text of `doc` after `header` comment lines, and each anchor's (line, col), 1-based."""
    lines: list[str] = [_comment(h) for h in header]
    anchors: dict[str, tuple[int, int]] = {}
    _mapping(doc, 0, lines, anchors, first_prefix=None)
    return "\n".join(lines) + "\n", anchors


def _comment(text: str) -> str:
    return f"# {text}".rstrip()


def _unwrap(value: Any) -> tuple[Any, tuple[str, ...], str | None]:
    if isinstance(value, Commented):
        return value.value, value.comments, value.anchor
    return value, (), None


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _mapping(
    doc: Mapping[str, Any],
    indent: int,
    lines: list[str],
    anchors: dict[str, tuple[int, int]],
    first_prefix: str | None,
) -> None:
    """Write a mapping; the first key goes after `first_prefix` (``- ``) when given."""
    pad = " " * indent
    for index, (key, raw) in enumerate(doc.items()):
        value, comments, anchor = _unwrap(raw)
        lead = first_prefix if (index == 0 and first_prefix is not None) else pad
        for text in comments:
            lines.append(pad + _comment(text))
        if anchor is not None:
            anchors[anchor] = (len(lines) + 1, indent + 1)
        name = scalar(key)
        if _is_block(value):
            lines.append(f"{lead}{name}:")
            _block(value, indent + 2, lines, anchors)
        elif isinstance(value, Mapping | list | tuple):
            lines.append(f"{lead}{name}: {'{}' if isinstance(value, Mapping) else '[]'}")
        else:
            lines.append(f"{lead}{name}: {scalar(value)}")


def _block(value: Any, indent: int, lines: list[str], anchors: dict[str, tuple[int, int]]) -> None:
    if isinstance(value, Mapping):
        _mapping(value, indent, lines, anchors, first_prefix=None)
        return
    pad = " " * indent
    for raw in value:
        item, comments, anchor = _unwrap(raw)
        for text in comments:
            lines.append(pad + _comment(text))
        if anchor is not None:
            anchors[anchor] = (len(lines) + 1, indent + 1)
        if isinstance(item, Mapping) and item:
            _mapping(item, indent + 2, lines, anchors, first_prefix=pad + "- ")
        elif _is_block(item):
            lines.append(f"{pad}-")
            _block(item, indent + 2, lines, anchors)
        else:
            lines.append(f"{pad}- {scalar(item)}")
