"""Secrets in the spec: ``${env:NAME}`` references, their checks, masking and resolution.

The spec never holds a secret value. A start task's command line and environment
values may contain ``${env:NAME}`` references; the resolved model keeps the reference
text. Only `resolve_secrets` (called by apply, never by validate or plan) reads the
environment, and it returns `Revealed` values whose ``str``/``repr`` is ``***`` so
they cannot leak into logs, plans or JSON by accident; ``.reveal()`` gives the text
to put in the Azure request.

Reference syntax and resolution of a single string are shared with the rest of the
tool (`reconciler.secrets`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.diagnostics import Diagnostic, diag
from reconciler.errors import SecretError
from reconciler.secrets import MASK, REFERENCE, references
from reconciler.secrets import resolve as _resolve_one

if TYPE_CHECKING:
    from reconciler.spec.resolved import ResolvedSpec

__all__ = [
    "MASK",
    "UNSET_SECRET",
    "PoolSecrets",
    "Revealed",
    "looks_secret",
    "malformed_references",
    "mask_environment",
    "mask_text",
    "references",
    "resolve_secrets",
    "unset_references",
]

UNSET_SECRET = "RC303"

# Anything that starts like a reference; those not matching the strict form are errors.
_LOOSE = re.compile(r"\$\{[^}]*\}?")
_STRICT = re.compile(REFERENCE)


def malformed_references(text: str) -> tuple[str, ...]:
    """``${...}`` fragments in `text` that are not valid ``${env:NAME}`` references."""
    return tuple(m.group(0) for m in _LOOSE.finditer(text) if not _STRICT.fullmatch(m.group(0)))


_SECRET_WORDS = ("KEY", "SECRET", "PASSWORD", "TOKEN", "PASSWD", "PWD")


def looks_secret(name: str) -> bool:
    """True for an environment variable name such as LICENSE_KEY, DB_PASSWORD, API_TOKEN."""
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


def mask_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """Environment for display: ``***`` for values holding references (as
    `reconciler.secrets.mask` shows them everywhere) and for literal values of
    secret-looking variables (LICENSE_KEY: abc → ***); other values as written."""
    return {k: (MASK if references(v) or looks_secret(k) else v) for k, v in environment.items()}


def mask_text(text: str) -> str:
    """A command line for display: ``***`` when it holds a reference, else as written."""
    return MASK if references(text) else text


class Revealed:
    """A resolved secret-bearing string: prints as ``***``; `reveal()` returns the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real text, for the Azure request body only."""
        return self._value

    def __repr__(self) -> str:
        return f"Revealed({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Revealed) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _refs(resource: Any) -> list[str]:
    """Variables a resource references: its start task's, and its members' under Azure's
    names (mount keys, registry passwords...)."""
    names: list[str] = []
    task = getattr(resource, "start_task", None)
    if task is not None:
        names.extend(task.secret_refs)
    azure = getattr(resource, "azure", None)
    for value in azure.values.values() if azure is not None else ():
        if isinstance(value, str):
            names.extend(references(value))
    return names


def _unset(resources: Iterable[Any], env: Mapping[str, str]) -> dict[str, list[Any]]:
    """Each variable the resources reference but `env` lacks -> the resources needing it."""
    needed: dict[str, list[Any]] = {}
    for resource in resources:
        for name in dict.fromkeys(_refs(resource)):
            if name not in env:
                needed.setdefault(name, []).append(resource)
    return needed


@dataclass(frozen=True, slots=True)
class PoolSecrets:
    """A pool's start task with every reference resolved (values masked when printed)."""

    pool: str
    command_line: Revealed
    environment: Mapping[str, Revealed]


def resolve_secrets(
    spec: ResolvedSpec,
    *,
    environ: Mapping[str, str] | None = None,
    pools: tuple[str, ...] | None = None,
) -> dict[str, PoolSecrets]:
    """Resolve the start-task references of every pool (or of `pools`) from `environ`.

    Returns pool address → `PoolSecrets` for pools with a start task. Raises one
    `SecretError` naming every missing variable and the pools that need it.
    """
    env = os.environ if environ is None else environ
    selected = [p for a, p in spec.pools.items() if pools is None or a in pools]
    missing = _unset(selected, env)
    if missing:
        names = ", ".join(
            f"{name} (needed by {', '.join(p.address for p in where)})"
            for name, where in sorted(missing.items())
        )
        raise SecretError(
            f"secret references have no value: environment variable(s) {names} not set",
            hint="export them in the environment that runs `reconcile apply`, "
            "e.g. from your CI secret store",
        )
    return {
        pool.address: PoolSecrets(
            pool=pool.address,
            command_line=Revealed(_resolve_one(pool.start_task.command_line, environ=env)),
            environment={
                k: Revealed(_resolve_one(v, environ=env))
                for k, v in pool.start_task.environment.items()
            },
        )
        for pool in selected
        if pool.start_task is not None
    }


def unset_references(
    spec: ResolvedSpec, *, environ: Mapping[str, str] | None = None
) -> tuple[Diagnostic, ...]:
    """RC303 warnings: one per ``${env:NAME}`` whose variable is unset in `environ`.

    Apply resolves references and fails on a missing one; saying so at plan time puts
    it in the pull request (text, JSON and Markdown plans), before the merge that runs
    apply. Each warning names the variable and the pools that need it, at the first
    such pool's declaration. Only whether a variable is set is looked at, never its value.
    """
    env = os.environ if environ is None else environ
    out = []
    for name, pools in sorted(_unset(spec.resources(), env).items()):
        first = pools[0]
        where = first.declared_at
        addresses = ", ".join(p.address for p in pools)
        out.append(
            diag(
                UNSET_SECRET,
                f"environment variable {name} is not set here, so ${{env:{name}}} has no "
                f"value (needed by {addresses}); apply fails unless it is set where apply runs",
                hint=f"export {name} in the environment that runs `reconcile apply` (e.g. from "
                "the CI secret store); plan runs without it only to show the change",
                address=first.address,
                at=(where.file, where.line, where.col),
            )
        )
    return tuple(out)
