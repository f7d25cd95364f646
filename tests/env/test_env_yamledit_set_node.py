"""yamledit.set_node (`env rotate` writes a new state with it) on random data: the document reads back
with exactly that node replaced (strings with `$` doubled, as the language reads them back), and the
bytes before and after the replaced node are untouched."""
import copy

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from credproc.lang.values import Number
from credproc.store.yamledit import set_node

DOCUMENTS = {
    "block": "# head\nvalues:\n  r:\n    fn::rotate::swap:\n      inputs: {}\n      state:\n        a: 1\n  z: end  # tail\n",
    "flow": "values:\n  r: {fn::rotate::swap: {inputs: {}, state: {a: 1}}}\n  z: end\n",
    "missing": "values:\n  r:\n    fn::rotate::swap:\n      inputs: {}\n  z: end\n",
    "four": "values:\n    r:\n        fn::rotate::swap:\n            state:   # c\n                - 1\n    z: end\n",
    "scalar": "values:\n  r:\n    fn::rotate::swap:\n      state: null\n  z: end\n",
}
PATH = ["values", "r", "fn::rotate::swap", "state"]
KEYS = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=8).filter(
    lambda k: not k.startswith("fn::"))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6).map(lambda i: Number(str(i))),
                    st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF, blacklist_categories=("Cs",)),
                            max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(KEYS, inner, max_size=3)), max_leaves=10)


def _as_read(value):
    """What PyYAML reads back for ``value`` as written (strings keep `$$`; numbers are ints)."""
    if isinstance(value, dict):
        return {k: _as_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_read(v) for v in value]
    if isinstance(value, Number):
        return int(value)
    if isinstance(value, str):
        return value.replace("$", "$$")
    return value


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(DOCUMENTS)), value=VALUES)
def test_set_node_replaces_exactly_that_node(name, value):
    doc = DOCUMENTS[name]
    out = set_node(doc, PATH, value)
    expected = copy.deepcopy(yaml.safe_load(doc))
    expected["values"]["r"]["fn::rotate::swap"]["state"] = _as_read(value)
    assert yaml.safe_load(out) == expected
    start = doc.index("fn::rotate::swap")
    assert out[:start] == doc[:start]
    assert out.endswith(doc[doc.index("  z: end"):])  # the bytes after it too
