"""Hostile or broken definitions end in diagnostics: no exception, no hang, no expansion."""
import time

import pytest

from credproc.lang import EnvironmentNotFound, evaluate, load
from credproc.lang.syntax import MAX_DEPTH, MAX_SOURCE_BYTES
from credproc.lang.values import to_plain


def _open(source, loader=None, providers=None, name="env"):
    decl, load_diags = load(name, source)
    if decl is None:
        return None, load_diags
    value, diags = evaluate(name, decl, loader=loader or _no_imports, providers=providers or {})
    return value, load_diags + diags


def _no_imports(name):
    raise EnvironmentNotFound(f'environment "{name}" not found')


def _summaries(diags):
    return [d.summary for d in diags]


def test_size_limit_is_a_diagnostic():
    source = b"values:\n  big: " + b"x" * MAX_SOURCE_BYTES + b"\n"
    value, diags = _open(source)
    assert value is None
    assert len(diags) == 1 and "too large" in diags[0].summary and str(MAX_SOURCE_BYTES) in diags[0].summary


def test_a_definition_at_the_limit_still_loads():
    padding = MAX_SOURCE_BYTES - len(b"values:\n  big: \n")
    value, diags = _open(b"values:\n  big: " + b"x" * padding + b"\n")
    assert not diags and len(value.value["big"].value) == padding


