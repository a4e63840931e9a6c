"""The JSON Schema of a spec file, generated from the pydantic models.

`schemas/spec.schema.json` is this text, checked in so editors (yaml-language-server,
via the modeline at the top of each example) can complete and check specs. A test
fails when the file is stale; `make schema` (``reconcile schema``) rewrites it.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.spec.models import SpecDocument

SCHEMA_PATH = "schemas/spec.schema.json"


def spec_json_schema() -> dict[str, Any]:
    """The schema as a dict (draft 2020-12, keys as written in YAML)."""
    schema = SpecDocument.model_json_schema(by_alias=True, mode="validation")
    ordered = {
        "$schema": schema.pop("$schema"),
        "title": schema.pop("title"),
        "description": schema.pop("description", ""),
    }
    ordered.update(schema)
    return ordered


def render_schema() -> str:
    """The schema file's exact text (stable: two-space indent, trailing newline)."""
    return json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"
