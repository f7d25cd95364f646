"""The login flows end to end against the real oidc-provider server on 127.0.0.1 and moto's STS:
`credproc login` (browser with PKCE, device code), `credproc process` with silent refresh, revocation,
and the refusals of a tampered redirect."""
import json
import os
import re
import stat
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import pytest

from loginhelp import (ACCOUNT, REF, SESSION, Person, browser_login, expire_tokens_and_credentials, grants,
                       process_json, run_credproc, saved_login, start_credproc, write_login_env)

pytestmark = pytest.mark.timeout(120)



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
    # What was kept is private, and no secret was shown.
    from credproc import cache
    from credproc.identity.tokens import login as login_source

    [(key, entry)] = cache.list_entries(login_source.CACHE_KIND)
    token_file = cache.entry_path(login_source.CACHE_KIND, key)
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(token_file)).st_mode) == 0o700
    record = saved_login(oidc_server.issuer)
    for secret in (record["refresh_token"], entry["token"], entry["token"].split(".")[1]):
        assert secret not in stderr


def test_login_for_an_environment_without_a_login_source(oidc_server, login_env):
    from credproc.store.store import Store, parse_name

    Store().write(parse_name("acme/plain"), b"values:\n  greeting: hello\n")
    done = run_credproc("login", "acme/plain")
    assert done.returncode == 2
    assert done.stderr.strip() == ("credproc: acme/plain has no interactive login token source (oidc.token.login); "
                                   "nothing to log in to")


def logged_in(oidc_server, ref=REF, **login):
    write_login_env(ref, oidc_server.issuer, **login)
    code, stderr, _url = browser_login(ref)
    assert code == 0, stderr
    return stderr


# --- refresh, revocation, logout ---------------------------------------------------------------------

def test_silent_refresh_rotates_the_refresh_token(oidc_server, login_env, moto_server):
    logged_in(oidc_server)
    first = saved_login(oidc_server.issuer)
    expire_tokens_and_credentials()
    mark = oidc_server.mark()
    answer = process_json()
    assert grants(oidc_server.token_calls(mark)) == [("token", "refresh_token", 200, None)]
    assert caller_arn(moto_server, answer).endswith(f"assumed-role/esc-dev/{SESSION}")
    second = saved_login(oidc_server.issuer)
    assert second["refresh_token"] != first["refresh_token"]  # rotated, and the new one was kept
    assert second["sub"] == "alice"
    # The rotated token works for the next refresh too.
    expire_tokens_and_credentials()
    process_json()
    assert grants(oidc_server.token_calls(mark))[-1] == ("token", "refresh_token", 200, None)


def test_revoked_refresh_token_means_login_required(oidc_server, login_env):
    import urllib.request

    logged_in(oidc_server)
    record = saved_login(oidc_server.issuer)
    revocation = oidc_server.discovery["revocation_endpoint"]
    body = urllib.parse.urlencode({"token": record["refresh_token"], "client_id": "credproc-test",
                                   "token_type_hint": "refresh_token"}).encode()
    urllib.request.urlopen(urllib.request.Request(revocation, data=body), timeout=5).read()
    expire_tokens_and_credentials()
    mark = oidc_server.mark()
    done = run_credproc("process", REF)
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    first_line = done.stderr.splitlines()[0]
    assert first_line == (f"credproc: login required for {REF}: the saved login for {oidc_server.issuer} has "
                          f"expired or was revoked (hint: credproc login {REF})")
    assert grants(oidc_server.token_calls(mark)) == [("token", "refresh_token", 400, "invalid_grant")]
    assert saved_login(oidc_server.issuer) is None  # a dead refresh token is forgotten
    # ... so the next call fails without asking the server again.
    again = run_credproc("process", REF)
    assert again.returncode == 3 and "no saved login" in again.stderr
    assert len(oidc_server.token_calls(mark)) == 1


def test_logout_revokes_at_the_server_and_forgets(oidc_server, login_env):
    logged_in(oidc_server)
    process_json()
    record = saved_login(oidc_server.issuer)
    mark = oidc_server.mark()
    done = run_credproc("logout", REF)
    assert done.returncode == 0, done.stderr
    assert f"Logged out of {oidc_server.issuer} (credproc-test): saved login revoked at the server and forgotten." \
        in done.stderr
    assert grants(oidc_server.token_calls(mark)) == [("revocation", None, 200, None)]
    assert saved_login(oidc_server.issuer) is None
    # The revoked token is dead at the server (not merely forgotten here).
    import urllib.request
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": record["refresh_token"],
                                   "client_id": "credproc-test"}).encode()
    try:
        urllib.request.urlopen(urllib.request.Request(oidc_server.discovery["token_endpoint"], data=body), timeout=5)
        raise AssertionError("the revoked refresh token still works")
    except urllib.error.HTTPError as err:
        assert json.loads(err.read())["error"] == "invalid_grant"
    # No cached token or STS keys survive a logout.
    done = run_credproc("process", REF)
    assert done.returncode == 3 and f"hint: credproc login {REF}" in done.stderr
    assert run_credproc("logout", REF).stderr.strip() == f"Not logged in to {oidc_server.issuer} (credproc-test)."


