"""Golden tests: testdata/<case>/{before.ini, args.json, after.ini}.

before.ini is the AWS config file before (absent: no file), args.json lists the command steps run
through the CLI (argv, expected exit code, expected stdout/stderr fragments; optionally the
credentials-file content), after.ini is the exact expected file, byte for byte."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from profilehelp import patch_profile_commands, read_bytes, run_cli, write_bytes  # noqa: E402

TESTDATA = os.path.join(os.path.dirname(__file__), "testdata")
CASES = sorted(d for d in os.listdir(TESTDATA) if os.path.isdir(os.path.join(TESTDATA, d)))


@pytest.mark.parametrize("case", CASES)
def test_golden(case, isolated_env, monkeypatch, capsys):
    folder = os.path.join(TESTDATA, case)
    spec = json.loads(read_bytes(os.path.join(folder, "args.json")))
    patch_profile_commands(monkeypatch)
    config = str(isolated_env.config_file)
    if os.path.exists(os.path.join(folder, "before.ini")):
        write_bytes(config, read_bytes(os.path.join(folder, "before.ini")))
    if "credentials" in spec:
        write_bytes(str(isolated_env.credentials_file), spec["credentials"].encode())
    for step in spec["steps"]:
        code, out, err = run_cli(capsys, step["argv"])
        assert code == step["exit"], (step["argv"], out, err)
        assert step.get("stdout", "") in out, (step["argv"], out)
        assert step.get("stderr", "") in err, (step["argv"], err)
        if code != 0:
            assert err.count("\n") == 1 and err.startswith("credproc: "), err
        assert "Traceback" not in err
        assert "notreallysecret" not in out + err  # the credentials file's secret never shows
    assert read_bytes(config) == read_bytes(os.path.join(folder, "after.ini"))
