"""Bounded work for schema checks (fn::validate, provider inputs): a short definition cannot make
credproc compute for minutes.

Two attacks, each a few hundred bytes: a `pattern` that a backtracking engine takes exponential time
on (now matched by RE2, linear), and a recursive `$ref` under `anyOf` whose checks doubled per
nesting level (now memoised per value and schema node, and paid from a step allowance that ends
the evaluation with one error). The command-line tests run the attacks' own definitions; their
subprocess timeout is far below what they used to take (minutes to hours), never a measured time.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from credproc.lang import EnvironmentNotFound, evaluate, load
from credproc.lang import schema as S
from credproc.lang.schema import InvalidSchema, StepAllowance, ValidationTooLong, validate
from credproc.lang.values import Number, Value

STEPS_MESSAGE = f"evaluation exceeds credproc's limit of {S.MAX_VALIDATION_STEPS} schema validation steps"
CREDPROC = str(Path(sys.executable).parent / "credproc")

# The reviewer's definitions (attack-final/repro_regex_redos.sh, repro_schema_exponential.sh).
REDOS = """values:
  v:
    fn::validate:
      schema: {type: string, pattern: "^([a-z0-9]+-?)+$"}
      value: "VALUE"
  environmentVariables: {AWS_ACCESS_KEY_ID: AKIAX, AWS_SECRET_ACCESS_KEY: x, AWS_SESSION_TOKEN: y}
