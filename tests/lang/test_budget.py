"""The evaluation budget: a definition that makes the evaluator produce too much data ends in one
diagnostic naming the limit, quickly, through the library and through the real command line."""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from credproc.lang import EnvironmentNotFound, evaluate, load
from credproc.lang.values import Value

LIMIT_MESSAGE = "evaluation exceeds credproc's limit of 64 MiB of produced values"
MiB = 1024 * 1024


def _open(source, loader=None, providers=None, name="env"):
    decl, load_diags = load(name, source.encode() if isinstance(source, str) else source)
    assert decl is not None, load_diags
    value, diags = evaluate(name, decl, loader=loader or _no_imports, providers=providers or {})
    return value, load_diags + diags


def _no_imports(name):
    raise EnvironmentNotFound(f'environment "{name}" not found')


def _timed_open(source, **kwargs):
    start = time.monotonic()
    value, diags = _open(source, **kwargs)
    return value, diags, time.monotonic() - start


def _over_budget(diags):
    return [d for d in diags if d.summary == LIMIT_MESSAGE]


def _doubling(levels, name="a", indent="  "):
    """`a0` 16 characters, each next key its predecessor twice: a{levels} has 16 * 2**levels."""
    lines = [f"{indent}{name}0: xxxxxxxxxxxxxxxx"]
    lines += [f"{indent}{name}{i}: ${{{name}{i - 1}}}${{{name}{i - 1}}}" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _wide_attack(copies=100):
    """~2.4 KB: 4 MiB strings built `copies` times over; 400 MiB in all before the budget existed."""
    return "values:\n" + _doubling(18) + "".join(f"  b{j}: ${{a17}}${{a17}}\n" for j in range(copies))


def _assert_stopped(diags, seconds, bound=10):
    assert len(_over_budget(diags)) == 1, [d.summary for d in diags]
    assert seconds < bound


# --- the library -------------------------------------------------------------------------------------

def test_many_copies_of_a_big_string_end_in_the_budget_diagnostic():
    value, diags, seconds = _timed_open(_wide_attack())
    _assert_stopped(diags, seconds)
    assert value is not None and value.unknown
    assert _over_budget(diags)[0].format().startswith("env:")


def test_the_diagnostic_names_the_expression_being_evaluated():
    value, diags, _ = _timed_open(_wide_attack())
    where = _over_budget(diags)[0]
    assert where.line is not None and where.path.startswith("values.b")


def test_the_same_strings_a_few_times_stay_within_the_budget():
    value, diags = _open(_wide_attack(copies=3))
    assert not diags
    assert len(value.value["b2"].value) == 4 * MiB


def test_arrays_sharing_a_big_string_are_counted_by_size_not_by_reference():
    # 1024 references to one 2 MiB string: a few nodes in memory, 2 GiB written out
    lines = ["values:", _doubling(17).rstrip("\n"), "  l0: ['${a17}']"]
    lines += [f"  l{i}: ['${{l{i - 1}}}', '${{l{i - 1}}}']" for i in range(1, 11)]
    value, diags, seconds = _timed_open("\n".join(lines) + "\n")
    _assert_stopped(diags, seconds)


@pytest.mark.parametrize("builtin", ["fn::toJSON", "fn::toString"])
def test_rendering_a_shared_value_into_text_is_counted_by_size(builtin):
    lines = ["values:", _doubling(17).rstrip("\n"), "  l0: ['${a17}']"]
    lines += [f"  l{i}: ['${{l{i - 1}}}', '${{l{i - 1}}}']" for i in range(1, 3)]
    lines += [f"  t{j}: {{{builtin}: '${{l2}}'}}" for j in range(20)]
    value, diags, seconds = _timed_open("\n".join(lines) + "\n")
    _assert_stopped(diags, seconds)


def test_interpolating_whole_objects_is_counted():
    lines = ["values:", _doubling(17).rstrip("\n"), "  o: {x: '${a17}', y: '${a17}'}"]
    lines += [f"  s{j}: 'x${{o}}'" for j in range(20)]
    value, diags, seconds = _timed_open("\n".join(lines) + "\n")
    _assert_stopped(diags, seconds)


@pytest.mark.parametrize("expression", [
    "{fn::toBase64: '${a17}'}",
    "{fn::join: ['-', ['${a17}', '${a17}']]}",
    "{fn::fromBase64: {fn::toBase64: '${a16}'}}",
    "{fn::fromJSON: {fn::toJSON: '${a16}'}}",
])
def test_string_builtins_are_counted(expression):
    lines = ["values:", _doubling(17).rstrip("\n")] + [f"  r{j}: {expression}" for j in range(40)]
    value, diags, seconds = _timed_open("\n".join(lines) + "\n")
    _assert_stopped(diags, seconds)


def _commas(levels):
    lines = ["  c0: '1,1,1,1,1,1,1,1'"]
    return "\n".join(lines + [f"  c{i}: '${{c{i - 1}}},${{c{i - 1}}}'" for i in range(1, levels + 1)])


def test_decoding_millions_of_json_values_is_refused_before_decoding():
    source = "values:\n" + _commas(18) + "\n" + "".join(f"  j{k}: {{fn::fromJSON: '[${{c{k}}}]'}}\n" for k in (16, 17, 18))
    value, diags, seconds = _timed_open(source)
    _assert_stopped(diags, seconds, bound=5)


def test_splitting_into_millions_of_values_is_counted():
    source = "values:\n" + _doubling(15) + "".join(f"  s{j}: {{fn::split: ['', '${{a15}}']}}\n" for j in range(30))
    value, diags, seconds = _timed_open(source)
    _assert_stopped(diags, seconds)


def test_concatenating_shared_arrays_counts_each_member():
    # 40 arrays of 256 Ki references to one array's members: 2 MiB of slots each, nothing copied
    source = ("values:\n" + _doubling(14) + "  s: {fn::split: ['', '${a14}']}\n"
              + "".join(f"  k{j}: {{fn::concat: ['${{s}}', '${{s}}']}}\n" for j in range(40)))
    value, diags, seconds = _timed_open(source)
    _assert_stopped(diags, seconds)
    assert _over_budget(diags)[0].path.startswith("values.k")  # while building them, not when exported


def test_quoting_nested_arrays_cannot_grow_exponentially():
    # every level of Go quoting doubles the backslashes: 2**60 characters without a guard
    lines = ["values:", "  l0: ['\"\"\"\"\"\"\"\"']"]
    lines += [f"  l{i}: ['${{l{i - 1}}}']" for i in range(1, 60)]
    lines += ["  s: {fn::toString: '${l59}'}"]
    value, diags, seconds = _timed_open("\n".join(lines) + "\n")
    assert seconds < 10
    assert any(d.is_error for d in diags)
    assert value.unknown or value.value["s"].unknown


def test_imports_count_toward_the_same_budget():
    sources = {"big": ("values:\n" + _doubling(19)).encode()}  # 16 MiB in a19, 32 MiB in all

    def loader(name):
        if name not in sources:
            raise EnvironmentNotFound(name)
        return sources[name]

    root = "imports: [big]\nvalues:\n" + "".join(f"  c{j}: x${{a18}}\n" for j in range(6))
    value, diags, seconds = _timed_open(root, loader=loader)
    _assert_stopped(diags, seconds)


def test_provider_outputs_are_counted():
    class Huge:
        def schema(self):
            return {}, {}

        def open(self, inputs, context):
            return Value("y" * (8 * MiB))

    lines = ["values:"] + [f"  p{j}: {{fn::open::huge: {{}}}}" for j in range(10)]
    value, diags, seconds = _timed_open("\n".join(lines) + "\n", providers={"huge": Huge()})
    _assert_stopped(diags, seconds)


def test_many_small_references_stay_fast():
    # 2000 keys each interpolating 50 others: a lot of small work, bounded by the source size
    lines = ["values:"] + [f"  k{i}: v{i}" for i in range(50)]
    lines += [f"  m{i}: '" + "".join(f"${{k{j}}}" for j in range(50)) + "'" for i in range(2000)]
    value, diags, seconds = _timed_open("\n".join(lines) + "\n")
    assert not diags and seconds < 10


def test_suggestions_for_misspelt_names_have_a_bounded_cost():
    long_names = [f"  k{i:03d}{'a' * 250}: 1" for i in range(1000)]
    refs = [f"  r{i}: ${{{'z' * 254}}}" for i in range(20)]
    value, diags, seconds = _timed_open("\n".join(["values:"] + long_names + refs) + "\n")
    assert seconds < 10
    assert [d.summary for d in diags if d.is_error] == [f'unknown property "{"z" * 254}"'] * 20


def test_the_public_corpus_uses_a_small_fraction_of_the_budget(monkeypatch):
    from credproc.lang import eval as E
    from tests.lang.harness import run_case

    corpus = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "esc-eval"
    if not corpus.is_dir():
        pytest.skip("no shared conformance corpus beside the repository")
    monkeypatch.setattr(E, "EVAL_BUDGET_BYTES", E.EVAL_BUDGET_BYTES // 64)  # 1 MiB
    cases = sorted(p for p in corpus.iterdir() if (p / "expected.json").is_file())
    assert cases
    for case in cases:
        root = json.loads((case / "expected.json").read_text())["rootName"]
        _, _, diags = run_case(case, root)
        assert not [d for d in diags if "limit of" in d.summary], case.name


# --- the command line ----------------------------------------------------------------------------------

GiB = 1024 * MiB


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (GiB, GiB))


def _cli(*args, timeout=60):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "credproc", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, preexec_fn=_limit_memory)
    return proc, time.monotonic() - start


