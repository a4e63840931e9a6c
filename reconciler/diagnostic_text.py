"""The one text form of a diagnostic, for problems found in the spec and found at plan time.

``file:line:col: CODE message [address]`` then an indented ``hint:`` line. Warnings
read ``CODE warning: message``; without a known position the line starts at the code.
`reconciler.spec.diagnostics.Diagnostic` and `reconciler.plan.model.PlanDiagnostic`
both format through `format_diagnostic`, so `validate`, `plan`, `apply` and `drift`
print every problem alike. No dependencies: the plan package imports it without
pulling in the spec loader.
"""

from __future__ import annotations


def format_diagnostic(
    *,
    code: str,
    severity: str,
    message: str,
    hint: str = "",
    address: str | None = None,
    where: str | None = None,
    indent: str = "",
) -> str:
    """``where: CODE [warning: ]message [address]`` and ``  hint: ...`` under it."""
    prefix = "warning: " if severity == "warning" else ""
    head = f"{where}: " if where else ""
    head += f"{code} {prefix}{message}"
    if address and address not in message:
        head += f" [{address}]"
    if not hint:
        return indent + head
    hint_text = hint.replace("\n", "\n" + indent + "        ")
    return f"{indent}{head}\n{indent}  hint: {hint_text}"
