"""The aws-login provider: inputs, outputs, the cache and stale-while-refresh, against a local fake
STS reached through real boto3 (AWS_ENDPOINT_URL_STS)."""
import os
import time

import pytest

from credproc import cache
from credproc.identity import jwt
from credproc.errors import ConfigError, StsRefused, TokenError
from credproc.lang import schema
from credproc.lang.provider import OpenContext
from credproc.lang.values import Value
from credproc.providers.aws_login import AwsLoginProvider, parse_duration
from stssupport import ACCOUNT, FakeSts, make_token

ROLE = f"arn:aws:iam::{ACCOUNT}:role/esc-dev"
CTX = OpenContext(environment="dev", root_environment="dev", path="aws.login",
                  exec_context={"pulumi": {"organization": {"login": "acme"}, "user": {"login": "alice"}}})


def value(plain):
    if isinstance(plain, dict):
        return Value({k: value(v) for k, v in plain.items()})
    if isinstance(plain, list):
        return Value([value(v) for v in plain])
    return Value(plain)


def oidc(**extra):
    block = {"roleArn": ROLE, "sessionName": "dev", "token": {"env": "TEST_OIDC_TOKEN"}}
    block.update(extra)
    return value({"oidc": block})


@pytest.fixture
def fake_sts(monkeypatch):
    monkeypatch.setenv("TEST_OIDC_TOKEN", make_token())
    with FakeSts() as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.url)
        yield server


def plain_out(result):
    return {k: (v.value, v.secret) for k, v in result.value.items()}


# --- schema and inputs ----------------------------------------------------------------------------

