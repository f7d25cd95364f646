"""One home for joining a key onto a document/property path (ESC's internal/util.JoinKey):
lang.schema once had its own copy, and lang.syntax's gave `a[""]` for the empty key where ESC gives `a`."""
import pytest
from hypothesis import example, given, strategies as st

from credproc.lang import schema, syntax
from credproc.store.render import parse_property_path

# What ESC's util.JoinKey returns for (root, key).
ESC_JOIN_KEY = [("", "a", "a"), ("a", "b", "a.b"), ("a", "b-c", 'a["b-c"]'), ("", "9x", '["9x"]'),
                ("a", "", "a"), ("", "", ""), ("a", 'q"q', 'a["q\\"q"]'), ("a", "x\\y", 'a["x\\y"]'),
                ("a", "é", 'a["é"]'), ("a", "_1", "a._1")]


@pytest.mark.parametrize("root, key, joined", ESC_JOIN_KEY)
def test_join_key_is_esc_util_join_key(root, key, joined):
    assert syntax.join_key(root, key) == joined


def test_the_schema_module_has_no_copy_of_its_own():
    assert not hasattr(schema, "_join_key")
    assert schema.join_key is syntax.join_key


@given(st.lists(st.text(min_size=1, max_size=6).filter(lambda k: not k.endswith("\\") and '\\"' not in k),
                min_size=1, max_size=4))
@example(["\\0"])  # a backslash before anything but `"` is itself (the parser once dropped it)
def test_a_joined_path_reads_back_as_the_same_keys(keys):
    path = ""
    for key in keys:
        path = syntax.join_key(path, key)
    assert list(parse_property_path(path)) == keys
