""""cannot reach STS" names the URL it tried and the variable that set it, never a secret of the URL
(issue 11 §3), through the real `credproc process`."""
import base64
import json
import socket
import time

import pytest

from support.runner import run_credproc
from support.store import define

ROLE = "arn:aws:iam::123456789012:role/esc-dev"


def jwt() -> str:
    now = int(time.time())
    claims = {"iss": "https://issuer.credproc.test", "aud": "sts.amazonaws.com", "sub": "x", "iat": now,
              "exp": now + 3600}
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{part}.c2ln"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def login_env(isolated_env, tmp_path):
    token = tmp_path / "token"
    token.write_text(jwt())
    define(isolated_env, "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n"
                         f"          roleArn: {ROLE}\n          sessionName: s1\n"
                         f"          token: {{file: {token}}}\n"
                         "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
                         "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n")
    return isolated_env


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"])
def test_the_error_names_the_url_and_the_variable(login_env, monkeypatch, variable):
    port = closed_port()
    monkeypatch.setenv(variable, f"http://user:hunter2secret@127.0.0.1:{port}/?X-Secret=abc123")
    failed = run_credproc("process", "acme/dev", timeout=120)
    assert failed.code == 6, failed
    line = failed.stderr.splitlines()[-1]
    assert line.startswith(f"credproc: cannot reach STS in us-east-1 for role {ROLE} after 3 attempts (")
    assert f"at http://127.0.0.1:{port}/ (from {variable})" in line
    assert f"(hint: check that {variable} is meant to be set" in line
    assert "hunter2secret" not in failed.stderr and "abc123" not in failed.stderr and "user:" not in line
