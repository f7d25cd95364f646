"""Unit tests of credproc.lock: modes, bounded waits with a clear error, release on SIGKILL."""
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from credproc import lock
from credproc.errors import ExitCode, LockTimeout

KEY = "ab" * 32

HOLDER = textwrap.dedent("""
    import sys, time
    from credproc.lock import refresh_lock
    with refresh_lock(sys.argv[1], timeout=5):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def start_holder(seconds: float):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, KEY, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_lock_file_is_private_and_kept(isolated_env):
    with lock.refresh_lock(KEY) as path:
        assert path == str(isolated_env.cache_dir / "locks" / (KEY + ".lock"))
        if os.name == "posix":
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert os.path.exists(path)  # never unlinked: see the module docstring


def test_timeout_names_environment_wait_and_what_to_do(isolated_env):
    holder = start_holder(10)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as info:
            with lock.refresh_lock(KEY, timeout=0.5, environment="acme/dev"):
                pass
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert 0.4 <= waited < 3
    err = info.value
    assert err.exit_code == ExitCode.LOCK_TIMEOUT == 7
    assert err.message == "timed out after 0s waiting for another credproc to refresh credentials for acme/dev" \
        or err.message == "timed out after 1s waiting for another credproc to refresh credentials for acme/dev"
    assert "retry" in err.hint and KEY in err.hint


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkilled_holder_releases_the_lock_at_once(isolated_env):
    holder = start_holder(30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with lock.refresh_lock(KEY, timeout=5):
        pass
    assert time.monotonic() - started < 1.0


def test_lock_is_single_flight_between_processes(isolated_env, tmp_path):
    # Each process appends "start"/"end" while holding the lock: the lines must never interleave.
    log = tmp_path / "log"
    script = textwrap.dedent("""
        import sys, time
        from credproc.lock import refresh_lock
        with refresh_lock(sys.argv[1], timeout=20):
            with open(sys.argv[2], "a") as f: f.write("start\\n")
            time.sleep(0.1)
            with open(sys.argv[2], "a") as f: f.write("end\\n")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, KEY, str(log)]) for _ in range(4)]
    assert [p.wait() for p in procs] == [0] * 4
    assert log.read_text().split() == ["start", "end"] * 4