def test_schema_accepts_the_seed_shapes_and_refuses_neither_or_both():
    provider = AwsLoginProvider()
    schema.check_schema(provider.input_schema)
    good = value({"oidc": {"roleArn": ROLE, "sessionName": "sess", "duration": "1h",
                           "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                           "subjectAttributes": ["pulumi.user.login"], "token": {"file": "/t"}, "region": "eu-west-1"}})
    assert schema.validate(good, provider.input_schema).ok
    assert schema.validate(value({"static": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "x"}}),
                           provider.input_schema).ok
    neither = schema.validate(value({}), provider.input_schema)
    assert not neither.ok and "exactly one subschema must match" in [str(e) for e in neither]
    both = value({"oidc": {"roleArn": ROLE, "sessionName": "s"},
                  "static": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "x"}})
    assert not schema.validate(both, provider.input_schema).ok
    bad = schema.validate(value({"oidc": {"roleArn": "short", "sessionName": "a b", "duration": "1 hour"}}),
                          provider.input_schema)
    messages = [str(e) for e in bad]
    # roleArn's shape is the provider's to check (role_arn), with a message that shows an ARN.
    assert not any("roleArn" in m or "length 20" in m for m in messages)
    assert any("pattern" in m for m in messages)


def test_duration_parsing():
    assert parse_duration("1h") == 3600 and parse_duration("1h30m") == 5400 and parse_duration("45m") == 2700
    with pytest.raises(ConfigError, match="below the minimum of 30m"):
        parse_duration("15m")
    with pytest.raises(ConfigError, match="above STS's maximum of 12h"):
        parse_duration("13h")
    with pytest.raises(ConfigError, match="must look like 1h"):
        parse_duration("1 hour")


def test_typos_and_missing_org_are_clear(fake_sts):
    provider = AwsLoginProvider()
    with pytest.raises(ConfigError, match=r"unknown key `policyArn` in aws-login oidc \(did you mean `policyArns`\?\)"):
        provider.open(oidc(policyArn=["x"]), CTX)
    with pytest.raises(ConfigError, match="exactly one of `oidc` or `static`"):
        provider.open(value({}), CTX)
    no_org = OpenContext(environment="dev", root_environment="dev", path="aws.login", exec_context={})
    with pytest.raises(ConfigError, match="organization"):
        provider.open(oidc(), no_org)
    with pytest.raises(ConfigError, match="subject attribute 'team' has no value"):
        provider.open(oidc(subjectAttributes=["team"]), CTX)
    assert fake_sts.requests == []


# --- static ---------------------------------------------------------------------------------------

def test_static_keys_are_passed_through_with_secret_flags():
    provider = AwsLoginProvider()
    inputs = Value({"static": Value({"accessKeyId": Value("AKIAIOSFODNN7EXAMPLE"),
                                     "secretAccessKey": Value("wJalr", secret=True),
                                     "sessionToken": Value("tok", secret=True)})})
    result = provider.open(inputs, CTX)
    assert plain_out(result) == {"accessKeyId": ("AKIAIOSFODNN7EXAMPLE", False), "secretAccessKey": ("wJalr", True),
                                 "sessionToken": ("tok", True)}
    assert provider.opened[-1]["cache_key"] is None and provider.opened[-1]["expiration"] is None


# --- oidc -----------------------------------------------------------------------------------------

def test_oidc_outputs_record_and_cache(fake_sts):
    provider = AwsLoginProvider()
    result = provider.open(oidc(duration="1h30m", policyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                                region="eu-west-1"), CTX)
    out = plain_out(result)
    assert out["accessKeyId"][0].startswith("ASIAFAKE") and out["accessKeyId"][1] is False
    assert out["secretAccessKey"][1] is True and out["sessionToken"][1] is True
    assert out["expiration"][1] is False and cache.parse_expiration(out["expiration"][0]) > time.time() + 5000
    (request,) = fake_sts.calls()
    assert request["form"]["DurationSeconds"] == "5400"
    record = provider.opened[-1]
    assert record["access_key_id"] == out["accessKeyId"][0]
    assert record["expiration"] == out["expiration"][0]
    assert record["account_id"] == ACCOUNT and record["path"] == "aws.login" and record["environment"] == "dev"
    assert record["region"] == "eu-west-1" and record["stale"] is False
    entry = cache.read_entry("creds", record["cache_key"])
    assert entry["role_arn"] == ROLE and entry["account_id"] == ACCOUNT
    assert entry["credentials"]["SecretAccessKey"] == out["secretAccessKey"][0]
    # a second open (even by a new provider, as a new process would) is a cache hit
    again = AwsLoginProvider().open(oidc(duration="1h30m", policyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                                         region="eu-west-1"), CTX)
    assert plain_out(again) == out and len(fake_sts.calls()) == 1


def test_key_covers_what_changes_the_result(fake_sts, monkeypatch):
    provider = AwsLoginProvider()
    variants = [
        {}, {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/other"}, {"sessionName": "other"}, {"duration": "2h"},
        {"policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}, {"region": "eu-west-1"},
        {"token": {"env": "OTHER_TOKEN"}},
    ]
    monkeypatch.setenv("OTHER_TOKEN", make_token())
    keys = set()
    for extra in variants:
        provider.open(oidc(**extra), CTX)
        keys.add(provider.opened[-1]["cache_key"])
    assert len(keys) == len(variants) == len(fake_sts.calls())
    other_env = OpenContext(environment="prod", root_environment="prod", path="aws.login", exec_context=CTX.exec_context)
    provider.open(oidc(), other_env)
    assert provider.opened[-1]["cache_key"] not in keys
    # whose token it is, is part of the key: another token is another entry (and one STS call),
    # while the same token again reuses the first entry
    first_token = os.environ["TEST_OIDC_TOKEN"]
    monkeypatch.setenv("TEST_OIDC_TOKEN", make_token(sub="rotated"))
    provider.open(oidc(), CTX)
    assert provider.opened[-1]["cache_key"] not in keys | {provider.opened[-2]["cache_key"]}
    assert len(fake_sts.calls()) == len(variants) + 2
    monkeypatch.setenv("TEST_OIDC_TOKEN", first_token)
    provider.open(oidc(), CTX)
    assert provider.opened[-1]["cache_key"] == provider.opened[0]["cache_key"]
    assert len(fake_sts.calls()) == len(variants) + 2


def _age_entry(key, seconds_left):
    entry = cache.read_entry("creds", key)
    entry["expiration"] = cache.format_expiration(time.time() + seconds_left)
    cache.write_entry("creds", key, entry)
    return entry


def test_refresh_margin(fake_sts):
    provider = AwsLoginProvider()
    provider.open(oidc(), CTX)
    key = provider.opened[-1]["cache_key"]
    _age_entry(key, 21 * 60)
    provider.open(oidc(), CTX)
    assert len(fake_sts.calls()) == 1  # 21 minutes left: served from the cache
    _age_entry(key, 19 * 60)
    provider.open(oidc(), CTX)
    assert len(fake_sts.calls()) == 2  # 19 minutes left: refreshed
    assert cache.seconds_left(cache.read_entry("creds", key)) > 3000


def test_failed_refresh_serves_stale_keys_with_backoff(fake_sts):
    provider = AwsLoginProvider()
    first = plain_out(provider.open(oidc(), CTX))
    key = provider.opened[-1]["cache_key"]
    _age_entry(key, 15 * 60)
    fake_sts.fail(403, "AccessDenied", "nope")
    served = plain_out(provider.open(oidc(), CTX))
    assert served["accessKeyId"] == first["accessKeyId"] and provider.opened[-1]["stale"] is True
    backoff = cache.read_entry("creds", key)["backoff_until"]
    assert time.time() + 290 <= backoff <= time.time() + 610
    provider.open(oidc(), CTX)  # backing off: no STS call at all
    assert len(fake_sts.calls()) == 2


def test_failed_refresh_without_usable_keys_raises(fake_sts):
    provider = AwsLoginProvider()
    provider.open(oidc(), CTX)
    _age_entry(provider.opened[-1]["cache_key"], 5 * 60)  # under SERVE_STALE_MIN_SECONDS
    fake_sts.fail(403, "AccessDenied", "nope")
    with pytest.raises(StsRefused, match=f"AccessDenied.*{ROLE}|{ROLE}.*AccessDenied"):
        provider.open(oidc(), CTX)


def test_bad_token_never_reaches_sts(fake_sts, monkeypatch):
    token = make_token(exp=int(time.time()) - 3600)
    monkeypatch.setenv("TEST_OIDC_TOKEN", token)
    with pytest.raises(TokenError, match="environment variable TEST_OIDC_TOKEN has expired") as info:
        AwsLoginProvider().open(oidc(), CTX)
    assert token not in str(info.value) and fake_sts.requests == []


def test_expiration_comes_from_sts_not_from_duration():
    import datetime

    sts_expiration = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(minutes=50)

    class Client:
        def assume_role_with_web_identity(self, **request):
            return {"Credentials": {"AccessKeyId": "ASIAINJECTED", "SecretAccessKey": "s", "SessionToken": "t",
                                    "Expiration": sts_expiration},
                    "AssumedRoleUser": {"Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/esc-dev/dev"}}

    import os
    os.environ["TEST_OIDC_TOKEN"] = make_token()
    try:
        provider = AwsLoginProvider(sts_client_factory=lambda region: Client())
        result = plain_out(provider.open(oidc(duration="2h"), CTX))
    finally:
        del os.environ["TEST_OIDC_TOKEN"]
    assert result["expiration"][0] == sts_expiration.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_local_issuer_subject_attributes_reach_sts(fake_sts):
    from credproc.identity import issuer

    issuer.init("https://oidc.example.com/credproc")
    block = {"roleArn": ROLE, "sessionName": "dev", "subjectAttributes": ["pulumi.user.login", "rootEnvironment.name"]}
    AwsLoginProvider().open(value({"oidc": block}), CTX)
    token = fake_sts.calls()[-1]["form"]["WebIdentityToken"]
    payload = jwt.verify_rs256(token, issuer.load().jwks())
    assert payload["sub"] == "credproc:org:acme:env:default/dev:pulumi.user.login:alice:rootEnvironment.name:default/dev"
    assert payload["iss"] == "https://oidc.example.com/credproc" and payload["aud"] == "sts.amazonaws.com"
    assert payload["org"] == "acme" and payload["current_env"] == "default/dev"


def _hold_lock(key):
    """A separate process holding the refresh lock (flock) for `key` until killed."""
    import subprocess
    import sys

    from credproc import lock

    path = lock.lock_path(key)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(60)"), path], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="flock holder needs POSIX")
def test_lock_timeout_serves_keys_with_time_left_else_raises(fake_sts, monkeypatch):
    from credproc.errors import LockTimeout

    provider = AwsLoginProvider()
    first = plain_out(provider.open(oidc(), CTX))
    key = provider.opened[-1]["cache_key"]
    monkeypatch.setenv("CREDPROC_LOCK_TIMEOUT", "0.3")
    holder = _hold_lock(key)
    try:
        _age_entry(key, 15 * 60)  # inside the margin, but > 10 minutes: the slow holder's keys will do
        assert plain_out(provider.open(oidc(), CTX))["accessKeyId"] == first["accessKeyId"]
        _age_entry(key, 5 * 60)
        with pytest.raises(LockTimeout, match="waiting for another credproc to refresh credentials for acme/dev"):
            provider.open(oidc(), CTX)
    finally:
        holder.kill()
        holder.wait()
    assert len(fake_sts.calls()) == 1
    provider.open(oidc(), CTX)  # holder gone (SIGKILL released the lock): refreshes at once
    assert len(fake_sts.calls()) == 2
