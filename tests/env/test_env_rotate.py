"""`credproc env rotate` through the real command line: the conformance rotators (CREDPROC_CONFORMANCE=1:
`swap` swaps state.a and state.b; `echo` moves its rotate-only input `next` into state.current)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from envhelpers import CREDPROC, assert_clean_failure

CONFORMANCE = {"CREDPROC_CONFORMANCE": "1"}

TWO_ROTATORS = """\
# database credentials, rotated monthly
values:
  db:
    fn::rotate::swap:
      inputs: {}
      state:
        a: one
        b: two
  cache: {fn::rotate::swap: {inputs: {}, state: {a: three, b: four}}}
  uses: ${db.a}-${cache.b}
"""


def _command() -> list:
    return [str(CREDPROC)] if CREDPROC.exists() else [sys.executable, "-m", "credproc"]


def rotate(cli, *args):
    return cli("env", "rotate", *args, env=CONFORMANCE)


def opened(cli, ref):
    proc = cli("env", "open", ref, "--show-secrets", env=CONFORMANCE)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _state(path, *keys):
    node = yaml.safe_load(path.read_text())["values"]
    for key in keys:
        node = node[key]
    return node["state"]


# --- what is rotated, printed and written -----------------------------------------------------------------

def test_rotate_all_swaps_every_rotator_prints_the_values_and_writes_the_state(cli, put):
    path = put("acme/dev", TWO_ROTATORS)
    proc = rotate(cli, "acme/dev")
    assert proc.returncode == 0, proc.stderr
    want = {"db": {"a": "two", "b": "one"}, "cache": {"a": "four", "b": "three"}, "uses": "two-three"}
    assert json.loads(proc.stdout) == want
    assert proc.stderr == "acme/dev: rotated cache, db (new state written)\n"
    assert _state(path, "db", "fn::rotate::swap") == {"a": "two", "b": "one"}
    assert _state(path, "cache", "fn::rotate::swap") == {"a": "four", "b": "three"}
    assert opened(cli, "acme/dev") == want


def test_rotate_one_path_leaves_the_other_rotators_alone(cli, put):
    path = put("acme/dev", TWO_ROTATORS)
    proc = rotate(cli, "acme/dev", "cache")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["uses"] == "one-three"
    assert _state(path, "db", "fn::rotate::swap") == {"a": "one", "b": "two"}
    assert _state(path, "cache", "fn::rotate::swap") == {"a": "four", "b": "three"}
    assert proc.stderr == "acme/dev: rotated cache (new state written)\n"


def test_rotate_paths_in_property_path_syntax_reach_list_items_and_quoted_keys(cli, put):
    path = put("acme/dev", 'values:\n  "my-app":\n    - fn::rotate::swap: {inputs: {}, state: {a: x, b: y}}\n'
                           '    - fn::rotate::swap: {inputs: {}, state: {a: p, b: q}}\n')
    proc = rotate(cli, "acme/dev", '["my-app"][1]')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"my-app": [{"a": "x", "b": "y"}, {"a": "q", "b": "p"}]}
    assert yaml.safe_load(path.read_text())["values"]["my-app"][1]["fn::rotate::swap"]["state"] == {"a": "q", "b": "p"}


def test_every_format_of_env_open_prints_what_env_open_prints_after_the_rotation(cli, put):
    for fmt in ("json", "yaml", "string", "dotenv", "shell", "detailed"):
        put("acme/dev", "values:\n  db:\n    fn::rotate::swap: {inputs: {}, state: {a: one, b: two}}\n"
                        "  environmentVariables:\n    DB_USER: ${db.a}\n")
        proc = rotate(cli, "acme/dev", "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        after = cli("env", "open", "acme/dev", "--format", fmt, env=CONFORMANCE)
        assert proc.stdout == after.stdout, fmt
        assert "two" in proc.stdout, fmt


def test_an_environment_without_rotators_rotates_nothing_and_is_not_rewritten(cli, put):
    path = put("acme/dev", "values:\n  a: 1   # a comment\n")
    before = os.stat(path)
    proc = rotate(cli, "acme/dev")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"a": 1}
    assert proc.stderr == "acme/dev: nothing rotated\n"
    assert path.read_text() == "values:\n  a: 1   # a comment\n"
    assert os.stat(path).st_ino == before.st_ino  # not even replaced by an identical copy


# --- the file: only the state changes -----------------------------------------------------------------

ODD_LAYOUT = """\
# Top comment, kept.
imports: []   # none
values:
    # four-space indentation, kept
    db:
        fn::rotate:
            provider: swap
            inputs:   {}
            state:    # the state's own comment stays
                a: 'one'
                b: "two"
    flow: {fn::rotate::swap: {inputs: {}, state: {a: left, b: right}}}   # trailing
    nostate:
        fn::rotate::swap:
            inputs: {}
    weird key: "${db.a}"

