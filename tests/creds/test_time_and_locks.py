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
