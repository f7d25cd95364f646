"""docs/esc-language.md §2: document structure and YAML decoding."""
import pytest

from tests.spec.spechelp import Row, check_row, params


def _lev(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _fields_for(key):
    names = sorted(["description", "imports", "values"], key=lambda n: _lev(key, n))
    return ", ".join(f"'{n}'" for n in names)


def _unknown_field(key):
    return f"Field '{key}' does not exist on Object 'environment'. Existing fields are: {_fields_for(key)}"


ROWS = [
    Row("top-level keys are case-insensitive (Values:)", {"env": "Values:\n  a: 1\n"}, values={"a": 1}),
    Row("top-level keys are case-insensitive (IMPORTS:)", {"env": "IMPORTS: [a]\nvalues: {b: 2}\n", "a": "values: {a: 1}\n"},
        values={"a": 1, "b": 2}),
    Row("description has no effect on values", {"env": "description: hello\nvalues: {a: 1}\n"}, values={"a": 1}),
    Row("unknown top-level key is a warning with fields sorted by edit distance (foo)",
        {"env": "foo: 1\nvalues: {a: 1}\n"}, values={"a": 1}, warnings=(_unknown_field("foo"),)),
    Row("unknown top-level key: environmentVariables at top level is only a warning",
        {"env": "environmentVariables: {A: b}\nvalues: {a: 1}\n"}, values={"a": 1},
        warnings=(_unknown_field("environmentVariables"),)),
    Row("unknown top-level key: pulumiConfig at top level is only a warning",
        {"env": "pulumiConfig: {A: b}\nvalues: {a: 1}\n"}, values={"a": 1},
        warnings=(_unknown_field("pulumiConfig"),)),
    Row("unknown top-level key: files at top level is only a warning",
        {"env": "files: {A: b}\nvalues: {a: 1}\n"}, values={"a": 1}, warnings=(_unknown_field("files"),)),
    Row("unknown top-level key: valuez sorts values first",
        {"env": "valuez: 1\nvalues: {a: 1}\n"}, values={"a": 1},
        warnings=("Existing fields are: 'values', ",)),
    Row("unknown top-level key: descriptio sorts description first",
        {"env": "descriptio: 1\nvalues: {a: 1}\n"}, values={"a": 1},
        warnings=("Existing fields are: 'description', ",)),
    Row("duplicate top-level key is a warning and the last wins",
        {"env": "values: {a: 1}\nvalues: {b: 2}\n"}, values={"b": 2}, warnings=('duplicate key "values"',)),
    Row("values must be an object", {"env": "values: [1, 2]\n"}, errors=("values must be an object",)),
    Row("values must be an object (scalar)", {"env": "values: 3\n"}, errors=("values must be an object",)),
    Row("imports must be a list", {"env": "imports: a\nvalues: {b: 1}\n", "a": "values: {a: 1}\n"},
        errors=("imports must be a list",)),
    Row("description must be a string", {"env": "description: [1]\nvalues: {b: 1}\n"},
        errors=("description must be a string",)),
    Row("environment must be an object (sequence document)", {"env": "- a\n- b\n"},
        errors=("environment must be an object",)),
    Row("environment must be an object (scalar document)", {"env": "hello\n"},
        errors=("environment must be an object",)),
    Row("environment must be an object (comments only)", {"env": "# nothing\n"},
        errors=("environment must be an object",)),
    Row("environment must be an object (null document)", {"env": "null\n"},
        errors=("environment must be an object",)),
    Row("fn:: key under values is not allowed at the top level",
        {"env": "values:\n  fn::secret: x\n"},
        errors=('builtin function call "fn::secret" not allowed at the top level',)),
    Row("no values and no imports evaluates to nothing", {"env": "description: x\n"}, values=None),
    Row("empty values and empty imports evaluate to nothing", {"env": "values: {}\nimports: []\n"}, values=None),
    Row("empty file is an empty environment", {"env": ""}, values=None),
    # YAML decoding
    Row("yes/no/on/off/y/n are strings", {"env": "values: {a: yes, b: no, c: on, d: off, e: y, f: n, g: Yes}\n"},
        values={"a": "yes", "b": "no", "c": "on", "d": "off", "e": "y", "f": "n", "g": "Yes"}),
    Row("booleans are only true/True/TRUE/false/False/FALSE",
        {"env": "values: {a: true, b: True, c: TRUE, d: false, e: False, f: FALSE, g: tRue}\n"},
        values={"a": True, "b": True, "c": True, "d": False, "e": False, "f": False, "g": "tRue"}),
    Row("null spellings", {"env": "values: {a: ~, b: null, c: Null, d: NULL, e: , f: nULL}\n"},
        values={"a": None, "b": None, "c": None, "d": None, "e": None, "f": "nULL"}),
    Row("unquoted dates stay strings", {"env": "values: {a: 2001-12-14, b: 2001-12-14t21:59:43.10-05:00}\n"},
        values={"a": "2001-12-14", "b": "2001-12-14t21:59:43.10-05:00"}),
    Row("0777 is the integer 511", {"env": "values: {a: 0777}\n"}, values={"a": 511}),
    Row("0x1F is 31", {"env": "values: {a: 0x1F}\n"}, values={"a": 31}),
    Row("0o17 is 15 and 0b101 is 5", {"env": "values: {a: 0o17, b: 0b101}\n"}, values={"a": 15, "b": 5}),
    Row("1_000 is 1000", {"env": "values: {a: 1_000}\n"}, values={"a": 1000}),
    Row("signed integers", {"env": "values: {a: -12, b: +7}\n"}, values={"a": -12, "b": 7}),
    Row("floats 1.5, 1e3, .5", {"env": "values: {a: 1.5, b: 1e3, c: .5}\n"}, values={"a": 1.5, "b": 1000, "c": 0.5}),
    Row("quoted scalars are always strings", {"env": "values: {a: '1', b: \"true\", c: 'null'}\n"},
        values={"a": "1", "b": "true", "c": "null"}),
    Row("!!str 123 is honoured", {"env": "values: {a: !!str 123}\n"}, values={"a": "123"}),
    Row("other tags are ignored", {"env": "values: {a: !foo bar}\n"}, values={"a": "bar"}),
    Row("an anchor alone is harmless", {"env": "values: {a: &x 1, b: 2}\n"}, values={"a": 1, "b": 2}),
    Row("alias nodes are not supported", {"env": "values:\n  a: &x 1\n  b: *x\n"},
        errors=("alias nodes are not supported",)),
    Row("merge keys via alias are not supported", {"env": "values:\n  a: &x {p: 1}\n  b:\n    <<: *x\n"},
        errors=("alias nodes are not supported",)),
    Row("mapping keys must be strings (1:)", {"env": "values:\n  1: a\n"}, errors=("mapping keys must be strings",)),
    Row("mapping keys must be strings (true:)", {"env": "values:\n  true: a\n"}, errors=("mapping keys must be strings",)),
    Row("mapping keys must be strings (null:)", {"env": "values:\n  null: a\n"}, errors=("mapping keys must be strings",)),
    Row("YAML syntax error is reported", {"env": "values: [a, b\n"}, errors=("yaml: line",)),
    Row("duplicate key nested is an error and the first is kept",
        {"env": "values:\n  o:\n    a: 1\n    a: 2\n"}, values={"o": {"a": 1}}, errors=('duplicate key "a"',)),
    Row("duplicate key directly under values is an error and the first is kept",
        {"env": "values:\n  a: 1\n  a: 2\n"}, values={"a": 1}, errors=('duplicate key "a"',)),
]

# Go %g float formatting: the spec's examples.
FLOATS = [("1.0", 1), ("3.14", 3.14), ("100000.0", 100000), ("1234567.0", "1.234567e+06"),
          ("1e6", "1e+06"), ("0.0001", 0.0001), ("0.00001", "1e-05")]


@pytest.mark.parametrize("row", params(ROWS))
def test_document(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("text,want", FLOATS, ids=[f"float {t}" for t, _ in FLOATS])
def test_float_formatting_as_go_g(text, want, tmp_path):
    """§2: floats print with Go's shortest %g; checked through the string form (exact text)."""
    want_text = want if isinstance(want, str) else None
    row = Row(f"float {text}", {"env": f"values:\n  a: {text}\n  s: ${{a}}x\n"})
    p = check_row(row, tmp_path)
    import json
    got = json.loads(p.stdout)
    expected_text = want_text or {1: "1", 3.14: "3.14", 100000: "100000", 0.0001: "0.0001"}[want]
    assert got["s"] == expected_text + "x"


@pytest.mark.parametrize("text,want", [(".inf", "+Inf"), ("-.inf", "-Inf"), (".nan", "NaN")])
def test_inf_nan_text(text, want, tmp_path):
    """§2: .inf/.nan become the non-JSON texts +Inf/NaN (checked through interpolation)."""
    row = Row(f"{text} text", {"env": f"values:\n  a: {text}\n  s: x${{a}}\n"}, path="s", fmt="string")
    p = check_row(row, tmp_path)
    assert p.stdout == f"x{want}\n"


def test_integer_beyond_int64_is_uint64(tmp_path):
    row = Row("beyond int64 -> uint64", {"env": "values:\n  a: 18446744073709551615\n  s: x${a}\n"},
              path="s", fmt="string")
    assert check_row(row, tmp_path).stdout == "x18446744073709551615\n"


def test_integer_beyond_uint64_is_float(tmp_path):
    row = Row("beyond uint64 -> float", {"env": "values:\n  a: 18446744073709551616\n  s: x${a}\n"},
              path="s", fmt="string")
    assert check_row(row, tmp_path).stdout == "x1.8446744073709552e+19\n"
