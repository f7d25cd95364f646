"""`env check` refuses, up front, the aws-login inputs that `process` would refuse, saying what is
expected: a roleArn that is not a role ARN (shown as arn:aws:iam::123456789012:role/NAME), a policy
ARN that is not one, a duration above 12h (issue 11 §3)."""
import pytest

from support.runner import run_credproc
from support.store import define

HEAD = "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n          sessionName: s1\n"
GOOD_ROLE = "          roleArn: arn:aws:iam::123456789012:role/esc-dev\n"


@pytest.mark.parametrize("extra,says", [
    ("          roleArn: x\n",
     "`oidc.roleArn` must be an IAM role ARN such as arn:aws:iam::123456789012:role/NAME (12-digit account id), got 'x'"),
    ("          roleArn: arn:aws:iam::1234:role/too-short-account\n", "must be an IAM role ARN such as"),
    ("          roleArn: arn:aws:iam::123456789012:user/alice\n", "must be an IAM role ARN such as"),
    (GOOD_ROLE + "          policyArns: [ReadOnlyAccess]\n",
     "`oidc.policyArns` entries must be IAM policy ARNs such as arn:aws:iam::aws:policy/ReadOnlyAccess"),
    (GOOD_ROLE + "          duration: 48h\n", "oidc.duration 48h is above STS's maximum of 12h"),
])
def test_env_check_and_process_say_what_is_expected(isolated_env, extra, says):
    define(isolated_env, HEAD + extra)
    checked = run_credproc("env", "check", "acme/dev")
    assert checked.code == 2 and says in checked.stderr, checked
    assert "at least length 20" not in checked.stderr
    processed = run_credproc("process", "acme/dev")  # the same sentence, before any token or STS call
    assert processed.code == 2 and says in processed.stderr, processed


@pytest.mark.parametrize("role", ["arn:aws:iam::123456789012:role/esc-dev",
                                  "arn:aws-us-gov:iam::123456789012:role/path/to/deployer"])
def test_role_arns_of_every_shape_pass(isolated_env, role):
    define(isolated_env, HEAD + f"          roleArn: {role}\n          policyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]\n")
    checked = run_credproc("env", "check", "acme/dev")
    assert checked.code == 0, checked