# bottom comment
"""

ODD_LAYOUT_ROTATED = """\
# Top comment, kept.
imports: []   # none
values:
    # four-space indentation, kept
    db:
        fn::rotate:
            provider: swap
            inputs:   {}
            state:    # the state's own comment stays
                a: two
                b: one
    flow: {fn::rotate::swap: {inputs: {}, state: {a: right, b: left}}}   # trailing
    nostate:
        fn::rotate::swap:
            inputs: {}
            state:
              a: null
              b: null
    weird key: "${db.a}"

# bottom comment
"""


def test_the_file_is_rewritten_byte_for_byte_except_each_state(cli, put):
    path = put("acme/dev", ODD_LAYOUT)
    proc = rotate(cli, "acme/dev", "db", "flow", "nostate", "--partial")
    assert path.read_text() == ODD_LAYOUT_ROTATED
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "acme/dev: rotated db, flow, nostate (new state written)\n"


def test_the_rewritten_file_is_private_as_every_definition_the_store_writes(cli, put):
    path = put("acme/dev", TWO_ROTATORS)
    os.chmod(path, 0o644)
    assert rotate(cli, "acme/dev").returncode == 0
    assert os.stat(path).st_mode & 0o777 == 0o600  # the new state may be a secret


# --- bad input: one line, exit 2, nothing written -----------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["db["], "credproc: 'db[' is an invalid property path: "),
    (["db", "nothing.here"], "credproc: 'nothing.here' names no rotator in acme/dev"),
    (["uses"], "credproc: 'uses' names no rotator in acme/dev"),
    ([""], "credproc: '' is an invalid property path: it is empty"),
    (["--format", "toml"], "credproc: argument --format/-f: invalid choice: 'toml'"),
])
def test_a_bad_path_or_format_rotates_nothing(cli, put, args, message):
    path = put("acme/dev", TWO_ROTATORS)
    proc = rotate(cli, "acme/dev", *args)
    assert_clean_failure(proc)
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stdout == ""
    assert path.read_text() == TWO_ROTATORS


def test_a_missing_environment_or_a_bad_name_is_one_line(cli, put):
    for ref, message in (("acme/none", "credproc: environment acme/none not found"),
                         ("../x", "credproc: ")):
        proc = rotate(cli, ref)
        assert_clean_failure(proc)
        assert proc.stderr.startswith(message) and len(proc.stderr.splitlines()) == 1, proc.stderr


def test_a_definition_that_is_not_yaml_reports_it_and_writes_nothing(cli, put):
    path = put("acme/dev", "values: {a: [\n")
    proc = rotate(cli, "acme/dev", "--partial")
    assert_clean_failure(proc)
    assert proc.stdout == ""
    assert path.read_text() == "values: {a: [\n"


# --- errors during the rotation -----------------------------------------------------------------------

ROTATE_ONLY_MISSING = """\
values:
  broken:
    fn::rotate::echo:
      inputs:
        next: ${environments.acme.missing.value}
      state:
        current: old
  fine:
    fn::rotate::swap: {inputs: {}, state: {a: one, b: two}}
