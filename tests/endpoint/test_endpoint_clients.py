"""Real SDK clients against the endpoint, against moto (STS through the counting proxy): boto3, the AWS
CLI and the JavaScript SDK v3 with nothing but AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN, through `credproc serve` and through `credproc run --server`."""
import json
import os
import subprocess

import pytest

from credtest import ASSUMED_ARN, PYTHON
from endpointsupport import (BOTO_CLIENT, JS_CLIENT, JS_DIR, Served, aws_cli_identity, boto_identity, client_env,
                             js_identity, js_sdk_missing, json_documents, run_server_argv)
from support.stsproxy import AWRWI

REF = "acme/dev"

pytestmark = pytest.mark.timeout(180)


def test_boto3_gets_the_role_from_serve_with_only_the_two_variables(login):
    with Served(REF) as served:
        seen = boto_identity(client_env(os.environ, served.variables))
    assert seen["Arn"] == ASSUMED_ARN
    assert seen["method"] == "container-role"  # botocore's container provider, nothing else
    assert seen["AccessKeyId"].startswith("ASIA")
    assert login.count(AWRWI) == 1


def test_aws_cli_gets_the_role_from_serve(login):
    with Served(REF) as served:
        env = client_env(os.environ, served.variables)
        first, second = aws_cli_identity(env), aws_cli_identity(env)
    assert first["Arn"] == second["Arn"] == ASSUMED_ARN
    assert login.count(AWRWI) == 1  # the second CLI run was answered from the cache


@pytest.mark.parametrize("mode", ["chain", "container"])
def test_javascript_sdk_gets_the_role_from_serve(login, mode):
    if js_sdk_missing():
        pytest.skip(js_sdk_missing())
    with Served(REF) as served:
        seen = js_identity(client_env(os.environ, served.variables), mode)
    assert seen["Arn"] == ASSUMED_ARN
    assert seen["AccessKeyId"].startswith("ASIA")


def test_boto3_aws_cli_and_javascript_get_the_role_through_run_server(login):
    clients = [f"{PYTHON} {BOTO_CLIENT} once", "aws sts get-caller-identity --output json"]
    if not js_sdk_missing():
        clients.append(f"cd {JS_DIR} && node {JS_CLIENT} chain")
    script = " && ".join(clients)
    env = client_env(os.environ, {"PATH": os.path.dirname(PYTHON) + os.pathsep + os.environ["PATH"]})
    out = subprocess.run(run_server_argv(REF, "sh", "-c", script), env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    answers = json_documents(out.stdout)
    assert [a["Arn"] for a in answers] == [ASSUMED_ARN] * len(clients)
    assert answers[0]["method"] == "container-role"
    assert login.count(AWRWI) == 1
