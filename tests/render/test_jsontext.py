"""The fast indented writer produces exactly the standard library's indented JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import jsontext

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
_KEYS = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5)
    | st.tuples(inner, inner)
    | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(_DOCUMENTS)
def test_the_text_is_the_standard_librarys(document):
    """Any JSON-able value (nested, unicode, odd floats, non-string keys) gives the same text."""
    assert jsontext.dumps(document) == json.dumps(document, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("value", [{1j: 1}, {"a": object()}, [set()]])
def test_what_json_refuses_is_refused(value):
    """Values the standard library cannot write raise TypeError here too."""
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        jsontext.dumps(value)
