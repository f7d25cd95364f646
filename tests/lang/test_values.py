"""Value renderers: Go float text, strconv.Quote, encoding/json, plain JSON and string forms."""
import pytest

from credproc.lang.values import (
    Number, Value, from_plain, format_go_float, go_json, go_quote, string_form, to_plain,
)


@pytest.mark.parametrize("f, text", [
    (1.0, "1"), (3.14, "3.14"), (100000.0, "100000"), (123456.0, "123456"), (1234567.0, "1.234567e+06"),
    (1e6, "1e+06"), (0.0001, "0.0001"), (0.00001, "1e-05"), (1e21, "1e+21"), (1e100, "1e+100"),
    (-2.5e-7, "-2.5e-07"), (0.1, "0.1"), (-0.0, "-0"), (0.0, "0"), (float("inf"), "+Inf"),
    (float("-inf"), "-Inf"), (float("nan"), "NaN"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (123456.7, "123456.7"), (999999.0, "999999"),
])
def test_go_float_formatting(f, text):
    assert format_go_float(f) == text


@pytest.mark.parametrize("s, quoted", [
    ("plain", '"plain"'), ('a"b', '"a\\"b"'), ("back\\slash", '"back\\\\slash"'),
    ("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"'), ("\x00\x1f\x7f", '"\\x00\\x1f\\x7f"'),
    ("é世界", '"é世界"'), ("\u00a0", '"\\u00a0"'), ("\u2028", '"\\u2028"'), ("\U0001F600", '"\U0001F600"'),
    ("\U000E0001", '"\\U000e0001"'), ("caf\udce9", '"caf\\xe9"'),
])
def test_go_quote(s, quoted):
    assert go_quote(s) == quoted


def test_go_json_is_sorted_html_safe_and_keeps_number_text():
    plain = {"b": [Number("1.50"), Number("1e+06"), True, None], "a": "<&>\u2028\u2029é\x01\x7f", "": {}}
    assert go_json(plain) == '{"":{},"a":"\\u003c\\u0026\\u003e\\u2028\\u2029é\\u0001\x7f","b":[1.50,1e+06,true,null]}'


def test_go_json_indent_matches_marshal_indent():
    assert go_json({"a": [1, {}], "b": [], "c": {"d": None}}, indent=2) == (
        '{\n  "a": [\n    1,\n    {}\n  ],\n  "b": [],\n  "c": {\n    "d": null\n  }\n}')


def test_go_json_replaces_invalid_utf8():
    assert go_json("a\udcffb") == '"a\ufffdb"'


def test_to_plain_redacts_whole_secret_nodes_and_marks_unknowns():
    value = Value({
        "s": Value("x", secret=True),
        "o": Value({"k": Value("v")}, secret=True),
        "u": Value(None, unknown=True),
        "su": Value(None, unknown=True, secret=True),
        "plain": Value([Value(Number("1")), Value(None)]),
    })
    assert to_plain(value, redact=True) == {"o": "[secret]", "plain": ["1", None], "s": "[secret]",
                                            "su": "[secret]", "u": "[unknown]"}
    assert to_plain(value, redact=False) == {"o": {"k": "v"}, "plain": ["1", None], "s": "x",
                                             "su": "[unknown]", "u": "[unknown]"}


def test_string_form():
    value = from_plain({"b": ["x", 'y"z'], "a": None, "c": {"n": 1.5, "t": True}})
    assert string_form(value) == '"a"="","b"="\\"x\\",\\"y\\\\\\"z\\"","c"="\\"n\\"=\\"1.5\\",\\"t\\"=\\"true\\""'
    assert string_form(Value(None)) == ""
    assert string_form(Value(Number("1e+06"))) == "1e+06"
    assert string_form(Value(None, unknown=True)) == "[unknown]"
