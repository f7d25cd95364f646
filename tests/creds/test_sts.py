"""STS exchange: endpoint selection, unsigned calls, retries and the error mapping, against a tiny
local STS (stssupport.FakeSts) that returns real STS error XML."""
import sys

import pytest

from credproc.providers import sts
from credproc.errors import StsRefused, TransientError
from stssupport import ACCOUNT, FakeSts, make_token

ROLE = f"arn:aws:iam::{ACCOUNT}:role/esc-dev"
CLAIMS = {"iss": "https://oidc.example.com", "aud": "sts.amazonaws.com", "sub": "credproc:org:acme:env:default/dev"}


@pytest.fixture
def fake_sts(monkeypatch):
    with FakeSts() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
        yield server


def call(**overrides):
    args = dict(role_arn=ROLE, session_name="dev", token=make_token(), duration_seconds=3600,
                region="eu-west-1", claims=CLAIMS)
    args.update(overrides)
    return sts.assume_role_with_web_identity(**args)


def test_region_resolution(monkeypatch):
    assert sts.resolve_region(None) == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert sts.resolve_region(None) == "eu-central-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert sts.resolve_region(None) == "eu-west-2"
    assert sts.resolve_region("ap-south-1") == "ap-south-1"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_regional_endpoint(region):
    client = sts.make_client(region)
    assert client.meta.endpoint_url == f"https://sts.{region}.amazonaws.com"
    assert client.meta.config.signature_version is not None  # UNSIGNED sentinel
    from botocore import UNSIGNED
    assert client.meta.config.signature_version is UNSIGNED
    assert client.meta.config.retries["mode"] == "standard"