def test_logout_all(oidc_server, login_env):
    logged_in(oidc_server)
    done = run_credproc("logout", "--all")
    assert done.returncode == 0, done.stderr
    assert "revoked at the server and forgotten" in done.stderr
    assert saved_login(oidc_server.issuer) is None
    assert run_credproc("process", REF).returncode == 3
    assert "Not logged in anywhere" in run_credproc("logout", "--all").stderr


def test_confidential_client_secret_from_the_environment(oidc_server, login_env, monkeypatch):
    from loginhelp import CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET

    monkeypatch.setenv("TEST_CLIENT_SECRET", CONFIDENTIAL_SECRET)
    logged_in(oidc_server, clientId=CONFIDENTIAL_CLIENT, clientSecretEnv="TEST_CLIENT_SECRET")
    expire_tokens_and_credentials()
    mark = oidc_server.mark()
    process_json()
    assert grants(oidc_server.token_calls(mark)) == [("token", "refresh_token", 200, None)]
    monkeypatch.setenv("TEST_CLIENT_SECRET", "wrong-secret")
    expire_tokens_and_credentials()
    done = run_credproc("process", REF)
    assert done.returncode == 4, done.stderr
    assert "invalid_client" in done.stderr and "wrong-secret" not in done.stderr


# --- refusals of a tampered login ---------------------------------------------------------------------

def test_state_mismatch_is_refused(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer)
    mark = oidc_server.mark()

    def forge_state(callback):
        parts = urllib.parse.urlsplit(callback)
        query = dict(urllib.parse.parse_qsl(parts.query))
        query["state"] = "forged-" + query["state"]
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    code, stderr, _ = browser_login(tamper=forge_state)
    assert code == 4
    assert "credproc: the login redirect carried the wrong `state`" in stderr
    assert oidc_server.token_calls(mark) == []  # the code was never redeemed
    assert saved_login(oidc_server.issuer) is None


def test_nonce_mismatch_is_refused(oidc_server, login_env):
    """The person's browser is made to send another nonce than credproc's: the server then signs an
    ID token with that nonce, which credproc must refuse."""
    write_login_env(REF, oidc_server.issuer)
    proc = start_credproc("login", REF, "--no-browser", "--timeout", "30")
    url = proc.wait_line(lambda line: line.startswith("http"))
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["nonce"] = "substituted-nonce"
    Person().authorize(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))))
    code, _out, stderr = proc.finish()
    assert code == 4, stderr
    assert f"credproc: the ID token from {oidc_server.issuer} has the wrong `nonce`" in stderr
    assert saved_login(oidc_server.issuer) is None


def test_inline_client_secret_is_refused(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer, clientSecret="s3cr3t-in-yaml")
    done = run_credproc("login", REF)
    assert done.returncode == 2
    assert "clientSecret must not be written in an environment" in done.stderr
    assert "s3cr3t-in-yaml" not in done.stderr


# --- fast failure without a login -------------------------------------------------------------------

@pytest.mark.parametrize("store", ["file", "auto"])
def test_process_without_a_login_fails_fast(oidc_server, login_env, monkeypatch, store):
    if store == "auto":  # the OS keyring is looked at too (keyring imported, its backends probed)
        monkeypatch.delenv("CREDPROC_TOKEN_STORE")
    write_login_env(REF, oidc_server.issuer)
    mark = oidc_server.mark()
    for args in ((), ("--auto-login",)):  # --auto-login without a terminal cannot log in either
        started = time.monotonic()
        done = run_credproc("process", REF, *args)
        elapsed = time.monotonic() - started
        assert done.returncode == 3, done.stderr
        assert done.stdout == ""
        assert done.stderr.splitlines()[0] == (
            f"credproc: login required for {REF}: no saved login for {oidc_server.issuer} "
            f"(hint: credproc login {REF})")
        assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert oidc_server.token_calls(mark) == []


def test_process_does_not_wait_for_a_login_in_progress(oidc_server, login_env):
    """While `credproc login` waits for the person (holding the identity lock), a non-interactive
    `credproc process` says so at once instead of waiting."""
    write_login_env(REF, oidc_server.issuer)
    proc = start_credproc("login", REF, "--no-browser", "--timeout", "30")
    try:
        url = proc.wait_line(lambda line: line.startswith("http"))
        started = time.monotonic()
        done = run_credproc("process", REF)
        assert time.monotonic() - started < 1.5
        assert done.returncode == 3
        assert "is in progress in another terminal" in done.stderr
        Person().authorize(url)
        assert proc.finish()[0] == 0
        process_json()
    finally:
        proc.kill()