"""
RECURSIVE = {"$defs": {"n": {"anyOf": [
    {"type": "array", "items": {"$ref": "#/$defs/n"}, "contains": {"type": "boolean"}},
    {"type": "array", "items": {"$ref": "#/$defs/n"}},
    {"type": "number"}]}}, "$ref": "#/$defs/n"}


def nested(depth, leaf):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def recursive_definition(depth, leaf=1):
    return ("values:\n  v:\n    fn::validate:\n      schema: " + json.dumps(RECURSIVE)
            + "\n      value: " + json.dumps(nested(depth, leaf)) + "\n")


def plain_to_value(x):
    if isinstance(x, list):
        return Value([plain_to_value(i) for i in x])
    if isinstance(x, dict):
        return Value({k: plain_to_value(v) for k, v in x.items()})
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Value(Number(str(x)))
    return Value(x)


# --- the command line: the attacks themselves -----------------------------------------------------------

def credproc(*args):
    return subprocess.run([CREDPROC, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def put(name, text):
    path = Path(os.environ["CREDPROC_ENV_DIR"], *name.split("/")).with_suffix(".yaml")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text)
    path.chmod(0o600)


@pytest.mark.parametrize("command", [["env", "check", "acme/r"], ["process", "acme/r"]])
def test_the_redos_definition_gets_gos_answer(command):
    # 41 characters took minutes (x4 per 2 more) with Python's re; Go says: no match
    put("acme/r", REDOS.replace("VALUE", "a" * 40 + "!"))
    proc = credproc(*command)
    assert proc.returncode == 2, proc.stderr
    assert 'acme/r:5:14: string must match the pattern "^([a-z0-9]+-?)+$"' in proc.stderr
    assert proc.stdout == ""


def test_a_long_value_that_matches_passes():
    put("acme/r", REDOS.replace("VALUE", "-".join(["abc9"] * 2000)))
    proc = credproc("process", "acme/r")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["AccessKeyId"] == "AKIAX"


def test_the_recursive_schema_definition_validates_30_levels():
    # depth 18 took 5 s and each level doubled it; depth 30 was still running after 30 s
    put("acme/s", recursive_definition(30))
    proc = credproc("env", "open", "acme/s", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"v": nested(30, 1)}


@pytest.mark.parametrize("command", [["env", "check", "acme/s"], ["process", "acme/s"]])
def test_messages_that_double_per_level_end_in_the_step_limit(command):
    put("acme/s", recursive_definition(30, leaf="x"))  # 2**30 messages
    proc = credproc(*command)
    assert proc.returncode == 2, proc.stderr
    assert f"acme/s:3:5: {STEPS_MESSAGE}" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) <= 2


# --- the library -------------------------------------------------------------------------------------

def test_memoised_checks_of_a_deep_valid_value_find_no_error():
    result = validate(plain_to_value(nested(40, 1)), RECURSIVE)  # 2**40 checks before
    assert result.ok and list(result) == []


def test_a_failure_reports_the_same_messages_as_an_unmemoised_check(monkeypatch):
    value = plain_to_value(nested(4, "x"))
    memoised = validate(value, RECURSIVE)
    monkeypatch.setattr(S._Validator, "memoised", lambda self, key, check, args, on_cycle: check(*args))
    plain = validate(value, RECURSIVE)
    assert not memoised.ok and not plain.ok
    assert list(memoised) == list(plain)
    assert len(plain) == 94  # 3 + 1 at the leaf; 2x + 2 at each level above


def test_memoisation_keeps_paths_apart():
    # the same Value object at two paths: each error names its own path
    shared = Value("x")
    result = validate(Value([shared, shared]), {"type": "array", "items": {"type": "number"}})
    assert [(e.path, e.message) for e in result] == [((0,), "expected number, got string"),
                                                     ((1,), "expected number, got string")]


def test_exponential_messages_run_out_of_steps():
    with pytest.raises(ValidationTooLong) as err:
        validate(plain_to_value(nested(30, "x")), RECURSIVE)
    assert str(err.value) == STEPS_MESSAGE


def test_the_allowance_is_shared_by_the_checks_it_is_given_to():
    steps = StepAllowance(700)  # 301 checks each
    schema = {"type": "array", "items": {"type": "number"}}
    value = plain_to_value(list(range(300)))
    validate(value, schema, steps=steps)
    validate(value, schema, steps=steps)
    with pytest.raises(ValidationTooLong):
        validate(value, schema, steps=steps)


def test_a_wide_any_of_against_a_long_array_is_bounded():
    # memoisation cannot help here (every pair is distinct): the allowance does
    schema = {"type": "array", "items": {"anyOf": [{"type": "number", "minimum": i} for i in range(1000)]}}
    with pytest.raises(ValidationTooLong):
        validate(plain_to_value(list(range(1000))), schema)


def test_a_ref_cycle_that_checks_nothing_is_an_invalid_schema():
    schema = {"$defs": {"n": {"anyOf": [{"$ref": "#/$defs/n"}, {"type": "string"}]}}, "$ref": "#/$defs/n"}
    with pytest.raises(InvalidSchema, match="a \\$ref cycle returns to the same value"):
        validate(Value(1), schema)


def test_recursive_schemas_on_both_sides_of_an_unknown_compare_in_finite_time():
    tree = {"$defs": {"t": {"type": "array", "items": {"anyOf": [{"$ref": "#/$defs/t"}, {"type": "string"}]}}},
            "$ref": "#/$defs/t"}
    other = json.loads(json.dumps(tree))  # equal, not the same objects
    assert validate(Value(unknown=True, schema=tree), other).ok
    # a pair that recurs while it is being checked holds (as far as the rest shows): but a
    # definite difference below the recursion is still found
    strings = {"$defs": {"t": {"type": "array", "prefixItems": [{"type": "string"}], "items": {"$ref": "#/$defs/t"}}},
               "$ref": "#/$defs/t"}
    numbers = json.loads(json.dumps(strings).replace('"string"', '"number"'))
    assert validate(Value(unknown=True, schema=strings), json.loads(json.dumps(strings))).ok
    result = validate(Value(unknown=True, schema=strings), numbers)
    assert not result.ok
    assert {e.message for e in result} == {"[0]: expected number, got string"}


def _no_imports(name):
    raise EnvironmentNotFound(f'environment "{name}" not found')


def test_the_evaluation_ends_with_one_diagnostic_at_the_expression():
    source = recursive_definition(30, leaf="x") + "  w: ${v}\n"
    decl, load_diags = load("env", source.encode())
    value, diags = evaluate("env", decl, loader=_no_imports, providers={})
    assert load_diags == []
    assert [(d.summary, d.line) for d in diags] == [(STEPS_MESSAGE, 3)]
    assert value.unknown


def test_a_long_enum_is_paid_for_what_it_compares():
    schema = {"type": "array", "items": {"enum": [f"value-{i}" for i in range(100_000)]}}
    with pytest.raises(ValidationTooLong):
        validate(Value([Value("q") for _ in range(10)]), schema)
    assert validate(Value([Value("value-7")]), schema).ok


@pytest.mark.parametrize("number,multiple,ok", [
    ("1e999999999", "1e-999999999", True),   # Decimal's default exponent range overflowed here
    ("7", "1e-999999999", True),
    ("1e-999999999", "1e999999999", False),
    ("1" * 100_000, "3", False),
    ("1" * 99_999 + "2", "3", False),
    ("1" * 99_999 + "0", "10", True),
])
def test_multiple_of_with_extreme_numbers(number, multiple, ok):
    assert validate(Value(Number(number)), {"multipleOf": multiple}).ok is ok


@pytest.mark.parametrize("number,multiple,ok", [
    ("1e999999999", "3", False),      # 10**999999999 % 3 == 1: 200-digit rounding said True
    ("3e999999999", "3", True),
    ("1e999999999", "2.5", True),
    ("0.3", "0.1", True), ("0.35", "0.1", False), ("-0.6", "0.2", True), ("0", "7", True),
    ("12.5", "2.5", True), ("12.5", "0.025", True), ("12.5", "0.3", False), ("1", "1e-3", True),
    ("1e-3", "1", False), ("6E+2", "3e1", True), ("10", "0", False),
])
def test_multiple_of_is_exact(number, multiple, ok):
    assert validate(Value(Number(number)), {"multipleOf": multiple}).ok is ok


# --- patterns: what compiling them may cost ---------------------------------------------------------------

def test_go_refuses_patterns_nested_1000_deep_and_so_do_we():
    from credproc.lang import re2

    assert re2.compile_pattern("(" * 999 + "a" + ")" * 999).search("a")
    deep = "(" * 1000 + "a" + ")" * 1000
    with pytest.raises(re2.InvalidPattern) as err:
        re2.compile_pattern(deep)
    assert str(err.value) == f"error parsing regexp: expression nests too deeply: `{deep}`"


def test_ten_thousand_nested_groups_are_refused_before_parsing():
    # RE2 parses this in quadratic time and filled 1.5 GB of capture slots while matching
    from credproc.lang import re2

    with pytest.raises(re2.InvalidPattern, match="nests too deeply"):
        re2.compile_pattern("(" * 10_000 + "a" + ")" * 10_000)


def test_groups_still_match_as_go_does():
    from credproc.lang import re2

    pattern = re2.compile_pattern("^(a|b(c))+$")
    assert pattern.search("abcbca") and not pattern.search("abcba")


def test_compiling_patterns_is_paid_from_the_allowance():
    # each distinct pattern compiles anew (a few ms each for a large repetition): a definition of
    # many such patterns ends in the step limit instead of running on
    schema = {"anyOf": [{"pattern": f"^[a-z]{{1,1000}}[0-9]{{1,1000}}x{i}$"} for i in range(1000)]}
    with pytest.raises(ValidationTooLong):
        validate(Value("abc"), schema)


def test_a_pattern_too_large_for_re2_costs_steps_and_reads_as_go():
    from credproc.lang import re2

    spent = []
    with pytest.raises(re2.InvalidPattern, match="expression too large"):
        re2.compile_pattern("\\pL{1,500}", spent.append)  # Go accepts it: a documented difference
    assert sum(spent) >= 25_000


def test_the_pattern_cache_is_bounded(monkeypatch):
    from credproc.lang import re2

    monkeypatch.setattr(re2, "_pattern_cache", {})
    for i in range(3 * re2._CACHE_SIZE):
        re2.compile_pattern(f"^x{i}$")
    assert len(re2._pattern_cache) <= re2._CACHE_SIZE


@pytest.mark.timeout(20)
def test_posix_class_openings_without_an_end_are_scanned_once():
    # "[" + "[:" * N: each "[:" looked for a ":]" to the end of the pattern (300 KB: 31 s)
    from credproc.lang import re2

    assert re2.compile_pattern("[" + "[:" * 200_000 + "x]").search("x")


def test_matching_is_paid_by_text_length_times_program_size():
    # RE2 leaves its DFA for the NFA on this pattern: 1 MiB took 6 s, charged as a few hundred steps
    import random

    from credproc.lang import re2

    rng = random.Random(7)
    text = "".join(rng.choice("ab") for _ in range(1024)) * 1024
    steps = StepAllowance()
    pattern = re2.compile_pattern("(?:.*a.{40}.*b.{20}){20}c", steps.take)
    with pytest.raises(ValidationTooLong):
        pattern.search(text, steps.take)
    # a counted class in a loop: RE2's NFA ran it at a sixth of that speed (a second attack round)
    random_text = "".join(rng.choice("ab") for _ in range(300_000))
    steps = StepAllowance()
    pattern = re2.compile_pattern("(?:[ab]*a[ab]{20}){30}c", steps.take)
    with pytest.raises(ValidationTooLong):
        pattern.search(random_text * 2, steps.take)
    # an ordinary pattern over a long value costs little
    cheap = StepAllowance()
    assert re2.compile_pattern("^[ab]+$", cheap.take).search(text, cheap.take)
    assert cheap.limit - cheap.left < 5_000


@pytest.mark.parametrize("pattern,capture", [
    ("(?P<é>x)", "(?P<é>"), ("(?<名>x)", "(?<名>"), ("(?P<٣>x)", "(?P<٣>"), ("(?P<>x)", "(?P<>"),
])
def test_group_names_go_refuses(pattern, capture):
    from credproc.lang import re2

    with pytest.raises(re2.InvalidPattern) as err:
        re2.compile_pattern(pattern)
    assert str(err.value) == f"error parsing regexp: invalid named capture: `{capture}`"


def test_ascii_group_names_are_taken():
    from credproc.lang import re2

    assert re2.compile_pattern("(?P<Name_1>x)(?<n2>y)").search("xy")


@pytest.mark.timeout(20)
def test_many_unclosed_group_names_are_scanned_once():
    # "(?<)" repeated with no ">": each group looked for a ">" to the end (4 MiB: 82 s)
    from credproc.lang import re2

    with pytest.raises(re2.InvalidPattern, match="invalid named capture"):
        re2.compile_pattern("(?<)" * (1 << 20))
    with pytest.raises(re2.InvalidPattern, match="invalid named capture: `\\(\\?<\\)\\(\\?<\\)>`"):
        re2.compile_pattern("(?<)(?<)>")
