"""Region and expiry where tools meet them: `credproc run`'s child environment, `env open`'s output,
an installed profile used by the real AWS CLI, and `env check` of a chained duration over 1 h."""
import json
import re
import subprocess
import sys

import pytest

from chainhelp import (
    AWS, DEPLOY_ROLE, LOGIN, TOKEN_VARIABLE, chain_yaml, credproc, make_token, open_json, variables_of,
)
from support.store import define
from support.stsproxy import StsProxy

pytestmark = pytest.mark.timeout(180)

SHOWN = ("AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CREDENTIAL_EXPIRATION")
PRINT_AWS = [sys.executable, "-c", f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {SHOWN!r}}}))"]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def sts(moto_server, monkeypatch):
    with StsProxy(moto_server) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.url)
        monkeypatch.setenv(TOKEN_VARIABLE, make_token())
        yield proxy


def run_child(ref="acme/chain") -> dict:
    result = credproc("run", ref, "--", *PRINT_AWS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_run_gives_the_chained_keys_their_region_and_expiration(isolated_env, sts):
    define(isolated_env, chain_yaml("        region: eu-west-1\n"), "acme/chain")
    child = run_child()
    deploy = open_json()["aws"]["deploy"]
    assert child["AWS_ACCESS_KEY_ID"] == deploy["accessKeyId"]
    assert child["AWS_CREDENTIAL_EXPIRATION"] == deploy["expiration"]
    assert ISO_UTC.match(child["AWS_CREDENTIAL_EXPIRATION"])
    assert child["AWS_REGION"] == child["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_a_region_the_environment_sets_wins(isolated_env, sts):
    define(isolated_env, chain_yaml("        region: eu-west-1\n", "    AWS_REGION: ap-south-1\n"), "acme/chain")
    child = run_child()
    assert child["AWS_REGION"] == child["AWS_DEFAULT_REGION"] == "ap-south-1"


def test_aws_login_outputs_its_region_and_an_iso_8601_expiration(isolated_env, sts):
    text = "values:\n  aws:\n" + LOGIN + "          region: eu-central-1\n" + variables_of("aws.login")
    define(isolated_env, text, "acme/chain")
    login = open_json()["aws"]["login"]
    assert login["region"] == "eu-central-1"
    assert ISO_UTC.match(login["expiration"])
    child = run_child()
    assert child["AWS_REGION"] == "eu-central-1" and child["AWS_CREDENTIAL_EXPIRATION"] == login["expiration"]


def test_the_aws_cli_gets_the_chained_role_through_an_installed_profile(isolated_env, sts):
    define(isolated_env, chain_yaml(), "acme/chain")
    installed = credproc("install-profile", "acme/chain", "--profile", "chain", "--region", "eu-west-1")
    assert installed.returncode == 0, installed.stderr
    assert re.search(r"(?m)^region = eu-west-1$", isolated_env.config_file.read_text())
    identity = subprocess.run([AWS, "sts", "get-caller-identity", "--profile", "chain", "--output", "json"],
                              capture_output=True, text=True, timeout=120)
    assert identity.returncode == 0, identity.stderr
    answer = json.loads(identity.stdout)
    assert answer["Account"] == "210987654321"
    assert answer["Arn"] == "arn:aws:sts::210987654321:assumed-role/deploy/chain-deploy"
    region = subprocess.run([AWS, "configure", "get", "region", "--profile", "chain"], capture_output=True, text=True)
    assert region.stdout.strip() == "eu-west-1"


def test_env_check_refuses_a_chained_duration_over_an_hour(isolated_env):
    define(isolated_env, chain_yaml("        duration: 2h\n"), "acme/chain")
    result = credproc("env", "check", "acme/chain")
    assert result.returncode == 2
    assert "aws-assume-role `duration` 2h is above 1h: AWS caps role-chaining sessions" in result.stderr


@pytest.mark.parametrize("duration, margin, refused", [("15m", None, True), ("20m", None, True), ("21m", None, False),
                                                     ("17m", "16", False)])
def test_env_check_refuses_what_open_would_a_chained_duration_inside_the_refresh_margin(
        isolated_env, monkeypatch, duration, margin, refused):
    """env check said 0 for 15m and 20m while every open then failed: keys with less than the refresh
    margin left are never handed out. Both now apply the same rule with the same margin."""
    if margin:
        monkeypatch.setenv("CREDPROC_REFRESH_MARGIN", margin)
    define(isolated_env, chain_yaml(f"        duration: {duration}\n"), "acme/chain")
    result = credproc("env", "check", "acme/chain")
    assert result.returncode == (2 if refused else 0), result.stderr
    assert ("is not longer than the refresh margin" in result.stderr) == refused


def test_env_check_refuses_an_aws_login_duration_inside_the_refresh_margin(isolated_env, monkeypatch):
    monkeypatch.setenv("CREDPROC_REFRESH_MARGIN", "40")
    define(isolated_env, chain_yaml().replace("sessionName: chain-login\n",
                                              "sessionName: chain-login\n          duration: 35m\n", 1), "acme/chain")
    result = credproc("env", "check", "acme/chain")
    assert result.returncode == 2 and "oidc.duration 35m is not longer than the refresh margin" in result.stderr


def test_env_check_accepts_a_chain_whose_login_is_not_known_yet(isolated_env):
    define(isolated_env, chain_yaml("        duration: 1h\n        region: eu-west-1\n"), "acme/chain")
    result = credproc("env", "check", "acme/chain")
    assert result.returncode == 0, result.stderr


def test_env_check_refuses_a_role_arn_that_is_not_one(isolated_env):
    define(isolated_env, chain_yaml().replace(DEPLOY_ROLE, "arn:aws:s3:::a-bucket-not-a-role"), "acme/chain")
    result = credproc("env", "check", "acme/chain")
    assert result.returncode == 2
    assert "aws-assume-role `roleArn` 'arn:aws:s3:::a-bucket-not-a-role' is not an IAM role ARN" in result.stderr
