"""Time and locks: one overall deadline for a refresh, and cached keys served when the refresh
lock cannot be had in time (through the real command line, moto behind a fault proxy as STS)."""
import json
import os
import subprocess
import time

import pytest

from credtest import CREDPROC, FaultProxy, jwt_token, login_yaml, python_bytecode_env, write_environment, write_token_file

from credproc.creds import index
from credproc.lock import refresh_lock
from support.clock import shifted_env

AWRWI = "AssumeRoleWithWebIdentity"
REF = "acme/dev"

pytestmark = pytest.mark.timeout(180)


def run(*args, env=None, **extra):
    env = dict(env or os.environ, **extra)
    result = subprocess.run([CREDPROC, *args], env=python_bytecode_env(env), stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=120)
    return result.returncode, result.stdout, result.stderr.decode()


@pytest.fixture
def proxy(moto_server, monkeypatch):
    with FaultProxy(moto_server) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", p.url)
        yield p


@pytest.fixture
def defined(isolated_env, tmp_path):
    token_file = write_token_file(tmp_path, jwt_token(lifetime=4 * 3600))  # outlives the keys
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))


def test_a_trickling_sts_is_cut_at_the_refresh_deadline_and_frees_the_lock(defined, proxy):
    proxy.fail_always(AWRWI, ("trickle", 1.0))
    started = time.monotonic()
    code, out, err = run("process", REF, CREDPROC_REFRESH_TIMEOUT="3")
    elapsed = time.monotonic() - started
    assert (code, out) == (6, b""), err
    assert err.startswith("credproc: refreshing the credentials for acme/dev took longer than 3s "
                          "(the token source and STS together)")
    assert elapsed < 20  # without the deadline: 100000 bytes at one a second
    proxy.always.clear()
    started = time.monotonic()
    code, out, err = run("process", REF)  # the lock was released with the failed refresh
    assert code == 0, err
    assert time.monotonic() - started < 20


def test_a_held_lock_serves_keys_that_still_have_more_than_ten_minutes(defined, proxy):
    code, first, err = run("process", REF)
    assert code == 0, err
    # 45 minutes later the keys have 15 minutes left: inside the refresh margin, above the floor
    later = shifted_env(os.environ, offset_seconds=45 * 60)
    with refresh_lock(index.index_key(REF, None)):  # another credproc is "refreshing", stuck
        started = time.monotonic()
        code, out, err = run("process", REF, env=later, CREDPROC_LOCK_TIMEOUT="1")
        waited = time.monotonic() - started
    assert code == 0, err
    assert json.loads(out) == json.loads(first)
    assert "serving the cached credentials meanwhile" in err
    assert waited < 10
    assert proxy.count(AWRWI) == 1


def test_a_held_lock_with_keys_below_the_floor_is_exit_7_after_the_time_really_waited(defined, proxy):
    code, _, err = run("process", REF)
    assert code == 0, err
    later = shifted_env(os.environ, offset_seconds=52 * 60)  # 8 minutes left: below the floor
    with refresh_lock(index.index_key(REF, None)):
        started = time.monotonic()
        code, out, err = run("process", REF, env=later, CREDPROC_LOCK_TIMEOUT="2")
        waited = time.monotonic() - started
    assert (code, out) == (7, b"")
    assert err.startswith("credproc: timed out after 2s waiting for another credproc to refresh credentials "
                          "for acme/dev"), err
    assert waited < 4  # one wait of the timeout, not one per lock (it was twice the timeout)


def test_a_token_command_is_ended_with_its_children_at_the_refresh_deadline(isolated_env, proxy, tmp_path):
    """The abandoned command must not keep credproc's stderr open: botocore (and a shell pipeline)
    reads it until it closes, so a leftover `sleep` would hold every `aws` call for its lifetime."""
    pidfile = tmp_path / "grandchild.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{command: [sh, -c, '{script}'], timeout: 300}}"))
    started = time.monotonic()
    done = subprocess.run([CREDPROC, "process", REF], env=python_bytecode_env(dict(os.environ, CREDPROC_REFRESH_TIMEOUT="3")),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    elapsed = time.monotonic() - started  # communicate() waited for stderr to close
    assert done.returncode == 6, done.stderr
    assert elapsed < 20
    grandchild = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the token command's child outlived the refresh deadline")


def test_a_fifo_as_token_file_fails_at_once_instead_of_blocking(isolated_env, proxy, tmp_path):
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {fifo}}}"))
    started = time.monotonic()
    code, out, err = run("process", REF)
    assert (code, out) == (4, b"") and "must be a readable regular file" in err
    assert time.monotonic() - started < 20


def test_a_duration_no_longer_than_the_refresh_margin_is_refused(isolated_env, proxy, tmp_path):
    """Found by a hostile review: 30-minute keys with CREDPROC_REFRESH_MARGIN=40 were served (as a
    failed refresh), though they never have the margin left."""
    token_file = write_token_file(tmp_path, jwt_token())
    text = login_yaml(f"{{file: {token_file}}}").replace("          token:", "          duration: 30m\n          token:")
    write_environment(isolated_env.env_dir, REF, text)
    code, out, err = run("process", REF, CREDPROC_REFRESH_MARGIN="40")
    assert (code, out) == (2, b"")
    assert "oidc.duration 30m is not longer than the refresh margin of 40 minutes" in err
    assert proxy.count(AWRWI) == 0
    code, out, err = run("process", REF)  # the default margin (20 minutes): fine
    assert code == 0, err
