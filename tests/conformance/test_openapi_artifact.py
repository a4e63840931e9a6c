"""The committed structure-only swaggers: fresh against Microsoft's files, free of prose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.openapi import SPECS_DIR, upstream_dir
from reconciler.openapi.generate import NAME_MAPS, PROSE_KEYS, differences, generate, structure


def _keyword_keys(node: Any, *, names: bool = False) -> set[str]:
    """Every key of `node` used as a keyword (not as a property, definition or path name)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _keyword_keys(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if not names:
                found.add(key)
            found |= _keyword_keys(value, names=not names and key in NAME_MAPS)
    return found


def test_committed_swaggers_are_what_microsofts_files_generate():
    """Regenerating from Microsoft's folder gives the committed files byte for byte."""
    source = upstream_dir()
    if source is None:
        pytest.skip(
            "Microsoft's swagger files are not beside this clone (../shared/azure-rest-specs, "
            "or set RECONCILE_AZURE_SPECS): freshness cannot be checked"
        )
    assert differences(generate(source)) == []


@pytest.mark.parametrize(
    "rel", sorted(p.relative_to(SPECS_DIR).as_posix() for p in SPECS_DIR.rglob("*.json"))
)
def test_committed_swagger_holds_structure_and_no_prose(rel: str):
    """Each committed file keeps operations and definitions but no prose keyword anywhere."""
    doc = json.loads((SPECS_DIR / rel).read_text(encoding="utf-8"))
    assert doc.get("definitions") or doc.get("parameters")
    assert not (_keyword_keys(doc) & PROSE_KEYS)


def test_generator_drops_prose_but_keeps_members_named_like_keywords():
    """A property called `description` stays; description, title and examples text go."""
    doc = {
        "swagger": "2.0",
        "info": {"title": "Some API", "version": "2025-06-01", "description": "prose"},
        "paths": {
            "/x": {
                "get": {
                    "operationId": "X_Get",
                    "summary": "prose",
                    "x-ms-examples": {"Get an X": {"$ref": "./examples/X_Get.json"}},
                    "responses": {
                        "200": {"description": "OK", "schema": {"$ref": "#/definitions/X"}}
                    },
                }
            }
        },
        "definitions": {
            "X": {
                "description": "prose",
                "properties": {
                    "description": {"type": "string", "description": "prose", "readOnly": True},
                    "mode": {
                        "type": "string",
                        "enum": ["a"],
                        "x-ms-enum": {
                            "name": "Mode",
                            "values": [{"value": "a", "description": "p"}],
                        },
                    },
                },
            }
        },
    }
    out = structure(doc)
    assert out["info"] == {"version": "2025-06-01"}
    op = out["paths"]["/x"]["get"]
    assert op == {
        "operationId": "X_Get",
        "x-ms-examples": {"X_Get": {"$ref": "./examples/X_Get.json"}},
        "responses": {"200": {"schema": {"$ref": "#/definitions/X"}}},
    }
    assert out["definitions"]["X"] == {
        "properties": {
            "description": {"type": "string", "readOnly": True},
            "mode": {
                "type": "string",
                "enum": ["a"],
                "x-ms-enum": {"name": "Mode", "values": [{"value": "a"}]},
            },
        }
    }


def test_check_reports_missing_stale_and_extra_files(tmp_path: Path):
    """`differences` names each committed file that is missing, stale or not generated."""
    (tmp_path / "a.json").write_text("old\n", encoding="utf-8")
    (tmp_path / "extra.json").write_text("{}\n", encoding="utf-8")
    generated = {"a.json": "new\n", "b/c.json": "{}\n"}
    assert differences(generated, tmp_path) == [
        "missing: b/c.json",
        "extra: extra.json",
        "stale: a.json",
    ]
