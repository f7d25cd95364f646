"""`credproc env get` as `esc env get` prints it: the markdown report (golden bytes from ESC's own
code: tests/env/get_golden/generate.sh), --value formats (yaml refused), --definition, and the
check's diagnostics left out."""
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "get_golden"
CASES = sorted(p.stem for p in GOLDEN.glob("*.yaml"))


@pytest.mark.parametrize("case", CASES)
def test_report_is_escs_bytes(cli, put, case):
    put(f"acme/{case}", (GOLDEN / f"{case}.yaml").read_bytes())
    got = cli("env", "get", f"acme/{case}")
    assert got.returncode == 0, got.stderr
    assert got.stdout == (GOLDEN / f"{case}.expected").read_text(encoding="utf-8")


def test_definition_alone_is_the_reports_definition_part(cli, put):
    put("acme/c", (GOLDEN / "comments.yaml").read_bytes())
    expected = (GOLDEN / "comments.expected").read_text()
    definition = expected.split("```yaml\n", 1)[1].rsplit("\n```\n", 1)[0]
    got = cli("env", "get", "acme/c", "--definition")
    assert got.returncode == 0 and got.stdout == definition


def test_member_report_has_value_definition_and_defined_at(cli, put):
    put("acme/up", (GOLDEN / "esc-upstream.yaml").read_bytes())
    got = cli("env", "get", "acme/up", "number")
    assert got.stdout == "# Value\n```json\n42\n```\n# Definition\n```yaml\n42\n\n```\n\n# Defined at\n- up:5:11\n\n"
    got = cli("env", "get", "acme/up", "array")
    assert got.stdout == ('# Value\n```json\n[\n  "hello",\n  "world"\n]\n```\n# Definition\n```yaml\n'
                          '[hello, world]\n\n```\n\n# Defined at\n- up:7:10\n\n')


def test_a_missing_member_prints_only_the_template_newline(cli, put):
    put("acme/up", (GOLDEN / "esc-upstream.yaml").read_bytes())
    got = cli("env", "get", "acme/up", "nope")
    assert got.returncode == 0 and got.stdout == "\n"


def test_value_yaml_is_refused_as_esc_does(cli, put):
    put("acme/up", (GOLDEN / "esc-upstream.yaml").read_bytes())
    got = cli("env", "get", "acme/up", "--value", "yaml")
    assert got.returncode == 2 and got.stdout == ""
    assert got.stderr.startswith('credproc: unknown output format "yaml"') and got.stderr.count("\n") == 1


def test_value_and_definition_exclude_each_other(cli, put):
    put("acme/up", (GOLDEN / "esc-upstream.yaml").read_bytes())
    got = cli("env", "get", "acme/up", "--value", "json", "--definition")
    assert got.returncode == 2
    assert "`--value` and `--definition` flags cannot be used together" in got.stderr


@pytest.mark.parametrize("fmt", ["json", "string", "detailed", "dotenv", "shell"])
def test_value_formats_of_esc_are_accepted(cli, put, fmt):
    put("acme/up", (GOLDEN / "esc-upstream.yaml").read_bytes())
    got = cli("env", "get", "acme/up", "--value", fmt)
    assert got.returncode == 0, got.stderr


def test_check_diagnostics_are_left_out_with_one_warning(cli, put):
    put("acme/bad", "values:\n  a: ${nope}\n  b: 1\n")
    got = cli("env", "get", "acme/bad", "--value", "json")
    assert got.returncode == 0
    assert '"b": 1' in got.stdout
    assert got.stderr == "credproc: warning: acme/bad has 1 error; see `credproc env check acme/bad`\n"


def test_plaintext_secrets_of_the_definition_are_redacted_unless_show_secrets(cli, put):
    put("acme/s", 'values:\n  pw:\n    fn::secret: "TopSecret123"\n  lit:\n    fn::secret: |\n'
                  '      Multi\n      LineSecret\n  after: 1\n')
    for argv in (("acme/s",), ("acme/s", "--definition"), ("acme/s", "pw"), ("acme/s", "lit"),
                 ("acme/s", 'lit["fn::secret"]'), ("acme/s", "after")):
        got = cli("env", "get", *argv)
        assert got.returncode == 0, got.stderr
        assert "TopSecret123" not in got.stdout and "LineSecret" not in got.stdout
    assert cli("env", "get", "acme/s", "after").stdout.endswith("# Defined at\n- s:8:10\n\n")
    shown = cli("env", "get", "acme/s", "--definition", "--show-secrets")
    assert "TopSecret123" in shown.stdout and "LineSecret" in shown.stdout


def test_escs_upstream_env_get_each_golden(cli, store):
    """ESC's own CLI golden (get_golden/upstream-each/README): value, definition and `Defined at`
    (root, imports) for each path, byte for byte."""
    case = GOLDEN / "upstream-each"
    for name in ("a", "b", "test"):
        target = store / "default" / f"{name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((case / f"{name}.def").read_bytes())
    expected = (case / "expected.txt").read_text()
    got = ""
    for block in expected.split("> esc env get default/test ")[1:]:
        path = block.split("\n", 1)[0]
        got += f"> esc env get default/test {path}\n" + cli("env", "get", "default/test", path).stdout
    assert got == expected


def test_a_path_under_imports_shows_that_part_of_the_definition_alone(cli, put):
    put("acme/a", "values: {}\n")
    put("acme/b", "values: {}\n")
    put("acme/imp", "imports:\n  - a\n  - b\nvalues:\n  x: 1\n")
    assert cli("env", "get", "acme/imp", "imports").stdout == "# Definition\n```yaml\n- a\n- b\n\n```\n\n"
    assert cli("env", "get", "acme/imp", "imports[1]").stdout == "# Definition\n```yaml\nb\n\n```\n\n"