"""


def test_a_rotation_error_prints_partial_values_writes_what_rotated_and_exits_2(cli, put):
    path = put("acme/dev", ROTATE_ONLY_MISSING)
    proc = rotate(cli, "acme/dev", "--partial")
    assert_clean_failure(proc)
    assert json.loads(proc.stdout) == {"broken": "[unknown]", "fine": {"a": "two", "b": "one"}}
    assert "acme/dev:5:15: " in proc.stderr and "missing" in proc.stderr
    assert proc.stderr.splitlines()[-1] == "credproc: environment acme/dev has 1 error"
    assert _state(path, "fine", "fn::rotate::swap") == {"a": "two", "b": "one"}
    assert _state(path, "broken", "fn::rotate::echo") == {"current": "old"}


def test_without_partial_an_error_prints_nothing_but_the_rotated_state_is_still_written(cli, put):
    path = put("acme/dev", ROTATE_ONLY_MISSING)
    proc = rotate(cli, "acme/dev")
    assert_clean_failure(proc)
    assert proc.stdout == ""
    assert _state(path, "fine", "fn::rotate::swap") == {"a": "two", "b": "one"}


# A rotator that fails: the conformance `swap`, made to raise for a state whose `a` is "fail" (a
# provider double; everything else is the real command line).
FAILING_SWAP = """
import sys
from credproc.lang.provider import ProviderError
from credproc.providers import conformance
real = conformance.SwapRotator.rotate
def rotate(self, inputs, state, ctx):
    if state.value["a"].value == "fail":
        raise ProviderError("the database refused the new password")
    return real(self, inputs, state, ctx)
conformance.SwapRotator.rotate = rotate
from credproc.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run_python(code: str, *args, timeout=60):
    env = dict(os.environ, **CONFORMANCE)
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def test_a_rotator_that_fails_is_reported_and_the_others_are_still_written(cli, put):
    text = ("values:\n  bad:\n    fn::rotate::swap: {inputs: {}, state: {a: fail, b: x}}\n"
            "  good:\n    fn::rotate::swap: {inputs: {}, state: {a: one, b: two}}\n")
    path = put("acme/dev", text)
    proc = _run_python(FAILING_SWAP, "env", "rotate", "acme/dev", "--partial")
    assert_clean_failure(proc)
    assert json.loads(proc.stdout) == {"bad": "[unknown]", "good": {"a": "two", "b": "one"}}
    assert "acme/dev:3:5: rotate: the database refused the new password\n" in proc.stderr
    assert "acme/dev: rotated good (new state written)\n" in proc.stderr
    assert path.read_text() == text.replace("{a: one, b: two}", "{a: two, b: one}")


# The conformance `swap`, made to return a state the language would misread (a key "fn::open"):
UNWRITABLE_SWAP = FAILING_SWAP.replace(
    'raise ProviderError("the database refused the new password")',
    'from credproc.lang.values import Value\n        return Value({"fn::open": Value("x")})')


def test_a_new_state_that_cannot_be_written_is_an_error_and_the_others_are_written(cli, put):
    text = ("values:\n  bad:\n    fn::rotate::swap: {inputs: {}, state: {a: fail, b: x}}\n"
            "  good:\n    fn::rotate::swap: {inputs: {}, state: {a: one, b: two}}\n")
    path = put("acme/dev", text)
    proc = _run_python(UNWRITABLE_SWAP, "env", "rotate", "acme/dev")
    assert_clean_failure(proc)
    assert proc.stdout == ""
    assert ("acme/dev: bad was rotated but its new state cannot be written (the new state has a key 'fn::open' "
            "that would be read as a function); the file still holds the old state\n") in proc.stderr
    assert path.read_text() == text.replace("{a: one, b: two}", "{a: two, b: one}")


# --- secrets ----------------------------------------------------------------------------------------

SECRET_STATE = """\
values:
  db:
    fn::rotate::swap:
      inputs: {}
      state:
        a:
          fn::secret: hunter$$2
        b: {fn::secret: s3cr3t-value}
"""


