"""STS faults through the counting, fault-injecting proxy: for each fault, retries only where they
belong (attempts counted at the proxy), the exit code and first stderr line, cached credentials served
only within the rules (stale-while-refresh with > 10 min left, never below that), and no cache write
of anything bad."""
import json
import re
import time

import pytest

from credtest import ROLE_ARN, sts_error_xml
from support.runner import assert_clean_failure, run_credproc, temp_leftovers
from support.stsproxy import AWRWI
from credtest import age_sts_cache  # tests/creds: ages the provider's one STS entry

from credproc import cache

REF = "acme/dev"
ATTEMPTS = 3  # credproc.providers.sts.MAX_ATTEMPTS: botocore standard retries, 3 attempts in all
ROLE = re.escape(ROLE_ARN)
HINT_RETRY = r"\(hint: retry later\)"
HINT_NETWORK = r"\(hint: check that AWS_ENDPOINT_URL_STS is meant to be set \(unset it to use the regional STS endpoint\)\)"

pytestmark = pytest.mark.timeout(90)

# name -> (fault, exit code, first-line pattern, attempts when it never clears)
FAULTS = {
    "throttling": (("status", 400, sts_error_xml("Throttling", "Rate exceeded")), 6,
                   rf"credproc: STS failed for role {ROLE} after 3 attempts \(Throttling\) {HINT_RETRY}", ATTEMPTS),
    "500": (("status", 500, sts_error_xml("InternalFailure", "internal")), 6,
            rf"credproc: STS failed for role {ROLE} after 3 attempts \(InternalFailure\) {HINT_RETRY}", ATTEMPTS),
    "503": (("status", 503, sts_error_xml("ServiceUnavailable", "unavailable")), 6,
            rf"credproc: STS failed for role {ROLE} after 3 attempts \(ServiceUnavailable\) {HINT_RETRY}", ATTEMPTS),
    "dropped": (("drop",), 6,
                rf"credproc: cannot reach STS in us-east-1 for role {ROLE} after 3 attempts \(\w+\) at http://127\.0\.0\.1:\d+/? \(from AWS_ENDPOINT_URL_STS\) {HINT_NETWORK}",
                ATTEMPTS),
    "stalled": (("stall", 7), 6,
                rf"credproc: cannot reach STS in us-east-1 for role {ROLE} after 3 attempts \(\w+\) at http://127\.0\.0\.1:\d+/? \(from AWS_ENDPOINT_URL_STS\) {HINT_NETWORK}",
                ATTEMPTS),
    "InvalidIdentityToken": (("status", 400, sts_error_xml("InvalidIdentityToken", "Couldn't retrieve JWKS")), 5,
                             rf"credproc: STS rejected the token for role {ROLE} \(InvalidIdentityToken: "
                             r"Couldn't retrieve JWKS\); token claims: iss='https://issuer.credproc.test', "
                             r"aud='sts.amazonaws.com', sub='org:acme:env:dev' \(hint: the IAM OIDC provider for the issuer must exist .*\)", 1),
    "ExpiredTokenException": (("status", 400, sts_error_xml("ExpiredTokenException", "Token expired")), 5,
                              rf"credproc: STS says the token for role {ROLE} has expired \(ExpiredTokenException\); "
                              r"token claims: iss='https://issuer.credproc.test'.* \(hint: check the clock of this machine and of the token's issuer\)", 1),
    "AccessDenied": (("status", 403, sts_error_xml("AccessDenied", "Not authorized")), 5,
                     rf"credproc: STS denied assuming role {ROLE} \(AccessDenied\): the role's trust policy must "
                     r"allow sts:AssumeRoleWithWebIdentity .* \(hint: compare the trust policy's :aud and :sub conditions with aud='sts.amazonaws.com' sub='org:acme:env:dev'\)", 1),
}
TRANSIENT = ("throttling", "500", "503", "dropped", "stalled")
# The stalled fault costs 3 read timeouts (15 s) when it never clears: exercised once, cold.
QUICK_FAULTS = [name for name in FAULTS if name != "stalled"]


def cache_state(isolated_env) -> dict:
    return {"creds": cache.list_entries("creds"), "env": cache.list_entries("env"),
            "tmp": temp_leftovers(isolated_env.cache_dir)}


def assert_no_secret_in(text: str, answer: dict) -> None:
    for name in ("SecretAccessKey", "SessionToken"):
        assert answer[name] not in text


