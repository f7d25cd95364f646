"""Subtler spec statements (!), one group per section."""
import json

import pytest

from tests.spec.spechelp import Row, check_row, params, run_cli

S2 = [
    Row("08 is not octal: yaml.v3 decodes it as the float 8", {"env": "values:\n  a: 08\n  s: x${a}\n"},
        values={"a": 8, "s": "x8"}),
    Row("-0x1F is -31 and +0x1F is 31", {"env": "values:\n  a: -0x1F\n  b: +0x1F\n"}, values={"a": -31, "b": 31}),
    Row("1_000.5 is 1000.5", {"env": "values:\n  a: 1_000.5\n"}, values={"a": 1000.5}),
    Row("1. is the float 1", {"env": "values:\n  a: 1.\n  s: x${a}\n"}, values={"a": 1, "s": "x1"}),
    Row("1E3 prints as 1000", {"env": "values:\n  a: 1E3\n  s: x${a}\n"}, values={"a": 1000, "s": "x1000"}),
    Row(".Inf/+.inf/-.INF/.NaN/.NAN spellings", {"env": "values:\n  s: '${a} ${b} ${c} ${d} ${e}'\n  a: .Inf\n  b: +.inf\n"
                                                  "  c: -.INF\n  d: .NaN\n  e: .NAN\n"}, path="s", fmt="string",
        values="+Inf +Inf -Inf NaN NaN\n"),
    Row("inf and Infinity are strings", {"env": "values:\n  a: inf\n  b: Infinity\n  c: nan\n"},
        values={"a": "inf", "b": "Infinity", "c": "nan"}),
    Row("below int64 becomes a float", {"env": "values:\n  a: -9223372036854775809\n  s: x${a}\n"}, path="s", fmt="string",
        values="x-9.223372036854776e+18\n"),
    Row("int64 min stays an integer", {"env": "values:\n  a: -9223372036854775808\n  s: x${a}\n"}, path="s", fmt="string",
        values="x-9223372036854775808\n"),
    Row("1e400 is out of float range: Go ParseFloat fails and yaml.v3 keeps a string",
        {"env": "values:\n  a: 1e400\n  b: -1e400\n  c: 1e-400\n"}, values={"a": "1e400", "b": "-1e400", "c": 0}),
    Row("a 400-digit integer is a string (beyond uint64 and float range)",
        {"env": "values:\n  a: 1" + "0" * 400 + "\n"}, values={"a": "1" + "0" * 400}),
    Row(".5_0: no '_' in a float without a base prefix (Go ParseFloat) -> string",
        {"env": "values:\n  a: .5_0\n"}, values={"a": ".5_0"}),
    Row("-0 and -0.0 are yaml.v3's negative zero (-0)", {"env": "values:\n  a: -0\n  b: -0.0\n  s: ${a}|${b}\n"},
        path="s", fmt="string", values="-0|-0\n"),
    Row("!!int '12' is 12", {"env": "values:\n  a: !!int '12'\n"}, values={"a": 12}),
    Row("!!float 1 prints 1", {"env": "values:\n  a: !!float 1\n  s: x${a}\n"}, path="s", fmt="string", values="x1\n"),
    Row("fn:: key in a multi-key values mapping: top-level error, other keys kept",
        {"env": "values:\n  fn::secret: x\n  a: 1\n"}, values={"a": 1},
        errors=('builtin function call "fn::secret" not allowed at the top level',)),
    Row("duplicate key error keeps the first, nested in a sequence",
        {"env": "values:\n  l:\n    - {a: 1, a: 2}\n"}, values={"l": [{"a": 1}]}, errors=('duplicate key "a"',)),
    Row("an environment with imports but no values is an object",
        {"env": "imports: [a]\n", "a": "values: {x: 1}\n"}, values={"x": 1}),
]

GO_FLOATS = [("1e21", "1e+21"), ("123456.7", "123456.7"), ("12345678.0", "1.2345678e+07"), ("0.000123", "0.000123"),
             ("1.5e-7", "1.5e-07"), ("5e-324", "5e-324"), ("1.7976931348623157e308", "1.7976931348623157e+308"),
             ("0.30000000000000004", "0.30000000000000004"), ("100000000000000000000.0", "1e+20"), ("-1.25E+2", "-125")]
