"""fn::open::aws-assume-role end to end: the real `credproc` CLI, moto (127.0.0.1) as STS behind the
counting proxy, aws-login's keys chained into roles of other accounts."""
import pytest

from chainhelp import (
    AUDIT_ROLE, DEPLOY_ROLE, LOGIN, TOKEN_VARIABLE, caller_arn, chain_yaml, credproc, epoch, hop, make_token,
    open_json, variables_of,
)
from support.store import define
from support.stsproxy import StsProxy

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def sts(moto_server, monkeypatch):
    with StsProxy(moto_server) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.url)
        monkeypatch.setenv(TOKEN_VARIABLE, make_token())
        yield proxy


def test_chained_keys_belong_to_the_role_in_the_other_account(isolated_env, sts, moto_server):
    define(isolated_env, chain_yaml("        region: eu-west-1\n"), "acme/chain")
    document = open_json()
    deploy = document["aws"]["deploy"]
    assert caller_arn(moto_server, deploy) == "arn:aws:sts::210987654321:assumed-role/deploy/chain-deploy"
    assert document["environmentVariables"]["AWS_ACCESS_KEY_ID"] == deploy["accessKeyId"]
    assert deploy["accessKeyId"] != document["aws"]["login"]["accessKeyId"]
    assert deploy["region"] == "eu-west-1"
    assert epoch(deploy["expiration"]) <= epoch(document["aws"]["login"]["expiration"])


def test_assume_role_is_signed_with_the_login_keys_and_sends_the_inputs(isolated_env, sts):
    extra = ("        externalId: shared-secret-id\n        duration: 45m\n        sourceIdentity: alice\n"
             "        tags: {team: web}\n        transitiveTagKeys: [team]\n"
             "        policy: {Version: '2012-10-17', Statement: [{Effect: Allow, Action: 's3:*', Resource: '*'}]}\n")
    define(isolated_env, chain_yaml(extra), "acme/chain")
    document = open_json()
    sent = [body for body in sts.bodies if body.get("Action") == "AssumeRole"]
    assert len(sent) == 1
    assert sent[0]["RoleArn"] == DEPLOY_ROLE and sent[0]["RoleSessionName"] == "chain-deploy"
    assert sent[0]["ExternalId"] == "shared-secret-id" and sent[0]["DurationSeconds"] == "2700"
    assert sent[0]["SourceIdentity"] == "alice" and sent[0]["Tags.member.1.Key"] == "team"
    assert sent[0]["TransitiveTagKeys.member.1"] == "team" and '"s3:*"' in sent[0]["Policy"]
    assert document["aws"]["deploy"]["accessKeyId"]


def test_two_hops(isolated_env, sts, moto_server):
    text = ("values:\n  aws:\n" + LOGIN + hop("deploy", "aws.login", DEPLOY_ROLE, "hop-one")
            + hop("audit", "aws.deploy", AUDIT_ROLE, "hop-two") + variables_of("aws.audit"))
    define(isolated_env, text, "acme/chain")
    document = open_json()
    assert caller_arn(moto_server, document["aws"]["audit"]) == "arn:aws:sts::333344445555:assumed-role/audit/hop-two"
    assert epoch(document["aws"]["audit"]["expiration"]) <= epoch(document["aws"]["deploy"]["expiration"])


def test_second_open_is_served_from_the_cache(isolated_env, sts):
    define(isolated_env, chain_yaml(), "acme/chain")
    first = open_json()
    second = open_json()
    assert sts.count("AssumeRole") == 1
    assert second["aws"]["deploy"] == first["aws"]["deploy"]


def test_a_different_login_never_gets_the_cached_chained_keys(isolated_env, sts, monkeypatch):
    define(isolated_env, chain_yaml(), "acme/chain")
    first = open_json()
    monkeypatch.setenv(TOKEN_VARIABLE, make_token(sub="repo:acme/other"))  # another identity: another login
    second = open_json()
    assert second["aws"]["login"]["accessKeyId"] != first["aws"]["login"]["accessKeyId"]
    assert second["aws"]["deploy"]["accessKeyId"] != first["aws"]["deploy"]["accessKeyId"]
    assert sts.count("AssumeRole") == 2


