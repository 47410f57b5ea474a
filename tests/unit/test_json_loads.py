"""The read models' JSON parses with `storage.rows.json_loads` exactly as `json.loads`
parses it (ADR 48), including what only `json` accepts."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.rows import json_loads

documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(documents)
def test_any_document_parses_as_json_parses_it(document: Any) -> None:
    text = json.dumps(document)
    parsed = json_loads(text)
    assert parsed == json.loads(text)
    assert json_loads(text.encode()) == parsed
    assert json_loads(memoryview(text.encode())) == parsed
    # Same types too: 1 stays an int, 1.0 a float.
    assert json.dumps(parsed) == json.dumps(json.loads(text))


def test_what_only_json_accepts_parses_all_the_same() -> None:
    for huge in (2**70, -(2**63) - 1, -12104008006243876864, 2**64):
        text = json.dumps({"n": huge})
        for form in (text, memoryview(text.encode())):
            parsed = json_loads(form)
            assert parsed == {"n": huge} and type(parsed["n"]) is int
    assert math.isnan(json_loads("NaN")) and json_loads("[Infinity]") == [math.inf]


def test_malformed_json_is_refused() -> None:
    with pytest.raises(ValueError):
        json_loads('{"value": ')
