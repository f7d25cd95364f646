"""One home for property paths: `credproc process --path` and `env open ORG/ENV PATH` read them
with the same parser and walk the value the same way (they once disagreed on `a["c.d"]`)."""
import json
import os

from hypothesis import given, settings, strategies as st

from credproc.creds import awscreds
from credproc.lang.syntax import join_index, join_key
from credproc.lang.values import Value
from credproc.store.render import parse_property_path, select
from tests.support.runner import run_credproc

LOGIN = {"accessKeyId": Value("ASIAPATHTEST00000001"), "secretAccessKey": Value("path/secret")}
KEYS = st.text(alphabet='ab.-"[] 0', min_size=1, max_size=5)  # join_key does not escape '\\'


def _login() -> Value:
    return Value(dict(LOGIN))


@st.composite
def _nested(draw, depth=0):
    """A value tree with one login object somewhere, and the path (in the language's own syntax) to it."""
    if depth >= 3 or draw(st.booleans()):
        return _login(), ""
    inner, inner_path = draw(_nested(depth + 1))
    if draw(st.booleans()):
        items = [Value("x")] * draw(st.integers(0, 2))
        at = len(items)
        return Value(items + [inner]), join_index("", at) + inner_path
    key = draw(KEYS)
    sibling = draw(KEYS)
    members = {sibling: Value("x"), key: inner}
    return Value(members), _prefix(join_key("", key), inner_path)


def _prefix(head: str, rest: str) -> str:
    return head + ("." + rest if rest and not rest.startswith("[") else rest)


@settings(max_examples=300, deadline=None)
@given(_nested())
def test_process_path_finds_what_env_open_path_finds(tree):
    value, path = tree
    if not path:
        return
    wanted = select(value, parse_property_path(path))
    assert wanted is not None and awscreds._looks_like_login(wanted)
    assert awscreds.extract("acme/dev", value, path=path).access_key_id == "ASIAPATHTEST00000001"


def test_a_quoted_key_with_a_dot_through_both_commands(tmp_path):
    env_dir = os.environ["CREDPROC_ENV_DIR"]
    os.makedirs(os.path.join(env_dir, "acme"), exist_ok=True)
    with open(os.path.join(env_dir, "acme", "dev.yaml"), "w") as f:
        f.write('values:\n  a:\n    "c.d":\n      accessKeyId: ASIAPATHTEST00000001\n'
                '      secretAccessKey: path/secret\n')
    opened = run_credproc("env", "open", "acme/dev", 'a["c.d"]', "--format", "json")
    assert opened.code == 0, opened.stderr
    assert json.loads(opened.stdout)["accessKeyId"] == "ASIAPATHTEST00000001"
    answered = run_credproc("process", "--path", 'a["c.d"]', "acme/dev")
    assert answered.code == 0, answered.stderr
    assert json.loads(answered.stdout)["AccessKeyId"] == "ASIAPATHTEST00000001"
