"""Diagnostics: the one shape every problem is reported in, and the table of codes.

A `Diagnostic` is a value (frozen dataclass) carrying a stable code, a severity, a
message, a hint saying what to do, and where it happened (file:line:col, and the
resource address when there is one). The spec loader, the planner, `export`, `migrate`,
the renderers and the CLI all report through it, and `Diagnostic.format` is the one text
form they print. `CODES` is the registry of every code the project uses, including the
ones only the planner can judge ("plan" phase); `docs/rules.md` is its human-readable
copy and a test keeps the two in step.

No dependencies inside the project: every layer (spec, plan, render, the CLI) imports
it without pulling in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Severity(StrEnum):
    """How bad a diagnostic is: errors fail `validate`, make `plan` exit 1, `apply` refuse.

    A `StrEnum`, so ``Severity.ERROR == "error"``: JSON and the registry use the value.
    """

    ERROR = "error"
    WARNING = "warning"


Phase = Literal["spec", "plan", "export", "migrate"]


@dataclass(frozen=True, slots=True)
class Code:
    """One diagnostic code: stable id, default severity, the rule it enforces and a title."""

    code: str
    severity: Severity
    rule: str  # "R1".."R14", "Azure", "YAML", "spec", "secrets"
    title: str
    phase: Phase = "spec"


# Short names for the table below.
ERROR, WARNING = Severity.ERROR, Severity.WARNING

_CODES = (
    # Reading and shaping the files.
    Code("RC001", ERROR, "YAML", "YAML syntax error or unreadable file"),
    Code("RC002", ERROR, "YAML", "duplicate key in a mapping"),
    Code("RC003", ERROR, "spec", "unknown key"),
    Code("RC004", ERROR, "spec", "wrong type"),
    Code("RC005", ERROR, "spec", "missing required key"),
    Code("RC006", ERROR, "spec", "duplicate name or address"),
    Code("RC007", ERROR, "spec", "dangling reference"),
    Code("RC008", ERROR, "spec", "empty file or unsupported apiVersion"),
    Code("RC009", ERROR, "spec", "conflicting settings across files"),
    Code("RC010", ERROR, "spec", "no spec files found at a path"),
    Code("RC011", ERROR, "spec/Azure", "invalid value"),
    Code("RC012", ERROR, "spec", "`version: latest` matches no version"),
    Code("RC014", ERROR, "spec", "a member set under Azure's name that a friendly key owns"),
    Code("RC015", ERROR, "secrets", "a literal value where Azure expects a secret"),
    # Sizing (computed numbers).
    Code("RC101", ERROR, "R1", "declared replicas below the computed minimum"),
    Code("RC102", ERROR, "Azure", "replicas per region above Azure's maximum"),
    Code("RC103", ERROR, "R2/R3", "declared resizeTimeout below the computed minimum"),
    Code("RC105", WARNING, "R2", "resizeTimeout on an autoscale pool is ignored"),
    # Cross-resource Batch rules.
    Code("RC201", ERROR, "R8", "pool uses a specialized gallery image"),
    Code("RC202", ERROR, "R9", "gallery image in another subscription than the Batch account"),
    Code("RC203", ERROR, "R9", "image version has no replica in the Batch account's region"),
    Code("RC204", ERROR, "R10", "managed image in another region than the Batch account"),
    Code("RC205", ERROR, "R10", "managed image in another subscription than the Batch account"),
    Code("RC206", ERROR, "R12", "nodeAgentSkuId does not match the image's OS"),
    Code("RC207", WARNING, "R7", "pool uses a legacy managed image"),
    Code("RC208", WARNING, "R5", "managed image shared by several pools"),
    Code("RC209", WARNING, "R5", "managed images from one base snapshot used by several pools"),
    Code("RC210", ERROR, "R4", "managed-image node limit exceeded"),
    Code("RC211", ERROR, "Azure", "two image definitions share publisher/offer/sku"),
    Code("RC213", WARNING, "R13", "image built from a VM, managed disks or VHDs, not snapshots"),
    Code("RC215", WARNING, "R6", "pool uses an image version past its endOfLifeDate"),
    Code("RC216", ERROR, "Azure", "targetRegions omit the gallery's own region"),
    Code("RC217", ERROR, "Azure", "image version source does not match its definition"),
    Code("RC230", ERROR, "Azure", "identityReference names an identity the pool lacks"),
    Code("RC231", ERROR, "Azure", "pool security type its image definition does not support"),
    Code("RC232", ERROR, "Azure", "region encryption names a data disk the version lacks"),
    # Secrets.
    Code("RC301", WARNING, "secrets", "literal value that looks like a secret"),
    Code("RC302", ERROR, "secrets", "malformed ${env:...} reference"),
    Code(
        "RC303",
        WARNING,
        "secrets",
        "a ${env:NAME} reference whose variable is unset where the plan runs",
        "plan",
    ),
    # Azure bounds on pools.
    Code("RC401", ERROR, "Azure", "inbound NAT pool violates Batch port rules"),
    Code("RC402", ERROR, "Azure", "public IP configuration cannot serve the pool size"),
    Code("RC403", ERROR, "Azure", "inbound NAT pools with NoPublicIPAddresses"),
    Code("RC404", ERROR, "Azure", "autoscale evaluationInterval outside 5 minutes..168 hours"),
    Code("RC405", ERROR, "Azure", "not a VM size Batch supports"),
    # Judged by the planner against live state (listed so the table is complete).
    Code("RC501", ERROR, "R6", "image still used by a pool must not be deleted", "plan"),
    Code("RC502", ERROR, "R7", "new managed-image pools are refused after 2026-03-31", "plan"),
    Code(
        "RC503",
        ERROR,
        "R11",
        "shared-key authentication cannot manage custom-image pools",
        "plan",
    ),
    Code(
        "RC504",
        WARNING,
        "R3",
        "pool missed its target within resizeTimeout: resize again",
        "plan",
    ),
    Code(
        "RC505",
        WARNING,
        "R14",
        "managed image built by Packer in a Batch-service account",
        "plan",
    ),
    # Planner-only: ownership, ordering and live facts (reconciler.plan.codes).
    Code("RC506", ERROR, "ownership", "a resource with the spec's name is not owned", "plan"),
    Code("RC507", WARNING, "ownership", "owned resource not in the spec (prune off)", "plan"),
    Code("RC508", ERROR, "ordering", "a resource to replace still holds children", "plan"),
    Code("RC509", WARNING, "ordering", "owned parent kept: it holds resources that stay", "plan"),
    Code("RC510", ERROR, "ordering", "the changes depend on each other in a cycle", "plan"),
    Code(
        "RC511",
        WARNING,
        "R1",
        "a version has too few replicas once pools outside the spec that boot it count",
        "plan",
    ),
    Code(
        "RC512",
        ERROR,
        "R9/R10",
        "the Batch account is not where the spec places it (another region, or not found)",
        "plan",
    ),
    Code(
        "RC513",
        WARNING,
        "R6",
        "owned image no longer in the spec is kept, not pruned: a pool still boots from it",
        "plan",
    ),
    Code(
        "RC520",
        ERROR,
        "ownership",
        "a resource the spec declares is owned by another spec",
        "plan",
    ),
    Code(
        "RC521",
        WARNING,
        "ownership",
        "resources owned by another spec are left untouched",
        "plan",
    ),
    Code(
        "RC522",
        WARNING,
        "ownership",
        "owned resources without an owner name are not pruned by a spec not declaring them",
        "plan",
    ),
)

_EXPORT_CODES = (
    # Found by `reconcile export` in what exists (written as comments next to the resource).
    Code("RC601", WARNING, "R7", "exported pool boots a legacy managed image", "export"),
    Code(
        "RC602",
        WARNING,
        "R1",
        "exported version has fewer replicas than its pools need: the first plan raises them",
        "export",
    ),
    Code(
        "RC603",
        WARNING,
        "R2/R3",
        "exported pool's resizeTimeout is below the computed one: the first plan raises it",
        "export",
    ),
    Code(
        "RC604",
        WARNING,
        "R9",
        "exported pool's image is in another subscription than its Batch account",
        "export",
    ),
    Code(
        "RC605",
        WARNING,
        "secrets",
        "start-task value that looks like a secret exported as a ${env:NAME} reference",
        "export",
    ),
    Code(
        "RC606",
        WARNING,
        "spec",
        "members the spec cannot express yet: not exported, left untouched",
        "export",
    ),
    Code(
        "RC607",
        WARNING,
        "R1",
        "autoscale pool's maxNodes not found in its formula: estimated",
        "export",
    ),
    Code(
        "RC608",
        WARNING,
        "R9",
        "exported pool boots a version with no replica in its account's region",
        "export",
    ),
)

_MIGRATE_CODES = (
    # Found by `reconcile migrate` before it writes a gallery image into the spec.
    Code(
        "RC701",
        ERROR,
        "R8",
        "managed image is specialized: no generalized gallery image",
        "migrate",
    ),
    Code(
        "RC702",
        ERROR,
        "R8",
        "managed image encrypted with a customer-managed key: not migrated",
        "migrate",
    ),
    Code("RC703", ERROR, "R9", "pool in another subscription than the gallery", "migrate"),
    Code("RC704", ERROR, "R12", "nodeAgentSkuId does not match the image's OS", "migrate"),
    Code("RC705", ERROR, "R1", "pool nodes the version's replicas cannot serve", "migrate"),
    Code("RC706", ERROR, "Azure", "image identifier not unique in the gallery", "migrate"),
    Code(
        "RC707",
        WARNING,
        "R7",
        "autoscale pool with nodes: held at fixed 0 nodes for the move",
        "migrate",
    ),
    Code(
        "RC709",
        ERROR,
        "Azure",
        "blue/green pool name is taken or too long",
        "migrate",
    ),
    Code(
        "RC708",
        WARNING,
        "R6",
        "published managed image no pool boots any more: prunable",
        "plan",
    ),
)

CODES: dict[str, Code] = {c.code: c for c in (*_CODES, *_EXPORT_CODES, *_MIGRATE_CODES)}


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something was written: file as given by the user, 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, found in a spec or while planning, with where it is and what to do.

    `line` and `col` are 1-based; `file` is the path as the user gave it (or None for
    problems that belong to no file, such as a missing directory or a live fact the
    spec does not declare). `severity` is always a `Severity` (a plain ``"error"`` or
    ``"warning"`` is accepted and converted).
    """

    code: str
    severity: Severity
    message: str
    hint: str = ""
    address: str | None = None
    file: str | None = None
    line: int | None = None
    col: int | None = None

    def __post_init__(self) -> None:
        # Callers pass the registry's Severity or its string value; store one kind only,
        # so `d.severity is Severity.ERROR` holds however the diagnostic was built.
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def is_error(self) -> bool:
        """True for severity "error" (validation fails, plan exits 1, apply refuses)."""
        return self.severity is Severity.ERROR

    @property
    def where(self) -> str | None:
        """``file:line:col`` (or as much of it as is known); None without a file."""
        if self.file is None:
            return None
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def format(self, indent: str = "") -> str:
        """``file:line:col: CODE message`` then, indented, ``hint: ...`` when there is one.

        Warnings read ``CODE warning: message``; without a known position the line starts
        at the code. The address, when known and not already in the message, follows in
        brackets so a person can grep for it. `indent` prefixes every line.
        """
        prefix = "warning: " if self.severity is Severity.WARNING else ""
        where = self.where
        head = f"{where}: " if where else ""
        head += f"{self.code} {prefix}{self.message}"
        if self.address and self.address not in self.message:
            head += f" [{self.address}]"
        if not self.hint:
            return indent + head
        hint_text = self.hint.replace("\n", "\n" + indent + "        ")
        return f"{indent}{head}\n{indent}  hint: {hint_text}"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form with the position in parts (`validate --format json`)."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "address": self.address,
            "file": self.file,
            "line": self.line,
            "col": self.col,
        }