def test_static_logins_are_kept_apart(isolated_env, sts):
    def static(key_id, secret):
        return ("values:\n  aws:\n    login:\n      fn::open::aws-login:\n        static:\n"
                f"          accessKeyId: {key_id}\n          secretAccessKey: {secret}\n"
                + hop("deploy", "aws.login", DEPLOY_ROLE, "static-hop") + variables_of("aws.deploy"))

    define(isolated_env, static("AKIAIOSFODNN7EXAMPLE", "first-secret"), "acme/chain")
    first = open_json()["aws"]["deploy"]
    define(isolated_env, static("AKIAIOSFODNN7EXAMPLE", "second-secret"), "acme/chain")  # same key id, other secret
    second = open_json()["aws"]["deploy"]
    assert second["accessKeyId"] != first["accessKeyId"]
    assert sts.count("AssumeRole") == 2


def test_expiration_is_never_later_than_the_logins(isolated_env, sts):
    import datetime

    limit = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = ("values:\n  aws:\n    deploy:\n      fn::open::aws-assume-role:\n        login:\n"
            "          accessKeyId: ASIAIOSFODNN7EXAMPLE\n          secretAccessKey: s3cr3t-login-key\n"
            f"          sessionToken: login-session-token\n          expiration: '{limit}'\n"
            f"        roleArn: {DEPLOY_ROLE}\n        sessionName: capped\n")
    define(isolated_env, text, "acme/chain")
    assert open_json()["aws"]["deploy"]["expiration"] == limit  # STS said 1h; the login ends in 40 minutes


def test_access_denied_names_the_role_and_the_login_and_no_secret(isolated_env, sts):
    from credtest import sts_error_xml

    define(isolated_env, chain_yaml(), "acme/chain")
    sts.queue("AssumeRole", ("status", 403, sts_error_xml("AccessDenied", "not authorized")))
    result = credproc("process", "acme/chain")
    login = open_json()["aws"]["login"]  # the login whose keys signed the refused call (cached by aws-login)
    assert result.returncode == 5
    assert f"STS denied assuming role {DEPLOY_ROLE} (AccessDenied) to " \
           "arn:aws:sts::123456789012:assumed-role/esc-dev/chain-login" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert login["secretAccessKey"] not in result.stderr and login["sessionToken"] not in result.stderr


def test_process_prints_the_chained_keys_with_their_expiration(isolated_env, sts):
    import json

    define(isolated_env, chain_yaml(), "acme/chain")
    result = credproc("process", "acme/chain")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    deploy = open_json()["aws"]["deploy"]
    assert answer["AccessKeyId"] == deploy["accessKeyId"]
    assert answer["Expiration"] == deploy["expiration"] and answer["AccountId"] == "210987654321"


def test_process_answers_a_new_login_with_new_chained_keys(isolated_env, sts, monkeypatch):
    import json

    define(isolated_env, chain_yaml(), "acme/chain")
    first = credproc("process", "acme/chain")
    again = credproc("process", "acme/chain")  # the cache: no second AssumeRole
    monkeypatch.setenv(TOKEN_VARIABLE, make_token(sub="repo:acme/other"))
    other = credproc("process", "acme/chain")
    assert first.returncode == again.returncode == other.returncode == 0, other.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert json.loads(other.stdout)["AccessKeyId"] != json.loads(first.stdout)["AccessKeyId"]
    assert sts.count("AssumeRole") == 2


def test_cache_clear_of_the_environment_removes_its_chained_keys(isolated_env, sts):
    define(isolated_env, chain_yaml(), "acme/chain")
    first = open_json()["aws"]["deploy"]
    listed = credproc("cache", "ls")
    assert DEPLOY_ROLE in listed.stdout and first["secretAccessKey"] not in listed.stdout
    assert credproc("cache", "clear", "acme/chain").returncode == 0
    assert open_json()["aws"]["deploy"]["accessKeyId"] != first["accessKeyId"]
    assert sts.count("AssumeRole") == 2
