"""Unambiguous subjects: `acme/dev` and `acme/default/dev` are one environment (as in Pulumi ESC,
where a legacy ORG/ENV is ORG/default/ENV), so the one local-issuer subject
`credproc:org:acme:env:default/dev` always belongs to exactly one definition file.

Either file may hold it (`<store>/acme/dev.yaml` or `<store>/acme/default/dev.yaml`); both at once is
an error naming both files, wherever the name is resolved (open, process, set, edit, rm, imports).
"""
import json

import pytest

from envhelpers import assert_clean_failure, snapshot
from support.text import first_line

LEGACY, QUALIFIED = "acme/dev", "acme/default/dev"


def _both(put):
    legacy = put(LEGACY, "values:\n  who: legacy\n")
    qualified = put(QUALIFIED, "values:\n  who: qualified\n")
    return legacy, qualified


def _assert_conflict(proc, legacy, qualified):
    assert_clean_failure(proc)
    line = first_line(proc.stderr)
    assert "acme/dev and acme/default/dev are one environment" in line, line
    assert str(legacy) in line and str(qualified) in line and "remove one" in line, line


@pytest.mark.parametrize("spelling", [LEGACY, QUALIFIED])
@pytest.mark.parametrize("stored", [LEGACY, QUALIFIED])
def test_either_spelling_opens_the_one_definition(cli, put, spelling, stored):
    put(stored, "values:\n  who: ${context.currentEnvironment.name}\n  n: 1\n")
    proc = cli("env", "open", spelling, "n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == 1


@pytest.mark.parametrize("command", [("env", "open"), ("env", "get"), ("env", "check"), ("process",)])
@pytest.mark.parametrize("spelling", [LEGACY, QUALIFIED])
def test_both_files_at_once_is_an_error_naming_both(cli, put, command, spelling):
    legacy, qualified = _both(put)
    _assert_conflict(cli(*command, spelling), legacy, qualified)


@pytest.mark.parametrize("spelling", [LEGACY, QUALIFIED])
def test_set_edit_and_rm_refuse_the_ambiguous_pair_and_change_nothing(cli, put, store, spelling):
    legacy, qualified = _both(put)
    before = snapshot(store)
    _assert_conflict(cli("env", "set", spelling, "x", "1"), legacy, qualified)
    _assert_conflict(cli("env", "edit", spelling, env={"EDITOR": "true"}), legacy, qualified)
    _assert_conflict(cli("env", "rm", spelling, "--yes"), legacy, qualified)
    assert snapshot(store) == before


@pytest.mark.parametrize("import_name", ["dev", "default/dev"])
def test_imports_in_the_org_resolve_both_spellings_and_refuse_the_pair(cli, put, import_name):
    put("acme/app", f"imports:\n  - {import_name}\nvalues:\n  mine: 1\n")
    legacy = put(LEGACY, "values:\n  who: legacy\n")
    proc = cli("env", "open", "acme/app", "who")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == "legacy"
    qualified = put(QUALIFIED, "values:\n  who: qualified\n")
    proc = cli("env", "open", "acme/app")
    assert_clean_failure(proc)
    line = first_line(proc.stderr)
    assert line.startswith("acme/app:2:5: ") and "are one environment" in line, line
    assert str(legacy) in line and str(qualified) in line


def test_set_on_either_spelling_edits_the_existing_file(cli, put, store):
    qualified = put(QUALIFIED, "values:\n  a: 1\n")
    proc = cli("env", "set", LEGACY, "b", "2")
    assert proc.returncode == 0, proc.stderr
    assert not (store / "acme" / "dev.yaml").exists()
    assert "b: 2" in qualified.read_text()


def test_init_refuses_when_the_other_spelling_exists(cli, put, store):
    put(LEGACY, "values:\n  a: 1\n")
    proc = cli("env", "init", QUALIFIED)
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith(f"credproc: environment {QUALIFIED} already exists")
    assert str(store / "acme" / "dev.yaml") in first_line(proc.stderr)
    assert not (store / "acme" / "default").exists()


def test_rm_of_either_spelling_removes_the_one_file(cli, put, store):
    put(QUALIFIED, "values:\n  a: 1\n")
    proc = cli("env", "rm", LEGACY, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert not (store / "acme" / "default" / "dev.yaml").exists()
    assert cli("env", "ls").stdout == ""


def test_ls_lists_each_environment_once_and_warns_about_a_pair(cli, put):
    put(QUALIFIED, "values: {}\n")
    put("acme/other", "values: {}\n")
    proc = cli("env", "ls")
    assert proc.returncode == 0 and proc.stdout == "acme/default/dev\nacme/other\n" and proc.stderr == ""
    legacy, qualified = _both(put)
    proc = cli("env", "ls")
    assert proc.stdout == "acme/default/dev\nacme/dev\nacme/other\n"
    assert proc.stderr.startswith("credproc: warning: acme/dev and acme/default/dev are one environment")
    assert str(legacy) in proc.stderr and str(qualified) in proc.stderr


def test_one_subject_one_definition_file(put):
    """Both spellings give the same subject and read the same single file."""
    from credproc.identity import issuer
    from credproc.store.environments import open_environment

    qualified = put(QUALIFIED, "values:\n  a: 1\n")
    assert issuer.subject("acme", "dev") == issuer.subject("acme", "default/dev")
    for name in (LEGACY, QUALIFIED):
        assert list(open_environment(name, mode="check").files) == [str(qualified)]


def test_cache_clear_of_either_spelling_clears_what_the_one_file_produced(cli, put):
    """A `process` index entry built from <store>/acme/dev.yaml belongs to acme/default/dev too."""
    import hashlib
    import time

    from credproc import cache

    legacy = put(LEGACY, "values: {}\n")
    digest = hashlib.sha256(legacy.read_bytes()).hexdigest()
    entry = cache.IndexEntry(int(time.time()) + 3600, None, {str(legacy): digest}, b"{}\n")
    cache.write_index("env", "ab" * 32, entry)
    proc = cli("cache", "clear", QUALIFIED)
    assert (proc.returncode, proc.stdout) == (0, f"removed 1 cache entry for {QUALIFIED}\n"), proc.stderr
    assert cache.read_index("env", "ab" * 32) is None