def test_a_secret_state_is_not_printed_without_show_secrets_and_stays_secret_in_the_file(cli, put):
    path = put("acme/dev", SECRET_STATE)
    proc = rotate(cli, "acme/dev")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"db": {"a": "[secret]", "b": "[secret]"}}
    for leak in ("hunter", "s3cr3t"):
        assert leak not in proc.stdout + proc.stderr
    assert path.read_text() == SECRET_STATE.replace(
        "        a:\n          fn::secret: hunter$$2\n        b: {fn::secret: s3cr3t-value}\n",
        '        a:\n          fn::secret: s3cr3t-value\n        b:\n          fn::secret: "hunter$$2"\n')
    detailed = cli("env", "open", "acme/dev", "--format", "detailed", "--show-secrets", env=CONFORMANCE)
    shown_b = json.loads(detailed.stdout)["value"]["db"]["value"]["b"]
    assert {k: shown_b[k] for k in ("secret", "value")} == {"secret": True, "value": "hunter$2"}
    shown = rotate(cli, "acme/dev", "--show-secrets")
    assert json.loads(shown.stdout) == {"db": {"a": "hunter$2", "b": "s3cr3t-value"}}


def test_a_secret_that_is_not_a_string_is_written_as_secret_json_and_reads_back_the_same():
    """fn::secret takes text only: a secret object (or number) is written as ESC writes it, fn::fromJSON
    of a secret JSON text. (In-process: the conformance rotators keep string states only.)"""
    from credproc import lang
    from credproc.lang.values import Number, Value, to_plain
    from credproc.store.rotation import definition_data
    from credproc.store.yamledit import set_node

    state = Value({"creds": Value({"user": Value("u"), "n": Value(Number("1.50"))}, secret=True),
                   "pin": Value(Number("42"), secret=True), "note": Value("a $dollar")})
    text = set_node("values:\n  db:\n    fn::rotate::swap:\n      inputs: {}\n", ["values", "db", "fn::rotate::swap", "state"],
                    definition_data(state))
    assert text == ("values:\n  db:\n    fn::rotate::swap:\n      inputs: {}\n      state:\n"
                    "        creds:\n          fn::fromJSON:\n            fn::secret: \"{\\\"n\\\":1.50,\\\"user\\\":\\\"u\\\"}\"\n"
                    '        note: "a $$dollar"\n'
                    "        pin:\n          fn::fromJSON:\n            fn::secret: \"42\"\n")
    decl, diags = lang.load("dev", text.replace("fn::rotate::swap:\n      inputs: {}\n      state:", "value:")
                            .encode())
    value, diags = lang.evaluate("dev", decl, loader=lambda name: b"", providers={}, show_secrets=True)
    got = value.value["db"].value["value"].value
    assert not diags
    assert got["creds"].secret and got["pin"].secret and not got["note"].secret
    assert to_plain(value) == {"db": {"value": {"creds": {"n": "1.50", "user": "u"}, "note": "a $dollar", "pin": "42"}}}


def test_a_state_with_a_function_key_or_an_unknown_is_refused_before_anything_is_written():
    from credproc.errors import UsageError
    from credproc.lang.values import Value
    from credproc.store.rotation import definition_data

    for bad in (Value({"fn::secret": Value("x")}), Value({"a": Value(None, unknown=True)})):
        with pytest.raises(UsageError):
            definition_data(bad)


# --- concurrency and crashes ------------------------------------------------------------------------

