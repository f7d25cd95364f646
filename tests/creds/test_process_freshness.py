"""Freshness end to end: the refresh margin and stale-while-refresh, with the real provider's STS cache
aged by rewriting its entry (the clock cannot be moved for a child process)."""
import json
import os
import subprocess
import time

import pytest

from credtest import CREDPROC, FaultProxy, age_sts_cache, jwt_token, login_yaml, python_bytecode_env, sts_error_xml, \
    write_environment, write_token_file

from credproc import cache

REF = "acme/dev"
AWRWI = "AssumeRoleWithWebIdentity"

pytestmark = pytest.mark.timeout(120)


def run(**env):
    result = subprocess.run([CREDPROC, "process", REF], env=python_bytecode_env(dict(os.environ, **env)),
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
    return result.returncode, result.stdout, result.stderr.decode()


@pytest.fixture
def proxy(moto_server, monkeypatch, isolated_env, tmp_path):
    token_file = write_token_file(tmp_path, jwt_token())
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    with FaultProxy(moto_server) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", p.url)
        yield p


def test_margin_21_minutes_is_served_19_minutes_is_refreshed(proxy):
    code, first, err = run()
    assert code == 0, err
    assert proxy.count(AWRWI) == 1

    expiration = age_sts_cache(21 * 60)
    code, out, _ = run()
    assert code == 0 and json.loads(out)["Expiration"] == expiration
    assert proxy.count(AWRWI) == 1

    age_sts_cache(19 * 60)
    code, out, _ = run()
    assert code == 0
    assert proxy.count(AWRWI) == 2
    assert cache.parse_expiration(json.loads(out)["Expiration"]) - time.time() > 50 * 60


def test_failed_refresh_serves_stale_credentials_with_a_back_off(proxy):
    assert run()[0] == 0
    expiration = age_sts_cache(12 * 60)
    proxy.fail_always(AWRWI, ("status", 503, sts_error_xml("ServiceUnavailable", "down")))
    code, out, err = run()
    assert code == 0, err
    assert json.loads(out)["Expiration"] == expiration
    calls = proxy.count(AWRWI)
    assert calls >= 2  # one cold call, then the failed (retried) refresh

    code, again, _ = run()  # backing off: no new STS attempt, same answer
    assert code == 0 and again == out
    assert proxy.count(AWRWI) == calls


def test_failed_refresh_under_ten_minutes_fails(proxy):
    assert run()[0] == 0
    age_sts_cache(9 * 60)
    proxy.fail_always(AWRWI, ("status", 503, sts_error_xml("ServiceUnavailable", "down")))
    code, out, err = run()
    assert (code, out) == (6, b"")
    assert err.startswith("credproc: STS failed for role ")


def test_never_reads_stdin(proxy):
    # stdin is a pipe whose write end stays open: a read would block until the timeout.
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen([CREDPROC, "process", REF], env=python_bytecode_env(os.environ),
                                stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    finally:
        os.close(read_end)
        os.close(write_end)
    assert proc.returncode == 0, err
    assert json.loads(out)["Version"] == 1
