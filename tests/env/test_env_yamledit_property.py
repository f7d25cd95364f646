"""yamledit.set_value on random paths: the result reads as the old document with exactly that value
changed, and comments outside the replaced value are kept (exact bytes: the golden tests)."""
import copy

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from credproc.errors import UsageError
from credproc.store.yamledit import scalar_text, set_value

DOCUMENTS = [
    "",
    "# just a comment\n",
    "values:\n",
    "values: {}\n",
    "imports:\n  - base\n",
    "values:\n  a: 1\n  b:\n    c: x   # note\n    d: [1, 2]\n  e: {f: g}\n# end\n",
    "# head\nvalues:\n  # inner\n  a:\n    b:\n      c: deep\n  z: last\n",
    "values: {a: {b: 1}, c: 2}\n",
    "values:\n    four: 1\n    nested:\n        k: v\n",
]
KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f", "new", "z", "nested", "k", "four"])


def _set(data, path, value):
    node = data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            if key in node and node[key] is not None:
                raise TypeError("not an object")
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


@settings(max_examples=300, deadline=None)
@given(doc=st.sampled_from(DOCUMENTS), path=st.lists(KEYS, min_size=1, max_size=4),
       value=st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, blacklist_characters="$"), max_size=12),
       secret=st.booleans())
def test_set_value_changes_exactly_one_value(doc, path, value, secret):
    before = yaml.safe_load(doc) or {}
    expected = copy.deepcopy(before)
    expected.setdefault("values", {})
    if expected["values"] is None:
        expected["values"] = {}
    try:
        _set(expected["values"], path, {"fn::secret": value} if secret else value)
    except TypeError:
        expect_refusal = True
    else:
        expect_refusal = False
    try:
        out = set_value(doc, path, scalar_text(value, as_string=True), secret=secret)
    except UsageError:
        assert expect_refusal
        return
    assert not expect_refusal
    assert yaml.safe_load(out) == expected
    # Comments outside any value survive every edit.
    for comment in ("# head", "# end", "# just a comment", "# inner"):
        assert (comment in doc) == (comment in out)
