"""Renderers of env open/get, on hand-built Value trees (no evaluator involved)."""
import json
import os
import stat

import pytest

from credproc.errors import UsageError
from credproc.lang.values import Number, Value
from credproc.store.render import parse_property_path, render, select


def v(x, secret=False, unknown=False):
    """A Value tree from plain data; ints/floats become Numbers."""
    if isinstance(x, Value):
        return x
    if isinstance(x, dict):
        return Value({k: v(i) for k, i in x.items()}, secret=secret, unknown=unknown)
    if isinstance(x, list):
        return Value([v(i) for i in x], secret=secret, unknown=unknown)
    if isinstance(x, bool) or x is None:
        return Value(x, secret=secret, unknown=unknown)
    if isinstance(x, (int, float)):
        return Value(Number(str(x)), secret=secret, unknown=unknown)
    return Value(x, secret=secret, unknown=unknown)


ROOT = v({
    "b": {"z": 1, "a": "x<y"},
    "a": [True, None, 3.5],
    "pw": Value("hunter2", secret=True),
    "later": Value(None, unknown=True),
    "environmentVariables": {
        "ZED": "last", "ALPHA": "first line\nsecond", "NUM": 3.14, "FLAG": False, "NULLV": None,
        "SKIPPED": {"nested": 1}, "LIST": [1], "SECRET": Value("s3cr3t", secret=True),
    },
    "files": {"CONF": "[default]\nregion = eu-west-1\n"},
})


def test_json_is_go_marshal_indent_with_sorted_keys_and_html_escaping():
    out = render(ROOT, "json", redact=False)
    assert out.endswith("}\n")
    assert out.startswith('{\n  "a": [\n    true,\n    null,\n    3.5\n  ],\n  "b": {\n    "a": "x\\u003cy",\n')
    assert json.loads(out)["pw"] == "hunter2"
    assert json.loads(out)["later"] == "[unknown]"


def test_json_redacted_replaces_the_whole_secret_node():
    out = json.loads(render(ROOT, "json", redact=True))
    assert out["pw"] == "[secret]"
    assert out["environmentVariables"]["SECRET"] == "[secret]"
    assert out["b"] == {"a": "x<y", "z": 1}


def test_property_path_selects_and_missing_is_null():
    assert render(ROOT, "json", redact=False, path=parse_property_path("b.z")) == "1\n"
    assert render(ROOT, "json", redact=False, path=parse_property_path('a[2]')) == "3.5\n"
    assert render(ROOT, "json", redact=False, path=parse_property_path('["b"]["a"]')) == '"x\\u003cy"\n'
    assert render(ROOT, "json", redact=False, path=parse_property_path("nope.x")) == "null\n"
    assert render(ROOT, "json", redact=False, path=parse_property_path("a[7]")) == "null\n"
    assert render(ROOT, "json", redact=False, path=parse_property_path("later.x")) == "null\n"


def test_property_path_grammar():
    assert parse_property_path('a.b[0]["c.d"]') == ["a", "b", 0, "c.d"]
    assert parse_property_path('["x\\"y"].z') == ['x"y', "z"]
    for bad in ("a.", "a[", "a[x]", 'a["b"', "a..b"):
        with pytest.raises(UsageError, match="invalid property path"):
            parse_property_path(bad)


def test_select_goes_through_arrays_and_objects_only():
    assert select(ROOT, ["a", 0]).value is True
    assert select(ROOT, ["a", "0"]) is None
    assert select(ROOT, ["b", 0]) is None


def test_string_format_is_esc_string_form_with_newline():
    assert render(ROOT, "string", redact=False, path=["b"]) == '"a"="x<y","z"="1"\n'
    assert render(ROOT, "string", redact=False, path=["a"]) == '"true","","3.5"\n'
    assert render(ROOT, "string", redact=True, path=["pw"]) == "[secret]\n"
    assert render(ROOT, "string", redact=False, path=["pw"]) == "hunter2\n"


