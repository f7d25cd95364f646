"""`env edit` killed while the editor runs (found by a hostile review: a plaintext copy of the
definition stayed in /tmp for ever): the copy lives in the private run directory and the next
`env edit` or `run` removes it."""
import os
import stat
import subprocess
import sys

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")


def test_a_killed_edit_leaves_no_copy_behind_for_long(isolated_env, tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    directory = isolated_env.env_dir / "acme"
    directory.mkdir(parents=True, mode=0o700)
    os.chmod(isolated_env.env_dir, 0o700)
    (directory / "dev.yaml").write_text("values:\n  pw: {fn::secret: hunter2-plaintext}\n")
    (directory / "dev.yaml").chmod(0o600)
    killer = tmp_path / "editor.sh"
    killer.write_text("#!/bin/sh\nkill -9 $PPID\n")
    killer.chmod(0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), EDITOR=str(killer), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    done = subprocess.run([CREDPROC, "env", "edit", "acme/dev"], env=env, capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == -9
    assert not any((tmp_path / "tmp").iterdir())  # nothing in TMPDIR
    run_dir = runtime / "credproc" / "run"
    [left] = list(run_dir.iterdir())  # the killed edit's directory, private
    assert stat.S_IMODE(left.stat().st_mode) == 0o700
    swept = subprocess.run([CREDPROC, "run", "acme/dev", "--", "true"], env=env, capture_output=True, timeout=60)
    assert swept.returncode == 0, swept.stderr
    assert not left.exists()
