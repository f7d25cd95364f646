"""A person at a terminal: what used to wait in silence, lie in the browser or give hints that do not
work when pasted (against the real OIDC server on 127.0.0.1)."""
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from loginhelp import REF, Person, run_credproc, start_credproc, write_login_env

pytestmark = pytest.mark.timeout(120)


def test_a_wrong_client_id_fails_at_once_instead_of_waiting_for_the_timeout(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer, clientId="no-such-client", flow="browser")
    started = time.monotonic()
    done = run_credproc("login", REF, "--no-browser")
    assert time.monotonic() - started < 20  # the default wait is 120 s
    assert done.returncode == 4, done.stderr
    assert "the identity provider refused the login request (HTTP 400)" in done.stderr
    assert f"credproc login {REF} --device" in done.stderr
    assert "http" not in done.stderr.split("refused")[0]  # no URL was offered to a person first


def test_the_browser_page_tells_the_truth_about_a_failed_exchange(oidc_server, login_env, monkeypatch):
    from loginhelp import CONFIDENTIAL_CLIENT

    monkeypatch.setenv("TEST_CLIENT_SECRET", "the-wrong-secret")
    write_login_env(REF, oidc_server.issuer, clientId=CONFIDENTIAL_CLIENT, clientSecretEnv="TEST_CLIENT_SECRET")
    proc = start_credproc("login", REF, "--no-browser", "--timeout", "30")
    try:
        url = proc.wait_line(lambda line: line.startswith("http"))
        callback = Person().walk(url, stop=lambda target: urllib.parse.urlsplit(target).path == "/callback")
        try:
            page = urllib.request.urlopen(callback, timeout=30).read().decode()
        except urllib.error.HTTPError as err:
            page = err.read().decode()
        code, _out, stderr = proc.finish()
    finally:
        proc.kill()
    assert code == 4 and "invalid_client" in stderr, stderr
    assert "<h2>Login failed</h2>" in page and "Logged in" not in page
    assert "invalid_client" in page and "the-wrong-secret" not in page


def test_no_graphical_browser_is_said_with_the_device_alternative_and_a_countdown(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer, flow="browser")
    done = run_credproc("login", REF, "--timeout", "4")  # DISPLAY and BROWSER are unset here
    assert done.returncode == 4
    lines = done.stderr.splitlines()
    assert lines[0].startswith("No graphical browser here (no DISPLAY or WAYLAND_DISPLAY)")
    assert f"`credproc login {REF} --device`" in lines[0]
    assert any(line.startswith("Still waiting for the login in the browser: ") and "s left" in line for line in lines)
    assert lines[-1] == (f"credproc: no login arrived at the redirect listener within 4s (hint: run `credproc login "
                         f"{REF}` again, or `credproc login {REF} --device` on a machine without a browser)")


def test_a_second_login_is_told_another_is_in_progress(oidc_server, login_env):
    write_login_env(REF, oidc_server.issuer, flow="browser")
    first = start_credproc("login", REF, "--no-browser", "--timeout", "30")
    try:
        first.wait_line(lambda line: line.startswith("http"))
        started = time.monotonic()
        second = run_credproc("login", REF, "--no-browser")
        assert time.monotonic() - started < 10
    finally:
        first.kill()
    assert second.returncode == 3
    assert f"another login for {REF} is already in progress in another terminal" in second.stderr
    assert f"run `credproc login {REF}`" not in second.stderr  # not told to run what it just ran


def test_login_on_an_environment_without_a_login_source_does_not_talk_about_the_issuer(login_env, isolated_env):
    from credproc.store.store import Store, parse_name

    text = ("values:\n  aws:\n    fn::open::aws-login:\n      oidc:\n"
            "        roleArn: arn:aws:iam::123456789012:role/esc-dev\n        sessionName: s1\n")
    Store().write(parse_name(REF), text.encode())
    done = run_credproc("login", REF)
    assert done.returncode == 2
    assert "has no interactive login token source" in done.stderr and "issuer init" not in done.stderr


def test_a_tampered_state_says_which_command_to_run_again(oidc_server, login_env):
    from loginhelp import browser_login

    write_login_env(REF, oidc_server.issuer)

    def tamper(url):
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        query["state"] = "forged"
        return parts._replace(query=urllib.parse.urlencode(query)).geturl()

    code, stderr, _ = browser_login(REF, tamper=tamper)
    assert code == 4 and f"(hint: run `credproc login {REF}` again)" in stderr
