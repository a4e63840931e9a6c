"""Planning: desired (resolved spec) × live state → an ordered, explained `Plan`. Pure.

    make_plan(spec, live, *, target, prune=None, now=None, diagnostics=()) -> Plan
    drift_of(plan) -> tuple[DriftItem, ...]
    save_plan / load_plan / plan_from_file / check_stale / spec_hash   (saved plan files)

The planner never receives a client: live state comes in as a `LiveState` value.
"""

from reconciler.plan.model import (
    ABSENT,
    FORMAT_VERSION,
    Action,
    Change,
    DriftItem,
    DriftKind,
    Plan,
    PlanOrigin,
)
from reconciler.plan.planner import make_plan, plan_desired
from reconciler.plan.saved import (
    check_stale,
    dumps_plan,
    load_plan,
    plan_from_file,
    save_plan,
    spec_hash,
)
from reconciler.plan.serialize import plan_from_dict, plan_to_dict


def drift_of(plan: Plan) -> tuple[DriftItem, ...]:
    """The drift view of a plan: what differs from the spec, per resource."""
    return plan.drift


__all__ = [
    "ABSENT",
    "FORMAT_VERSION",
    "Action",
    "Change",
    "DriftItem",
    "DriftKind",
    "Plan",
    "PlanOrigin",
    "check_stale",
    "drift_of",
    "dumps_plan",
    "load_plan",
    "make_plan",
    "plan_desired",
    "plan_from_dict",
    "plan_from_file",
    "plan_to_dict",
    "save_plan",
    "spec_hash",
]
