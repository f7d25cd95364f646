"""docs/esc-language.md §0 rules 7-9, §12 values (secret/unknown), §13 schema messages, §14 ciphertext,
§15 cycles, §16 check vs eval, §17 CLI renderings."""
import base64
import struct
import zlib

import pytest

from tests.spec.spechelp import Row, check_row, params


def envelope(plain: bytes, *, magic=b"escx", version=1, bad_crc=False) -> str:
    body = magic + struct.pack(">I", version) + bytes((b + 128) % 256 for b in plain)
    crc = zlib.crc32(body) ^ (1 if bad_crc else 0)
    return base64.b64encode(body + struct.pack(">I", crc)).decode()


S12 = [
    Row("redaction replaces the whole secret node", {"env": "values:\n  s: {fn::secret: x}\n"}, command="get",
        values={"s": "[secret]"}),
    Row("an object containing a secret is not itself secret",
        {"env": "values:\n  s: {fn::secret: x}\n  o: {p: '${s}', q: 1}\n"}, command="get",
        values={"s": "[secret]", "o": {"p": "[secret]", "q": 1}}),
    Row("interpolation with a secret part is secret",
        {"env": "values:\n  s: {fn::secret: x}\n  i: 'a${s}'\n"}, command="get", values={"s": "[secret]", "i": "[secret]"}),
    Row("every builtin marks a result computed from a secret secret",
        {"env": "values:\n  s: {fn::secret: abc}\n  b: {fn::toBase64: '${s}'}\n  j: {fn::toJSON: ['${s}']}\n"
                "  t: {fn::toString: ['${s}']}\n  k: {fn::join: [',', ['${s}']]}\n"}, command="get",
        values={"s": "[secret]", "b": "[secret]", "j": "[secret]", "t": "[secret]", "k": "[secret]"}),
    Row("fromJSON of a secret string: every node secret",
        {"env": "values:\n  s: {fn::secret: '{\"a\": 1}'}\n  j: {fn::fromJSON: '${s}'}\n  r: '${j.a}'\n"}, command="get",
        values={"s": "[secret]", "j": "[secret]", "r": "[secret]"}),
    Row("a symbol copies the secret flag", {"env": "values:\n  s: {fn::secret: x}\n  r: '${s}'\n"}, command="get",
        values={"s": "[secret]", "r": "[secret]"}),
    Row("secret-wrapper provider output: every node secret",
        {"env": "values:\n  w: {fn::open::secret-wrapper: {a: {b: 1}}}\n  r: ${w.a.b}\n"}, fmt="detailed"),
    Row("merging does not make anything secret",
        {"env": "imports: [a]\nvalues:\n  o: {x: 1}\n", "a": "values:\n  o: {s: {fn::secret: y}}\n"}, command="get",
        values={"o": {"x": 1, "s": "[secret]"}}),
    Row("unknown propagates through interpolation, not up through object literals",
        {"env": "values:\n  o: {u: '${nope}', k: 1}\n  i: 'a${nope}'\n"}, values={"o": {"u": "[unknown]", "k": 1}, "i": "[unknown]"},
        errors=('unknown property "nope"',)),
    Row("unknown propagates through builtins",
        {"env": "values:\n  b: {fn::toBase64: '${nope}'}\n"}, values={"b": "[unknown]"}, errors=('unknown property "nope"',)),
    Row("string form of an unknown is [unknown] (env get, providers unknown)",
        {"env": "values:\n  o: {fn::open::test: {a: 1}}\n  r: 'x${o.a}'\n"}, command="get", values={"o": "[unknown]", "r": "[unknown]"}),
    Row("errors do not stop evaluation", {"env": "values:\n  a: ${nope}\n  b: 1\n  c: ${a}\n"},
        values={"a": "[unknown]", "b": 1, "c": "[unknown]"}, errors=('unknown property "nope"',)),
    Row("environmentVariables string forms (dotenv)",
        {"env": "values:\n  environmentVariables: {S: a, N: 1.50, B: true, Z: null, L: [1], O: {a: 1}}\n"},
        fmt="dotenv", values="B='true'\nN='1.5'\nS='a'\nZ=''\n"),
    # credproc differs from ESC here on purpose (ESC Go-quotes: "$x `y`" ran commands once eval'd):
    # values are single-quoted, or double-quoted with \ " $ ` escaped when they hold ' or \.
    Row("dotenv values are quoted so that nothing expands",
        {"env": "values:\n  environmentVariables: {A: \"$x `y` \\\"q\\\" \\n\", B: \"it's $x\"}\n"}, fmt="dotenv",
        values='A=\'$x `y` "q" \n\'\nB="it\'s \\$x"\n'),
    Row("shell format prefixes export", {"env": "values:\n  environmentVariables: {A: a, B: \"it's\"}\n"},
        fmt="shell", values="export A='a'\nexport B='it'\\''s'\n"),
    Row("--format string of the merged value has inherited keys",
        {"env": "imports: [a]\nvalues:\n  o: {x: 1}\n", "a": "values:\n  o: {y: 2}\n"}, path="o", fmt="string",
        values='"x"="1","y"="2"\n'),
    Row("property path that is missing prints null", {"env": "values: {a: 1}\n"}, path="b", values=None),
    Row("property path a.b[0][\"c.d\"]", {"env": "values:\n  a: {b: [{c.d: 5}]}\n"}, path='a.b[0]["c.d"]', values=5),
]