S2 += [Row(f"Go %g shortest: {t} -> {w}", {"env": f"values:\n  a: {t}\n  s: x${{a}}\n"}, path="s", fmt="string",
           values=f"x{w}\n") for t, w in GO_FLOATS]

S4 = [
    Row("${x}$$ is an interpolation (text after)", {"env": "values:\n  x: 1\n  r: ${x}$$\n"}, values={"x": 1, "r": "1$"}),
    Row("$$${x} alone is an interpolation", {"env": "values:\n  x: 1\n  r: $$${x}\n"}, values={"x": 1, "r": "$1"}),
    Row("two accesses back to back are an interpolation", {"env": "values:\n  x: 1\n  r: ${x}${x}\n"},
        values={"x": 1, "r": "11"}),
    Row("${foo.x bar}: missing brace, best-effort access, rest is text",
        {"env": "values:\n  foo: {x: 1}\n  r: \"${foo.x bar}\"\n"}, values={"foo": {"x": 1}, "r": "1 bar}"},
        errors=("missing closing brace '}' in interpolation",)),
    Row("${foo.x]} : ] is part of a name", {"env": "values:\n  foo: {x: 1}\n  r: \"${foo.x]}\"\n"},
        errors=('unknown property "x]"',)),
    Row("${ alone: missing brace and unknown property \"\"", {"env": "values:\n  r: \"${\"\n"},
        errors=("missing closing brace '}' in interpolation", 'unknown property ""')),
    Row("unicode names", {"env": "values:\n  héllo: 1\n  r: ${héllo}\n"}, values={"héllo": 1, "r": 1}),
    Row("quoted subscript with dots and spaces", {"env": "values:\n  'a.b c': 1\n  r: '${[\"a.b c\"]}'\n"},
        values={"a.b c": 1, "r": 1}),
    Row("chained quoted subscripts", {"env": "values:\n  o: {'x y': {'p.q': 2}}\n  r: '${o[\"x y\"][\"p.q\"]}'\n"},
        values={"o": {"x y": {"p.q": 2}}, "r": 2}),
]

S4 += [
    Row("free-form keys reachable by quoted subscripts (. ] } backslash space $ digits emoji)",
        {"env": "values:\n  \"a.b\": 1\n  \"a]b\": 2\n  \"a}b\": 3\n  'a\\b': 4\n  \"\U0001F600\": 5\n  \"a b\": 6\n"
                "  \"a$b\": 7\n  \"123\": 8\n  r: '${[\"a.b\"]}${[\"a]b\"]}${[\"a}b\"]}${[\"a\\b\"]}"
                "${\U0001F600}${[\"a b\"]}${[\"a$b\"]}${123}'\n"},
        values={"a.b": 1, "a]b": 2, "a}b": 3, "a\\b": 4, "\U0001F600": 5, "a b": 6, "a$b": 7, "123": 8,
                "r": "12345678"}),
    Row("cycle path of a non-ASCII key is quoted", {"env": "values:\n  \"\u00e9\": {p: '${\u00e9.p}'}\n"},
        errors=('cyclic reference to ["\u00e9"].p',)),
]

S5 = [
    Row("did-you-mean from the layer where the search ended (no suggestion from the own layer)",
        {"env": "imports: [a]\nvalues:\n  o: {abcdef: 1}\n  r: ${o.abcdeg}\n", "a": "values:\n  o: {zzzzzz: 1}\n"},
        errors=('unknown property "abcdeg"',), absent=('did you mean "abcdef"',)),
    Row("did-you-mean suggestion from the base layer",
        {"env": "imports: [a]\nvalues:\n  o: {zzzzzz: 1}\n  r: ${o.abcdeg}\n", "a": "values:\n  o: {abcdef: 1}\n"},
        errors=('unknown property "abcdeg"; did you mean "abcdef"?',)),
    Row("did-you-mean nearest wins", {"env": "values:\n  o: {abcdxx: 1, abcdex: 2}\n  r: ${o.abcdef}\n"},
        errors=('unknown property "abcdef"; did you mean "abcdex"?',)),
    Row("array index into a merged array of an import",
        {"env": "imports: [a]\nvalues:\n  r: ${l[1]}\n", "a": "values:\n  l: [x, y]\n"}, values={"l": ["x", "y"], "r": "y"}),
    Row("error position of a later accessor (column of the accessor)",
        {"env": "values:\n  o: {a: {}}\n  c: ${o.a.bad}\n"}, errors=("test/env:3:11:", 'unknown property "bad"')),
    Row("error position of an accessor in the middle of an interpolation",
        {"env": "values:\n  o: {}\n  c: xx ${o.bad}\n"}, errors=("test/env:3:12:", 'unknown property "bad"')),
]

