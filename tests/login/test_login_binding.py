"""Answers made from a login belong to that login: a new login or a logout ends them everywhere
(every environment that shares the identity provider client), against the real OIDC server."""
import pytest

from loginhelp import REF, Person, browser_login, process_json, run_credproc, write_login_env

pytestmark = pytest.mark.timeout(120)
OTHER = "acme/other"


def both_logged_in(oidc_server, person="alice"):
    write_login_env(REF, oidc_server.issuer)
    write_login_env(OTHER, oidc_server.issuer)
    code, stderr, _ = browser_login(REF, person=Person(person))
    assert code == 0, stderr


def entries():
    from credproc import cache

    return {kind: len(cache.list_entries(kind)) for kind in ("creds", "env")}


def test_logout_of_one_environment_ends_every_answer_made_from_that_login(oidc_server, login_env):
    both_logged_in(oidc_server)
    process_json(REF)
    process_json(OTHER)  # the same login serves the other environment
    assert entries() == {"creds": 2, "env": 2}
    done = run_credproc("logout", REF)
    assert done.returncode == 0, done.stderr
    assert entries() == {"creds": 0, "env": 0}  # nothing derived from the login is left on disk
    for ref in (REF, OTHER):
        refused = run_credproc("process", ref)
        assert refused.returncode == 3 and not refused.stdout, refused.stderr


def test_logout_all_ends_them_too(oidc_server, login_env):
    both_logged_in(oidc_server)
    process_json(REF)
    process_json(OTHER)
    assert run_credproc("logout", "--all").returncode == 0
    assert entries() == {"creds": 0, "env": 0}
    assert run_credproc("process", OTHER).returncode == 3


def test_a_new_login_as_someone_else_never_gets_the_previous_logins_keys(oidc_server, login_env):
    both_logged_in(oidc_server, "alice")
    alices = process_json(REF)
    code, stderr, _ = browser_login(REF, person=Person("bob"))
    assert code == 0 and "'bob'" in stderr, stderr
    bobs = process_json(REF)
    assert bobs["AccessKeyId"] != alices["AccessKeyId"]
    assert process_json(OTHER)["AccessKeyId"] not in (alices["AccessKeyId"],)


def test_a_login_marker_removed_behind_credprocs_back_is_a_miss(oidc_server, login_env):
    # e.g. the saved login was found revoked and forgotten by a refresh in another process: the
    # answers made from it end (the still-valid cached ID token may make new ones)
    from credproc.identity import tokenstore
    from credproc.identity.tokens.login import LoginConfig

    both_logged_in(oidc_server)
    first = process_json(REF)
    key = LoginConfig({"issuer": oidc_server.issuer, "clientId": "credproc-test"}).identity_key()
    tokenstore.forget(key)
    assert process_json(REF)["AccessKeyId"] != first["AccessKeyId"]


# --- revocation -------------------------------------------------------------------------------------

def _refresh_token_works(oidc_server, refresh_token, client_id="credproc-test", secret=None) -> bool:
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if secret:
        form["client_secret"] = secret
    request = urllib.request.Request(oidc_server.discovery["token_endpoint"], data=urllib.parse.urlencode(form).encode())
    try:
        urllib.request.urlopen(request, timeout=5).read()
        return True
    except urllib.error.HTTPError as err:
        assert json.loads(err.read())["error"] == "invalid_grant"
        return False


def test_logout_all_revokes_a_confidential_clients_refresh_token(oidc_server, login_env, monkeypatch):
    from loginhelp import CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, grants, saved_login

    monkeypatch.setenv("TEST_CLIENT_SECRET", CONFIDENTIAL_SECRET)
    write_login_env(REF, oidc_server.issuer, clientId=CONFIDENTIAL_CLIENT, clientSecretEnv="TEST_CLIENT_SECRET")
    code, stderr, _ = browser_login(REF)
    assert code == 0, stderr
    record = saved_login(oidc_server.issuer, CONFIDENTIAL_CLIENT)
    mark = oidc_server.mark()
    done = run_credproc("logout", "--all")
    assert done.returncode == 0, done.stderr
    assert "saved login revoked at the server and forgotten" in done.stderr
    assert grants(oidc_server.token_calls(mark)) == [("revocation", None, 200, None)]
    assert not _refresh_token_works(oidc_server, record["refresh_token"], CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET)
    assert CONFIDENTIAL_SECRET not in done.stderr


def test_logout_all_says_what_stays_valid_when_revocation_fails(oidc_server, login_env, monkeypatch):
    from loginhelp import CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET

    monkeypatch.setenv("TEST_CLIENT_SECRET", CONFIDENTIAL_SECRET)
    write_login_env(REF, oidc_server.issuer, clientId=CONFIDENTIAL_CLIENT, clientSecretEnv="TEST_CLIENT_SECRET")
    assert browser_login(REF)[0] == 0
    monkeypatch.setenv("TEST_CLIENT_SECRET", "not-the-secret")
    done = run_credproc("logout", "--all")
    assert done.returncode == 0, done.stderr
    assert "NOT revoked at the server" in done.stderr and "stays valid there until it expires" in done.stderr
    assert "not-the-secret" not in done.stderr


def test_a_new_login_revokes_the_refresh_token_it_replaces(oidc_server, login_env):
    from loginhelp import saved_login

    write_login_env(REF, oidc_server.issuer)
    assert browser_login(REF, person=Person("alice"))[0] == 0
    first = saved_login(oidc_server.issuer)["refresh_token"]
    code, stderr, _ = browser_login(REF, person=Person("bob"))
    assert code == 0, stderr
    assert "The previous login's refresh token was revoked at the server." in stderr
    assert saved_login(oidc_server.issuer)["refresh_token"] != first
    assert not _refresh_token_works(oidc_server, first)
