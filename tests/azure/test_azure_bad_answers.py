"""Entra ID answers credproc does not use (hostile review): an `expires_in` out of range or shorter than
the refresh margin, an access token with control characters, and an Entra that does not answer within
CREDPROC_REFRESH_TIMEOUT. Each is one line, exit 6 (a bad answer is an outage), and nothing is cached."""
import json

import pytest

from azurehelp import REF
from support.runner import assert_clean_failure, run_credproc


def _cached():
    from credproc import cache

    return cache.list_entries("azure")


def _bad(entra, document) -> "str":
    """`credproc run` with Entra answering ``document`` (HTTP 200): exit 6, one line, nothing cached."""
    entra.answer_next = [dict({"token_type": "Bearer"}, **document)]
    ran = run_credproc("run", REF, "--", "true")
    assert_clean_failure(ran, 6)
    lines = ran.stderr.splitlines()  # the diagnostic, then run's summary
    assert len(lines) == 2 and lines[1] == f"credproc: environment {REF} has 1 error; true was not run", ran
    assert "Traceback" not in ran.stderr and "time_t" not in ran.stderr
    assert _cached() == []
    assert len(entra.token_requests()) == 1  # a bad answer is not retried
    entra.requests.clear()
    return lines[0]


@pytest.mark.parametrize("expires_in", [100000000000000000000, "100000000000000000000", 86401, 0, -5])
def test_an_expires_in_outside_a_day_is_a_bad_answer(az_env, expires_in):
    err = _bad(az_env, {"access_token": "AZX-token-value", "expires_in": expires_in})
    assert "answered an expires_in of" in err and "outside 1..86400" in err, err
    assert "AZX-token-value" not in err


@pytest.mark.parametrize("token_type", ["pop", "PoP", "", 5])
def test_a_token_that_is_not_a_bearer_token_is_a_bad_answer(az_env, token_type):
    """A proof-of-possession token handed out as a bearer token would fail wherever it is used."""
    err = _bad(az_env, {"access_token": "AZX-token-value", "expires_in": 3600, "token_type": token_type})
    assert "answered a token_type other than Bearer" in err and "AZX-token-value" not in err, err


@pytest.mark.parametrize("expires_in", [1, 600, 1199])
def test_an_access_token_shorter_lived_than_the_refresh_margin_is_not_handed_out(az_env, expires_in):
    err = _bad(az_env, {"access_token": "AZX-token-value", "expires_in": expires_in})
    assert f"{REF} an access token valid for" in err and "less than the refresh margin of 1200s" in err, err
    assert "CREDPROC_REFRESH_MARGIN" in err


def test_the_refresh_margin_is_the_rule(az_env):
    az_env.answer_next = [{"access_token": "AZX-token-value", "expires_in": 17 * 60, "token_type": "Bearer"}]
    assert_clean_failure(run_credproc("run", REF, "--", "true"), 6)  # 17 minutes < the default 20
    az_env.answer_next = [{"access_token": "AZX-token-value", "expires_in": 17 * 60, "token_type": "Bearer"}]
    assert run_credproc("run", REF, "--", "true", CREDPROC_REFRESH_MARGIN="16").code == 0
    assert len(_cached()) == 1


def test_a_refused_short_token_serves_the_cached_one_with_time_left(az_env):
    from credproc import cache
    import time

    assert run_credproc("run", REF, "--", "true").code == 0
    (key, entry), = _cached()
    cache.write_entry("azure", key, dict(entry, expiration=cache.format_expiration(time.time() + 900)))
    az_env.answer_next = [{"access_token": "AZX-short", "expires_in": 1, "token_type": "Bearer"}]
    result = run_credproc("env", "open", REF, "--show-secrets")
    assert result.code == 0, result
    assert json.loads(result.stdout)["azure"]["login"]["accessToken"] == entry["access_token"]


@pytest.mark.parametrize("token", ["AZ\x1b]0;owned\x07X", "AZ\x00X", "AZ X", "AZ\u00e9X", "AZ\x1b[2J"])
def test_an_access_token_with_control_or_non_ascii_characters_is_a_bad_answer(az_env, token):
    err = _bad(az_env, {"access_token": token, "expires_in": 3600})
    assert "characters no bearer token holds" in err, err
    assert "\x1b" not in err and "\x00" not in err
    az_env.answer_next = [{"access_token": token, "expires_in": 3600, "token_type": "Bearer"}]
    shown = run_credproc("env", "open", REF, "--format", "shell", "--show-secrets")
    assert b"\x1b" not in shown.stdout and b"\x00" not in shown.stdout and token.encode() not in shown.stdout
    assert "\x1b" not in shown.stderr
    assert _cached() == []


def test_an_entra_that_does_not_answer_in_time_names_credproc_refresh_timeout(az_env):
    az_env.stalled.set()
    try:
        ran = run_credproc("run", REF, "--", "true", CREDPROC_REFRESH_TIMEOUT="2")
    finally:
        az_env.stalled.clear()
    assert_clean_failure(ran, 6)
    assert "took longer than 2s" in ran.stderr
    # the fix is in the message itself: diagnostics (what run prints) drop hints
    assert ("(the token source and Entra ID together; check the network and the token source, "
            "CREDPROC_REFRESH_TIMEOUT sets the limit)") in ran.stderr, ran
    assert _cached() == []


def test_a_cached_token_with_control_characters_is_not_served(az_env):
    """An entry an older credproc cached before answers were checked: a miss, exchanged again."""
    from credproc import cache

    assert run_credproc("run", REF, "--", "true").code == 0
    (key, entry), = _cached()
    cache.write_entry("azure", key, dict(entry, access_token="AZ\x1b]0;owned\x07X"))
    result = run_credproc("env", "open", REF, "--format", "shell", "--show-secrets")
    assert result.code == 0, result
    assert b"\x1b" not in result.stdout and az_env.issued[-1]["token"].encode() in result.stdout
    assert len(az_env.token_requests()) == 2