S6 = [
    Row("object over an unknown base: only the object's keys",
        {"env": "imports: [a]\nvalues:\n  o: {x: 1}\n", "a": "values:\n  o: {fn::open::error: {why: boom}}\n"},
        values={"o": {"x": 1}}, errors=("boom",)),
    Row("merge: false import is not merged (its keys absent)",
        {"env": "imports:\n  - c: {merge: false}\nvalues:\n  r: 1\n", "c": "values: {foo: 1}\n"}, values={"r": 1}),
    Row("merge: false import still reports a cycle",
        {"env": "imports:\n  - env: {merge: false}\nvalues:\n  r: 1\n"}, errors=("cyclic import of env",)),
    Row("a load warning in an import does not stop it contributing",
        {"env": "imports: [a]\n", "a": "foo: 1\nvalues: {x: 1}\n"}, values={"x": 1},
        warnings=("Field 'foo' does not exist on Object 'environment'",)),
    Row("inline reference to an environment with a load error: reported, unknown",
        {"env": "values:\n  r: ${environments.foo.bar.x}\n", "foo/bar": "values:\n  x: 1\n  y: ${[0]}\n"},
        values={"r": "[unknown]"}, errors=("the first accessor must be a property name",)),
    Row("imports merge then own values: a nested own key over an import array element replaces",
        {"env": "imports: [a]\nvalues:\n  o: {l: [{p: 1}]}\n", "a": "values:\n  o: {l: [{q: 2}, 3]}\n"},
        values={"o": {"l": [{"p": 1}]}}),
    Row("a ${ref} to an object merges over the import at the destination, recursively",
        {"env": "imports: [a]\nvalues:\n  s: {n: {x: 1}}\n  d: ${s}\n", "a": "values:\n  d: {n: {y: 2}, z: 3}\n"},
        values={"s": {"n": {"x": 1}}, "d": {"n": {"x": 1, "y": 2}, "z": 3}}),
    Row("a scalar ${ref} replaces an import object at the destination",
        {"env": "imports: [a]\nvalues:\n  s: 1\n  d: ${s}\n", "a": "values:\n  d: {y: 2}\n"}, values={"s": 1, "d": 1}),
]

S6 += [
    Row("fn::final object laid over an imported object stays final for importers",
        {"env": "imports: [a]\nvalues:\n  o: {x: 5}\n", "a": "imports: [b]\nvalues:\n  o: {fn::final: {x: 1}}\n",
         "b": "values:\n  o: {y: 2}\n"}, values={"o": {"x": 1, "y": 2}}, warnings=("cannot override final value",)),
]

