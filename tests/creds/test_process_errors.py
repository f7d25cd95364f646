"""Every exit code of `credproc process`, through the real command line: the first stderr line (what
`aws` shows after "Error when retrieving credentials from custom-process: "), nothing on stdout, and
no secret anywhere."""
import os
import re
import subprocess
import time

import pytest
from support.text import first_line  # tests/ is on sys.path (tests/conftest.py)

from credtest import (CREDPROC, ROLE_ARN, FaultProxy, jwt_token, login_yaml, python_bytecode_env, sts_error_xml,
                      write_environment, write_token_file)

from credproc.creds import index
from credproc.lock import refresh_lock

REF = "acme/dev"
AWRWI = "AssumeRoleWithWebIdentity"

pytestmark = pytest.mark.timeout(120)


def run(*args, **env):
    result = subprocess.run([CREDPROC, *args], env=python_bytecode_env(dict(os.environ, **env)),
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
    return result.returncode, result.stdout, result.stderr.decode()



@pytest.fixture
def token(tmp_path):
    value = jwt_token()
    return value, write_token_file(tmp_path, value)


@pytest.fixture
def proxy(moto_server, monkeypatch):
    with FaultProxy(moto_server) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", p.url)
        yield p


# --- 2: usage, names, configuration, diagnostics -------------------------------------------------

@pytest.mark.parametrize("args,line", [
    (["process"], "credproc: credproc process needs an environment name "
                  "(hint: usage: credproc process ORG/ENV [--path PATH])"),
    (["process", REF, "--region", "x"], "credproc: unknown option '--region' for credproc process "
                                        "(hint: usage: credproc process ORG/ENV [--path PATH])"),
    (["process", "../etc"], "credproc: invalid environment name '../etc': a name segment may not start with '.'"),
    (["process", "acme"], "credproc: invalid environment name 'acme': expected ORG/ENV or ORG/PROJECT/ENV"),
    (["process", "acme/nope"], "credproc: environment acme/nope not found "
                               "(hint: see `credproc env ls` or `credproc env init`)"),
])
def test_exit_2_usage_and_names(isolated_env, args, line):
    code, out, err = run(*args)
    assert (code, out, first_line(err)) == (2, b"", line)


def test_exit_2_error_diagnostics(isolated_env):
    write_environment(isolated_env.env_dir, REF, (
        "values:\n  a: 1\n  b: ${nope.x}\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${b}\n"))
    code, out, err = run("process", REF)
    assert (code, out) == (2, b"")
    assert first_line(err) == 'credproc: acme/dev:3:8: unknown property "nope" (hint: see `credproc env open acme/dev`)'


def test_exit_2_no_credentials(isolated_env):
    write_environment(isolated_env.env_dir, REF, "values:\n  environmentVariables:\n    OTHER: x\n")
    code, out, err = run("process", REF)
    assert (code, out) == (2, b"")
    assert first_line(err) == (
        "credproc: acme/dev provides no AWS credentials (hint: set environmentVariables AWS_ACCESS_KEY_ID/"
        "AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, or open fn::open::aws-login in the environment)")


# --- 3: login required ---------------------------------------------------------------------------

def test_exit_3_login_required_without_a_saved_login(isolated_env, proxy):
    write_environment(isolated_env.env_dir, REF, login_yaml(
        '{login: {issuer: "https://login.credproc.test", clientId: credproc}}'))
    started = time.monotonic()
    code, out, err = run("process", REF)
    assert (code, out) == (3, b"")
    assert first_line(err) == ("credproc: login required for acme/dev: no saved login for https://login.credproc.test "
                               "(hint: credproc login acme/dev)")
    assert time.monotonic() - started < 10  # fails at once: no prompt, no waiting for a person
    assert proxy.count(AWRWI) == 0


# --- 4: token ------------------------------------------------------------------------------------

def test_exit_4_expired_token_names_the_claim_not_the_token(isolated_env, tmp_path, proxy):
    expired = jwt_token(lifetime=-600)
    token_file = write_token_file(tmp_path, expired)
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    code, out, err = run("process", REF)
    assert (code, out) == (4, b"")
    assert re.fullmatch(rf"credproc: the token from file {re.escape(str(token_file))} has expired: `exp` is "
                        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, it is now \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first_line(err))
    assert expired not in err and expired.split(".")[1] not in err
    assert proxy.count(AWRWI) == 0  # checked before STS


# --- 5: STS refusal ------------------------------------------------------------------------------

def test_exit_5_access_denied_names_the_role(isolated_env, token, proxy):
    value, token_file = token
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    proxy.fail_always(AWRWI, ("status", 403, sts_error_xml("AccessDenied", "Not authorized to perform "
                                                            "sts:AssumeRoleWithWebIdentity")))
    code, out, err = run("process", REF)
    assert (code, out) == (5, b"")
    line = first_line(err)
    assert line.startswith(f"credproc: STS denied assuming role {ROLE_ARN} (AccessDenied): ")
    assert "(hint: compare the trust policy's :aud and :sub conditions with aud='sts.amazonaws.com'" in line
    assert value not in err
    assert proxy.count(AWRWI) == 1  # a refusal is not retried


# --- 6: transient --------------------------------------------------------------------------------

def test_exit_6_transient_after_retries(isolated_env, token, proxy):
    _, token_file = token
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    proxy.fail_always(AWRWI, ("status", 503, sts_error_xml("ServiceUnavailable", "try later")))
    code, out, err = run("process", REF)
    assert (code, out) == (6, b"")
    assert re.fullmatch(rf"credproc: STS failed for role {re.escape(ROLE_ARN)} after \d+ attempts "
                        r"\(ServiceUnavailable\) \(hint: retry later\)", first_line(err))
    assert proxy.count(AWRWI) >= 2  # retried


def test_transient_failure_then_success_is_served(isolated_env, token, proxy):
    _, token_file = token
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    proxy.queue(AWRWI, ("status", 503, sts_error_xml("ServiceUnavailable", "try later")))
    code, out, err = run("process", REF)
    assert code == 0, err
    assert proxy.count(AWRWI) == 2


# --- 7: lock timeout -----------------------------------------------------------------------------

def test_exit_7_lock_timeout(isolated_env, token):
    _, token_file = token
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    with refresh_lock(index.index_key(REF, None)) as lock_file:  # another credproc is "refreshing"
        started = time.monotonic()
        code, out, err = run("process", REF, CREDPROC_LOCK_TIMEOUT="1")
        waited = time.monotonic() - started
    assert (code, out) == (7, b"")
    assert first_line(err) == (
        "credproc: timed out after 1s waiting for another credproc to refresh credentials for acme/dev "
        "(hint: another credproc is still refreshing (a slow token source or STS?); retry, or find the holder "
        f"with `fuser {lock_file}`)")
    assert waited < 10


# --- 8: recursion --------------------------------------------------------------------------------

def test_exit_8_started_by_itself(isolated_env, token):
    _, token_file = token
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    code, out, err = run("process", REF, CREDPROC_CHAIN="acme/other,acme/dev")
    assert (code, out) == (8, b"")
    assert first_line(err) == (
        "credproc: credproc process acme/dev was started by itself (chain: acme/other -> acme/dev -> acme/dev) "
        "(hint: a token source or command of this environment uses an AWS profile whose credential_process is "
        "credproc for the same environment; give it other credentials)")


def test_exit_8_too_deep(isolated_env):
    code, out, err = run("process", REF, CREDPROC_CHAIN="acme/a,acme/b,acme/c")
    assert (code, out) == (8, b"")
    assert first_line(err).startswith(
        "credproc: credproc processes nested more than 3 deep (chain: acme/a -> acme/b -> acme/c -> acme/dev)")


def test_a_real_loop_fails_fast_instead_of_hanging(isolated_env):
    # The token command is credproc itself for the same environment: the inner one refuses (exit 8),
    # so the outer one fails with a token error instead of waiting on its own lock.
    write_environment(isolated_env.env_dir, REF, login_yaml(f'{{command: ["{CREDPROC}", "process", "{REF}"]}}'))
    started = time.monotonic()
    code, out, err = run("process", REF)
    assert (code, out) == (4, b"")
    assert time.monotonic() - started < 20
    lines = err.splitlines()
    assert lines[0].startswith("credproc: credproc process acme/dev was started by itself")  # the inner one
    assert lines[-1] == f"credproc: the token command '{CREDPROC}' failed with exit code 8"