def test_dotenv_sorted_variables_then_files_single_quoted(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    lines = render(ROOT, "dotenv", redact=False).splitlines()
    assert lines[:7] == [
        "ALPHA='first line", "second'", "FLAG='false'", "NULLV=''", "NUM='3.14'",
        "SECRET='s3cr3t'", "ZED='last'",
    ]
    name, _, quoted = lines[7].partition("=")
    assert name == "CONF" and len(lines) == 8
    path = quoted.strip("'")
    with open(path) as handle:
        assert handle.read() == "[default]\nregion = eu-west-1\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.startswith(str(tmp_path))


def test_shell_prefixes_export_and_redaction_hides_secrets_and_files():
    out = render(ROOT, "shell", redact=True, write_files=False)
    assert "export SECRET='[secret]'\n" in out
    assert "export CONF='[unknown]'\n" in out
    assert "s3cr3t" not in out
    assert all(line.startswith("export ") for line in out.replace("line\nsecond", "").splitlines())


def test_dotenv_with_a_path_is_refused_and_unknown_format_too():
    with pytest.raises(UsageError, match="output format 'dotenv' may not be used with a property path"):
        render(ROOT, "dotenv", redact=False, path=["a"])
    with pytest.raises(UsageError, match="unknown output format 'flat'"):
        render(ROOT, "flat", redact=False)


def test_nothing_evaluated_prints_nothing():
    assert render(None, "json", redact=False) == ""
    assert render(None, "dotenv", redact=False) == ""


def test_yaml_as_yaml_v3_v3_0_1_writes_it_for_esc():
    # yaml.v3 v3.0.1 writes a json.Number as a string: quoted, as written. Keys in its natural
    # order, a map in a list on the dash's line, the empty key and look-alike strings quoted.
    root = v({"m": {"k": "v", "num": 10, "f": 1234567.0, "no": 1e6}, "s": ["a", "true", "0777", "yes"],
              "multi": "a\nb\n", "e": {}, "z": None, "a10": 1, "a2": 2, "_x": 3, "": "empty",
              "l": [{"k": "v", "k2": "w"}, ["x"]], "when": "2001-12-14", "smile": "\U0001F600"})
    out = render(root, "yaml", redact=False)
    assert out == (
        '"": empty\n'
        '_x: "3"\n'
        'a2: "2"\n'
        'a10: "1"\n'
        "e: {}\n"
        "l:\n"
        "   - k: v\n"
        "     k2: w\n"
        "   - - x\n"
        "m:\n"
        '   f: "1234567.0"\n'
        "   k: v\n"
        '   "no": "1000000.0"\n'
        '   num: "10"\n'
        "multi: |\n"
        "   a\n"
        "   b\n"
        "s:\n"
        "   - a\n"
        '   - "true"\n'
        '   - "0777"\n'
        '   - "yes"\n'
        'smile: "\\U0001F600"\n'
        'when: "2001-12-14"\n'
        "z: null\n"
    )


def test_yaml_scalar_root_has_no_document_end_marker():
    assert render(v({"s": "plain"}), "yaml", redact=False, path=["s"]) == "plain\n"
    assert render(v({"n": 3}), "yaml", redact=False, path=["n"]) == '"3"\n'


ZERO_TRACE = {"def": {"begin": {"line": 0, "column": 0, "byte": 0}, "end": {"line": 0, "column": 0, "byte": 0}}}


def test_detailed_shows_flags_and_always_a_trace():
    out = json.loads(render(ROOT, "detailed", redact=False, path=["pw"]))
    assert out == {"value": "hunter2", "secret": True, "trace": ZERO_TRACE}
    assert json.loads(render(ROOT, "detailed", redact=False, path=["later"])) == {"unknown": True, "trace": ZERO_TRACE}


def test_detailed_is_go_encoder_of_esc_value():
    # Fields in esc.Value's order (value, secret, unknown, trace), numbers as written, and the
    # characters Go's encoder escapes (<, >, &, U+2028, U+2029) escaped.
    root = Value({"n": Value(Number("1.5e+10"), secret=True), "z": Value(Number("-0")), "h": Value("<&>\u2028")})
    out = render(root, "detailed", redact=False)
    assert '"value": 1.5e+10,\n      "secret": true,\n      "trace": {' in out
    assert '"value": -0,' in out
    assert '"value": "\\u003c\\u0026\\u003e\\u2028",' in out
    assert out.index('"h"') < out.index('"n"') < out.index('"z"')
    assert out.endswith("}\n")


def test_detailed_redacted_hides_the_whole_secret_node():
    out = json.loads(render(ROOT, "detailed", redact=True, path=["pw"]))
    assert out == {"value": "[secret]", "secret": True, "trace": ZERO_TRACE}


def test_yaml_invalid_utf8_is_binary_as_yaml_v3_writes_it():
    # Expected bytes: yaml.v3 v3.0.1 (NewEncoder, SetIndent(3)) on the same Go strings with bytes
    # 0xFF/0xFE, which the wire JSON cannot carry; here they are Python's surrogate escapes.
    from credproc.store import yamlout

    long = "\udcff" * 60
    out = yamlout.dump({"k": "\udcff", "l": ["a\udcffb", long], "\udcfe": "x", long: "y"})
    assert out == (
        "!!binary /g==: x\n"
        "? !!binary |\n"
        "   " + "/" * 70 + "\n"
        "   " + "/" * 10 + "\n"
        ': "y"\n'
        "k: !!binary /w==\n"
        "l:\n"
        "   - !!binary Yf9i\n"
        "   - !!binary |\n"
        "     " + "/" * 70 + "\n"
        "     " + "/" * 10 + "\n"
    )