S10 = [
    Row("toBase64/fromBase64 round-trip invalid UTF-8 bytes", {"env": "values:\n  r: {fn::toBase64: {fn::fromBase64: /w==}}\n"},
        values={"r": "/w=="}),
    Row("toString quotes invalid UTF-8 bytes as \\xNN", {"env": "values:\n  r: {fn::toString: [{fn::fromBase64: /w==}]}\n"},
        values={"r": '"\\xff"'}),
    Row("toJSON writes invalid UTF-8 as U+FFFD", {"env": "values:\n  r: {fn::toJSON: {fn::fromBase64: /w==}}\n"},
        values={"r": '"\ufffd"'}),
    Row("fromJSON duplicate keys: last wins", {"env": "values:\n  r: {fn::fromJSON: '{\"a\": 1, \"a\": 2}'}\n"},
        values={"r": {"a": 2}}),
    Row("fromJSON leading whitespace", {"env": "values:\n  r: {fn::fromJSON: ' [1]'}\n"}, values={"r": [1]}),
    Row("fromJSON trailing invalid text ignored", {"env": "values:\n  r: {fn::fromJSON: '1 }}}'}\n"}, values={"r": 1}),
    Row("fromJSON result object in string form: its own keys",
        {"env": "values:\n  j: {fn::fromJSON: '{\"b\": 1, \"a\": \"x\"}'}\n  r: 'v=${j}'\n"},
        values={"j": {"a": "x", "b": 1}, "r": 'v="a"="x","b"="1"'}),
    Row("toString own keys at every depth",
        {"env": "imports: [a]\nvalues:\n  o: {x: {p: 1}}\n  r: {fn::toString: '${o}'}\n", "a": "values:\n  o: {x: {q: 2}, y: 3}\n"},
        values={"o": {"x": {"p": 1, "q": 2}, "y": 3}, "r": '"x"="\\"p\\"=\\"1\\""'}),
    Row("toString of a string is the string", {"env": "values:\n  r: {fn::toString: 'a\"b'}\n"}, values={"r": 'a"b'}),
    Row("toString of an empty array and object", {"env": "values:\n  a: {fn::toString: []}\n  o: {fn::toString: {}}\n"},
        values={"a": "", "o": ""}),
    Row("toJSON of null, bool, nested arrays", {"env": "values:\n  r: {fn::toJSON: [null, false, [[]], {}]}\n"},
        values={"r": "[null,false,[[]],{}]"}),
    Row("toJSON of an unknown is unknown", {"env": "values:\n  r: {fn::toJSON: '${nope}'}\n"}, values={"r": "[unknown]"},
        errors=('unknown property "nope"',)),
    Row("toJSON key order bytewise (B before a)", {"env": "values:\n  r: {fn::toJSON: {a: 1, B: 2, é: 3}}\n"},
        values={"r": '{"B":2,"a":1,"é":3}'}),
    Row("split of a multi-char delimiter", {"env": "values:\n  r: {fn::split: ['::', 'a::b::']}\n"}, values={"r": ["a", "b", ""]}),
    Row("join with an unknown element is unknown", {"env": "values:\n  r: {fn::join: [',', [a, '${nope}']]}\n"},
        values={"r": "[unknown]"}, errors=('unknown property "nope"',)),
    Row("join type error on an element reported", {"env": "values:\n  r: {fn::join: [',', [a, true]]}\n"},
        values={"r": "[unknown]"}, errors=("expected string, got boolean",)),
    Row("concat of references to arrays", {"env": "values:\n  a: [1]\n  b: [2]\n  r: {fn::concat: ['${a}', '${b}']}\n"},
        values={"a": [1], "b": [2], "r": [1, 2]}),
    Row("concat with an object element: expected array, got object",
        {"env": "values:\n  o: {a: 1}\n  r: {fn::concat: [[1], '${o}']}\n"}, values={"o": {"a": 1}, "r": "[unknown]"},
        errors=("expected array, got object",)),
    Row("malformed builtin (load error) evaluates to unknown", {"env": "values:\n  r: {fn::join: abc}\n  k: 1\n"},
        values={"r": "[unknown]", "k": 1}, errors=("the argument to fn::join must be a two-valued list",)),
    Row("fn::secret with a non-literal becomes secret \"\"", {"env": "values:\n  s: {fn::secret: [a]}\n"},
        values={"s": ""}, errors=("secret values must be string literals",)),
    Row("fn::rotate missing provider", {"env": "values:\n  r: {fn::rotate: {inputs: {}, state: {}}}\n"},
        errors=("missing provider name ('provider')",)),
    Row("fn::rotate missing inputs", {"env": "values:\n  r: {fn::rotate: {provider: swap, state: {}}}\n"},
        errors=("missing provider inputs ('inputs')",)),
    Row("fn::rotate::swap missing state: null state accepted by oneOf [state, null]",
        {"env": "values:\n  r: {fn::rotate::swap: {inputs: {}}}\n"}, clean=True),
    Row("fn::open provider name that is a number", {"env": "values:\n  r: {fn::open: {provider: 1, inputs: {}}}\n"},
        errors=("provider name must be a string literal",)),
    Row("echo rotator: rotate-only input with a missing environment is not evaluated on open",
        {"env": "values:\n  r:\n    fn::rotate::echo:\n      inputs: {next: 'x ${environments.fake.nope.v}'}\n"
                "      state: {current: hello}\n"}, values={"r": {"current": "hello"}}, absent=("fake/nope",)),
]

S16 = [
    Row("check: rotate-only inputs of the root are evaluated (missing environment reported)",
        {"env": "values:\n  r:\n    fn::rotate::echo:\n      inputs: {next: 'x ${environments.fake.nope.v}'}\n"
                "      state: {current: hello}\n"}, command="check", errors=("fake/nope",)),
    Row("check: rotate-only inputs inside an import are not evaluated",
        {"env": "imports: [a]\n", "a": "values:\n  r:\n    fn::rotate::echo:\n      inputs: {next: 'x ${environments.fake.nope.v}'}\n"
                                          "      state: {current: hello}\n"}, command="check", absent=("fake/nope",)),
    Row("env get --show-secrets decrypts static secrets",
        {"env": "values:\n  s: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}\n"}, command="get"),
]