def test_access_token_for_a_resource(oidc_server, login_env, moto_server):
    """use: access_token with an audience: the resource indicator is sent, and the JWT access token
    (aud = the resource) is validated against the JWKS and handed to STS; refresh keeps it working."""
    write_login_env(REF, oidc_server.issuer, use="access_token", audience="urn:credproc:test-api",
                    scopes=["openid", "offline_access", "credproc"])
    code, stderr, url = browser_login()
    assert code == 0, stderr
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["resource"] == "urn:credproc:test-api"
    from credproc import cache
    from credproc.identity import jwt
    from credproc.identity.tokens import login as login_source

    [(_key, entry)] = cache.list_entries(login_source.CACHE_KIND)
    assert entry["use"] == "access_token"
    _header, claims = jwt.decode_unverified(entry["token"])
    assert claims["aud"] == "urn:credproc:test-api" and claims["iss"] == oidc_server.issuer
    assert caller_arn(moto_server, process_json()).endswith(f"assumed-role/esc-dev/{SESSION}")
    expire_tokens_and_credentials()
    mark = oidc_server.mark()
    process_json()
    assert grants(oidc_server.token_calls(mark)) == [("token", "refresh_token", 200, None)]


def test_an_issuer_that_is_not_exactly_the_servers_is_refused(oidc_server, login_env):
    """OIDC Discovery §4.3: the document must name exactly the configured issuer."""
    write_login_env(REF, oidc_server.issuer + "/")
    done = run_credproc("login", REF, "--no-browser")
    assert done.returncode == 4
    assert done.stderr.splitlines()[0] == (
        f"credproc: the OpenID discovery document at {oidc_server.issuer}/.well-known/openid-configuration names "
        f"the issuer {oidc_server.issuer!r}, not {oidc_server.issuer + '/'!r} (hint: set oidc.token.login.issuer "
        "to exactly the issuer it names)")


def test_an_unreachable_issuer_is_a_transient_error(login_env):
    write_login_env(REF, "http://127.0.0.1:9")
    done = run_credproc("login", REF, "--device")
    assert done.returncode == 6
    assert done.stderr.startswith("credproc: cannot reach the OpenID discovery document at "
                                  "http://127.0.0.1:9/.well-known/openid-configuration")


def test_file_store_warning_is_shown_once(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer)
    code, first, _ = browser_login()
    assert code == 0, first
    path = os.path.join(os.environ["CREDPROC_CONFIG_DIR"], "logins")
    assert f"credproc: warning: no usable OS keyring: the refresh token is kept in {path}/" in first
    assert f"refresh token kept in {path}/" in first
    code, second, _ = browser_login()
    assert code == 0 and "credproc: warning" not in second


def test_person_cancels_the_browser_login(oidc_server, login_env):
    """The person aborts at the identity provider: the redirect carries error=access_denied."""
    write_login_env(REF, oidc_server.issuer)
    proc = start_credproc("login", REF, "--no-browser", "--timeout", "30")
    try:
        url = proc.wait_line(lambda line: line.startswith("http"))
        person = Person()
        interaction = person.walk(url, stop=lambda target: "/interaction/" in target)
        callback = person.walk(interaction + "/abort", stop=lambda target: urllib.parse.urlsplit(target).path == "/callback")
        assert "error=access_denied" in callback
        try:
            urllib.request.urlopen(callback, timeout=10)
        except urllib.error.HTTPError as err:
            assert err.code == 400
        code, _out, stderr = proc.finish()
    finally:
        proc.kill()
    assert code == 4
    assert "credproc: the login was not completed: access_denied (End-User aborted interaction)" in stderr
    assert saved_login(oidc_server.issuer) is None


def test_login_opens_the_browser(oidc_server, login_env, monkeypatch, tmp_path):
    """flow: browser: the authorization URL is printed *and* opened with the user's browser
    (webbrowser, here $BROWSER = a script that logs in like a person would). (flow: auto would
    pick the device flow here: this machine is a container.)"""
    import sys

    log = tmp_path / "browser.log"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\nexec {sys.executable} {os.path.join(os.path.dirname(__file__), 'fake_browser.py')} \"$1\"\n")
    browser.chmod(0o700)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("BROWSER", str(browser))
    monkeypatch.setenv("FAKE_BROWSER_LOG", str(log))
    write_login_env(REF, oidc_server.issuer, flow="browser")
    done = run_credproc("login", REF)
    assert done.returncode == 0, done.stderr
    printed = [line for line in done.stderr.splitlines() if line.startswith("http")]
    assert "Log in at this URL (opening it in your browser):" in done.stderr
    opened = log.read_text().splitlines()
    assert opened[0] == f"opened {printed[0]}"
    if opened[1] != "stdout ?":
        assert opened[1] == "stdout /dev/null"  # the browser never holds credproc's stdout
    assert f"Logged in to {oidc_server.issuer} as 'carol'" in done.stderr


def test_a_new_login_replaces_the_cached_credentials(oidc_server, login_env):
    """Logging in again (say as another person) must not leave the previous login's STS keys in use."""
    write_login_env(REF, oidc_server.issuer)
    assert browser_login(person=Person("alice"))[0] == 0
    first = process_json()
    assert process_json() == first  # served from the cache
    code, stderr, _ = browser_login(person=Person("bob"))
    assert code == 0 and "as 'bob'" in stderr
    second = process_json()
    assert second["AccessKeyId"] != first["AccessKeyId"]
    assert saved_login(oidc_server.issuer)["sub"] == "bob"
