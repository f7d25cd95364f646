"""`fn::open::aws-secrets` and `fn::open::aws-parameter-store` end to end: the real `credproc` command
against moto's Secrets Manager and SSM (server mode on 127.0.0.1), with an aws-login's keys."""
import base64
import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from tests.support.store import define

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")
REGION = "eu-central-1"
KEYS = {"accessKeyId": "AKIASECRETSTEST0001", "secretAccessKey": "secrets-test-secret-key"}

DEFINITION = textwrap.dedent(f"""\
    values:
      aws:
        login:
          fn::open::aws-login:
            static:
              accessKeyId: {KEYS['accessKeyId']}
              secretAccessKey: {KEYS['secretAccessKey']}
        secrets:
          fn::open::aws-secrets:
            region: {REGION}
            login: ${{aws.login}}
            get:
              api-key: {{secretId: api-key}}
              old-key: {{secretId: api-key, versionStage: AWSPREVIOUS}}
              blob: {{secretId: blob}}
        params:
          fn::open::aws-parameter-store:
            region: {REGION}
            login: ${{aws.login}}
            get:
              host: {{name: /app/db-host}}
              first-host: {{name: "/app/db-host:1"}}
              password: {{name: /app/db-password, decrypt: true}}
              zones: {{name: /app/zones}}
      environmentVariables:
        API_KEY: ${{aws.secrets.api-key}}
        DB_PASSWORD: ${{aws.params.password}}
        AWS_ACCESS_KEY_ID: ${{aws.login.accessKeyId}}
        AWS_SECRET_ACCESS_KEY: ${{aws.login.secretAccessKey}}
    """)


