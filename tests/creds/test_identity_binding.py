"""A cached answer is served only to a caller whose token source, read now, names the same identity.

Through the real command line (`credproc process`, `export`, `run`), with moto behind a counting
proxy as STS: for every token source the token (or what pins it) is varied between calls, and each
caller gets either the answer made for its own token, or the error a cold cache gives (exit 4),
never another token's keys.
"""
import json
import os
import subprocess
import sys

import pytest

from credtest import CREDPROC, FaultProxy, login_yaml, python_bytecode_env, write_environment, write_token_file
from stssupport import GitHubActionsTokenService, make_token

from support.clock import shifted_env

AWRWI = "AssumeRoleWithWebIdentity"
REF = "acme/dev"

pytestmark = pytest.mark.timeout(180)


def credproc(*args, env=None, timeout=60):
    return subprocess.run([CREDPROC, *args], env=python_bytecode_env(env or os.environ), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


def keys_of(result) -> str:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["AccessKeyId"]


def refused(result, code=4, says=""):
    """The caller got the cold-cache error and nothing on stdout (no keys)."""
    assert result.returncode == code, result.stderr
    assert result.stdout == b""
    assert says in result.stderr.decode()
    assert "ASIA" not in result.stderr.decode()


@pytest.fixture
def sts(moto_server, monkeypatch):
    with FaultProxy(moto_server) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.url)
        yield proxy


def define(isolated_env, token_yaml: str, extra_oidc: str = ""):
    text = login_yaml(token_yaml)
    if extra_oidc:
        text = text.replace("          token:", extra_oidc + "          token:")
    write_environment(isolated_env.env_dir, REF, text)


# --- {env: VAR} ----------------------------------------------------------------------------------

def test_env_token_unset_garbage_or_another_subject_never_gets_cached_keys(isolated_env, sts, monkeypatch):
    define(isolated_env, "{env: CI_OIDC_TOKEN}")
    alice, bob = make_token(sub="alice"), make_token(sub="bob")
    monkeypatch.setenv("CI_OIDC_TOKEN", alice)
    first = keys_of(credproc("process", REF))
    assert keys_of(credproc("process", REF)) == first and sts.count(AWRWI) == 1  # same token: a hit

    monkeypatch.delenv("CI_OIDC_TOKEN")
    refused(credproc("process", REF), says="CI_OIDC_TOKEN is not set or empty")
    monkeypatch.setenv("CI_OIDC_TOKEN", "garbage")
    refused(credproc("process", REF), says="is not a JWT")
    assert sts.count(AWRWI) == 1

    monkeypatch.setenv("CI_OIDC_TOKEN", bob)
    second = keys_of(credproc("process", REF))
    assert second != first and sts.count(AWRWI) == 2  # another subject: its own STS call

    monkeypatch.setenv("CI_OIDC_TOKEN", alice)  # back to the first token: its own keys, from the cache
    assert keys_of(credproc("process", REF)) == first and sts.count(AWRWI) == 2


