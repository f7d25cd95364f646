"""The real AWS CLI through `credproc install-profile pulumi:ORG/PROJECT/ENV`: the profile's
credential_process opens the environment at the stand-in Pulumi service once, and the CLI signs
with the keys it holds (moto as STS checks the signature's key id)."""
import json
import os
import subprocess
import sys

import pytest

from tests.support import pulumidata as data

AWS = os.path.join(os.path.dirname(sys.executable), "aws")
pytestmark = pytest.mark.timeout(180)


def aws(*args, **extra):
    result = subprocess.run([AWS, *args], capture_output=True, text=True, timeout=90,
                            env=dict(os.environ, **extra), stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_aws_cli_signs_with_the_keys_of_the_pulumi_environment(service, cli, isolated_env, moto_server):
    installed = cli("install-profile", data.REF, "--region", "eu-central-1")
    assert installed.code == 0, installed
    config = isolated_env.config_file.read_text()
    assert "[profile esc-dev]" in config and f"process {data.REF}" in config
    assert data.TOKEN not in config

    listed = aws("configure", "list", "--profile", "esc-dev").stdout
    assert "custom-process" in listed and data.KEY_ID[-4:] in listed

    called = aws("sts", "get-caller-identity", "--profile", "esc-dev", "--debug", AWS_ENDPOINT_URL_STS=moto_server)
    assert json.loads(called.stdout)["Account"]
    # botocore's debug log shows the request it signed: the key id and session token of the environment
    assert f"Credential={data.KEY_ID}/" in called.stderr
    assert data.SESSION_TOKEN in called.stderr
    assert service.count("open") == 1  # install-profile's check opened it; every later call was a hit