def test_alias_bomb_is_refused_quickly():
    lines = ["values:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 30):  # 10**30 strings if it were expanded
        prev, cur = f"a{i - 1}" if i > 1 else "a", f"a{i}"
        lines.append(f"  {cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    start = time.monotonic()
    value, diags = _open("\n".join(lines).encode())
    assert time.monotonic() - start < 2
    assert value is None and _summaries(diags) == ["alias nodes are not supported"]
    assert (diags[0].line, diags[0].column) == (3, 12)


def test_merge_key_alias_is_refused():
    value, diags = _open(b"base: &b {x: 1}\nvalues:\n  <<: *b\n")
    assert value is None and _summaries(diags) == ["alias nodes are not supported"]


def test_anchor_alone_is_harmless():
    value, diags = _open(b"values:\n  a: &anchor 1\n")
    assert not diags and to_plain(value) == {"a": "1"}


def test_invalid_utf8_is_a_diagnostic():
    value, diags = _open(b"values:\n  a: \"\xc3\x28\"\n")
    assert value is None and _summaries(diags) == ["yaml: invalid UTF-8 at byte offset 14"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_is_a_diagnostic(depth):
    source = b"values:\n  deep: " + b"[" * depth + b"]" * depth + b"\n"
    value, diags = _open(source)
    assert value is None and len(diags) == 1
    assert "nesting" in diags[0].summary


def test_block_nesting_beyond_the_limit():
    lines = ["values:"] + [" " * (2 * i + 2) + f"k{i}:" for i in range(MAX_DEPTH + 5)]
    value, diags = _open(("\n".join(lines) + " leaf\n").encode())
    assert value is None and _summaries(diags) == [f"nesting is deeper than the limit of {MAX_DEPTH} levels"]


def test_nesting_just_under_the_limit_evaluates():
    depth = MAX_DEPTH - 2  # the document mapping and `values` count too
    value, diags = _open(b"values:\n  deep: " + b"[" * depth + b"1" + b"]" * depth + b"\n")
    assert not diags
    node = value.value["deep"]
    for _ in range(depth):
        node = node.value[0]
    assert node.value == "1"


def test_long_reference_chain_is_a_diagnostic_not_a_recursion_error():
    # a0000 -> a0001 -> ... -> a4999: sorted order starts at the far end of the chain
    lines = ["values:"] + [f"  a{i:04d}: ${{a{i + 1:04d}}}" for i in range(4999)] + ["  a4999: start"]
    value, diags = _open("\n".join(lines).encode())
    assert diags and all("nested more than 1500 levels" in d.summary for d in diags)
    assert value.value["a0000"].unknown
    assert value.value["a4998"].value == "start"


def test_exponential_string_growth_is_stopped():
    lines = ["values:", "  s0: xxxxxxxxxxxxxxxx"] + [f'  s{i}: "${{s{i - 1}}}${{s{i - 1}}}"' for i in range(1, 40)]
    start = time.monotonic()
    value, diags = _open("\n".join(lines).encode())
    assert time.monotonic() - start < 10
    assert "value is too large" in _summaries(diags)
    assert value.value["s39"].unknown


def test_yaml_syntax_error_has_no_position_but_names_the_line():
    value, diags = _open(b"values:\n  list: [a, b\n")
    assert value is None and len(diags) == 1
    assert diags[0].summary.startswith("yaml: line ") and diags[0].line is None
    assert diags[0].format().startswith("env: yaml: line ")


@pytest.mark.parametrize("source, summary", [
    (b"values:\n  1: x\n", "mapping keys must be strings"),
    (b"values:\n  true: x\n", "mapping keys must be strings"),
    (b"values:\n  null: x\n", "mapping keys must be strings"),
    (b"values:\n  [a]: x\n", "mapping keys must be strings"),
    (b"- a\n- b\n", "environment must be an object"),
    (b"just text\n", "environment must be an object"),
    (b"# only a comment\n", "environment must be an object"),
    (b"values: [1]\n", "values must be an object"),
    (b"imports: a\n", "imports must be a list"),
    (b"description: [x]\n", "description must be a string"),
    (b"description:\n", "description must be a string"),
    (b"values:\n", "values must be an object"),
    (b"imports:\n", "imports must be a list"),
    (b"imports:\n  - a:\n", "import must be an object"),
    (b"imports:\n  - 12\n", "import must be a string or an object"),
])
def test_document_shape_errors(source, summary):
    decl, diags = load("env", source)
    assert summary in _summaries(diags)


def test_empty_file_is_an_empty_environment():
    decl, diags = load("env", b"")
    assert decl is not None and not diags
    value, diags = evaluate("env", decl, loader=_no_imports, providers={})
    assert value is None and diags == []


def test_missing_import_names_the_environment():
    value, diags = _open(b"imports: [nope]\nvalues: {a: 1}\n")
    assert _summaries(diags) == ['environment "nope" not found']
    assert (diags[0].line, diags[0].column, diags[0].path) == (1, 11, "imports[0]")
    assert to_plain(value) == {"a": "1"}


def test_a_loader_that_crashes_is_a_diagnostic():
    def loader(name):
        raise OSError("disk on fire")

    value, diags = _open(b"imports: [a]\nvalues: {x: 1}\n", loader=loader)
    assert _summaries(diags) == ["disk on fire"] and isinstance(diags[0].cause, OSError)


def test_misspelt_provider_suggests_the_registered_name():
    from credproc.lang.provider import Provider

    class Fake(Provider):
        pass

    value, diags = _open(b"values:\n  creds: {fn::open::aws-logn: {oidc: {}}}\n",
                         providers={"aws-login": Fake()})
    assert diags[0].format() == 'env:2:10: unknown provider "aws-logn"; did you mean "aws-login"?'
    assert value.value["creds"].unknown


def test_provider_exception_is_kept_as_the_cause():
    from credproc.errors import StsRefused
    from credproc.lang.provider import Provider

    class Refusing(Provider):
        def open(self, inputs, ctx):
            raise StsRefused("AccessDenied: not allowed")

    value, diags = _open(b"values:\n  creds:\n    fn::open::aws-login: {x: 1}\n  other: ok\n",
                         providers={"aws-login": Refusing()})
    assert [d.format() for d in diags] == ["env:3:5: AccessDenied: not allowed"]
    assert isinstance(diags[0].cause, StsRefused)
    assert to_plain(value) == {"creds": "[unknown]", "other": "ok"}


def test_provider_sees_inputs_and_context():
    from credproc.lang.provider import Provider
    from credproc.lang.values import Value

    seen = {}

    class Echo(Provider):
        def open(self, inputs, ctx):
            seen["inputs"], seen["ctx"] = to_plain(inputs), ctx
            return Value({"token": Value("t0k3n")}, secret=True)

    value, diags = _open(b"values:\n  n: 3\n  aws:\n    login: {fn::open::p: {role: r, n: '${n}'}}\n",
                         providers={"p": Echo()})
    assert not diags
    assert seen["inputs"] == {"n": "3", "role": "r"}
    assert (seen["ctx"].environment, seen["ctx"].root_environment, seen["ctx"].path) == ("env", "env", "aws.login")
    token = value.value["aws"].value["login"].value["token"]
    assert token.secret and token.value == "t0k3n"
    assert to_plain(value, redact=True) == {"aws": {"login": "[secret]"}, "n": "3"}


def test_reserved_context_keys_are_refused():
    decl, _ = load("env", b"values: {a: 1}\n")
    value, diags = evaluate("env", decl, loader=_no_imports, providers={},
                            context={"currentEnvironment": {"name": "x"}})
    assert value is None and _summaries(diags) == ['reserved context key: "currentEnvironment"']


def test_ciphertext_without_decrypter_is_a_diagnostic():
    value, diags = _open(b"values:\n  s: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}\n")
    assert _summaries(diags) == ["decrypting: no decryption key is configured"]
    assert value.value["s"].unknown and value.value["s"].secret


def test_a_long_import_chain_is_a_diagnostic():
    def loader(name):
        i = int(name[1:])
        return f"imports: [e{i + 1}]\nvalues: {{v{i}: {i}}}\n".encode() if i < 3000 else b"values: {end: 1}\n"

    value, diags = _open(b"imports: [e0]\nvalues: {root: 1}\n", loader=loader)
    assert diags and all("nested more than" in d.summary for d in diags)
    assert value.value["root"].value == "1"


def test_exponential_sharing_is_measured_not_expanded():
    lines = ["values:", "  l0: [x, y]"] + [f"  l{i}: ['${{l{i - 1}}}', '${{l{i - 1}}}']" for i in range(1, 60)]
    lines += ["  json: {fn::toJSON: '${l59}'}", "  text: {fn::toString: '${l59}'}", "  interp: 'a ${l59}'"]
    start = time.monotonic()
    value, diags = _open("\n".join(lines).encode())
    assert time.monotonic() - start < 10
    assert "value is too large" in _summaries(diags)
    assert value is not None and value.unknown  # the whole result would have 2**60 nodes


def test_names_in_messages_are_go_quoted():
    value, diags = _open(b'values:\n  "q\\"k": 1\n  "q\\"k": 2\n  a: ${["x\\ty"]}\n')
    assert _summaries(diags) == ['duplicate key "q\\"k"', 'unknown property "x\\\\ty"']
