"""Nothing lost: concurrent `env set` of different keys all land (one lock per environment, and the
file is compared with what was read before it is replaced)."""
import subprocess
import sys

import yaml

from envhelpers import CREDPROC


def _command() -> list:
    return [str(CREDPROC)] if CREDPROC.exists() else [sys.executable, "-m", "credproc"]

WRITERS = 24


def test_parallel_env_set_of_different_keys_all_succeed_and_all_land(isolated_env, put):
    path = put("acme/dev", "# the team's dev environment\nvalues:\n  keep: me  # a comment\n")
    procs = [subprocess.Popen(_command() + ["env", "set", "acme/dev", f"k{i:02d}", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True)
             for i in range(WRITERS)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    failed = [(code, err) for code, err in results if code != 0]
    assert not failed, failed
    values = yaml.safe_load(path.read_text())["values"]
    assert values == {"keep": "me", **{f"k{i:02d}": i for i in range(WRITERS)}}
    text = path.read_text()
    assert text.startswith("# the team's dev environment\n") and "keep: me  # a comment" in text


def test_parallel_env_set_creating_a_new_environment_loses_nothing(isolated_env, store):
    procs = [subprocess.Popen(_command() + ["env", "set", "acme/new", f"k{i}", str(i)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True)
             for i in range(8)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    assert all(code == 0 for code, _ in results), results
    values = yaml.safe_load((store / "acme" / "new.yaml").read_text())["values"]
    assert values == {f"k{i}": i for i in range(8)}
