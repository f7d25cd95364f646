"""End to end: `credproc run demo/dev -- aws sts get-caller-identity` with real components.

credproc's local OIDC issuer mints the token, the aws-login provider exchanges it with moto's STS
(server mode on 127.0.0.1), and the real AWS CLI from the venv runs as the child with the keys
credproc projected, against the same moto endpoint (AWS_ENDPOINT_URL).
"""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

BIN = os.path.dirname(sys.executable)
CREDPROC = os.path.join(BIN, "credproc")
AWS = os.path.join(BIN, "aws")
ROLE_ARN = "arn:aws:iam::123456789012:role/esc-dev"

DEMO_DEV = textwrap.dedent(f"""\
    values:
      aws:
        login:
          fn::open::aws-login:
            oidc:
              roleArn: {ROLE_ARN}
              sessionName: credproc-run-test
              duration: 1h
              region: eu-central-1
      environmentVariables:
        AWS_ACCESS_KEY_ID: ${{aws.login.accessKeyId}}
        AWS_SECRET_ACCESS_KEY: ${{aws.login.secretAccessKey}}
        AWS_SESSION_TOKEN: ${{aws.login.sessionToken}}
    """)

DUMP = ("import json, os; print(json.dumps({n: os.environ.get(n) for n in "
        "('AWS_CREDENTIAL_EXPIRATION', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', "
        "'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID')}))")


@pytest.fixture
def demo_dev(isolated_env, moto_server, monkeypatch):
    monkeypatch.delenv("CREDPROC_RUN", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    env_file = isolated_env.env_dir / "demo" / "dev.yaml"
    for directory in (isolated_env.config_dir, isolated_env.env_dir, env_file.parent):
        directory.mkdir(mode=0o700)  # private, as credproc requires of its config directory
    env_file.write_text(DEMO_DEV)
    init = subprocess.run([CREDPROC, "issuer", "init", "--url", "https://issuer.run-test.invalid"],
                          capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    return isolated_env


@pytest.mark.timeout(180)
def test_aws_cli_runs_with_the_environment_credentials(demo_dev):
    started = time.time()
    result = subprocess.run([CREDPROC, "run", "demo/dev", "--", AWS, "sts", "get-caller-identity", "--output",
                             "json"], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, AWS_PROFILE="someone-elses-profile"))
    assert result.returncode == 0, result.stderr
    identity = json.loads(result.stdout)
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/esc-dev/credproc-run-test"

    # The child saw the expiration from STS, the region of the definition, and no stale profile;
    # the session token is secret, so it is masked in the child's (piped) output.
    dump = subprocess.run([CREDPROC, "run", "demo/dev", "--", sys.executable, "-c", DUMP],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, AWS_PROFILE="someone-elses-profile"))
    assert dump.returncode == 0, dump.stderr
    seen = json.loads(dump.stdout)
    assert seen["AWS_PROFILE"] is None
    assert seen["AWS_SESSION_TOKEN"] == "[secret]"
    assert seen["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert seen["AWS_REGION"] == seen["AWS_DEFAULT_REGION"] == "eu-central-1"
    from credproc import cache

    left = cache.parse_expiration(seen["AWS_CREDENTIAL_EXPIRATION"]) - started
    assert 3000 < left <= 3700  # STS's Expiration for a 1h session, in the Z form

    # The credentials were cached: `cache ls` shows the entry for demo/dev.
    listing = subprocess.run([CREDPROC, "cache", "ls", "--json"], capture_output=True, text=True, timeout=60)
    rows = [row for row in json.loads(listing.stdout) if row["kind"] == "creds"]
    assert [(row["environment"], row["role_arn"]) for row in rows] == [("demo/dev", ROLE_ARN)]
    cleared = subprocess.run([CREDPROC, "cache", "clear", "demo/dev"], capture_output=True, text=True, timeout=60)
    assert cleared.stdout == "removed 1 cache entry for demo/dev\n"


@pytest.mark.timeout(180)
def test_a_definition_without_region_leaves_the_users_region_alone(demo_dev, tmp_path):
    """STS falls back to us-east-1 when nothing names a region; the child must not get that fallback
    as AWS_REGION, which would override the region in the user's AWS config."""
    env_file = demo_dev.env_dir / "demo" / "dev.yaml"
    env_file.write_text(DEMO_DEV.replace("          region: eu-central-1\n", ""))
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-1\n")
    environ = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    environ["AWS_CONFIG_FILE"] = str(config)
    dump = subprocess.run([CREDPROC, "run", "demo/dev", "--", sys.executable, "-c", DUMP],
                          capture_output=True, text=True, timeout=120, env=environ)
    assert dump.returncode == 0, dump.stderr
    seen = json.loads(dump.stdout)
    assert seen["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert seen["AWS_REGION"] is None and seen["AWS_DEFAULT_REGION"] is None
    region = subprocess.run([CREDPROC, "run", "demo/dev", "--", AWS, "configure", "get", "region"],
                            capture_output=True, text=True, timeout=120, env=environ)
    assert region.stdout.strip() == "eu-west-1", region.stderr
