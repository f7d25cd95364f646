"""`env check` (and `env set`) refuse broken `login:` blocks and other aws-login inputs that used to
pass the check and fail only at `process` (the same rules as the token source itself and `doctor`)."""
import os
import subprocess
import sys

import pytest

from support.store import define

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")
HEAD = ("values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n"
        "          roleArn: arn:aws:iam::123456789012:role/esc-dev\n          sessionName: s1\n")
LOGIN = "          token:\n            login:\n"


def credproc(*args, stdin=None):
    return subprocess.run([CREDPROC, *args], capture_output=True, text=True, timeout=60, input=stdin)


def login_block(**fields):
    fields = {"issuer": "https://login.example.com", "clientId": "credproc", **fields}
    return HEAD + LOGIN + "".join(f"              {k}: {v}\n" for k, v in fields.items())


@pytest.mark.parametrize("text,says", [
    (login_block(flow="broswer"), "oidc.token.login.flow must be one of auto, browser, device, got 'broswer'"),
    (login_block(clientid="x"), "unknown key `clientid` in oidc.token.login"),
    (login_block(issuer="http://login.example.com"), "oidc.token.login.issuer must be an https URL"),
    (login_block(scopes="[profile, offline_access]"), "must include `openid`"),
    (login_block(clientSecret="s3cr3t-value"), "clientSecret must not be written in an environment"),
    (HEAD + "          duration: 48h\n", "oidc.duration 48h is above STS's maximum of 12h"),
    (HEAD + "          token: {env: 'not a name'}\n", "oidc.token.env must be an environment variable name"),
    (HEAD + "          token: {kerberos: x}\n", "unknown token source kind 'kerberos'"),
])
def test_env_check_refuses_what_process_would_refuse(isolated_env, text, says):
    define(isolated_env, text)
    checked = credproc("env", "check", "acme/dev")
    assert checked.returncode == 2, checked.stderr
    assert says in checked.stderr
    assert "s3cr3t-value" not in checked.stderr  # an inline secret is named, never printed


def test_a_good_login_block_passes(isolated_env):
    define(isolated_env, login_block(flow="device", scopes="[openid, offline_access]"))
    checked = credproc("env", "check", "acme/dev")
    assert checked.returncode == 0, checked.stderr


def test_env_set_refuses_to_write_a_broken_login_block(isolated_env):
    path = define(isolated_env, login_block())
    before = path.read_bytes()
    done = credproc("env", "set", "acme/dev", "aws.login.fn::open::aws-login.oidc.token.login.flow", "broswer")
    assert done.returncode == 2, done.stderr
    assert "flow must be one of auto, browser, device" in done.stderr
    assert path.read_bytes() == before
