"""`credproc export`: the default, `--help` and the formats agree (issue 11 §3). The default is the
credential_process JSON, as in `aws configure export-credentials`; shell variables are --format env."""
import json
import re
import subprocess

from support.runner import run_credproc
from support.store import define

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
STATIC = ("values:\n  environmentVariables:\n"
          f"    AWS_ACCESS_KEY_ID: {KEY_ID}\n    AWS_SECRET_ACCESS_KEY: {{fn::secret: {SECRET}}}\n")


def test_help_states_the_default_and_where_shell_variables_are():
    shown = re.sub(r"\s+", " ", run_credproc("export", "--help", COLUMNS=1000).stdout.decode())
    assert "process (the default: credential_process JSON" in shown
    assert "For shell variables" in shown and "--format env" in shown
    summary = re.sub(r"\s+", " ", run_credproc("--help", COLUMNS=1000).stdout.decode())
    assert "credential_process JSON (default) or shell variables (--format env)" in summary


def test_without_format_export_prints_what_process_prints(isolated_env):
    define(isolated_env, STATIC)
    exported, processed = run_credproc("export", "acme/dev"), run_credproc("process", "acme/dev")
    assert exported.code == 0 and processed.code == 0, (exported, processed)
    assert exported.stdout == processed.stdout
    assert json.loads(exported.stdout) == {"Version": 1, "AccessKeyId": KEY_ID, "SecretAccessKey": SECRET}


def test_format_env_is_shell_variables_that_bash_reads_back(isolated_env):
    define(isolated_env, STATIC)
    exported = run_credproc("export", "acme/dev", "--format", "env")
    assert exported.code == 0, exported
    script = exported.stdout.decode() + 'printf "%s\\n%s\\n" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"\n'
    read_back = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert read_back.stdout.splitlines() == [KEY_ID, SECRET]
