"""How schema numbers and constants are printed in messages (Go json/strconv), plus property tests."""
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credproc.lang.crypt import decode_envelope, encode_envelope
from credproc.lang.schema import const_json, number_text, validate
from credproc.lang.values import Number, Value
from credproc.providers.conformance import SCHEMA_PROVIDER_SCHEMA


@pytest.mark.parametrize("n,text", [
    (2, "2"), (-7, "-7"), (10**30, "1" + "0" * 30),
    (3.14, "3.14"), (2.0, "2"), (0.1, "0.1"), (1e20, "100000000000000000000"), (1e21, "1e+21"),
    (1.5e300, "1.5e+300"), (0.000001, "0.000001"), (1e-7, "1e-7"), (1.25e-10, "1.25e-10"), (-0.0, "-0"),
    (Number("1.50"), "1.50"), (Number("1e2"), "1e2"), (Decimal("2"), "2"), (Decimal("2.50"), "2.50"),
])
def test_number_text(n, text):
    assert number_text(n) == text


@pytest.mark.parametrize("value,text", [
    (None, "null"), (True, "true"), ("a\"b\\", '"a\\"b\\\\"'), ("<a&b>", '"\\u003ca\\u0026b\\u003e"'),
    ("é\u2028", '"é\\u2028"'), ("\x01\n", '"\\u0001\\n"'),
    ([1, "x", [None]], '[1,"x",[null]]'), ({"b": 1, "a": {"é": [], "z": {}}}, '{"a":{"z":{},"é":[]},"b":1}'),
    (Value({"k": Value(Number("4.0"))}), '{"k":4.0}'),
])
def test_const_json(value, text):
    assert const_json(value) == text


def test_prefix_paths_quote_like_esc():
    x = {"type": "object", "properties": {'a"b': {"type": "object", "properties": {"0x": {"type": "string"}}}}}
    accept = {"type": "object", "properties": {'a"b': {"type": "object", "properties": {"0x": {"type": "null"}}}}}
    assert [e.message for e in validate(Value(unknown=True, schema=x), accept)] == [
        '["a\\"b"]["0x"]: expected null, got string']


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6).map(lambda i: Number(str(i))) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def as_value(plain):
    if isinstance(plain, dict):
        return Value({k: as_value(v) for k, v in plain.items()})
    if isinstance(plain, list):
        return Value([as_value(v) for v in plain])
    return Value(plain)


KNOWN_STARTS = ("expected ", "at least one subschema", "exactly one subschema", "missing required",
                "string must match the pattern")


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(SCHEMA_PROVIDER_SCHEMA["properties"])), json_values, max_size=6))
def test_schema_provider_schema_never_crashes_and_speaks_esc(inputs):
    result = validate(as_value(inputs), SCHEMA_PROVIDER_SCHEMA)
    assert all(e.message.startswith(KNOWN_STARTS) for e in result)
    assert all(e.path and e.path[0] in inputs for e in result)
    if not result.ok and not list(result):
        # silent failures only come from `false` schemas: `never`, or tuples with extra items
        assert "never" in inputs or "tuple" in inputs or "double" in inputs or "triple" in inputs


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=4, max_size=64))
def test_envelope_roundtrip(body):
    assert decode_envelope(encode_envelope(body)) == body
