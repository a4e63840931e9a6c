"""Secret references (``${env:NAME}``): recognised, masked, and resolved only at apply time."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from reconciler.errors import SecretError

MASK = "***"
#: One reference, ``${env:NAME}`` (the JSON Schema spells a whole-string one with it).
REFERENCE = r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}"
_REF = re.compile(REFERENCE)


def is_reference(value: object) -> bool:
    """True for a string that is exactly one ``${env:NAME}`` reference, nothing around it."""
    return isinstance(value, str) and _REF.fullmatch(value) is not None


def references(value: str) -> tuple[str, ...]:
    """Names of the environment variables a string refers to."""
    return tuple(_REF.findall(value))


def is_secret(value: object) -> bool:
    """True for a string holding at least one ``${env:NAME}`` reference."""
    return isinstance(value, str) and _REF.search(value) is not None


def mask(value: Any) -> Any:
    """The value as it may be shown or saved: references masked, everything else as is."""
    return MASK if is_secret(value) else value


def resolve(value: str, *, environ: Mapping[str, str] | None = None) -> str:
    """Replace every reference in `value` with its environment value; missing → SecretError."""
    env = os.environ if environ is None else environ

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise SecretError(
                f"secret reference ${{env:{name}}} has no value: environment variable {name} is not set",
                hint=f"export {name}=... in the environment that runs `reconcile apply`",
            )
        return env[name]

    return _REF.sub(sub, value)


def resolve_all(
    props: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A copy of a flat property mapping with every secret reference resolved."""
    return {k: resolve(v, environ=environ) if is_secret(v) else v for k, v in props.items()}
