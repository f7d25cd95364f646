"""End to end, one test per token source: an environment in the store (the seed example, with
only the role ARN changed) opened through `credproc env open`, moto (server mode, 127.0.0.1) as
STS. The printed keys must work: GetCallerIdentity with them names the assumed role and session."""
import json
import sys

import pytest

from credproc import cli
from stssupport import ACCOUNT, GitHubActionsTokenService, make_token

pytestmark = pytest.mark.timeout(120)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/esc-dev"
SESSION = "credproc-e2e"

SEED = """\
values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: {role}
          sessionName: {session}
          duration: 1h{token}
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${{aws.login.accessKeyId}}
    AWS_SECRET_ACCESS_KEY: ${{aws.login.secretAccessKey}}
    AWS_SESSION_TOKEN: ${{aws.login.sessionToken}}
"""


@pytest.fixture
def sts_at_moto(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server)
    return moto_server


def write_env(ref, token_yaml=""):
    from credproc.store.store import Store, parse_name

    text = SEED.format(role=ROLE, session=SESSION, token=token_yaml)
    Store().write(parse_name(ref), text.encode())


def open_env(capsys, ref):
    code = cli.main(["env", "open", ref])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def caller_arn(endpoint, variables):
    import boto3

    client = boto3.Session(
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=variables["AWS_SESSION_TOKEN"],
        region_name="us-east-1",
    ).client("sts", endpoint_url=endpoint)
    return client.get_caller_identity()["Arn"]


def check_keys_work(capsys, endpoint, ref="acme/dev"):
    document = open_env(capsys, ref)
    variables = document["environmentVariables"]
    assert variables["AWS_ACCESS_KEY_ID"] == document["aws"]["login"]["accessKeyId"]
    assert document["aws"]["login"]["expiration"].endswith("Z")
    assert caller_arn(endpoint, variables) == f"arn:aws:sts::{ACCOUNT}:assumed-role/esc-dev/{SESSION}"
    return document


def test_local_issuer(capsys, sts_at_moto):
    assert cli.main(["issuer", "init", "--url", "https://oidc.example.com/credproc"]) == 0
    write_env("acme/dev")
    check_keys_work(capsys, sts_at_moto)


def test_file(capsys, sts_at_moto, tmp_path):
    path = tmp_path / "token"
    path.write_text(make_token())
    write_env("acme/dev", f"\n          token: {{file: {path}}}")
    check_keys_work(capsys, sts_at_moto)


def test_env(capsys, sts_at_moto, monkeypatch):
    monkeypatch.setenv("E2E_OIDC_TOKEN", make_token())
    write_env("acme/dev", "\n          token: {env: E2E_OIDC_TOKEN}")
    check_keys_work(capsys, sts_at_moto)


def test_command(capsys, sts_at_moto, tmp_path):
    (tmp_path / "t").write_text(make_token())
    script = tmp_path / "print_token.py"
    script.write_text(f"print(open({str(tmp_path / 't')!r}).read())\n")
    write_env("acme/dev", f"\n          token:\n            command: [{sys.executable}, {script}]\n            timeout: 20")
    check_keys_work(capsys, sts_at_moto)


def test_github_actions(capsys, sts_at_moto, monkeypatch):
    with GitHubActionsTokenService() as service:
        for name, value in service.env().items():
            monkeypatch.setenv(name, value)
        write_env("acme/dev", "\n          token: {githubActions: {audience: sts.amazonaws.com}}")
        check_keys_work(capsys, sts_at_moto)
        assert service.requests and service.requests[-1]["query"]["audience"] == "sts.amazonaws.com"


def test_second_open_is_served_from_the_cache_only_to_the_same_token(capsys, sts_at_moto, monkeypatch):
    monkeypatch.setenv("E2E_OIDC_TOKEN", make_token())
    write_env("acme/dev", "\n          token: {env: E2E_OIDC_TOKEN}")
    first = check_keys_work(capsys, sts_at_moto)
    second = open_env(capsys, "acme/dev")  # the same token: the cached keys
    assert second["environmentVariables"] == first["environmentVariables"]
    monkeypatch.delenv("E2E_OIDC_TOKEN")  # no token any more: the cache must not answer either
    code = cli.main(["env", "open", "acme/dev"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "E2E_OIDC_TOKEN is not set or empty" in err


def test_token_error_is_a_diagnostic_and_exit_code_4_for_process(capsys, sts_at_moto):
    write_env("acme/dev", "\n          token: {env: E2E_MISSING_TOKEN}")
    code = cli.main(["env", "open", "acme/dev"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.splitlines()[0] == "acme/dev:4:7: the environment variable E2E_MISSING_TOKEN is not set or empty"
    code = cli.main(["process", "acme/dev"])
    out, err = capsys.readouterr()
    assert code == 4 and out == ""
    assert err.splitlines()[0] == "credproc: the environment variable E2E_MISSING_TOKEN is not set or empty"


def test_sts_refusal_is_exit_code_5(capsys, moto_server, monkeypatch, tmp_path):
    from stssupport import FakeSts

    monkeypatch.setenv("E2E_OIDC_TOKEN", make_token(sub="credproc:org:acme:env:default/dev"))
    write_env("acme/dev", "\n          token: {env: E2E_OIDC_TOKEN}")
    with FakeSts() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", fake.url)
        fake.fail(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        code = cli.main(["process", "acme/dev"])
    out, err = capsys.readouterr()
    assert code == 5 and out == ""
    first = err.splitlines()[0]
    assert first.startswith(f"credproc: STS denied assuming role {ROLE} (AccessDenied)")
    assert "sub='credproc:org:acme:env:default/dev'" in first