@pytest.mark.parametrize("row", params(S2))
def test_s2(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S4))
def test_s4(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S5))
def test_s5(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S6))
def test_s6(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S10))
def test_s10(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S16[:2]))
def test_s16(row, tmp_path):
    check_row(row, tmp_path)


def test_s16_env_get_show_secrets_decrypts(tmp_path):
    files = {"env": "values:\n  s: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}\n"}
    p = run_cli(tmp_path, files, ["env", "get", "test/env", "--show-secrets", "--value", "json"])
    assert p.returncode == 0 and json.loads(p.stdout) == {"s": "hunter2"}, p.stderr
    p = run_cli(tmp_path, files, ["env", "get", "test/env", "--value", "json"])
    assert json.loads(p.stdout) == {"s": "[secret]"}


def test_s11_echo_provider_keeps_member_secrets_only(tmp_path):
    """§11 step 5: input secrecy does not make outputs secret; echoed secret members stay secret."""
    row = Row("echo", {"env": "values:\n  s: {fn::secret: x}\n  r: {fn::open::test: {a: '${s}', b: 1}}\n"}, fmt="detailed")
    out = json.loads(check_row(row, tmp_path).stdout)["value"]["r"]
    assert not out.get("secret") and out["value"]["a"].get("secret") and not out["value"]["b"].get("secret"), out


def test_s10_concat_result_secret_when_an_input_contains_a_secret(tmp_path):
    """§10 "secret if any input contains a secret"; §12: concat's elements keep their own flags."""
    row = Row("concat secret", {"env": "values:\n  s: {fn::secret: x}\n  r: {fn::concat: [['${s}'], [1]]}\n"},
              fmt="detailed")
    r = json.loads(check_row(row, tmp_path).stdout)["value"]["r"]
    assert r.get("secret") is True, r
    assert r["value"][0].get("secret") is True and not r["value"][1].get("secret"), r


def test_s12_array_with_a_secret_element_is_not_secret(tmp_path):
    row = Row("array", {"env": "values:\n  s: {fn::secret: x}\n  l: ['${s}', 1]\n"}, command="get",
              values={"s": "[secret]", "l": ["[secret]", 1]})
    check_row(row, tmp_path)


def test_s15_sorted_key_order_is_bytewise(tmp_path):
    """§15: B sorts before a bytewise, so B is the expression re-entered first."""
    row = Row("bytewise", {"env": "values:\n  a: ${B}\n  B: ${a}\n"}, errors=("cyclic reference to B",),
              absent=("cyclic reference to a",))
    check_row(row, tmp_path)


def test_s17_string_format_newline_only_when_missing(tmp_path):
    row = Row("string nl", {"env": "values:\n  a: \"x\\n\"\n  b: y\n"}, path="a", fmt="string", values="x\n")
    check_row(row, tmp_path)
    row = Row("string nl", {"env": "values:\n  a: \"x\\n\"\n  b: y\n"}, path="b", fmt="string", values="y\n")
    check_row(row, tmp_path)


def test_s8_anonymous_root_file(tmp_path):
    """§8: the anonymous root sees <yaml>; a direct import is the root of itself and below."""
    files = {"a": "imports: [b]\nvalues:\n  ac: ${context.currentEnvironment.name}\n  ar: ${context.rootEnvironment.name}\n",
             "b": "values:\n  bc: ${context.currentEnvironment.name}\n  br: ${context.rootEnvironment.name}\n"}
    root = tmp_path / "root.yaml"
    root.write_text("imports: [a]\nvalues:\n  c: ${context.currentEnvironment.name}\n  r: ${context.rootEnvironment.name}\n")
    p = run_cli(tmp_path, files, ["env", "open", "--file", str(root), "--format", "json", "--partial"])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"c": "<yaml>", "r": "<yaml>", "ac": "a", "ar": "a", "bc": "b", "br": "a"}


