"""`credproc env set` golden cases: tests/env/set_golden/<case>/.

Each case folder holds ``before.yaml`` (absent: the environment does not exist yet), ``args.json``
(the arguments after `env set acme/x`), optional ``stdin``, and either ``after.yaml`` (the exact
expected file: every other byte, comments included, unchanged) or ``error`` (the exact first
stderr line; the store must then be unchanged). The store also holds ``acme/base`` (empty values)
for cases that import it.
"""
import json
import stat
from pathlib import Path

import pytest

from envhelpers import assert_clean_failure, snapshot
from support.text import first_line

CASES = Path(__file__).parent / "set_golden"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_env_set_golden(case, cli, put, store):
    folder = CASES / case
    put("acme/base", "values: {}\n")
    if (folder / "before.yaml").exists():
        put("acme/x", (folder / "before.yaml").read_bytes())
    args = json.loads((folder / "args.json").read_text())
    stdin = (folder / "stdin").read_text() if (folder / "stdin").exists() else None
    before = snapshot(store)
    proc = cli("env", "set", "acme/x", *args, input=stdin)
    target = store / "acme" / "x.yaml"
    if (folder / "error").exists():
        assert_clean_failure(proc)
        assert first_line(proc.stderr) == (folder / "error").read_text().strip()
        assert snapshot(store) == before
        return
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert target.read_bytes() == (folder / "after.yaml").read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    for value in args[1:2]:  # a secret value never appears in what credproc prints
        if "--secret" in args:
            assert value not in proc.stderr


def test_set_secret_value_is_not_printed_and_is_redacted_by_get(cli, put):
    put("acme/x", "values:\n  a: 1\n")
    proc = cli("env", "set", "acme/x", "pw", "-", "--secret", input="TopSecret123\n")
    assert proc.returncode == 0
    assert "TopSecret123" not in proc.stdout + proc.stderr
    got = cli("env", "get", "acme/x", "pw", "--value", "json")
    assert got.stdout == '"[secret]"\n'
    assert cli("env", "open", "acme/x", "pw").stdout == '"[secret]"\n'
    opened = cli("env", "open", "acme/x", "pw", "--show-secrets")
    assert opened.stdout == '"TopSecret123"\n'


@pytest.mark.parametrize("flag", ["--secret", "--string"])
def test_set_secret_and_string_read_back_exactly(cli, put, flag):
    put("acme/x", "values:\n  a: 1\n")
    text = "p@$$w0rd ${a} $ end$"
    assert cli("env", "set", "acme/x", "v", text, flag).returncode == 0
    assert cli("env", "open", "acme/x", "v", "--show-secrets").stdout == '"p@$$w0rd ${a} $ end$"\n'


def test_set_creates_private_folders(cli, store):
    proc = cli("env", "set", "acme/proj/new", "a", "1")
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((store / "acme" / "proj").stat().st_mode) == 0o700
    assert (store / "acme" / "proj" / "new.yaml").read_text() == "values:\n  a: 1\n"


def test_set_refuses_a_file_that_is_not_utf8(cli, put, store):
    put("acme/x", b"values:\n  a: \xff\xfe\n")
    before = snapshot(store)
    proc = cli("env", "set", "acme/x", "b", "1")
    assert_clean_failure(proc)
    assert snapshot(store) == before
