"""One home for writing JSON the way Go's json.Marshal does (credproc.lang.values.go_json and its
float rule format_json_float): schema messages (lang.schema.const_json) once had their own encoder
and wrote a float64 1e7 as `10000000` where go_json wrote `1e+07`."""
import math

import pytest
from hypothesis import given, strategies as st

from credproc.lang.schema import const_json
from credproc.lang.values import Number, go_json

# What Go's encoding/json writes for these float64 values.
GO_MARSHAL = [(1e7, "10000000"), (123456789.0, "123456789"), (1e20, "100000000000000000000"),
              (1e21, "1e+21"), (1.5e300, "1.5e+300"), (0.000001, "0.000001"), (1e-7, "1e-7"),
              (-2.5e-10, "-2.5e-10"), (0.1, "0.1"), (-0.0, "-0")]


@pytest.mark.parametrize("number, text", GO_MARSHAL)
def test_a_float64_is_written_as_go_json_marshal_writes_it(number, text):
    assert go_json(number) == text
    assert const_json(number) == text


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=10))
def test_schema_messages_and_go_json_write_the_same_json(value):
    assert const_json(value) == go_json(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_float_text_reads_back_as_the_same_float(number):
    assert float(go_json(number)) == number or (number == 0 and math.copysign(1, number) < 0)


def test_number_text_from_a_definition_is_kept_verbatim():
    assert go_json({"a": Number("1e+07")}) == const_json({"a": Number("1e+07")}) == '{"a":1e+07}'
