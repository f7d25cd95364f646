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
    from credproc import tokenstore
    from credproc.tokens.login import LoginConfig

    both_logged_in(oidc_server)
    first = process_json(REF)
    key = LoginConfig({"issuer": oidc_server.issuer, "clientId": "credproc-test"}).identity_key()
    tokenstore.forget(key)
    assert process_json(REF)["AccessKeyId"] != first["AccessKeyId"]