def test_rotate_waits_for_the_edit_lock_and_reads_the_file_only_once_it_holds_it(cli, put, store):
    from credproc.store.store import Store, parse_name

    path = put("acme/dev", TWO_ROTATORS)
    with Store(str(store)).edit_lock(parse_name("acme/dev")):
        proc = subprocess.Popen(_command() + ["env", "rotate", "acme/dev", "db"], env=dict(os.environ, **CONFORMANCE),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        time.sleep(2.0)
        assert proc.poll() is None, proc.communicate()  # still waiting for the lock
        path.write_text(TWO_ROTATORS.replace("  uses:", "  added: while-locked\n  uses:"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    values = yaml.safe_load(path.read_text())["values"]
    assert values["added"] == "while-locked"  # the edit made under the lock is kept
    assert values["db"]["fn::rotate::swap"]["state"] == {"a": "two", "b": "one"}


def test_parallel_rotations_and_sets_lose_nothing(cli, put):
    """Each rotation starts from the state the previous one wrote (alternating outputs), and every
    concurrent `env set` lands."""
    path = put("acme/dev", "values:\n  db:\n    fn::rotate::swap: {inputs: {}, state: {a: one, b: two}}\n")
    env = dict(os.environ, **CONFORMANCE)
    rotations = 6
    procs = [subprocess.Popen(_command() + ["env", "rotate", "acme/dev"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
             for _ in range(rotations)]
    procs += [subprocess.Popen(_command() + ["env", "set", "acme/dev", f"k{i}", str(i)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
              for i in range(4)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    assert all(code == 0 for _, _, code in results), results
    firsts = sorted(json.loads(out)["db"]["a"] for out, _, _ in results[:rotations])
    assert firsts == ["one"] * (rotations // 2) + ["two"] * (rotations - rotations // 2)
    values = yaml.safe_load(path.read_text())["values"]
    assert values["db"]["fn::rotate::swap"]["state"] == {"a": "one", "b": "two"}  # an even number of swaps
    assert {k: values[k] for k in ("k0", "k1", "k2", "k3")} == {"k0": 0, "k1": 1, "k2": 2, "k3": 3}


# Fault injection: the real command line, killed with SIGKILL at a point of the atomic write.
KILLED_WHILE_WRITING = """
import os, signal, sys
from credproc import fsutil
point = sys.argv[1]
if point == "rename":
    os.replace = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
else:
    real = fsutil._write_fully
    def half(fd, data):
        real(fd, data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    fsutil._write_fully = half
from credproc.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("point", ["half-written", "rename"])
def test_a_crash_while_writing_leaves_the_old_file_intact(cli, put, point):
    path = put("acme/dev", TWO_ROTATORS)
    proc = _run_python(KILLED_WHILE_WRITING, point, "env", "rotate", "acme/dev")
    assert proc.returncode == -signal.SIGKILL
    assert path.read_text() == TWO_ROTATORS
    assert cli("env", "ls").stdout == "acme/dev\n"
    again = rotate(cli, "acme/dev")  # and the next rotation works
    assert again.returncode == 0, again.stderr
    assert _state(path, "db", "fn::rotate::swap") == {"a": "two", "b": "one"}


@pytest.mark.parametrize("fmt", ["json", "yaml", "string", "dotenv", "shell", "detailed"])
def test_no_format_prints_a_secret_state_without_show_secrets(cli, put, fmt):
    put("acme/dev", SECRET_STATE + "  environmentVariables:\n    DB_A: ${db.a}\n    DB_B: ${db.b}\n")
    proc = rotate(cli, "acme/dev", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert "[secret]" in proc.stdout, proc.stdout
    for leak in ("hunter", "s3cr3t"):
        assert leak not in proc.stdout + proc.stderr, fmt


def test_a_file_with_windows_line_endings_keeps_them(cli, put):
    text = TWO_ROTATORS.replace("\n", "\r\n")
    path = put("acme/dev", text.encode())
    proc = rotate(cli, "acme/dev", "db")
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == text.replace("a: one\r\n        b: two", "a: two\r\n        b: one").encode()


def test_a_rotator_whose_state_is_an_expression_is_not_rotated_and_the_file_is_kept(cli, put):
    """Review finding: `state: ${src}` was rotated (as a null state) and the new state written over it."""
    text = "values:\n  src: {a: p, b: q}\n  r:\n    fn::rotate::swap:\n      inputs: {}\n      state: ${src}\n"
    path = put("acme/rot", text)
    result = rotate(cli, "acme/rot")
    assert result.returncode == 2
    assert "rotation state must be an object literal" in result.stderr
    assert "rotated r" not in result.stderr
    assert path.read_text() == text