def split_where(where: str | None) -> tuple[str | None, int | None, int | None]:
    """``(file, line, col)`` from `Diagnostic.where`: its inverse, for plan files.

    Plan files carry the position as one ``where`` string; a file name may itself hold
    colons, so only a trailing ``:line:col`` of two numbers is taken as the position.
    """
    if where is None:
        return None, None, None
    file, sep, rest = where.rpartition(":")
    head, sep2, line = file.rpartition(":")
    if sep and sep2 and line.isdigit() and rest.isdigit():
        return head, int(line), int(rest)
    return where, None, None


def diag(
    code: str,
    message: str,
    *,
    hint: str = "",
    address: str | None = None,
    at: SourceLocation | tuple[str, int, int] | None = None,
    severity: Severity | None = None,
) -> Diagnostic:
    """Build a diagnostic for a registered code; `at` is where (``(file, line, col)``)."""
    entry = CODES[code]
    if isinstance(at, SourceLocation):
        file, line, col = at.file, at.line, at.col
    elif at is not None:
        file, line, col = at
    else:
        file, line, col = None, None, None
    return Diagnostic(
        code=code,
        severity=severity or entry.severity,
        message=message,
        hint=hint,
        address=address,
        file=file,
        line=line,
        col=col,
    )


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    """Order diagnostics by file, line, column, code (stable, reading order)."""
    return (d.file or "", d.line or 0, d.col or 0, d.code)