def test_process_export_and_run_follow_one_rule(isolated_env, sts, monkeypatch):
    define(isolated_env, "{env: CI_OIDC_TOKEN}")
    monkeypatch.setenv("CI_OIDC_TOKEN", make_token(sub="alice"))
    first = keys_of(credproc("process", REF))
    exported = credproc("export", REF, "--format", "json")
    assert json.loads(exported.stdout)["AWS_ACCESS_KEY_ID"] == first
    shown = credproc("run", REF, "--", sys.executable, "-c", "import os; print(os.environ['AWS_ACCESS_KEY_ID'])")
    assert shown.returncode == 0 and shown.stdout.decode().strip() == first
    assert sts.count(AWRWI) == 1

    monkeypatch.delenv("CI_OIDC_TOKEN")
    refused(credproc("process", REF))
    refused(credproc("export", REF, "--format", "env"))
    marker = isolated_env.home / "child-ran"
    ran = credproc("run", REF, "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    assert ran.returncode == 4 and not marker.exists(), ran.stderr
    assert sts.count(AWRWI) == 1


def test_an_expired_token_is_refused_although_its_keys_are_still_cached(isolated_env, sts, monkeypatch):
    define(isolated_env, "{env: CI_OIDC_TOKEN}")
    monkeypatch.setenv("CI_OIDC_TOKEN", make_token(sub="alice"))  # lives 5 minutes; the keys 1 hour
    keys_of(credproc("process", REF))
    later = shifted_env(os.environ, offset_seconds=600)  # the token expired; the keys have 50 minutes
    refused(credproc("process", REF, env=later), says="has expired")
    refused(credproc("export", REF, env=later), says="has expired")
    assert sts.count(AWRWI) == 1


# --- {file: PATH} --------------------------------------------------------------------------------

def test_file_token_deleted_or_replaced(isolated_env, sts, tmp_path):
    token_file = write_token_file(tmp_path, make_token(sub="alice"))
    define(isolated_env, f"{{file: {token_file}}}")
    first = keys_of(credproc("process", REF))
    assert keys_of(credproc("process", REF)) == first and sts.count(AWRWI) == 1

    token_file.unlink()
    refused(credproc("process", REF), says="does not exist")
    write_token_file(tmp_path, make_token(sub="mallory"))
    assert keys_of(credproc("process", REF)) != first and sts.count(AWRWI) == 2


# --- {githubActions} -----------------------------------------------------------------------------

def test_a_later_job_never_gets_an_earlier_jobs_role(isolated_env, sts, monkeypatch):
    define(isolated_env, "{githubActions: {audience: sts.amazonaws.com}}")
    with GitHubActionsTokenService() as first_job:
        for name, value in first_job.env().items():
            monkeypatch.setenv(name, value)
        first = keys_of(credproc("process", REF))
        assert keys_of(credproc("process", REF)) == first and sts.count(AWRWI) == 1
    # a job without `id-token: write`: no request variables
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL")
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    refused(credproc("process", REF), says="ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set")
    with GitHubActionsTokenService() as second_job:  # another job: its own request token
        for name, value in second_job.env().items():
            monkeypatch.setenv(name, value)
        assert keys_of(credproc("process", REF)) != first and sts.count(AWRWI) == 2
        assert second_job.requests  # it asked its own token service
    assert sts.count(AWRWI) == 2


# --- the local issuer ----------------------------------------------------------------------------

@pytest.fixture
def local_issuer(isolated_env):
    init = credproc("issuer", "init", "--url", "https://issuer.credproc.test/one")
    assert init.returncode == 0, init.stderr


def test_local_issuer_subject_attributes_and_a_new_issuer_key(isolated_env, sts, local_issuer, monkeypatch):
    text = login_yaml("null").replace("          token: null\n", "          subjectAttributes: [pulumi.user.login]\n")
    write_environment(isolated_env.env_dir, REF, text)
    for name in ("LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", "alice")
    alice = keys_of(credproc("process", REF))
    assert keys_of(credproc("process", REF)) == alice and sts.count(AWRWI) == 1
    monkeypatch.setenv("USER", "bob")
    bob = keys_of(credproc("process", REF))
    assert bob != alice and sts.count(AWRWI) == 2  # bob's token names bob: his own STS call
    monkeypatch.setenv("USER", "alice")
    assert keys_of(credproc("process", REF)) == alice and sts.count(AWRWI) == 2

    again = credproc("issuer", "init", "--force", "--url", "https://issuer.credproc.test/one")
    assert again.returncode == 0, again.stderr
    assert keys_of(credproc("process", REF)) not in (alice, bob) and sts.count(AWRWI) == 3


# --- {command: ...} ------------------------------------------------------------------------------

def test_command_answers_are_bound_to_what_bind_env_names(isolated_env, sts, monkeypatch):
    command = f"{{command: [{sys.executable}, -c, 'import os; print(os.environ[\"VAULT_TOKEN\"])'], bindEnv: [VAULT_TOKEN]}}"
    define(isolated_env, command)
    monkeypatch.setenv("VAULT_TOKEN", make_token(sub="alice"))
    first = keys_of(credproc("process", REF))
    assert keys_of(credproc("process", REF)) == first and sts.count(AWRWI) == 1
    monkeypatch.setenv("VAULT_TOKEN", make_token(sub="bob"))
    assert keys_of(credproc("process", REF)) != first and sts.count(AWRWI) == 2
    monkeypatch.delenv("VAULT_TOKEN")
    refused(credproc("process", REF), says="failed with exit code")  # the command runs: it fails


def test_a_command_without_bind_env_is_bound_to_its_argv_only(isolated_env, sts, monkeypatch):
    # documented: credproc does not run the command on a hit, so what it reads is not bound
    command = f"{{command: [{sys.executable}, -c, 'import os; print(os.environ[\"VAULT_TOKEN\"])']}}"
    define(isolated_env, command)
    monkeypatch.setenv("VAULT_TOKEN", make_token(sub="alice"))
    first = keys_of(credproc("process", REF))
    monkeypatch.setenv("VAULT_TOKEN", make_token(sub="bob"))
    assert keys_of(credproc("process", REF)) == first and sts.count(AWRWI) == 1


# --- found by a hostile review: a hit must not serve past what a cold call refuses ---------------

def test_a_bind_files_entry_too_large_to_bind_is_refused(isolated_env, sts, tmp_path, monkeypatch):
    big = tmp_path / "tool.db"
    big.write_bytes(os.urandom(300_000))
    command = (f"{{command: [{sys.executable}, -c, 'import os; print(os.environ[\"VAULT_TOKEN\"])'], "
               f"bindFiles: [{big}]}}")
    define(isolated_env, command)
    monkeypatch.setenv("VAULT_TOKEN", make_token(sub="alice"))
    refused(credproc("process", REF), code=2, says="which is not a readable regular file of at most 256 KiB")
    big.unlink()
    big.mkdir()  # a directory has no bytes to bind either
    refused(credproc("process", REF), code=2, says="not a readable regular file")
    assert sts.count(AWRWI) == 0


def test_an_insecure_issuer_key_is_refused_on_a_hit_too(isolated_env, sts, local_issuer):
    write_environment(isolated_env.env_dir, REF, login_yaml("null").replace("          token: null\n", ""))
    keys_of(credproc("process", REF))
    key = isolated_env.config_dir / "issuer" / "key.pem"
    key.chmod(0o644)
    for command in (("process", REF), ("export", REF)):
        result = credproc(*command)
        assert result.returncode == 2 and result.stdout == b"", result.stderr
        assert "issuer key" in result.stderr.decode()


def test_a_definition_turned_into_a_link_or_made_writable_is_not_served_from_the_cache(isolated_env, sts, tmp_path):
    token_file = write_token_file(tmp_path, make_token(sub="alice"))
    define(isolated_env, f"{{file: {token_file}}}")
    keys_of(credproc("process", REF))
    definition = isolated_env.env_dir / "acme" / "dev.yaml"
    definition.chmod(0o666)
    assert credproc("process", REF).returncode == 2  # as the cold path: refused
    definition.chmod(0o600)
    outside = tmp_path / "outside.yaml"
    outside.write_bytes(definition.read_bytes())
    definition.unlink()
    definition.symlink_to(outside)  # the same bytes, through a link out of the store
    result = credproc("process", REF)
    assert result.returncode == 2 and result.stdout == b"", result.stderr


def test_a_second_spelling_appearing_beside_a_cached_environment_ends_the_answer(isolated_env, sts, tmp_path):
    token_file = write_token_file(tmp_path, make_token(sub="alice"))
    define(isolated_env, f"{{file: {token_file}}}")
    keys_of(credproc("process", REF))
    write_environment(isolated_env.env_dir, "acme/default/dev",
                      login_yaml(f"{{file: {token_file}}}", role_arn="arn:aws:iam::123456789012:role/evil"))
    result = credproc("process", REF)
    assert result.returncode == 2 and result.stdout == b""
    assert "are one environment" in result.stderr.decode()
