"""Which secret members a REST body needs but lacks — Azure never returns them.

Members Azure marks secret (``x-ms-secret``: a user account's password, an Azure Files
mount's key, a registry password…) are written and never read back. A body copied from
what Azure returned therefore lacks them, and two places need to know which it must have:
a write that would send such a copy (refused before it loses them, `reconciler.azure.merge`)
and `reconcile export`, which writes a ``${env:NAME}`` reference for each one so that the
spec can send them (`reconciler.export.members`).

The rule, per object holding a secret member:
- a required secret (a user's password, an Azure Files key, a CIFS password) is needed;
- a blobfuse mount needs one of a key, a SAS or an identity;
- a container registry with a user name and no identity needs its password;
- other optional secrets (SSH private keys, extension ``protectedSettings``) are not:
  nothing in what Azure returns says they were ever set.

Pure JSON in, paths out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.openapi.surface import writable_fields
from reconciler.state.model import Kind
from reconciler.state.surface import SURFACE_KINDS

# Secrets that are optional on their own but stand for one of a few alternatives: the
# object needs one of the members named (blobfuse: a key, a SAS or an identity).
_ANY_OF: dict[str, tuple[str, ...]] = {
    "azureBlobFileSystemConfiguration": ("accountKey", "sasKey", "identityReference"),
}
# Objects whose password is needed when they name a user and no identity.
_WITH_USER: tuple[str, ...] = ("containerRegistries", "registry")


@dataclass(frozen=True, slots=True)
class MissingSecret:
    """An object in a body (`parent`, REST segments) that lacks a secret: one of `members`."""

    parent: tuple[str | int, ...]
    members: tuple[str, ...]

    @property
    def shown(self) -> str:
        """``properties.userAccounts[0].password`` (alternatives joined by ``or``)."""
        text = ""
        for segment in self.parent:
            text += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
        return f"{text.lstrip('.')}.{' or '.join(self.members)}"


def missing_secrets(kind: Kind, body: Mapping[str, Any]) -> tuple[MissingSecret, ...]:
    """The secret members `body` must have but does not (see the module doc), in the table's order."""
    surface_kind = SURFACE_KINDS.get(kind)
    if surface_kind is None:
        return ()
    out: dict[tuple[tuple[str | int, ...], tuple[str, ...]], None] = {}
    for field in writable_fields(surface_kind):
        if not field.secret:
            continue
        parent_path, member = field.path[:-1], field.path[-1]
        owner = str(parent_path[-1]) if parent_path else ""
        for at, parent in _instances(body, parent_path, ()):
            if not isinstance(parent, Mapping) or parent.get(member) is not None:
                continue
            alternatives = _ANY_OF.get(owner)
            if alternatives is not None:
                if not any(parent.get(a) is not None for a in alternatives):
                    keys = tuple(a for a in alternatives if a != "identityReference")
                    out[(at, keys)] = None
                continue
            if owner in _WITH_USER and member == "password":
                if parent.get("username") and parent.get("identityReference") is None:
                    out[(at, (member,))] = None
                continue
            if field.required:
                out[(at, (member,))] = None
    return tuple(MissingSecret(at, members) for at, members in out)


def _instances(
    doc: Any, path: Sequence[str], at: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if not path:
        yield at, doc
        return
    head, rest = path[0], path[1:]
    if head == "[]":
        if isinstance(doc, list):
            for index, item in enumerate(doc):
                yield from _instances(item, rest, (*at, index))
        return
    if isinstance(doc, Mapping) and head in doc:
        yield from _instances(doc[head], rest, (*at, head))


__all__ = ["MissingSecret", "missing_secrets"]
