"""docs/esc-language.md §0 rule 3, §6 imports and merging, §7 inline references, §8 execution context."""
import pytest

from tests.spec.spechelp import Row, check_row, params

S6 = [
    Row("imports merge in list order, later wins",
        {"env": "imports: [a, b]\n", "a": "values: {x: a, y: a}\n", "b": "values: {x: b}\n"},
        values={"x": "b", "y": "a"}),
    Row("own values win over all imports",
        {"env": "imports: [a]\nvalues: {x: own}\n", "a": "values: {x: a, y: a}\n"}, values={"x": "own", "y": "a"}),
    Row("objects merge recursively", {"env": "imports: [a]\nvalues: {o: {p: {x: 1}}}\n", "a": "values: {o: {p: {y: 2}, q: 3}}\n"},
        values={"o": {"p": {"x": 1, "y": 2}, "q": 3}}),
    Row("arrays are replaced, never concatenated", {"env": "imports: [a]\nvalues: {l: [3]}\n", "a": "values: {l: [1, 2]}\n"},
        values={"l": [3]}),
    Row("scalar replaces object", {"env": "imports: [a]\nvalues: {o: 1}\n", "a": "values: {o: {x: 1}}\n"},
        values={"o": 1}),
    Row("object replaces scalar", {"env": "imports: [a]\nvalues: {o: {x: 1}}\n", "a": "values: {o: 1}\n"},
        values={"o": {"x": 1}}),
    Row("null overrides to null (no deletion)", {"env": "imports: [a]\nvalues: {o: null}\n", "a": "values: {o: {x: 1}}\n"},
        values={"o": None}),
    Row("project-qualified import name", {"env": "imports: [proj/e]\n", "proj/e": "values: {x: 1}\n"}, values={"x": 1}),
    Row("merge: false import is not merged but reachable via ${imports.c}",
        {"env": "imports:\n  - c: {merge: false}\nvalues:\n  r: ${imports.c.foo}\n", "c": "values: {foo: 1}\n"},
        values={"r": 1}),
    Row("merge: true import is merged", {"env": "imports:\n  - c: {merge: true}\n", "c": "values: {foo: 1}\n"},
        values={"foo": 1}),
    Row("${imports[\"foo/bar\"].x}", {"env": "imports: [foo/bar]\nvalues:\n  r: '${imports[\"foo/bar\"].x}'\n",
                                        "foo/bar": "values: {x: 1}\n"}, values={"x": 1, "r": 1}),
    Row("${imports.foo/bar.x}", {"env": "imports: [foo/bar]\nvalues:\n  r: ${imports.foo/bar.x}\n",
                                   "foo/bar": "values: {x: 1}\n"}, values={"x": 1, "r": 1}),
    Row("${imports} only holds direct imports",
        {"env": "imports: [a]\nvalues:\n  r: ${imports.b.x}\n", "a": "imports: [b]\n", "b": "values: {x: 1}\n"},
        errors=('unknown property "b"',)),
    Row("import entry: empty entry -> import must be a string or an object",
        {"env": "imports:\n  -\n  - a\n", "a": "values: {x: 1}\n"}, values={"x": 1},
        errors=("import must be a string or an object",)),
    Row("import entry: list entry -> import must be a string or an object",
        {"env": "imports:\n  - [a]\n  - a\n", "a": "values: {x: 1}\n"}, values={"x": 1},
        errors=("import must be a string or an object",)),
    Row("import entry: two keys -> import must have a single key",
        {"env": "imports:\n  - {a: {merge: false}, b: {merge: false}}\n  - a\n", "a": "values: {x: 1}\n", "b": "values: {y: 1}\n"},
        values={"x": 1}, errors=("import must have a single key",)),
    Row("import entry: value not an object -> import must be an object",
        {"env": "imports:\n  - b: 1\n  - a\n", "a": "values: {x: 1}\n", "b": "values: {y: 1}\n"},
        values={"x": 1}, errors=("import must be an object",)),
    Row("import entry: merge not a bool -> merge must be a boolean value",
        {"env": "imports:\n  - b: {merge: 'no'}\n  - a\n", "a": "values: {x: 1}\n", "b": "values: {y: 1}\n"},
        values={"x": 1}, errors=("merge must be a boolean value",)),
    Row("import entry: other meta keys are ignored silently",
        {"env": "imports:\n  - a: {other: 1}\n", "a": "values: {x: 1}\n"}, values={"x": 1}),
    Row("imported environment with a load error contributes nothing",
        {"env": "imports: [a, b]\n", "a": "values:\n  x: 1\n  y: ${[0]}\n", "b": "values: {z: 1}\n"},
        values={"z": 1}, errors=("the first accessor must be a property name",)),
    Row("missing imported environment: error at the import entry",
        {"env": "imports: [nope, a]\n", "a": "values: {x: 1}\n"}, values={"x": 1},
        errors=("nope",)),
    Row("diamond import evaluated once (no duplicated diagnostics)",
        {"env": "imports: [a, b]\n", "a": "imports: [c]\n", "b": "imports: [c]\n",
         "c": "values:\n  x: 1\n  bad: ${nope}\n"}, errors=('unknown property "nope"',)),
    Row("cyclic import of NAME at the entry closing the loop",
        {"env": "imports: [a]\nvalues: {r: 1}\n", "a": "imports: [b]\nvalues: {x: 1}\n", "b": "imports: [a]\nvalues: {y: 1}\n"},
        errors=("cyclic import of a",)),
    Row("self import is a cyclic import", {"env": "imports: [env]\nvalues: {r: 1}\n"},
        errors=("cyclic import of env",)),
    Row("fn::final: overriding gives a warning and the final value stays",
        {"env": "imports: [a]\nvalues: {f: 2}\n", "a": "values:\n  f: {fn::final: 1}\n"}, values={"f": 1},
        warnings=("cannot override final value",)),
    Row("fn::final checked at every level (nested key frozen, siblings merge)",
        {"env": "imports: [a]\nvalues:\n  o: {key: 2, sib: 2, new: 3}\n",
         "a": "values:\n  o:\n    key: {fn::final: 1}\n    sib: 1\n"},
        values={"o": {"key": 1, "sib": 2, "new": 3}}, warnings=("cannot override final value",)),
    Row("fn::final in a middle import checked against a later import",
        {"env": "imports: [a, b]\n", "a": "values:\n  f: {fn::final: 1}\n", "b": "values: {f: 2}\n"},
        values={"f": 1}, warnings=("cannot override final value",)),
    Row("fn::final re-exported through a second import (diamond) is no override",
        {"env": "imports: [a, b]\n", "a": "values:\n  f: {fn::final: 1}\n", "b": "imports: [a]\nvalues: {g: 2}\n"},
        values={"f": 1, "g": 2}, absent=("cannot override",)),
    Row("fn::final not overridden: no warning", {"env": "imports: [a]\nvalues: {g: 2}\n", "a": "values:\n  f: {fn::final: 1}\n"},
        values={"f": 1, "g": 2}, absent=("cannot override",)),
    Row("fn::final object cannot be overridden by an object",
        {"env": "imports: [a]\nvalues:\n  f: {y: 2}\n", "a": "values:\n  f: {fn::final: {x: 1}}\n"},
        values={"f": {"x": 1}}, warnings=("cannot override final value",)),
    Row("${ref} is merged again with the import at the destination path (merge-base)",
        {"env": "imports: [a]\nvalues:\n  some: {k: own}\n  other: ${some}\n", "a": "values:\n  other: {from_a: 1, k: a}\n"},
        values={"some": {"k": own} if False else {"k": "own"}, "other": {"from_a": 1, "k": "own"}}),
    Row("keys of a merged object are the sorted union", 
        {"env": "imports: [a]\nvalues: {b: 1, d: 1}\n", "a": "values: {c: 1, a: 1}\n"},
        values={"a": 1, "b": 1, "c": 1, "d": 1}),
    Row("object over unknown: only the object's keys, access missing falls to unknown base without error",
        {"env": "imports: [a]\nvalues:\n  o: {x: 1}\n  r: ${o.y}\n",
         "a": "values:\n  o: {fn::open::error: {why: boom}}\n"},
        errors=("boom",), absent=('unknown property "y"',)),
]

