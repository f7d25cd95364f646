"""Property tests: whatever the input, the language answers with values and diagnostics only."""
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credproc.lang import Diagnostic, EnvironmentNotFound, evaluate, load
from credproc.lang.interpolate import parse_interpolation
from credproc.lang.values import Value, go_json, string_form, to_plain

# Pieces that exercise the interpolation grammar and the builtins.
_FRAGMENTS = ["${", "}", "$$", "$", "[", "]", '"', "\\", ".", "a", "b", "0", "-1", " ", "imports", "context",
              "environments", "fn::", "x.y", '["k"]', "[0]", "é", "\t"]
interp_text = st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join)
keys = st.one_of(st.sampled_from(["a", "b", "c", "imports", "context", "fn::secret", "fn::join", "fn::open::test",
                                  "fn::toJSON", "fn::fromJSON", "fn::split", "fn::concat", "fn::rotate::swap",
                                  "fn::final", "fn::validate", "fn::toString", "fn::fromBase64", "inputs",
                                  "provider", "state", "ciphertext", "schema", "value", "${a}"]), interp_text)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 20, 10 ** 20),
                    st.floats(allow_nan=True, allow_infinity=True), interp_text,
                    st.sampled_from(["${a}", "${b.c}", "${a[0]}", "${imports.x.y}", "${environments.p.e.k}",
                                     "${context.currentEnvironment.name}", "yes", "0777", "0x1F", "1e3"]))
trees = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)), max_leaves=25)


def _providers():
    from credproc.providers import conformance as c

    return ({"test": c.TestProvider(), "error": c.ErrorProvider(), "schema": c.SchemaProvider(),
             "secret-wrapper": c.SecretWrapperProvider()},
            {"swap": c.SwapRotator(), "echo": c.EchoRotator()})


def _run(root_source: bytes, others: dict, mode: str):
    def loader(name):
        if name in others:
            return others[name]
        raise EnvironmentNotFound(f'environment "{name}" not found')

    decl, diags = load("env", root_source)
    assert all(isinstance(d, Diagnostic) for d in diags)
    if decl is None:
        return
    providers, rotators = _providers()
    value, more = evaluate("env", decl, loader=loader, providers=providers, rotators=rotators,
                           context={"pulumi": {"user": {"id": "u"}}}, mode=mode,
                           decrypter=lambda b: bytes((x + 128) & 0xFF for x in b))
    for d in more:
        assert isinstance(d, Diagnostic) and isinstance(d.format(), str)
    if value is not None:
        assert isinstance(value, Value)
        go_json(to_plain(value, True))
        go_json(to_plain(value, False), indent=2)
        string_form(value)


_SETTINGS = settings(max_examples=int(__import__("os").environ.get("CREDPROC_HYPOTHESIS_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(values=trees, imported=trees, mode=st.sampled_from(["eval", "check"]))
def test_random_documents_only_produce_diagnostics(values, imported, mode):
    root = yaml.safe_dump({"imports": ["x", "p/e", "env"], "values": values}, allow_unicode=True).encode()
    other = yaml.safe_dump({"values": imported}, allow_unicode=True).encode()
    _run(root, {"x": other, "p/e": other, "env": root}, mode)


@_SETTINGS
@given(text=st.text(max_size=200))
def test_random_text_only_produces_diagnostics(text):
    _run(text.encode("utf-8", "surrogatepass"), {}, "eval")


@_SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes_only_produce_diagnostics(data):
    _run(data, {}, "eval")


@_SETTINGS
@given(text=interp_text)
def test_random_interpolations_parse_with_offsets_inside_the_text(text):
    result = parse_interpolation(text)
    for offset, message in result.errors:
        assert 0 <= offset <= len(text) and message
    for part in result.parts:
        for accessor in part.access or ():
            assert 0 <= accessor.start <= accessor.end <= len(text)


@_SETTINGS
@given(text=interp_text, mode=st.sampled_from(["eval", "check"]))
def test_random_interpolations_evaluate(text, mode):
    root = yaml.safe_dump({"values": {"a": [1, {"k": "v"}], "b": {"c": "d"}, "s": text,
                                      "t": {"fn::toString": text}, "j": {"fn::join": ["-", [text, text]]}}}).encode()
    _run(root, {}, mode)
