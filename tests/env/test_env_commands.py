"""`credproc env ...` end to end through the installed command line, store in tmp_path."""
import json
import os
import stat
import sys
import textwrap

import pytest

from envhelpers import assert_clean_failure, snapshot
from support.text import first_line

CONFORMANCE = {"CREDPROC_CONFORMANCE": "1"}

BASE = """\
values:
  greeting: hello
  shared: {a: 1, b: 2}
"""
DB = """\
values:
  host: db.internal
"""
DEV = """\
# the dev environment
imports:
  - base
  - proj/db
values:
  shared: {b: 3}
  name: ${context.currentEnvironment.name}
  org: ${context.pulumi.organization.login}
  user: ${context.pulumi.user.login}
  pw:
    fn::secret: hunter2
  number: 1000000.0
  environmentVariables:
    GREETING: ${greeting}
    PW: ${pw}
    COUNT: 3
  files:
    CONF: "region = ${shared.a}"
"""
BAD = """\
values:
  a: ${nope}
  b: ok
  c:
    fn::join: [",", 1]
"""


@pytest.fixture
def acme(put):
    put("acme/base", BASE)
    put("acme/proj/db", DB)
    put("acme/dev", DEV)
    put("acme/bad", BAD)


# --- init ----------------------------------------------------------------------------------------

def test_init_writes_a_private_commented_template_that_checks(cli, store):
    proc = cli("env", "init", "acme/dev")
    assert proc.returncode == 0, proc.stderr
    path = store / "acme" / "dev.yaml"
    text = path.read_text()
    for needle in ("fn::open::aws-login:", "oidc:", "roleArn: arn:aws:iam::", "sessionName:", "duration: 1h",
                   "credproc env init --template", "# token: omitted", "AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}",
                   "AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}",
                   "AWS_SESSION_TOKEN: ${aws.login.sessionToken}", "credproc env check acme/dev"):
        assert needle in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((store / "acme").stat().st_mode) == 0o700
    check = cli("env", "check", "acme/dev")
    assert (check.returncode, check.stderr) == (0, "")
    got = cli("env", "get", "acme/dev", "--value", "json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["environmentVariables"] == {
        "AWS_ACCESS_KEY_ID": "[unknown]", "AWS_SECRET_ACCESS_KEY": "[unknown]", "AWS_SESSION_TOKEN": "[unknown]"}


def test_init_refuses_to_overwrite(cli, put, store):
    put("acme/dev", "values: {mine: 1}\n")
    before = snapshot(store)
    proc = cli("env", "init", "acme/dev")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == (
        "credproc: environment acme/dev already exists; not overwritten (hint: edit it: credproc env edit acme/dev)")
    assert snapshot(store) == before


def test_init_project_environment(cli, store):
    assert cli("env", "init", "acme/proj/dev").returncode == 0
    assert (store / "acme" / "proj" / "dev.yaml").is_file()
    assert stat.S_IMODE((store / "acme" / "proj").stat().st_mode) == 0o700


# --- ls, rm --------------------------------------------------------------------------------------

def test_ls_lists_sorted_names_and_filters_by_org(cli, acme, put):
    put("zeta/x", "values: {}\n")
    (acme_dir := put("acme/notes", "").parent / "README.txt").write_text("not an environment")
    proc = cli("env", "ls")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == ["acme/bad", "acme/base", "acme/dev", "acme/notes", "acme/proj/db", "zeta/x"]
    assert cli("env", "ls", "zeta").stdout == "zeta/x\n"
    assert cli("env", "ls", "nobody").stdout == ""


def test_ls_of_an_empty_store(cli):
    proc = cli("env", "ls")
    assert (proc.returncode, proc.stdout) == (0, "")


def test_rm_needs_yes_without_a_terminal(cli, acme, store):
    before = snapshot(store)
    proc = cli("env", "rm", "acme/dev")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == "credproc: not removing acme/dev without confirmation: pass --yes"
    assert snapshot(store) == before
    proc = cli("env", "rm", "--yes", "acme/dev")
    assert proc.returncode == 0
    assert not (store / "acme" / "dev.yaml").exists()
    assert cli("env", "rm", "--yes", "acme/proj/db").returncode == 0
    assert not (store / "acme" / "proj").exists()  # emptied project folder tidied


