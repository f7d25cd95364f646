"""`credproc issuer trust-policy` prints the subject the environment's logins will present; when the
local definition says otherwise (subjectAttributes not given with --subject-attribute, no login for
the cloud, no such environment) a policy that admits none of its tokens would be pasted, so it warns,
through the real command line."""
import json

import pytest

from support.runner import run_credproc
from support.store import define

pytestmark = pytest.mark.timeout(120)

WITH_ATTRIBUTES = """values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: arn:aws:iam::123456789012:role/esc-dev
          sessionName: dev
          subjectAttributes: [pulumi.user.login, currentEnvironment.name]
"""


@pytest.fixture
def issuer_ready(isolated_env):
    made = run_credproc("issuer", "init", "--url", "https://issuer.trust-test.invalid")
    assert made.code == 0, made.stderr
    return isolated_env


def trust(*args):
    return run_credproc("issuer", "trust-policy", *args, "--account", "123456789012")


def test_subject_attributes_of_the_definition_not_given_are_named(issuer_ready):
    define(issuer_ready, WITH_ATTRIBUTES, "acme/usr")
    bare = trust("acme/usr")
    assert bare.code == 0
    assert ("subjectAttributes [pulumi.user.login, currentEnvironment.name]" in bare.stderr
            and "--subject-attribute pulumi.user.login=VALUE --subject-attribute currentEnvironment.name=VALUE"
            in bare.stderr)
    given = trust("acme/usr", "--subject-attribute", "pulumi.user.login=alice",
                  "--subject-attribute", "currentEnvironment.name=usr")
    assert given.code == 0 and "warning" not in given.stderr
    sub = json.dumps(json.loads(given.stdout))
    assert "alice" in sub and "usr" in sub
    swapped = trust("acme/usr", "--subject-attribute", "currentEnvironment.name=usr",
                    "--subject-attribute", "pulumi.user.login=alice")
    assert "in that order" in swapped.stderr


def test_a_login_without_attributes_gets_no_warning(issuer_ready):
    define(issuer_ready, WITH_ATTRIBUTES.replace("          subjectAttributes: [pulumi.user.login, currentEnvironment.name]\n",
                                                 ""), "acme/dev")
    result = trust("acme/dev")
    assert result.code == 0 and result.stderr == ""


def test_a_missing_environment_or_login_of_another_cloud_is_said(issuer_ready):
    missing = trust("acme/nothere")
    assert missing.code == 0 and "acme/nothere is not in the local store" in missing.stderr
    define(issuer_ready, WITH_ATTRIBUTES, "acme/usr")
    azure = run_credproc("issuer", "trust-policy", "acme/usr", "--cloud", "azure")
    assert azure.code == 0 and "opens no fn::open::azure-login" in azure.stderr
