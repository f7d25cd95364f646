"""The YAML syntax layer: yaml.v3 scalar resolution, positions and document paths."""
import pytest

from credproc.lang.interpolate import format_access, parse_access_path
from credproc.lang.syntax import MappingNode, ScalarNode, join_key, parse_yaml, resolve_plain
from credproc.lang.values import Number


@pytest.mark.parametrize("text, value", [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"), ("Yes", "Yes"),
    ("true", True), ("True", True), ("TRUE", True), ("tRUE", "tRUE"), ("false", False),
    ("~", None), ("null", None), ("Null", None), ("NULL", None), ("nULL", "nULL"), ("", None),
    ("0777", Number("511")), ("0o17", Number("15")), ("0x1F", Number("31")), ("0b101", Number("5")),
    ("-0x10", Number("-16")), ("1_000", Number("1000")), ("+12", Number("12")), ("08", Number("8")),
    ("9223372036854775808", Number("9223372036854775808")), ("18446744073709551616", Number("1.8446744073709552e+19")),
    ("1.0", Number("1")), ("1e3", Number("1000")), (".5", Number("0.5")), ("1234567.0", Number("1.234567e+06")),
    (".inf", Number("+Inf")), ("-.inf", Number("-Inf")), (".nan", Number("NaN")), ("-0", Number("-0")),
    ("2001-12-14", "2001-12-14"), ("1.2.3", "1.2.3"), ("0x", "0x"), ("+", "+"), ("12abc", "12abc"),
])
def test_yaml_1_2_core_resolution(text, value):
    resolved = resolve_plain(text)
    assert resolved == value and type(resolved) is type(value)


def _values(source):
    root, diags = parse_yaml("t", source)
    assert not diags
    return root


def test_positions_and_paths():
    root = _values(b'values:\n  a: 1\n  "b c":\n    - x\n    - {d: "${e}"}\n')
    (_, values), = root.entries
    (ka, va), (kb, vb) = values.entries
    assert (ka.line, ka.column, ka.path) == (2, 3, "values.a")
    assert (va.line, va.column, va.value) == (2, 6, Number("1"))
    assert kb.path == 'values["b c"]' and vb.items[0].path == 'values["b c"][0]'
    (kd, vd), = vb.items[1].entries
    assert vd.path == 'values["b c"][1].d' and (vd.line, vd.column) == (5, 11) and not vd.plain


def test_plain_scalars_map_offsets_to_columns_quoted_ones_do_not():
    root = _values(b'a: x ${y}\nb: "x ${y}"\n')
    (_, a), (_, b) = root.entries
    assert a.position_of(2) == (1, 6)
    assert b.position_of(2) == (2, 4)


def test_standard_tags_are_honoured_and_others_ignored():
    root = _values(b"a: !!str 123\nb: !!int '7'\nc: !!float 2\nd: !local 5\n")
    assert [v.value for _, v in root.entries] == ["123", Number("7"), Number("2"), Number("5")]


def test_bad_tag_is_a_yaml_error():
    root, diags = parse_yaml("t", b"a: !!int nope\n")
    assert root is None and "cannot decode" in diags[0].summary


def test_only_the_first_document_counts():
    root = _values(b"a: 1\n---\nb: 2\n")
    assert [k.value for k, _ in root.entries] == ["a"]


def test_duplicate_keys_are_kept_for_later_stages():
    root = _values(b"a: 1\na: 2\n")
    assert [v.value for _, v in root.entries] == [Number("1"), Number("2")]


def test_empty_and_blank_documents():
    root, diags = parse_yaml("t", b"")
    assert isinstance(root, MappingNode) and not root.entries and not diags
    root, diags = parse_yaml("t", b"\n# nothing\n")
    assert isinstance(root, ScalarNode) and root.value is None


@pytest.mark.parametrize("path, key, joined", [
    ("", "a", "a"), ("a", "b_c", "a.b_c"), ("a", "b-c", 'a["b-c"]'), ("", "0x", '["0x"]'),
    ("a", 'q"k', 'a["q\\"k"]'), ("a", "é", 'a["é"]'),
])
def test_join_key(path, key, joined):
    assert join_key(path, key) == joined


def test_property_paths_round_trip():
    accessors, errors = parse_access_path('a.b[0]["c.d"]["q\\"k"]')
    assert not errors
    assert [(a.kind, a.value) for a in accessors] == [("name", "a"), ("name", "b"), ("index", 0), ("key", "c.d"),
                                                      ("key", 'q"k')]
    assert format_access(accessors) == 'a.b[0]["c.d"]["q\\"k"]'
