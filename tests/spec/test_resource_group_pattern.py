"""A resource group name is checked exactly as `P_RESOURCE_GROUP` states, without compiling it."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.spec.models import P_RESOURCE_GROUP, ResourceGroup


class Reference(BaseModel):
    """The field as it was: pydantic-core compiles P_RESOURCE_GROUP itself."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    resourceGroup: Annotated[str, Field(pattern=P_RESOURCE_GROUP)] | None = None


class Checked(BaseModel):
    """The field as the spec models declare it."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    resourceGroup: ResourceGroup | None = None


def _errors(model: type[BaseModel], value: Any) -> list[dict[str, Any]] | None:
    """What validating `value` reports (type, location, message, input, context), or None."""
    try:
        model.model_validate({"resourceGroup": value})
    except ValidationError as exc:
        return [{k: v for k, v in e.items() if k != "url"} for e in exc.errors()]
    return None


@pytest.mark.parametrize(
    "value",
    [
        "rg-images",
        "rg.images_(prod)",
        "a",
        "rg.",
        ".",
        "",
        "x" * 90,
        "x" * 91,
        "x" * 89 + ".",
        "." * 89 + "x",
        "rg images",
        "rg/images",
        "rg\n",
        "rg-é",
        "rg-\u0301",
        "rg-٣",
        "rg-\u200d",
        "rg-😀",
        "é" * 90,
        "é" * 91,
        None,
        3,
        ["rg"],
    ],
)
def test_same_verdict_and_error_as_the_pattern(value: Any) -> None:
    """Valid names pass and invalid ones fail with the very error the compiled pattern gives."""
    assert _errors(Checked, value) == _errors(Reference, value)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from([*"aZ09-_.() /\n", "é", "\u0301", "٣", "\u200d", "😀", "ß"]),
        max_size=95,
    )
)
def test_same_verdict_on_generated_names(value: str) -> None:
    """On any mix of allowed, disallowed and Unicode characters up to 95 long, the verdicts agree."""
    assert _errors(Checked, value) == _errors(Reference, value)


def test_json_schema_states_the_pattern() -> None:
    """The JSON Schema of the field still gives P_RESOURCE_GROUP."""
    schema = Checked.model_json_schema()["properties"]["resourceGroup"]["anyOf"][0]
    assert schema == {
        "description": "Resource group name.",
        "pattern": P_RESOURCE_GROUP,
        "type": "string",
    }