S7 = [
    Row("${environments.foo.bar.x} loads foo/bar without merging",
        {"env": "values:\n  r: ${environments.foo.bar.some_value}\n", "foo/bar": "values: {some_value: 42, other: 1}\n"},
        values={"r": 42}),
    Row("${environments.foo} is unknown without a diagnostic",
        {"env": "values:\n  r: ${environments.foo}\n", "foo/bar": "values: {x: 1}\n"}, values={"r": "[unknown]"},
        clean=True),
    Row("${environments} is unknown without a diagnostic", {"env": "values:\n  r: ${environments}\n"},
        values={"r": "[unknown]"}, clean=True),
    Row("inline reference to a missing environment: error, unknown",
        {"env": "values:\n  r: ${environments.no.such.x}\n"}, values={"r": "[unknown]"}, errors=("no/such",)),
    Row("inline reference cycle: cyclic import of bad/bad",
        {"env": "imports: [bad/bad]\n", "bad/bad": "values:\n  r: ${environments.bad.bad.x}\n  x: 1\n"},
        errors=("cyclic import of bad/bad",)),
    Row("inline reference whole environment value", 
        {"env": "values:\n  r: ${environments.foo.bar}\n", "foo/bar": "values: {x: 1}\n"}, values={"r": {"x": 1}}),
]