def test_rm_missing(cli, acme):
    proc = cli("env", "rm", "--yes", "acme/nope")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == "credproc: environment acme/nope not found (hint: see `credproc env ls`)"


# --- open ----------------------------------------------------------------------------------------

def test_open_json_merges_imports_in_the_org_and_shows_secrets(cli, acme):
    assert json.loads(cli("env", "open", "acme/dev").stdout)["pw"] == "[secret]"  # only when asked:
    proc = cli("env", "open", "acme/dev", "--show-secrets")
    assert (proc.returncode, proc.stderr) == (0, "")
    got = json.loads(proc.stdout)
    assert got["shared"] == {"a": 1, "b": 3}
    assert got["greeting"] == "hello" and got["host"] == "db.internal"
    assert got["name"] == "dev" and got["org"] == "acme" and got["user"]
    assert got["pw"] == "hunter2"
    assert '"number": 1e+06,' in proc.stdout  # Go %g text of the YAML float, printed verbatim
    assert proc.stdout.startswith('{\n  "environmentVariables": {\n    "COUNT": 3,')


def test_open_path_and_formats(cli, acme):
    assert cli("env", "open", "acme/dev", "shared.b").stdout == "3\n"
    assert cli("env", "open", "acme/dev", '["shared"]["a"]').stdout == "1\n"
    assert cli("env", "open", "acme/dev", "missing.key").stdout == "null\n"
    assert cli("env", "open", "acme/dev", "shared", "--format", "string").stdout == '"a"="1","b"="3"\n'
    # yaml.v3 v3.0.1 (ESC's) writes json.Number as a string: quoted
    assert cli("env", "open", "acme/dev", "shared", "-f", "yaml").stdout == 'a: "1"\nb: "3"\n'
    dotenv = cli("env", "open", "acme/dev", "--format", "dotenv", "--show-secrets")
    lines = dotenv.stdout.splitlines()
    assert lines[:3] == ["COUNT='3'", "GREETING='hello'", "PW='hunter2'"]
    conf = lines[3].partition("=")[2].strip("'")
    assert lines[3].startswith("CONF=") and len(lines) == 4
    try:
        assert open(conf).read() == "region = 1"
        assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    finally:
        os.unlink(conf)
    shell = cli("env", "open", "acme/dev", "--format", "shell", "--show-secrets").stdout.splitlines()
    assert shell[:3] == ["export COUNT='3'", "export GREETING='hello'", "export PW='hunter2'"]
    os.unlink(shell[3].partition("=")[2].strip("'"))


def test_open_bad_format_and_path_combinations(cli, acme):
    proc = cli("env", "open", "acme/dev", "a", "--format", "dotenv")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == "credproc: output format 'dotenv' may not be used with a property path"
    proc = cli("env", "open", "acme/dev", "--format", "flat")
    assert_clean_failure(proc)
    assert "invalid choice: 'flat'" in proc.stderr
    proc = cli("env", "open", "acme/dev", "a[")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == "credproc: invalid property path 'a[': missing closing ']'"
    proc = cli("env", "open")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == "credproc: no environment name given (expected ORG/ENV or ORG/PROJECT/ENV)"


def test_open_with_errors_prints_sorted_diagnostics_and_nothing_on_stdout(cli, acme):
    proc = cli("env", "open", "acme/bad")
    assert_clean_failure(proc)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        'acme/bad:2:8: unknown property "nope"',
        "acme/bad:5:21: expected array, got number",
        "credproc: environment acme/bad has 2 errors",
    ]


def test_open_partial_prints_what_evaluated_and_still_fails(cli, acme):
    proc = cli("env", "open", "acme/bad", "--partial")
    assert_clean_failure(proc)
    assert json.loads(proc.stdout) == {"a": "[unknown]", "b": "ok", "c": "[unknown]"}
    assert first_line(proc.stderr) == 'acme/bad:2:8: unknown property "nope"'


def test_open_warnings_do_not_fail(cli, put):
    put("acme/warn", "values:\n  a: 1\nenvironmentVariables:\n  X: 1\n")
    proc = cli("env", "open", "acme/warn")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"a": 1}
    assert first_line(proc.stderr).startswith(
        "acme/warn:3:1: warning: Field 'environmentVariables' does not exist on Object 'environment'.")


