"""install/dev-setup.sh on a fresh copy of the checkout, then again: each run prints exactly its one
"ready" line (no pip, setuptools or npm notices; errors would still show) (issue 11 §3).

Needs the package index that pip is configured with (it builds a fresh .venv): about a minute."""
import os
import pwd
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READY = "dev-setup: ready (.venv); run the tests with .venv/bin/python -m pytest -q"


def copy_of_checkout(dest) -> str:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source, target = os.path.join(REPO, name), os.path.join(dest, name)
        if os.path.isfile(source):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
    return str(dest)


@pytest.mark.timeout(900)
def test_dev_setup_prints_one_line_on_a_fresh_venv_and_on_a_rerun(tmp_path):
    checkout = copy_of_checkout(tmp_path / "checkout")
    real_home = pwd.getpwuid(os.getuid()).pw_dir  # the user's pip and npm caches: no re-download
    env = dict(os.environ, PIP_CACHE_DIR=os.path.join(real_home, ".cache", "pip"),
               npm_config_cache=os.path.join(real_home, ".npm"))
    for run in ("fresh", "again"):
        done = subprocess.run(["bash", "install/dev-setup.sh"], cwd=checkout, env=env, capture_output=True,
                              text=True, timeout=840)
        assert done.returncode == 0, (run, done.stdout, done.stderr)
        assert (done.stdout + done.stderr).splitlines() == [READY], (run, done.stdout, done.stderr)
    assert os.access(os.path.join(checkout, ".venv", "bin", "credproc"), os.X_OK)
