"""Messages count in good English ("1 profile", "1 warning", never "1 profiles" or "warning(s)"), and
success messages carry no `credproc:` prefix, which marks errors and warnings (issue 11 §3)."""
import ast
import pathlib
import re

from support.runner import run_credproc
from support.store import define

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "credproc"
STATIC = "values:\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE\n    AWS_SECRET_ACCESS_KEY: x\n"


def string_literals(path: pathlib.Path):
    """The string constants that can reach output (docstrings and other bare strings left out)."""
    tree = ast.parse(path.read_text())
    bare = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in bare:
            yield node.lineno, node.value


def test_no_message_in_the_package_says_word_s():
    found = [f"{path.relative_to(PACKAGE)}:{line}: {text[:60]!r}" for path in sorted(PACKAGE.rglob("*.py"))
             for line, text in string_literals(path) if re.search(r"[a-z]\(s\)", text)]
    assert found == []


def test_doctor_counts_one_profile_and_one_warning_in_the_singular(isolated_env):
    define(isolated_env, STATIC)
    assert run_credproc("install-profile", "acme/dev").code == 0
    isolated_env.credentials_file.write_text("[esc-dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")
    doctor = run_credproc("doctor", "esc-dev")
    out = doctor.stdout.decode()
    assert "(1 profile)" in out, out
    summary = out.rstrip().splitlines()[-1]
    assert re.fullmatch(r"(all checks passed \(1 warning\)|\d+ checks? failed, \d+ warnings?: see FIX)", summary), out
    assert "(s)" not in out and not re.search(r"\b1 (profiles|warnings|checks|files)\b", out)


def test_success_messages_have_no_credproc_prefix(isolated_env):
    done = run_credproc("issuer", "init", "--url", "https://issuer.example.com")
    assert done.code == 0, done
    assert done.stderr.startswith("Issuer https://issuer.example.com set up in "), done.stderr
    define(isolated_env, STATIC)
    for argv in (["install-profile", "acme/dev"], ["env", "rm", "acme/dev", "--yes"]):
        result = run_credproc(*argv)
        assert result.code == 0, result
        said = result.stdout.decode() + result.stderr
        assert said and not any(line.startswith("credproc:") for line in said.splitlines()), said


def test_errors_keep_the_prefix():
    failed = run_credproc("env", "rm", "acme/missing", "--yes")
    assert failed.code == 2 and failed.stderr.startswith("credproc: environment acme/missing not found")