def test_s7_inline_reference_and_import_share_one_evaluation(tmp_path):
    row = Row("shared", {"env": "imports: [foo/bar]\nvalues:\n  r: ${environments.foo.bar.x}\n",
                         "foo/bar": "values:\n  x: 1\n  bad: ${nope}\n"}, errors=('unknown property "nope"',))
    p = check_row(row, tmp_path)
    assert p.stderr.count('unknown property "nope"') == 1, p.stderr


# (YAML double-quoted escape, expected Go strconv.Quote output)
QUOTES = [(r"\ue000", r'"\ue000"'), (r"\U0001F600", '"\U0001F600"'), (r"\U0010FFFF", r'"\U0010ffff"'),
          (r"\ufeff", r'"\ufeff"'), (r"\u200b", r'"\u200b"'), (r"\u2028", r'"\u2028"'), (r"\x1b", r'"\x1b"'),
          (r"\a\b\f\v\r", r'"\a\b\f\v\r"'), (r"\u00e9", '"\u00e9"'), (r"\u0300", '"\u0300"'),
          (r"\x7f", r'"\x7f"'), (r"\u00a0", r'"\u00a0"')]


@pytest.mark.parametrize("text,quoted", QUOTES, ids=[q for _, q in QUOTES])
def test_s12_go_quote(text, quoted, tmp_path):
    """§12 Go strconv.Quote: printable runes raw, others \\uNNNN / \\UNNNNNNNN (lower-case hex)."""
    row = Row("quote", {"env": f'values:\n  r: {{fn::toString: ["{text}"]}}\n'}, path="r", fmt="string")
    assert check_row(row, tmp_path).stdout == quoted + "\n"


def test_s6_missing_import_message_names_it(tmp_path):
    p = check_row(Row("missing", {"env": "imports: [nope]\nvalues: {a: 1}\n"}, errors=("nope",)), tmp_path)
    assert "not found" in p.stderr or "no such" in p.stderr.lower(), p.stderr


def test_s9_files_become_temp_files_after_sorted_env_vars(tmp_path):
    """§9/§17: dotenv prints env vars (sorted) then files (sorted) whose value is a temp-file path
    holding the string form; arrays/objects are skipped; null is the empty string."""
    import os
    files = {"env": "values:\n  environmentVariables: {B: x, A: 1}\n  files: {G: [1], F: hello, N: null}\n"}
    p = run_cli(tmp_path, files, ["env", "open", "test/env", "--format", "dotenv"])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:2] == ["A='1'", "B='x'"], lines  # single-quoted, not Go-quoted: see credproc.store.render
    assert [l.split("=", 1)[0] for l in lines[2:]] == ["F", "N"], lines
    paths = [l.split("=", 1)[1].strip("'") for l in lines[2:]]
    try:
        with open(paths[0]) as f:
            assert f.read() == "hello"
        with open(paths[1]) as f:
            assert f.read() == ""
    finally:
        for path in paths:
            if os.path.exists(path):
                os.remove(path)


S11 = [
    Row("provider outputs feed other providers, interpolation and arrays; errors stay local",
        {"env": "imports: [a]\nvalues:\n  first: {fn::open::test: {x: '${a_val}', n: 2}}\n"
                "  second: {fn::open::test: {y: '${first.x}-${first.n}', z: '${first}'}}\n"
                "  third: 'v=${second.y} ${imports.a.a_open.k}'\n  arr: ['${first.n}', '${second.z.n}']\n"
                "  err: {fn::open::error: {why: '${second.y}'}}\n  after: '${err.x}'\n",
         "a": "values:\n  a_val: A\n  a_open: {fn::open::test: {k: '${a_val}'}}\n"},
        values={"a_open": {"k": "A"}, "a_val": "A", "after": "[unknown]", "arr": [2, 2], "err": "[unknown]",
                "first": {"n": 2, "x": "A"}, "second": {"y": "A-2", "z": {"n": 2, "x": "A"}}, "third": "v=A-2 A"},
        errors=("A-2",)),
    Row("check: every provider result (and what is computed from it) is unknown",
        {"env": "values:\n  a_val: A\n  first: {fn::open::test: {x: '${a_val}'}}\n  third: 'v=${first.x}'\n"
                "  arr: ['${first.x}']\n"}, command="get",
        values={"a_val": "A", "first": "[unknown]", "third": "[unknown]", "arr": ["[unknown]"]}),
]


@pytest.mark.parametrize("row", params(S11))
def test_s11(row, tmp_path):
    check_row(row, tmp_path)
