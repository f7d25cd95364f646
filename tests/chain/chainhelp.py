"""Helpers for the role-chaining tests (no tests here): definitions that chain aws-login into
aws-assume-role hops, the real `credproc` CLI as a subprocess, and the caller identity of keys."""
import base64
import json
import os
import secrets
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CREDPROC = str(REPO / ".venv" / "bin" / "credproc")
AWS = str(REPO / ".venv" / "bin" / "aws")
LOGIN_ROLE = "arn:aws:iam::123456789012:role/esc-dev"
DEPLOY_ROLE = "arn:aws:iam::210987654321:role/deploy"
AUDIT_ROLE = "arn:aws:iam::333344445555:role/audit"
TOKEN_VARIABLE = "CHAIN_OIDC_TOKEN"


def make_token(**claims) -> str:
    """A JWT-shaped token (moto does not check signatures)."""
    now = int(time.time())
    payload = {"iss": "https://issuer.example.com", "aud": "sts.amazonaws.com", "sub": "repo:acme/app",
               "iat": now, "exp": now + 600, **claims}

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join([b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode()), b64(json.dumps(payload).encode()),
                     b64(secrets.token_bytes(32))])


LOGIN = f"""\
    login:
      fn::open::aws-login:
        oidc:
          roleArn: {LOGIN_ROLE}
          sessionName: chain-login
          token: {{env: {TOKEN_VARIABLE}}}
"""


def hop(name: str, login_path: str, role: str, session: str, extra: str = "") -> str:
    """One aws-assume-role value at aws.NAME, chained from the value at LOGIN_PATH."""
    return (f"    {name}:\n      fn::open::aws-assume-role:\n        login: ${{{login_path}}}\n"
            f"        roleArn: {role}\n        sessionName: {session}\n{extra}")


def variables_of(path: str, extra: str = "") -> str:
    return ("  environmentVariables:\n"
            f"    AWS_ACCESS_KEY_ID: ${{{path}.accessKeyId}}\n"
            f"    AWS_SECRET_ACCESS_KEY: ${{{path}.secretAccessKey}}\n"
            f"    AWS_SESSION_TOKEN: ${{{path}.sessionToken}}\n{extra}")


def chain_yaml(hop_extra: str = "", variables_extra: str = "") -> str:
    """aws-login -> aws.deploy (account 210987654321), exported as environmentVariables."""
    return ("values:\n  aws:\n" + LOGIN + hop("deploy", "aws.login", DEPLOY_ROLE, "chain-deploy", hop_extra)
            + variables_of("aws.deploy", variables_extra))


def credproc(*args, env_extra=None, timeout=120) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([CREDPROC, *args], env=env, capture_output=True, text=True, timeout=timeout)


def open_json(ref: str = "acme/chain", env_extra=None) -> dict:
    result = credproc("env", "open", ref, env_extra=env_extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def caller_arn(endpoint: str, keys: dict) -> str:
    """The ARN STS (moto) says these keys belong to."""
    import boto3

    client = boto3.Session(aws_access_key_id=keys["accessKeyId"], aws_secret_access_key=keys["secretAccessKey"],
                           aws_session_token=keys.get("sessionToken"), region_name="us-east-1")
    return client.client("sts", endpoint_url=endpoint).get_caller_identity()["Arn"]


def epoch(text: str) -> float:
    import datetime

    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