def test_open_missing_environment_and_missing_import(cli, put):
    proc = cli("env", "open", "acme/nope")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == (
        "credproc: environment acme/nope not found (hint: see `credproc env ls` or `credproc env init`)")
    put("acme/lonely", "imports:\n  - ghost\nvalues:\n  a: 1\n")
    proc = cli("env", "open", "acme/lonely")
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith("acme/lonely:2:5: ")
    assert "'ghost' not found" in first_line(proc.stderr)


def test_open_file_uses_the_store_for_imports(cli, acme, tmp_path):
    definition = tmp_path / "outside.yaml"
    definition.write_text("imports:\n  - base\nvalues:\n  me: ${context.currentEnvironment.name}\n")
    proc = cli("env", "open", "--file", definition)  # one organization in the store: acme
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"greeting": "hello", "me": "<yaml>", "shared": {"a": 1, "b": 2}}
    named = cli("env", "open", "acme/other", "me", "--file", definition)
    assert named.stdout == '"other"\n'
    path_only = cli("env", "open", "greeting", "--file", definition)
    assert path_only.stdout == '"hello"\n'


def test_open_file_with_several_orgs_needs_org(cli, acme, put, tmp_path):
    put("other/base", "values: {greeting: hi}\n")
    definition = tmp_path / "outside.yaml"
    definition.write_text("imports:\n  - base\n")
    proc = cli("env", "open", "--file", definition)
    assert_clean_failure(proc)
    assert "'base' not found" in first_line(proc.stderr)
    assert "--org" in first_line(proc.stderr)
    assert json.loads(cli("env", "open", "--file", definition, "--org", "other").stdout) == {"greeting": "hi"}
    proc = cli("env", "open", "--file", tmp_path / "missing.yaml")
    assert_clean_failure(proc)
    assert first_line(proc.stderr) == f"credproc: cannot read {tmp_path / 'missing.yaml'}: no such file"


def test_ciphertext_without_the_test_key_is_a_clear_diagnostic(cli, put):
    put("acme/cipher", "values:\n  s:\n    fn::secret:\n      ciphertext: ZXNjeAAAAAHo9e705fKyKo30VQ==\n")
    proc = cli("env", "open", "acme/cipher")
    assert_clean_failure(proc)
    assert "no key for static ciphertext" in first_line(proc.stderr)
    conformance = cli("env", "open", "acme/cipher", "--show-secrets", env=CONFORMANCE)
    assert json.loads(conformance.stdout) == {"s": "hunter2"}
    assert cli("env", "open", "acme/cipher", env={"CREDPROC_CONFORMANCE": "yes"}).returncode == 2


def test_conformance_context_only_with_exactly_1(cli, put):
    put("acme/ctx", "values:\n  id: ${context.pulumi.user.id}\n")
    assert json.loads(cli("env", "open", "acme/ctx", env=CONFORMANCE).stdout) == {"id": "USER_123"}
    proc = cli("env", "open", "acme/ctx", env={"CREDPROC_CONFORMANCE": "true"})
    assert_clean_failure(proc)
    assert 'unknown property "id"' in first_line(proc.stderr)


# --- get, check ----------------------------------------------------------------------------------

def test_get_does_not_call_providers_and_redacts(cli, put):
    put("acme/p", "values:\n  o:\n    fn::open::test: {x: 1}\n  s:\n    fn::secret: hunter2\n"
                  "  environmentVariables:\n    S: ${s}\n    O: ${o.x}\n")
    got = cli("env", "get", "acme/p", "--value", "json", env=CONFORMANCE)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == {"environmentVariables": {"O": "[unknown]", "S": "[secret]"},
                                      "o": "[unknown]", "s": "[secret]"}
    shown = cli("env", "get", "acme/p", "s", "--show-secrets", "--value", "json", env=CONFORMANCE)
    assert shown.stdout == '"hunter2"\n'
    dotenv = cli("env", "get", "acme/p", "--value", "dotenv", env=CONFORMANCE)
    assert dotenv.stdout == "O='[unknown]'\nS='[secret]'\n"
    opened = cli("env", "open", "acme/p", "o", env=CONFORMANCE)
    assert json.loads(opened.stdout) == {"x": 1}


def test_get_with_errors_prints_the_report_and_a_warning_as_esc_does(cli, acme):
    proc = cli("env", "get", "acme/bad")  # esc env get drops the check's diagnostics
    assert proc.returncode == 0
    assert proc.stdout.startswith("# Value\n")
    assert proc.stderr == "credproc: warning: acme/bad has 2 errors; see `credproc env check acme/bad`\n"