def _put(name, text):
    path = Path(os.environ["CREDPROC_ENV_DIR"], *name.split("/")).with_suffix(".yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_env_get_ends_the_attack_quickly_and_says_there_is_an_error():
    # esc env get drops the check's diagnostics: the report, one warning line, exit 0
    _put("acme/wide", _wide_attack())
    proc, seconds = _cli("env", "get", "acme/wide")
    assert seconds < 10
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "credproc: warning: acme/wide has 1 error; see `credproc env check acme/wide`\n"


@pytest.mark.parametrize("command", [["env", "open", "acme/wide"],
                                     ["env", "check", "acme/wide"], ["process", "acme/wide"],
                                     ["run", "acme/wide", "--", sys.executable, "-c", "print('ran')"]])
def test_the_cli_ends_the_attack_quickly_with_the_diagnostic(command):
    # the old evaluator took 85 s and 2.5 GB for `env get`; under a 1 GiB address space it failed
    _put("acme/wide", _wide_attack())
    proc, seconds = _cli(*command)
    assert seconds < 10
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert LIMIT_MESSAGE in proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "MemoryError" not in proc.stderr


# --- the fast paths give what the character-by-character rules give -----------------------------------

_TRICKY = ["", "plain", 'q"uote', "back\\slash", "tab\tnl\nnul\x00del\x7f", "<a>&b", "\u2028\u2029",
           "é漢字😀", "\u00a0nbsp", "\u200bzero-width", "\ufeffbom", "\udc80\udcff", "\ud800lone", "\U000e0001tag",
           "\x1b[31m", "mixed é\x01\u00a0😀\"\\<"]


def _reference_go_quote(s):
    from credproc.lang.values import _quote_char

    return '"' + "".join(_quote_char.__wrapped__(ch) for ch in s) + '"'


def _reference_go_json_string(s):
    from credproc.lang.values import _JSON_ESCAPES

    out = []
    for ch in s:
        if ch in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _samples():
    import random

    rng = random.Random(7)
    pool = "".join(_TRICKY) + "abc xyz"
    return _TRICKY + ["".join(rng.choice(pool) for _ in range(rng.randint(0, 12))) for _ in range(3000)]


def test_go_quote_and_go_json_string_match_the_per_character_rules():
    from credproc.lang.values import go_json_string, go_quote

    for s in _samples():
        assert go_quote(s) == _reference_go_quote(s), repr(s)
        assert go_json_string(s) == _reference_go_json_string(s), repr(s)


def test_fast_json_and_base64_decoding_match_go_rules():
    import random

    from credproc.lang import builtins as B

    def outcome(decode, text):
        try:
            return "ok", decode(text), type(decode(text))
        except B.GoError as err:
            return "error", str(err)

    def go_rules_json(text):
        decoder = B._JsonDecoder(text)
        decoder.skip_ws()
        if decoder.i >= len(text):
            raise B.GoError("EOF")
        return decoder.value(0)

    def go_rules_base64(text):
        return B.go_base64_decode(text + "\n") if B._plain_base64(text) else B.go_base64_decode(text)

    rng = random.Random(11)
    tokens = ["{", "}", "[", "]", ",", ":", '"a"', '"\\u00e9"', '"\\ud800"', '"\\ud83d\\ude00"', "1", "-0",
              "1.5e3", "01", "1.", "1e", "true", "null", "NaN", "Infinity", " ", '"\x01"', "-", '"', "\udc80"]
    for _ in range(3000):
        text = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 7)))
        assert outcome(B.go_json_decode, text) == outcome(go_rules_json, text), repr(text)
    for _ in range(3000):
        text = "".join(rng.choice("AB+/=\r\n-é") for _ in range(rng.randint(0, 9)))
        assert outcome(B.go_base64_decode, text) == outcome(go_rules_base64, text), repr(text)


def test_a_long_delimiter_times_many_items_is_refused_before_joining(tmp_path):
    """Found by a hostile review: 420 KB of definition asked fn::join for a 4 GB string, and the
    budget was checked only after it was built (4 GB of memory, or MemoryError under a limit)."""
    import resource
    import subprocess
    import sys

    items = ", ".join(["a"] * 200_000)
    text = f"values:\n  s: '{'z' * 20000}'\n  j:\n    fn::join: ['${{s}}', [{items}]]\n"
    store = tmp_path / "store"
    (store / "acme").mkdir(parents=True, mode=0o700)
    store.chmod(0o700)
    (store / "acme" / "bomb.yaml").write_text(text)
    (store / "acme" / "bomb.yaml").chmod(0o600)

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([sys.executable, "-m", "credproc", "env", "check", "acme/bomb"], capture_output=True,
                          text=True, timeout=60, preexec_fn=limit_memory,
                          env={**__import__("os").environ, "CREDPROC_ENV_DIR": str(store)})
    assert done.returncode == 2, done.stderr
    assert "internal error" not in done.stderr and "too large" in done.stderr