def test_endpoint_env_overrides(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert sts.make_client("eu-west-1").meta.endpoint_url == "http://127.0.0.1:9"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:10")
    assert sts.make_client("eu-west-1").meta.endpoint_url == "http://127.0.0.1:10"
    assert sts.endpoint_identity("eu-west-1") == {"region": "eu-west-1", "endpoint": "http://127.0.0.1:10"}


def test_ca_bundle_is_honoured(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    client = sts.make_client("eu-west-1")
    assert client._endpoint.http_session._verify == str(bundle)


def test_success_is_unsigned_and_parsed(fake_sts, monkeypatch):
    # Ambient keys exist, yet nothing is signed with them.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAMBIENTAMBIENT00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "ambient-secret")
    token = make_token()
    result = call(token=token, policy_arns=["arn:aws:iam::aws:policy/ReadOnlyAccess"], duration_seconds=5400)
    (request,) = fake_sts.calls()
    assert "Authorization" not in request["headers"]
    form = request["form"]
    assert form["RoleArn"] == ROLE and form["RoleSessionName"] == "dev"
    assert form["WebIdentityToken"] == token and form["DurationSeconds"] == "5400"
    assert form["PolicyArns.member.1.arn"] == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert result["access_key_id"].startswith("ASIAFAKE")
    assert result["account_id"] == ACCOUNT
    assert result["assumed_role_arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/esc-dev/dev"
    assert len(result["expiration"]) == 20 and result["expiration"].endswith("Z")


def test_aws_profile_is_not_read(fake_sts, monkeypatch, isolated_env, tmp_path):
    # AWS_PROFILE may name credproc's own profile (or none at all): STS must neither fail nor recurse.
    marker = tmp_path / "ran"
    isolated_env.config_file.parent.mkdir(parents=True, exist_ok=True)
    isolated_env.config_file.write_text(
        f"[profile loop]\ncredential_process = {sys.executable} -c \"open({str(marker)!r}, 'w')\"\n")
    monkeypatch.setenv("AWS_PROFILE", "loop")
    call()
    monkeypatch.setenv("AWS_PROFILE", "does-not-exist")
    call()
    assert len(fake_sts.calls()) == 2
    assert not marker.exists()


def test_proxy_is_honoured(monkeypatch):
    with FakeSts() as proxy:  # a proxy sees an absolute URL; the fake answers it as STS would
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", "http://sts.credproc-test.invalid")
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = call()
        assert result["account_id"] == ACCOUNT and len(proxy.calls()) == 1


# --- error mapping ----------------------------------------------------------------------------

@pytest.mark.parametrize("status, code, message, needles", [
    (403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity",
     ["AccessDenied", "trust policy", "sub='credproc:org:acme:env:default/dev'", "aud='sts.amazonaws.com'"]),
    (400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://oidc.example.com",
     ["InvalidIdentityToken", "No OpenIDConnect provider found", "iss='https://oidc.example.com'"]),
    (400, "ExpiredTokenException", "Token expired: current date/time 1 must be before the expiration date/time 0",
     ["has expired", "ExpiredTokenException"]),
    (403, "IDPRejectedClaim", "Incorrect token audience", ["IDPRejectedClaim", "Incorrect token audience"]),
    (400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
     ["3600s exceeds the maximum session duration", "MaxSessionDuration"]),
    (400, "MalformedPolicyDocument", "bad", ["session policies", "MalformedPolicyDocument"]),
])
def test_refusals_name_the_role_and_what_to_check(fake_sts, status, code, message, needles):
    fake_sts.fail(status, code, message)
    token = make_token()
    with pytest.raises(StsRefused) as info:
        call(token=token)
    text = str(info.value)
    assert ROLE in text
    for needle in needles:
        assert needle in text
    assert token not in text and token not in (info.value.hint or "")
    assert info.value.hint or code in ("MalformedPolicyDocument",)
    assert len(fake_sts.calls()) == 1  # refusals are not retried


def test_duration_hint_suggests_the_fix(fake_sts):
    fake_sts.fail(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    with pytest.raises(StsRefused) as info:
        call(duration_seconds=7200)
    assert "--max-session-duration 7200" in info.value.hint and "esc-dev" in info.value.hint


@pytest.mark.parametrize("status, code", [(400, "Throttling"), (500, "InternalFailure"), (400, "IDPCommunicationError")])
def test_retryable_errors_are_retried_then_transient(fake_sts, status, code):
    fake_sts.fail(status, code, "try later", times=sts.MAX_ATTEMPTS)
    with pytest.raises(TransientError) as info:
        call()
    assert len(fake_sts.calls()) == sts.MAX_ATTEMPTS
    assert ROLE in str(info.value) and code in str(info.value)


def test_throttling_then_success(fake_sts):
    fake_sts.fail(400, "Throttling", "Rate exceeded", times=sts.MAX_ATTEMPTS - 1)
    assert call()["account_id"] == ACCOUNT
    assert len(fake_sts.calls()) == sts.MAX_ATTEMPTS


def test_dropped_connections_are_transient(fake_sts):
    fake_sts.fail(0, times=sts.MAX_ATTEMPTS)
    with pytest.raises(TransientError, match=f"cannot reach STS in eu-west-1 for role {ROLE}"):
        call()


def test_unreachable_endpoint_is_transient(monkeypatch):
    with FakeSts() as server:
        url = server.url
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)  # closed port
    with pytest.raises(TransientError) as info:
        call()
    # The variable that sent the call there is named (it is the likely mistake), with the URL tried.
    assert "AWS_ENDPOINT_URL_STS is meant to be set" in info.value.hint
    assert f"at {url.rstrip('/')}" in info.value.message and "(from AWS_ENDPOINT_URL_STS)" in info.value.message


def test_injected_client_factory():
    seen = []

    class Client:
        def assume_role_with_web_identity(self, **request):
            seen.append(request)
            import datetime
            return {"Credentials": {"AccessKeyId": "ASIAX", "SecretAccessKey": "s", "SessionToken": "t",
                                    "Expiration": datetime.datetime(2030, 1, 2, 3, 4, 5, 678000,
                                                                    tzinfo=datetime.timezone.utc)},
                    "AssumedRoleUser": {"Arn": "arn:aws:sts::210987654321:assumed-role/r/s"}}

    result = call(client_factory=lambda region: seen.append(region) or Client())
    assert seen[0] == "eu-west-1" and seen[1]["RoleArn"] == ROLE and "PolicyArns" not in seen[1]
    assert result["expiration"] == "2030-01-02T03:04:05Z"
    assert result["account_id"] == "210987654321"


def test_account_from_arn():
    assert sts.account_from_arn("arn:aws:sts::123456789012:assumed-role/r/s") == "123456789012"
    assert sts.account_from_arn("arn:aws-cn:iam::123456789012:role/r") == "123456789012"
    assert sts.account_from_arn("nope") is None and sts.account_from_arn(None) is None


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
def test_endpoint_variables_reach_moto(moto_server, monkeypatch, variable):
    # botocore reads both natively because the client comes from a botocore session
    monkeypatch.setenv(variable, moto_server)
    result = call(session_name="endpoint-check")
    assert result["assumed_role_arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/esc-dev/endpoint-check"
    assert result["access_key_id"].startswith("ASIA") and not result["access_key_id"].startswith("ASIAFAKE")