def test_check_exit_codes(cli, acme, put):
    ok = cli("env", "check", "acme/dev")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    put("acme/warn", "values:\n  a: 1\nfiles: {}\n")
    warned = cli("env", "check", "acme/warn")
    assert warned.returncode == 0 and "warning: Field 'files'" in warned.stderr
    bad = cli("env", "check", "acme/bad")
    assert_clean_failure(bad)
    assert bad.stderr.splitlines()[-1] == "credproc: environment acme/bad has 2 errors"


# --- edit ----------------------------------------------------------------------------------------

def _editor(tmp_path, body: str) -> str:
    """An $EDITOR: a Python script that gets the file path as its last argument."""
    script = tmp_path / "editor.py"
    script.write_text("import sys\npath = sys.argv[-1]\n" + textwrap.dedent(body))
    return f"{sys.executable} {script}"


def test_edit_writes_a_valid_change(cli, acme, store, tmp_path):
    editor = _editor(tmp_path, """
        import os, stat
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        text = open(path).read()
        open(path, "w").write(text.replace("b: 3", "b: 4"))
    """)
    proc = cli("env", "edit", "acme/dev", env={"EDITOR": editor, "VISUAL": ""})
    assert proc.returncode == 0, proc.stderr
    assert (store / "acme" / "dev.yaml").read_text() == DEV.replace("b: 3", "b: 4")
    assert stat.S_IMODE((store / "acme" / "dev.yaml").stat().st_mode) == 0o600


def test_edit_refuses_an_invalid_change_without_a_terminal(cli, acme, store, tmp_path):
    editor = _editor(tmp_path, """
        open(path, "a").write("  broken: ${missing}\\n")
    """)
    before = snapshot(store)
    proc = cli("env", "edit", "acme/dev", env={"VISUAL": editor})
    assert_clean_failure(proc)
    assert 'unknown property "missing"' in first_line(proc.stderr)
    last, _, kept = proc.stderr.splitlines()[-1].partition(" (hint: your version is kept in ")
    assert last == "credproc: environment acme/dev would have 1 error"
    assert snapshot(store) == before
    kept = kept.rstrip(")")  # the edit is not saved, and not lost either
    assert open(kept).read() == DEV + "  broken: ${missing}\n"
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600 and stat.S_IMODE(os.stat(os.path.dirname(kept)).st_mode) == 0o700
    import shutil

    shutil.rmtree(os.path.dirname(kept))


def test_edit_without_change_and_with_a_failing_editor(cli, acme, store, tmp_path):
    before = snapshot(store)
    same = cli("env", "edit", "acme/dev", env={"EDITOR": "true"})
    assert same.returncode == 0 and "no changes" in same.stderr
    fail = cli("env", "edit", "acme/dev", env={"EDITOR": "false"})
    assert_clean_failure(fail)
    assert first_line(fail.stderr) == "credproc: the editor exited with status 1; nothing written"
    missing = cli("env", "edit", "acme/dev", env={"EDITOR": "/nonexistent/editor --wait"})
    assert_clean_failure(missing)
    assert first_line(missing.stderr) == "credproc: editor '/nonexistent/editor' not found (set $VISUAL or $EDITOR)"
    assert snapshot(store) == before
    nothing = cli("env", "edit", "acme/none", env={"EDITOR": "true"})
    assert_clean_failure(nothing)
    assert first_line(nothing.stderr).startswith("credproc: environment acme/none not found")


def test_edit_never_overwrites_a_concurrent_change(cli, acme, store, tmp_path):
    target = store / "acme" / "dev.yaml"
    editor = _editor(tmp_path, f"""
        open({str(target)!r}, "a").write("# changed by someone else\\n")
        open(path, "a").write("# my change\\n")
    """)
    proc = cli("env", "edit", "acme/dev", env={"EDITOR": editor})
    assert_clean_failure(proc)
    message, _, kept = first_line(proc.stderr).partition(" (hint: your version is kept in ")
    assert message == "credproc: acme/dev changed while it was being edited; nothing written"
    kept = kept.rstrip(")")
    assert open(kept).read() == DEV + "# my change\n"
    assert target.read_text() == DEV + "# changed by someone else\n"
    import shutil

    shutil.rmtree(os.path.dirname(kept))
