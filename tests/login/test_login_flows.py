"""The login flows end to end against the real oidc-provider server on 127.0.0.1 and moto's STS:
`credproc login` (browser with PKCE, device code), `credproc process` with silent refresh, revocation,
and the refusals of a tampered redirect."""
import json
import re
import time
import urllib.parse

import boto3
import pytest

from loginhelp import (ACCOUNT, SESSION, Person, read_until, run_credproc, start_credproc, write_login_env)

pytestmark = pytest.mark.timeout(120)

REF = "acme/dev"


def browser_login(ref=REF, person=None, tamper=None, extra_args=()):
    """`credproc login REF --no-browser`, with a person driving the printed URL -> (exit code, stderr)."""
    proc = start_credproc("login", ref, "--no-browser", "--timeout", "30", *extra_args)
    url, _ = read_until(proc.stderr, lambda line: line.startswith("http"))
    (person or Person()).authorize(url, tamper=tamper)
    _out, rest = proc.communicate(timeout=30)
    return proc.returncode, rest, url


def process_json(ref=REF, *args):
    done = run_credproc("process", ref, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def caller_arn(endpoint, answer):
    client = boto3.Session(aws_access_key_id=answer["AccessKeyId"], aws_secret_access_key=answer["SecretAccessKey"],
                           aws_session_token=answer["SessionToken"], region_name="us-east-1").client(
        "sts", endpoint_url=endpoint)
    return client.get_caller_identity()["Arn"]


def test_browser_login_then_process_reaches_sts(oidc_server, login_env, moto_server):
    write_login_env(REF, oidc_server.issuer)
    mark = oidc_server.mark()
    code, stderr, url = browser_login()
    assert code == 0, stderr
    assert "Logged in to " + oidc_server.issuer in stderr and "'alice'" in stderr
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", query["redirect_uri"])
    assert query["state"] and query["nonce"]
    calls = oidc_server.token_calls(mark)
    assert [(c["grant_type"], c["status"]) for c in calls] == [("authorization_code", 200)]

    answer = process_json()
    assert caller_arn(moto_server, answer) == f"arn:aws:sts::{ACCOUNT}:assumed-role/esc-dev/{SESSION}"
    # The cached ID token served STS: no refresh was needed.
    assert len(oidc_server.token_calls(mark)) == 1
