"""Views of a `Plan`: text, JSON (the contract), Markdown (PR comments) with Mermaid.

Renderers are pure and decide nothing: every fact they show is on the plan. Colour is
the caller's decision (`color=`), never sniffed here.
"""

from reconciler.plan.model import Plan
from reconciler.render.json import render_drift_json, render_json
from reconciler.render.markdown import render_drift_markdown, render_markdown
from reconciler.render.text import render_drift_text, render_text

FORMATS = ("text", "json", "markdown")


def render(plan: Plan, fmt: str, *, color: bool = False) -> str:
    """The plan in `fmt` (one of FORMATS)."""
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=color)


def render_drift(plan: Plan, fmt: str, *, color: bool = False) -> str:
    """The drift view of the plan in `fmt`."""
    if fmt == "json":
        return render_drift_json(plan)
    if fmt == "markdown":
        return render_drift_markdown(plan)
    return render_drift_text(plan, color=color)


__all__ = [
    "FORMATS",
    "render",
    "render_drift",
    "render_drift_json",
    "render_drift_markdown",
    "render_json",
    "render_markdown",
    "render_text",
]
