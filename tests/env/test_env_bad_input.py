"""Bad input through the command line: each ends in diagnostics or a one-line error, exit 2, no
traceback, no hang (every run has a timeout), and nothing written to the store."""
import pytest

from envhelpers import assert_clean_failure, snapshot
from support.text import first_line

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9)
)
VALUES_ALIAS_BOMB = "values:\n" + "".join("  " + line + "\n" for line in ALIAS_BOMB.splitlines())
DEEP = "values:\n  x: " + "[" * 1000 + "]" * 1000 + "\n"
DEEP_BLOCK = "values:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(1000)) + "  " * 1001 + "v: 1\n"


def _run_everywhere(cli, store, name, decoded=False):
    """open, get and check all fail cleanly; return the open run.

    decoded: the definition decodes and the errors come from evaluating it. `env get` then prints
    its report as `esc env get` does (ESC drops the check's diagnostics there), with one warning
    line saying how many errors there are, and exits 0."""
    before = snapshot(store)
    commands = ("open", "check") if decoded else ("open", "get", "check")
    runs = [cli("env", command, name, timeout=30) for command in commands]
    for proc in runs:
        assert_clean_failure(proc)
        assert proc.stdout == ""
    if decoded:
        got = cli("env", "get", name, timeout=30)
        assert got.returncode == 0 and "Traceback" not in got.stderr
        assert got.stderr.startswith(f"credproc: warning: {name} has ") and got.stderr.count("\n") == 1
    assert snapshot(store) == before
    return runs[0]


def test_alias_bomb(cli, put, store):
    put("acme/bomb", VALUES_ALIAS_BOMB)
    proc = _run_everywhere(cli, store, "acme/bomb")
    assert "alias nodes are not supported" in first_line(proc.stderr)
    assert first_line(proc.stderr).startswith("acme/bomb:")


def test_file_over_the_size_limit(cli, put, store):
    from credproc.lang.syntax import MAX_SOURCE_BYTES

    put("acme/big", "values:\n  pad: " + "x" * MAX_SOURCE_BYTES + "\n")
    size = (store / "acme" / "big.yaml").stat().st_size
    proc = _run_everywhere(cli, store, "acme/big")
    assert first_line(proc.stderr) == (
        f"credproc: environment acme/big is too large ({size} bytes; the limit is {MAX_SOURCE_BYTES} bytes)")


def test_imported_file_over_the_size_limit(cli, put, store):
    from credproc.lang.syntax import MAX_SOURCE_BYTES

    put("acme/big", "values:\n  pad: " + "x" * MAX_SOURCE_BYTES + "\n")
    put("acme/uses", "imports:\n  - big\nvalues:\n  a: 1\n")
    proc = _run_everywhere(cli, store, "acme/uses", decoded=True)
    assert first_line(proc.stderr).startswith("acme/uses:2:5: environment acme/big is too large (")


def test_file_option_over_the_size_limit(cli, tmp_path):
    from credproc.lang.syntax import MAX_SOURCE_BYTES

    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    proc = cli("env", "open", "--file", big)
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == (
        f"credproc: {big} is too large ({MAX_SOURCE_BYTES + 1} bytes; the limit is {MAX_SOURCE_BYTES} bytes)")


def test_invalid_utf8(cli, put, store):
    put("acme/bin", b"values:\n  a: \xff\xfe\xfd\n")
    proc = _run_everywhere(cli, store, "acme/bin")
    assert first_line(proc.stderr) == "acme/bin: yaml: invalid UTF-8 at byte offset 13"


@pytest.mark.parametrize("text", [DEEP, DEEP_BLOCK], ids=["flow", "block"])
def test_1000_deep_nesting(cli, put, store, text):
    put("acme/deep", text)
    proc = _run_everywhere(cli, store, "acme/deep")
    assert "nesting" in first_line(proc.stderr)
    assert first_line(proc.stderr).startswith("acme/deep:")


def test_reference_cycle(cli, put, store):
    put("acme/cycle", "values:\n  a: ${b}\n  b: ${c}\n  c: ${a}\n")
    proc = _run_everywhere(cli, store, "acme/cycle", decoded=True)
    assert "cyclic reference to" in proc.stderr
    assert first_line(proc.stderr).startswith("acme/cycle:")


def test_import_cycle(cli, put, store):
    put("acme/one", "imports:\n  - two\nvalues:\n  a: 1\n")
    put("acme/two", "imports:\n  - one\nvalues:\n  b: 2\n")
    proc = _run_everywhere(cli, store, "acme/one", decoded=True)
    assert "cyclic import of one" in proc.stderr
    assert first_line(proc.stderr) == "acme/two:2:5: cyclic import of one"


def test_unknown_builtin(cli, put, store):
    put("acme/fn", "values:\n  a:\n    fn::jion: [\",\", [a, b]]\n")
    proc = _run_everywhere(cli, store, "acme/fn", decoded=True)
    assert first_line(proc.stderr).startswith("acme/fn:3:5: 'fn::' is a reserved prefix")


def test_misspelt_provider(cli, put, store):
    put("acme/prov", "values:\n  login:\n    fn::open::aws-logn:\n      oidc: {roleArn: x, sessionName: y}\n")
    before = snapshot(store)
    proc = cli("env", "open", "acme/prov", timeout=30)
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith('acme/prov:3:5: unknown provider "aws-logn"')
    assert 'did you mean "aws-login"' in first_line(proc.stderr)
    assert snapshot(store) == before


def test_missing_import(cli, put, store):
    put("acme/lonely", "imports:\n  - ghost\n  - proj/ghost\n")
    proc = _run_everywhere(cli, store, "acme/lonely", decoded=True)
    lines = proc.stderr.splitlines()
    assert lines[0] == "acme/lonely:2:5: environment 'ghost' not found"
    assert lines[1] == "acme/lonely:3:5: environment 'proj/ghost' not found"
    assert lines[-1] == "credproc: environment acme/lonely has 2 errors"


def test_yaml_syntax_error(cli, put, store):
    put("acme/syntax", "values:\n  a: [1, 2\n")
    proc = _run_everywhere(cli, store, "acme/syntax")
    assert first_line(proc.stderr).startswith("acme/syntax: yaml: ")


def test_bad_input_through_set_and_edit_is_not_written(cli, put, store, tmp_path):
    put("acme/x", "values:\n  a: 1\n")
    proc = cli("env", "set", "acme/x", "b", "*alias")  # not YAML: stored as the text it is
    assert proc.returncode == 0
    assert (store / "acme" / "x.yaml").read_text() == 'values:\n  a: 1\n  b: "*alias"\n'
    before = snapshot(store)
    script = tmp_path / "bomb.py"
    script.write_text(f"import sys\nopen(sys.argv[-1], 'w').write({VALUES_ALIAS_BOMB!r})\n")
    import sys

    proc = cli("env", "edit", "acme/x", env={"EDITOR": f"{sys.executable} {script}"})
    assert_clean_failure(proc)
    assert "alias nodes are not supported" in first_line(proc.stderr)
    assert snapshot(store) == before
