"""The sandbox's request-member table matches the committed OpenAPI specs."""

from __future__ import annotations

import json

from tests.conformance.members_table import TABLE, build, render


def test_members_table_is_generated_from_the_current_specs():
    """`reconciler/sandbox/members.json` is what the specs define now (regenerate it if not)."""
    assert TABLE.read_text(encoding="utf-8") == render(
        build()
    ), "members.json is stale: run `python -m tests.conformance.members_table`"


def test_members_table_covers_every_body_the_sandbox_accepts():
    """Each PUT/PATCH the sandbox serves has a closed model for its body and its `properties`."""
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    assert len(table["operations"]) == 10
    for operation, model in table["operations"].items():
        members = table["types"][model]
        assert "properties" in members, operation
        assert "*" not in table["types"][members["properties"]], operation