S8 = [
    Row("context.currentEnvironment.name and rootEnvironment.name of the root",
        {"env": "values:\n  c: ${context.currentEnvironment.name}\n  r: ${context.rootEnvironment.name}\n"},
        values={"c": "env", "r": "env"}),
    Row("imported env sees its own name and the root name",
        {"env": "imports: [a]\n", "a": "values:\n  c: ${context.currentEnvironment.name}\n  r: ${context.rootEnvironment.name}\n"},
        values={"c": "a", "r": "env"}),
    Row("root evaluated under a root name other than its file: both names in interpolation",
        {"context-interpolation": "imports: [a]\nvalues:\n  full: ${context.rootEnvironment.name}-"
                                  "${context.currentEnvironment.name}-${context.pulumi.user.id}\n",
         "a": "values:\n  fromA: ${context.rootEnvironment.name}-${context.currentEnvironment.name}\n"},
        root="context-interpolation",
        values={"full": "context-interpolation-context-interpolation-USER_123", "fromA": "context-interpolation-a"}),
    Row("conformance context pulumi.user.id", {"env": "values:\n  u: ${context.pulumi.user.id}\n"},
        values={"u": "USER_123"}),
    Row("context is reserved under values", {"env": "values:\n  context: 1\n  a: 2\n"}, values={"a": 2},
        errors=('"context" is a reserved key',)),
    Row("imports is reserved under values", {"env": "values:\n  imports: 1\n  a: 2\n"}, values={"a": 2},
        errors=('"imports" is a reserved key',)),
    Row("environments is reserved under values", {"env": "values:\n  environments: 1\n  a: 2\n"}, values={"a": 2},
        errors=('"environments" is a reserved key',)),
    Row("reserved names are ordinary below the top of values", {"env": "values:\n  o: {imports: 1, context: 2}\n"},
        values={"o": {"imports": 1, "context": 2}}),
    Row("environmentVariables/files/pulumiConfig are ordinary under values",
        {"env": "values:\n  environmentVariables: {A: 1}\n  files: {F: x}\n  pulumiConfig: {p: 1}\n"},
        values={"environmentVariables": {"A": 1}, "files": {"F": "x"}, "pulumiConfig": {"p": 1}}),
]


@pytest.mark.parametrize("row", params(S6))
def test_s6_imports_merge(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S7))
def test_s7_inline_references(row, tmp_path):
    check_row(row, tmp_path)


@pytest.mark.parametrize("row", params(S8))
def test_s8_context(row, tmp_path):
    check_row(row, tmp_path)


def test_diamond_import_diagnostic_reported_once(tmp_path):
    """§6: each environment name is evaluated at most once per evaluation."""
    row = S6[[r.name for r in S6].index("diamond import evaluated once (no duplicated diagnostics)")]
    p = check_row(row, tmp_path)
    assert p.stderr.count('unknown property "nope"') == 1, p.stderr


def test_same_import_twice_is_evaluated_once(tmp_path):
    """§6: an environment imported twice is evaluated once (its diagnostics appear once)."""
    row = Row("twice", {"env": "imports: [a, a]\nvalues:\n  r: ${x}\n  q: ${imports.a.x}\n",
                        "a": "values:\n  x: 1\n  bad: ${nope.p}\n"},
              values={"bad": "[unknown]", "q": 1, "r": 1, "x": 1}, errors=('unknown property "nope"',))
    p = check_row(row, tmp_path)
    assert p.stderr.count('unknown property "nope"') == 1, p.stderr


def test_final_override_inside_an_import_warns_once(tmp_path):
    """§6: the warning is at the overriding expression (in b); b's value then holds a's final value."""
    row = Row("final override in import", {"env": "imports: [a, b]\n", "a": "values:\n  f: {fn::final: 1}\n",
                                           "b": "imports: [a]\nvalues: {f: 2}\n"},
              values={"f": 1}, warnings=("cannot override final value",))
    p = check_row(row, tmp_path)
    assert p.stderr.count("cannot override final value") == 1, p.stderr
    assert "b:2:" in p.stderr, p.stderr


def test_cycle_reported_in_importing_environment(tmp_path):
    """§6: `cyclic import of NAME` is reported in the importing environment at that entry."""
    row = Row("cycle location", {"env": "imports: [a]\n", "a": "imports: [b]\n", "b": "imports: [a]\n"},
              errors=("b:1:", "cyclic import of a"))
    p = check_row(row, tmp_path)
    assert any(line.startswith("b:1:") or "/b:1:" in line for line in p.stderr.splitlines()
               if "cyclic import of a" in line), p.stderr