@pytest.mark.parametrize("name", list(FAULTS))
def test_cold_cache_fault_that_never_clears(name, login, isolated_env, token_file):
    fault, code, pattern, attempts = FAULTS[name]
    login.fail_always(AWRWI, fault)
    result = run_credproc("process", REF)
    assert_clean_failure(result, code)
    assert result.stdout == b""
    assert re.fullmatch(pattern, result.first_line), result.first_line
    assert login.count(AWRWI) == attempts  # retried when transient, never when refused
    assert token_file.read_text() not in result.stderr
    state = cache_state(isolated_env)
    assert state == {"creds": [], "env": [], "tmp": []}  # nothing bad was cached


@pytest.mark.parametrize("name", TRANSIENT)
def test_transient_fault_that_clears_is_retried_and_served(name, login, isolated_env):
    fault = FAULTS[name][0]
    login.queue(AWRWI, fault)  # the first attempt fails, the retry goes through
    started = time.monotonic()
    result = run_credproc("process", REF)
    assert result.code == 0, result
    answer = json.loads(result.stdout)
    assert answer["AccessKeyId"].startswith("ASIA")
    assert login.count(AWRWI) == 2
    assert result.stderr == ""
    assert time.monotonic() - started < 30
    (key, entry), = cache.list_entries("creds")
    assert entry["credentials"]["AccessKeyId"] == answer["AccessKeyId"]


@pytest.mark.parametrize("name", QUICK_FAULTS)
def test_fault_during_refresh_with_12_minutes_left_serves_the_cached_keys_and_backs_off(name, login, isolated_env):
    first = run_credproc("process", REF)
    assert first.code == 0, first
    expiration = age_sts_cache(12 * 60)  # inside the 20-minute margin, above the 10-minute floor
    before = login.count(AWRWI)
    login.fail_always(AWRWI, FAULTS[name][0])

    stale = run_credproc("process", REF)
    assert stale.code == 0, stale
    answer = json.loads(stale.stdout)
    assert answer["Expiration"] == expiration
    assert answer["AccessKeyId"] == json.loads(first.stdout)["AccessKeyId"]
    assert login.count(AWRWI) - before == FAULTS[name][3]  # one refresh attempt (retried if transient)
    (key, entry), = cache.list_entries("creds")
    assert entry["expiration"] == expiration  # the failure wrote no new credentials ...
    assert 300 - 60 <= entry["backoff_until"] - time.time() <= 600  # ... only a 5-10 minute back-off (set a moment ago)
    assert cache.list_entries("env") == []  # a stale answer is never indexed for the fast path
    assert_no_secret_in(stale.stderr, answer)

    again = run_credproc("process", REF)  # backing off: no STS attempt at all
    assert again.code == 0 and again.stdout == stale.stdout
    assert login.count(AWRWI) - before == FAULTS[name][3]
    assert temp_leftovers(isolated_env.cache_dir) == []


@pytest.mark.parametrize("name", QUICK_FAULTS)
def test_fault_during_refresh_with_9_minutes_left_fails_and_keeps_nothing_bad(name, login, isolated_env):
    first = run_credproc("process", REF)
    assert first.code == 0, first
    age_sts_cache(9 * 60)  # below the 10-minute floor: may not be served, even in an outage
    (_, aged), = cache.list_entries("creds")
    login.fail_always(AWRWI, FAULTS[name][0])
    _, code, pattern, _ = FAULTS[name]
    result = run_credproc("process", REF)
    assert_clean_failure(result, code)
    assert result.stdout == b""
    assert re.fullmatch(pattern, result.first_line), result.first_line
    (_, entry), = cache.list_entries("creds")
    assert entry == aged  # not replaced, no back-off recorded for keys that cannot be served
    assert cache.list_entries("env") == []
    assert temp_leftovers(isolated_env.cache_dir) == []


def test_outage_ends_the_next_call_after_the_back_off_refreshes(login, isolated_env):
    assert run_credproc("process", REF).code == 0
    age_sts_cache(12 * 60)
    login.fail_always(AWRWI, FAULTS["503"][0])
    assert run_credproc("process", REF).code == 0  # stale, back-off recorded
    login.always.clear()
    (key, entry), = cache.list_entries("creds")
    cache.write_entry("creds", key, dict(entry, backoff_until=int(time.time()) - 1))  # the back-off is over
    before = login.count(AWRWI)
    result = run_credproc("process", REF)
    assert result.code == 0, result
    assert login.count(AWRWI) == before + 1
    assert cache.parse_expiration(json.loads(result.stdout)["Expiration"]) - time.time() > 50 * 60