S13 = [(schema, value, msg) for schema, value, msg in [
    ("{type: string}", "1", "expected string, got number"),
    ("{type: number}", "x", "expected number, got string"),
    ("{type: boolean}", "[1]", "expected boolean, got array"),
    ("{type: object}", "null", "expected object, got null"),
    ("{const: x}", "y", 'expected "x"'),
    ("{enum: [a, b]}", "c", 'expected one of ["a","b"]'),
    ("{anyOf: [{type: string}, {type: number}]}", "true", "at least one subschema must match"),
    ("{oneOf: [{type: string}, {type: number}]}", "true", "exactly one subschema must match"),
    ("{oneOf: [{type: string}, {minLength: 1}]}", "ab", "exactly one subschema may match"),
    ("{type: object, required: [a, b]}", "{}", "missing required properties: a, b"),
    ("{type: object, dependentRequired: {a: [b]}}", "{a: 1}", "missing required properties: b"),
    ("{multipleOf: 2}", "3", "expected a multiple of 2"),
    ("{minimum: 1}", "0", "expected a number greater than or equal to 1"),
    ("{exclusiveMinimum: 1}", "1", "expected a number greater than 1"),
    ("{maximum: 1}", "2", "expected a number less than or equal to1"),
    ("{exclusiveMaximum: 1}", "1", "expected a number less than 1"),
    ("{minLength: 2}", "a", "expected a string of at least length 2"),
    ("{maxLength: 2}", "é1", "expected a string of at most length 2"),
    ("{pattern: '^foo[0-9]+$'}", "foox", 'string must match the pattern "^foo[0-9]+$"'),
    ("{minItems: 2}", "[1]", "expected an array with at least 2 items"),
    ("{maxItems: 1}", "[1, 2]", "expected an array with at most 1 items"),
    ("{minProperties: 2}", "{a: 1}", "expected an object with at least 2 properties"),
    ("{maxProperties: 1}", "{a: 1, b: 2}", "expected an object with at most 1 properties"),
]]

S14 = [
    Row("ciphertext decrypts with the test key", {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'hunter2')}}}}}\n"},
        values={"s": "hunter2"}),
    Row("README example ZXNjeAAAAAHo9e705fKyKo30VQ== is hunter2",
        {"env": "values:\n  s: {fn::secret: {ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==}}\n"}, values={"s": "hunter2"}),
    Row("ciphertext base64 error (Go text)", {"env": "values:\n  s: {fn::secret: {ciphertext: 'ab!d'}}\n"},
        errors=("invalid ciphertext: illegal base64 data at input byte 2",)),
    Row("ciphertext shorter than 16 bytes -> EOF",
        {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {base64.b64encode(b'escx1234').decode()}}}}}\n"},
        errors=("invalid ciphertext: EOF",)),
    Row("ciphertext bad magic -> invalid header",
        {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'hunter2', magic=b'escy')}}}}}\n"},
        errors=("invalid ciphertext: invalid header",)),
    Row("ciphertext bad checksum -> invalid checksum",
        {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'hunter2', bad_crc=True)}}}}}\n"},
        errors=("invalid ciphertext: invalid checksum",)),
    Row("ciphertext version 2 -> unsupported version",
        {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'hunter2', version=2)}}}}}\n"},
        errors=("invalid ciphertext: unsupported version",)),
    Row("checksum checked before version",
        {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'hunter2', version=2, bad_crc=True)}}}}}\n"},
        errors=("invalid ciphertext: invalid checksum",)),
    Row("check mode: ciphertext is unknown (redacted) without --show-secrets",
        {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'hunter2')}}}}}\n"}, command="get",
        values={"s": "[secret]"}),
    Row("ciphertext in an imported environment is decrypted",
        {"env": "imports: [a]\n", "a": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'password')}}}}}\n"},
        values={"s": "password"}),
]

S15 = [
    Row("cycle: error at the expression re-entered first (b.p), members unknown",
        {"env": "values:\n  b: {p: '${c.p}'}\n  c: {p: '${b.p}'}\n"}, values={"b": {"p": "[unknown]"}, "c": {"p": "[unknown]"}},
        errors=("cyclic reference to b.p",), absent=("cyclic reference to c.p",)),
    Row("self cycle a", {"env": "values:\n  a: ${a}\n"}, errors=("cyclic reference to a",)),
    Row("cycle path with index c.a[0]", {"env": "values:\n  c: {a: ['${c.a[0]}']}\n"},
        errors=("cyclic reference to c.a[0]",)),
    Row("cycle path with hyphen [\"with-hyphen\"].x", {"env": "values:\n  with-hyphen: {x: '${with-hyphen.x}'}\n"},
        errors=('cyclic reference to ["with-hyphen"].x',)),
    Row("cycle path escapes quotes", {"env": "values:\n  'a\"b': {x: '${[\"a\\\"b\"].x}'}\n"},
        errors=('cyclic reference to ["a\\"b"].x',)),
    Row("cycle path with a leading digit key", {"env": "values:\n  0a: {x: '${0a.x}'}\n"},
        errors=('cyclic reference to ["0a"].x',)),
    Row("cycle path plain identifier with underscore", {"env": "values:\n  _a1: {x: '${_a1.x}'}\n"},
        errors=("cyclic reference to _a1.x",)),
    Row("cycle in interpolation", {"env": "values:\n  a: 'x${b}'\n  b: 'y${a}'\n"}, errors=("cyclic reference to a",)),
    Row("cycle through an object reference (evaluated in sorted order)",
        {"env": "values:\n  z: '${y}'\n  y: '${z}'\n"}, errors=("cyclic reference to y",), absent=("cyclic reference to z",)),
]

