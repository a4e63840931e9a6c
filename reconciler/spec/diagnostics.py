"""Diagnostics: the one shape every spec problem is reported in, and the table of codes.

A `Diagnostic` is a value (frozen dataclass) carrying a stable code, a severity, a
message, a hint saying what to do, and where it happened (file:line:col, and the
resource address when there is one). `CODES` is the registry of every code the
project uses, including the ones only the planner can judge ("plan" phase);
`docs/rules.md` is its human-readable copy and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.diagnostic_text import format_diagnostic

Severity = Literal["error", "warning"]
Phase = Literal["spec", "plan", "export", "migrate"]


@dataclass(frozen=True, slots=True)
class Code:
    """One diagnostic code: stable id, default severity, the rule it enforces and a title."""

    code: str
    severity: Severity
    rule: str  # "R1".."R14", "Azure", "YAML", "spec", "secrets"
    title: str
    phase: Phase = "spec"


_CODES = (
    # Reading and shaping the files.
    Code("RC001", "error", "YAML", "YAML syntax error or unreadable file"),
    Code("RC002", "error", "YAML", "duplicate key in a mapping"),
    Code("RC003", "error", "spec", "unknown key"),
    Code("RC004", "error", "spec", "wrong type"),
    Code("RC005", "error", "spec", "missing required key"),
    Code("RC006", "error", "spec", "duplicate name or address"),
    Code("RC007", "error", "spec", "dangling reference"),
    Code("RC008", "error", "spec", "empty file or unsupported apiVersion"),
    Code("RC009", "error", "spec", "conflicting settings across files"),
    Code("RC010", "error", "spec", "no spec files found at a path"),
    Code("RC011", "error", "spec/Azure", "invalid value"),
    Code("RC012", "error", "spec", "`version: latest` matches no version"),
    Code("RC014", "error", "spec", "a member set under Azure's name that a friendly key owns"),
    Code("RC015", "error", "secrets", "a literal value where Azure expects a secret"),
    # Sizing (computed numbers).
    Code("RC101", "error", "R1", "declared replicas below the computed minimum"),
    Code("RC102", "error", "Azure", "replicas per region above Azure's maximum"),
    Code("RC103", "error", "R2/R3", "declared resizeTimeout below the computed minimum"),
    Code("RC105", "warning", "R2", "resizeTimeout on an autoscale pool is ignored"),
    # Cross-resource Batch rules.
    Code("RC201", "error", "R8", "pool uses a specialized gallery image"),
    Code("RC202", "error", "R9", "gallery image in another subscription than the Batch account"),
    Code("RC203", "error", "R9", "image version has no replica in the Batch account's region"),
    Code("RC204", "error", "R10", "managed image in another region than the Batch account"),
    Code("RC205", "error", "R10", "managed image in another subscription than the Batch account"),
    Code("RC206", "error", "R12", "nodeAgentSkuId does not match the image's OS"),
    Code("RC207", "warning", "R7", "pool uses a legacy managed image"),
    Code("RC208", "warning", "R5", "managed image shared by several pools"),
    Code("RC209", "warning", "R5", "managed images from one base snapshot used by several pools"),
    Code("RC210", "error", "R4", "managed-image node limit exceeded"),
    Code("RC211", "error", "Azure", "two image definitions share publisher/offer/sku"),
    Code("RC213", "warning", "R13", "image built from a VM, managed disks or VHDs, not snapshots"),
    Code("RC215", "warning", "R6", "pool uses an image version past its endOfLifeDate"),
    Code("RC216", "error", "Azure", "targetRegions omit the gallery's own region"),
    Code("RC217", "error", "Azure", "image version source does not match its definition"),
    Code("RC230", "error", "Azure", "identityReference names an identity the pool lacks"),
    Code("RC231", "error", "Azure", "pool security type its image definition does not support"),
    Code("RC232", "error", "Azure", "region encryption names a data disk the version lacks"),
    # Secrets.
    Code("RC301", "warning", "secrets", "literal value that looks like a secret"),
    Code("RC302", "error", "secrets", "malformed ${env:...} reference"),
    Code(
        "RC303",
        "warning",
        "secrets",
        "a ${env:NAME} reference whose variable is unset where the plan runs",
        "plan",
    ),
    # Azure bounds on pools.
    Code("RC401", "error", "Azure", "inbound NAT pool violates Batch port rules"),
    Code("RC402", "error", "Azure", "public IP configuration cannot serve the pool size"),
    Code("RC403", "error", "Azure", "inbound NAT pools with NoPublicIPAddresses"),
    Code("RC404", "error", "Azure", "autoscale evaluationInterval outside 5 minutes..168 hours"),
    Code("RC405", "error", "Azure", "VM size Batch does not support"),
    # Judged by the planner against live state (listed so the table is complete).
    Code("RC501", "error", "R6", "image still used by a pool must not be deleted", "plan"),
    Code("RC502", "error", "R7", "new managed-image pools are refused after 2026-03-31", "plan"),
    Code(
        "RC503",
        "error",
        "R11",
        "shared-key authentication cannot manage custom-image pools",
        "plan",
    ),
    Code(
        "RC504",
        "warning",
        "R3",
        "pool missed its target within resizeTimeout: resize again",
        "plan",
    ),
    Code(
        "RC505",
        "warning",
        "R14",
        "managed image built by Packer in a Batch-service account",
        "plan",
    ),
    # Planner-only: ownership, ordering and live facts (reconciler.plan.codes).
    Code("RC506", "error", "ownership", "a resource with the spec's name is not owned", "plan"),
    Code("RC507", "warning", "ownership", "owned resource not in the spec (prune off)", "plan"),
    Code("RC508", "error", "ordering", "a resource to replace still holds children", "plan"),
    Code("RC509", "warning", "ordering", "owned parent kept: it holds resources that stay", "plan"),
    Code("RC510", "error", "ordering", "the changes depend on each other in a cycle", "plan"),
    Code(
        "RC511",
        "warning",
        "R1",
        "a version has too few replicas once pools outside the spec that boot it count",
        "plan",
    ),
    Code(
        "RC512",
        "error",
        "R9/R10",
        "the Batch account is not where the spec places it (another region, or not found)",
        "plan",
    ),
    Code(
        "RC513",
        "warning",
        "R6",
        "owned image no longer in the spec is kept, not pruned: a pool still boots from it",
        "plan",
    ),
    Code(
        "RC520",
        "error",
        "ownership",
        "a resource the spec declares is owned by another spec",
        "plan",
    ),
    Code(
        "RC521",
        "warning",
        "ownership",
        "resources owned by another spec are left untouched",
        "plan",
    ),
    Code(
        "RC522",
        "warning",
        "ownership",
        "owned resources without an owner name are not pruned by a spec not declaring them",
        "plan",
    ),
)

_EXPORT_CODES = (
    # Found by `reconcile export` in what exists (written as comments next to the resource).
    Code("RC601", "warning", "R7", "exported pool boots a legacy managed image", "export"),
    Code(
        "RC602",
        "warning",
        "R1",
        "exported version has fewer replicas than its pools need: the first plan raises them",
        "export",
    ),
    Code(
        "RC603",
        "warning",
        "R2/R3",
        "exported pool's resizeTimeout is below the computed one: the first plan raises it",
        "export",
    ),
    Code(
        "RC604",
        "warning",
        "R9",
        "exported pool's image is in another subscription than its Batch account",
        "export",
    ),
    Code(
        "RC605",
        "warning",
        "secrets",
        "start-task value that looks like a secret exported as a ${env:NAME} reference",
        "export",
    ),
    Code(
        "RC606",
        "warning",
        "spec",
        "members the spec cannot express yet: not exported, left untouched",
        "export",
    ),
    Code(
        "RC607",
        "warning",
        "R1",
        "autoscale pool's maxNodes not found in its formula: estimated",
        "export",
    ),
    Code(
        "RC608",
        "warning",
        "R9",
        "exported pool boots a version with no replica in its account's region",
        "export",
    ),
)

_MIGRATE_CODES = (
    # Found by `reconcile migrate` before it writes a gallery image into the spec.
    Code(
        "RC701",
        "error",
        "R8",
        "managed image is specialized: no generalized gallery image",
        "migrate",
    ),
    Code(
        "RC702",
        "error",
        "R8",
        "managed image encrypted with a customer-managed key: not migrated",
        "migrate",
    ),
    Code("RC703", "error", "R9", "pool in another subscription than the gallery", "migrate"),
    Code("RC704", "error", "R12", "nodeAgentSkuId does not match the image's OS", "migrate"),
    Code("RC705", "error", "R1", "pool nodes the version's replicas cannot serve", "migrate"),
    Code("RC706", "error", "Azure", "image identifier not unique in the gallery", "migrate"),
    Code(
        "RC707",
        "warning",
        "R7",
        "autoscale pool with nodes: held at fixed 0 nodes for the move",
        "migrate",
    ),
    Code(
        "RC709",
        "error",
        "Azure",
        "blue/green pool name is taken or too long",
        "migrate",
    ),
    Code(
        "RC708",
        "warning",
        "R6",
        "published managed image no pool boots any more: prunable",
        "plan",
    ),
)

CODES: dict[str, Code] = {c.code: c for c in (*_CODES, *_EXPORT_CODES, *_MIGRATE_CODES)}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a spec, with where it is and what to do about it.

    `line` and `col` are 1-based; `file` is the path as the user gave it (or None for
    problems that belong to no file, such as a missing directory).
    """

    code: str
    severity: Severity
    message: str
    hint: str = ""
    address: str | None = None
    file: str | None = None
    line: int | None = None
    col: int | None = None

    @property
    def is_error(self) -> bool:
        """True for severity "error" (validation fails, exit 1)."""
        return self.severity == "error"

    @property
    def where(self) -> str:
        """``file:line:col`` (or as much of it as is known)."""
        if self.file is None:
            return "<spec>"
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def format(self) -> str:
        """``file:line:col: CODE message`` then, indented, ``hint: ...`` when there is one.

        Warnings read ``CODE warning: message``; the address, when known, follows in
        brackets so a person can grep for it (`reconciler.diagnostic_text`).
        """
        return format_diagnostic(
            code=self.code,
            severity=self.severity,
            message=self.message,
            hint=self.hint,
            address=self.address,
            where=self.where if self.file is not None else None,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (keys as in the dataclass)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "address": self.address,
            "file": self.file,
            "line": self.line,
            "col": self.col,
        }


def diag(
    code: str,
    message: str,
    *,
    hint: str = "",
    address: str | None = None,
    at: tuple[str, int, int] | None = None,
    severity: Severity | None = None,
) -> Diagnostic:
    """Build a diagnostic for a registered code; `at` is ``(file, line, col)``."""
    entry = CODES[code]
    file, line, col = at if at is not None else (None, None, None)
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
