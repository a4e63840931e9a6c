"""`--format json`: the plan's versioned JSON contract (``schemas/plan.schema.json``).

The shape is `reconciler.plan.serialize.plan_to_dict` with every secret masked; this
module only turns it into text (and offers the drift-only view).
"""

from __future__ import annotations

from typing import Any

from reconciler import jsontext
from reconciler.plan.model import Plan
from reconciler.plan.serialize import plan_to_dict

SCHEMA_ID = "https://reconcile.example/schemas/plan.schema.json"


def plan_document(plan: Plan) -> dict[str, Any]:
    """The JSON document (a dict) of a plan as shown to people and tools."""
    return plan_to_dict(plan, for_file=False)


def render_json(plan: Plan) -> str:
    """The JSON document as text (two-space indent, trailing newline)."""
    return jsontext.dumps(plan_document(plan)) + "\n"


def render_drift_json(plan: Plan) -> str:
    """The drift view: the same document (consumers read its `drift[]`), one contract."""
    return render_json(plan)