S16 = [
    Row("check: fn::open not called -> [unknown]", {"env": "values:\n  o: {fn::open::error: {why: boom}}\n"},
        command="get", values={"o": "[unknown]"}),
    Row("check: access into unknown provider output checked against the output schema",
        {"env": "values:\n  o: {fn::open::schema: {string: x}}\n  r: ${o.string.foo}\n"}, command="check",
        errors=("receiver must be an array or an object",)),
    Row("eval: same receiver error", {"env": "values:\n  o: {fn::open::schema: {string: x}}\n  r: ${o.string.foo}\n"},
        errors=("receiver must be an array or an object",)),
    Row("check: typed-argument check with unknown values: expected string, got array",
        {"env": "values:\n  o: {fn::open::schema: {array: [a]}}\n  r: {fn::toBase64: '${o.array}'}\n"}, command="check",
        errors=("expected string, got array",)),
    Row("check: input validation of the schema provider",
        {"env": "values:\n  o: {fn::open::schema: {string: 1}}\n"}, command="check", errors=("expected string, got number",)),
    Row("eval: schema provider input validation", {"env": "values:\n  o: {fn::open::schema: {hello: hi}}\n"},
        errors=('expected "hello"',)),
    Row("error provider requires why (input validation)", {"env": "values:\n  o: {fn::open::error: {}}\n"},
        errors=("missing required properties: why",)),
    Row("warnings alone do not fail check",
        {"env": "foo: 1\nvalues: {a: 1}\n"}, command="check", warnings=("Field 'foo' does not exist",)),
]


@pytest.mark.parametrize("row", params([r for r in S12 if r.fmt != "detailed"]))
def test_s12_values(row, tmp_path):
    check_row(row, tmp_path)


def test_s12_secret_wrapper_every_node_secret(tmp_path):
    import json
    row = next(r for r in S12 if r.fmt == "detailed")
    out = json.loads(check_row(row, tmp_path).stdout)["value"]
    w = out["w"]
    assert w.get("secret") and w["value"]["a"].get("secret") and w["value"]["a"]["value"]["b"].get("secret")
    assert out["r"].get("secret") and out["r"]["value"] == 1


@pytest.mark.parametrize("schema,value,message", S13, ids=[m for _, _, m in S13])
def test_s13_schema_messages(schema, value, message, tmp_path):
    row = Row(message, {"env": f"values:\n  r:\n    fn::validate:\n      schema: {schema}\n      value: {value}\n"},
              errors=(message,))
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S14))
def test_s14_ciphertext(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S15))
def test_s15_cycles(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S16))
def test_s16_check_vs_eval(row, tmp_path):
    check_row(row, tmp_path)


def test_s14_failed_ciphertext_is_still_secret(tmp_path):
    import json
    row = Row("a value with ciphertext is secret even when decryption fails",
              {"env": "values:\n  s: {fn::secret: {ciphertext: 'ab!d'}}\n"}, fmt="detailed",
              errors=("invalid ciphertext: illegal base64 data at input byte 2",))
    s = json.loads(check_row(row, tmp_path).stdout)["value"]["s"]
    assert s.get("secret") is True and s.get("unknown") is True, s


def test_s14_ciphertext_shorter_than_16_bytes_is_eof(tmp_path):
    """14 bytes: header 8 + 2 bytes + crc 4."""
    row = Row("EOF", {"env": f"values:\n  s: {{fn::secret: {{ciphertext: {envelope(b'pw')}}}}}\n"},
              errors=("invalid ciphertext: EOF",))
    check_row(row, tmp_path)


def test_s17_dotenv_with_property_path_is_refused(tmp_path):
    row = Row("dotenv with path", {"env": "values: {a: 1}\n"}, path="a", fmt="dotenv",
              errors=("output format 'dotenv' may not be used with a property path",))
    check_row(row, tmp_path)


def test_s10_unknown_provider_inputs_no_extra_diagnostic(tmp_path):
    """§11 step 3: inputs with unknowns -> not called, no extra message (only the access error)."""
    row = Row("no call", {"env": "values:\n  r: {fn::open::error: {why: '${nope}'}}\n"}, errors=('unknown property "nope"',))
    p = check_row(row, tmp_path)
    errors = [l for l in p.stderr.splitlines() if l.startswith("test/env:")]
    assert len(errors) == 1, p.stderr