@pytest.fixture
def aws(moto_server, monkeypatch):
    """moto holding the secrets and parameters the definition reads; credproc pointed at it."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    session = boto3.Session(aws_access_key_id="AKIASEEDING00000001", aws_secret_access_key="x", region_name=REGION)
    sm = session.client("secretsmanager", endpoint_url=moto_server)
    ssm = session.client("ssm", endpoint_url=moto_server)
    for name in ("api-key", "blob"):
        try:
            sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except sm.exceptions.ResourceNotFoundException:
            pass
    sm.create_secret(Name="api-key", SecretString="first-api-key-value")
    sm.put_secret_value(SecretId="api-key", SecretString="current-api-key-value")
    sm.create_secret(Name="blob", SecretBinary=b"\x00\x01binary\xff")
    for name in ("/app/db-host", "/app/db-password", "/app/zones"):
        try:
            ssm.delete_parameter(Name=name)
        except ssm.exceptions.ParameterNotFound:
            pass
    ssm.put_parameter(Name="/app/db-host", Value="db-1.internal", Type="String")
    ssm.put_parameter(Name="/app/db-host", Value="db-2.internal", Type="String", Overwrite=True)
    ssm.put_parameter(Name="/app/db-password", Value="parameter-store-password", Type="SecureString")
    ssm.put_parameter(Name="/app/zones", Value="a,b,c", Type="StringList")
    return {"secretsmanager": sm, "ssm": ssm, "endpoint": moto_server}


def credproc(*args, env=None, input=None):
    return subprocess.run([CREDPROC, *args], capture_output=True, text=True, timeout=120, input=input,
                          env=dict(os.environ, **(env or {})))


def opened(ref="acme/dev"):
    result = credproc("env", "open", ref, "--format", "json", "--show-secrets")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["aws"]


def test_both_providers_read_their_values_with_the_login(isolated_env, aws):
    define(isolated_env, DEFINITION)
    values = opened()
    assert values["secrets"] == {
        "api-key": "current-api-key-value",
        "old-key": "first-api-key-value",
        "blob": base64.b64encode(b"\x00\x01binary\xff").decode(),
    }
    assert values["params"] == {"host": "db-2.internal", "first-host": "db-1.internal",
                                "password": "parameter-store-password", "zones": "a,b,c"}


def test_every_value_is_secret_and_hidden_without_show_secrets(isolated_env, aws):
    define(isolated_env, DEFINITION)
    result = credproc("env", "open", "acme/dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)["aws"]
    assert set(shown["secrets"].values()) == {"[secret]"}
    assert set(shown["params"].values()) == {"[secret]"}
    assert "current-api-key-value" not in result.stdout + result.stderr


def test_run_passes_the_values_and_masks_them_in_piped_output(isolated_env, aws):
    define(isolated_env, DEFINITION)
    script = "import os; print(os.environ['API_KEY']); print(len(os.environ['DB_PASSWORD']))"
    result = credproc("run", "acme/dev", "--", sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[secret]"  # the child had the value; credproc masked it on the way out
    assert lines[1] == str(len("parameter-store-password"))


def test_process_still_prints_the_login_keys(isolated_env, aws):
    define(isolated_env, DEFINITION)
    result = credproc("process", "acme/dev")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["AccessKeyId"] == KEYS["accessKeyId"]


def test_a_second_open_is_served_from_the_cache_until_it_is_cleared(isolated_env, aws):
    define(isolated_env, DEFINITION)
    assert opened()["secrets"]["api-key"] == "current-api-key-value"
    aws["secretsmanager"].put_secret_value(SecretId="api-key", SecretString="rotated-api-key-value")
    assert opened()["secrets"]["api-key"] == "current-api-key-value"  # cached (at most 5 minutes)
    cleared = credproc("cache", "clear", "acme/dev")
    assert cleared.returncode == 0, cleared.stderr
    assert opened()["secrets"]["api-key"] == "rotated-api-key-value"


def test_another_login_never_gets_the_cached_values(isolated_env, aws):
    define(isolated_env, DEFINITION)
    assert opened()["secrets"]["api-key"] == "current-api-key-value"
    aws["secretsmanager"].put_secret_value(SecretId="api-key", SecretString="what-the-second-login-reads")
    other = DEFINITION.replace(KEYS["secretAccessKey"], "another-users-secret-key")
    define(isolated_env, other)
    assert opened()["secrets"]["api-key"] == "what-the-second-login-reads"


def test_cached_values_live_only_in_private_files(isolated_env, aws):
    define(isolated_env, DEFINITION)
    opened()
    directory = isolated_env.cache_dir / "secrets"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    for path in isolated_env.cache_dir.rglob("*"):
        if path.is_file() and path.parent != directory:
            assert b"current-api-key-value" not in path.read_bytes(), path
    listing = credproc("cache", "ls")
    assert listing.returncode == 0, listing.stderr
    assert "secrets" in listing.stdout and "current-api-key-value" not in listing.stdout


@pytest.mark.parametrize("entry, message", [
    ("secret:\n      fn::open::aws-secrets:\n        region: eu-central-1\n        login: ${aws.login}\n        get: {missing: {secretId: nope}}",
     "get.missing: secret 'nope' not found in eu-central-1"),
    ("param:\n      fn::open::aws-parameter-store:\n        region: eu-central-1\n        login: ${aws.login}\n        get: {missing: {name: /nope}}",
     "get.missing: parameter '/nope' not found in eu-central-1"),
])
def test_a_missing_entry_is_named_in_a_one_line_error(isolated_env, aws, entry, message):
    define(isolated_env, DEFINITION.replace("  environmentVariables:", f"    {entry}\n  environmentVariables:"))
    result = credproc("env", "open", "acme/dev", "--format", "json")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    run = credproc("run", "acme/dev", "--", sys.executable, "-c", "pass")
    assert run.returncode != 0 and message in run.stderr


@pytest.mark.parametrize("bad, message", [
    ("get: {x: {secretId: a, versionStag: AWSCURRENT}}", "get.x: unknown key 'versionStag'"),
    ("get: {x: {}}", "secretId"),
    ("region: Frankfurt", "string must match the pattern"),
])
def test_env_check_finds_a_bad_entry_without_calling_aws(isolated_env, monkeypatch, bad, message):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: any call would fail
    inputs = {"region": "eu-central-1", "get": "{x: {secretId: a}}"}
    key, _, value = bad.partition(": ")
    inputs[key] = value
    define(isolated_env, textwrap.dedent(f"""\
        values:
          login: {{accessKeyId: AKIACHECKONLY000001, secretAccessKey: s}}
          s:
            fn::open::aws-secrets:
              region: {inputs['region']}
              login: ${{login}}
              get: {inputs['get']}
        """))
    result = credproc("env", "check", "acme/dev")
    assert result.returncode != 0
    assert message in result.stderr
    assert "cannot reach" not in result.stderr


def test_an_unreachable_endpoint_is_named(isolated_env, aws):
    define(isolated_env, DEFINITION)
    result = credproc("env", "open", "acme/dev", env={"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9"})
    assert result.returncode != 0
    assert "cannot reach Secrets Manager at http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
