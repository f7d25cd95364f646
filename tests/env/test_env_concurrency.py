"""Nothing lost: concurrent `env set` of different keys all land (one lock per environment, and the
file is compared with what was read before it is replaced)."""
import os
import shutil
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


def test_edit_holds_no_lock_while_the_editor_runs_and_refuses_a_stale_save(isolated_env, put, tmp_path):
    """While the editor is open another `env set` goes through at once; on save the edit sees the
    file changed since it was read, writes nothing and says where the user's copy is kept."""
    path = put("acme/dev", "values:\n  a: 1\n")
    script = tmp_path / "editor.py"
    script.write_text(
        "import subprocess, sys\n"
        f"done = subprocess.run({_command()!r} + ['env', 'set', 'acme/dev', 'other', '2'], timeout=30,\n"
        "                      capture_output=True, text=True)\n"
        "assert done.returncode == 0, done.stderr\n"
        "open(sys.argv[-1], 'a').write('# mine\\n')\n")
    environ = dict(os.environ, EDITOR=f"{sys.executable} {script}", VISUAL="")
    proc = subprocess.run(_command() + ["env", "edit", "acme/dev"], env=environ, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 2, proc.stderr
    message, _, kept = proc.stderr.splitlines()[0].partition(" (hint: your version is kept in ")
    assert message == "credproc: acme/dev changed while it was being edited; nothing written"
    kept = kept.rstrip(")")
    assert open(kept).read() == "values:\n  a: 1\n# mine\n"
    assert yaml.safe_load(path.read_text())["values"] == {"a": 1, "other": 2}
    shutil.rmtree(os.path.dirname(kept))
