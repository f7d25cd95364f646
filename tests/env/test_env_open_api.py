"""credproc.store.environments.open_environment: the API other parts (process, run, cache) rely on."""
import hashlib

import pytest

from credproc.store.environments import open_environment
from credproc.errors import ConfigError, UsageError


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_records_the_sha256_of_every_definition_read(put):
    root = put("acme/dev", "imports:\n  - base\n  - proj/db\nvalues:\n  a: ${environments.proj.other.x}\n")
    base = put("acme/base", "values: {b: 1}\n")
    db = put("acme/proj/db", "values: {c: 2}\n")
    other = put("acme/proj/other", "values: {x: 3}\n")
    put("acme/unused", "values: {z: 0}\n")
    opened = open_environment("acme/dev")
    assert not opened.has_errors, opened.lines()
    assert opened.files == {str(p): _sha(p) for p in (root, base, db, other)}
    assert opened.name == "acme/dev"
    assert opened.value.value["a"].value == "3"


def test_context_outside_conformance_names_org_and_user(put):
    put("acme/p/ctx", "values:\n  org: ${context.pulumi.organization.login}\n"
                      "  cur: ${context.currentEnvironment.name}\n  root: ${context.rootEnvironment.name}\n")
    opened = open_environment("acme/p/ctx")
    assert {k: v.value for k, v in opened.value.value.items()} == {"org": "acme", "cur": "p/ctx", "root": "p/ctx"}


def test_error_lines_are_formatted_with_the_org_and_sorted(put):
    put("acme/imp", "values:\n  z: ${missing}\n")
    put("acme/dev", "imports:\n  - imp\nvalues:\n  b: ${nope}\n  a: ${alsonope}\n")
    opened = open_environment("acme/dev", mode="check")
    assert opened.has_errors
    assert opened.error_lines() == [
        'acme/dev:4:8: unknown property "nope"',
        'acme/dev:5:8: unknown property "alsonope"',
        'acme/imp:2:8: unknown property "missing"',
    ]


def test_source_overrides_the_file_but_imports_come_from_the_store(put):
    put("acme/base", "values: {b: 1}\n")
    opened = open_environment("acme/new", source=b"imports: [base]\nvalues: {a: 2}\n")
    assert sorted(opened.value.value) == ["a", "b"]
    assert opened.files  # base was read
    assert all("base.yaml" in path for path in opened.files)


def test_bad_name_and_missing_root():
    with pytest.raises(UsageError):
        open_environment("../etc/passwd")
    with pytest.raises(ConfigError, match="environment acme/none not found"):
        open_environment("acme/none")
