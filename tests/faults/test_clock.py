"""The clock moved by +-10 minutes (no libfaketime here): credproc's own clock is moved with a
sitecustomize that shifts time.time (tests/support/fakeclock), STS's clock by skewing the Expiration
the proxy hands back. Rules: credproc never hands out credentials with less than the 20-minute margin
left by its own clock (the one botocore on the same machine uses), it trusts STS's Expiration (never
now + duration), and credentials that STS makes too short are an error, not a loop of STS calls."""
import json
import os
import subprocess
import time

import pytest

from support.clock import shifted_env
from support.runner import assert_clean_failure, run_credproc
from support.stsproxy import AWRWI
from credtest import age_sts_cache  # tests/creds

from credproc import cache

REF = "acme/dev"
MARGIN = 20 * 60

pytestmark = pytest.mark.timeout(60)


def run_at(offset_seconds: float):
    return run_credproc("process", REF, env=shifted_env(os.environ, offset_seconds))


def test_fake_clock_really_moves_the_child_clock(login):
    from credtest import PYTHON

    out = subprocess.run([PYTHON, "-c", "import time; print(time.time())"], env=shifted_env(os.environ, -600),
                         capture_output=True, text=True, check=True).stdout
    assert abs(float(out) - (time.time() - 600)) < 5


def test_clock_10_minutes_ahead_refreshes_keys_that_have_25_real_minutes_left(login):
    assert run_credproc("process", REF).code == 0
    aged = age_sts_cache(25 * 60)  # 25 minutes by the real clock, 15 by a clock 10 minutes ahead
    result = run_at(+600)
    assert result.code == 0, result
    answer = json.loads(result.stdout)
    assert answer["Expiration"] != aged
    assert login.count(AWRWI) == 2
    # Fresh by the moved clock, with STS's own Expiration (about an hour from now).
    left = cache.parse_expiration(answer["Expiration"]) - (time.time() + 600)
    assert left >= MARGIN


def test_clock_10_minutes_behind_serves_keys_that_have_15_real_minutes_left(login):
    # botocore on the same machine shares the clock: to both, these keys have 25 minutes left, so botocore
    # will not re-run credproc at once, and it asks again 10 minutes before the keys really expire.
    assert run_credproc("process", REF).code == 0
    aged = age_sts_cache(15 * 60)
    result = run_at(-600)
    assert result.code == 0, result
    assert json.loads(result.stdout)["Expiration"] == aged
    assert login.count(AWRWI) == 1


@pytest.mark.parametrize("offset", [-600, +600])
def test_cold_call_with_a_moved_clock_uses_the_sts_expiration(login, offset):
    result = run_at(offset)
    assert result.code == 0, result
    left_real = cache.parse_expiration(json.loads(result.stdout)["Expiration"]) - time.time()
    assert 3500 <= left_real <= 3700  # STS's Expiration (1 h), not the local clock's now + duration


@pytest.mark.parametrize("skew", [-600, +600])
def test_sts_clock_10_minutes_off_is_served_with_its_expiration(login, skew):
    login.skew_expiration(skew)
    result = run_credproc("process", REF)
    assert result.code == 0, result
    left = cache.parse_expiration(json.loads(result.stdout)["Expiration"]) - time.time()
    assert abs(left - (3600 + skew)) < 60


@pytest.mark.parametrize("skew_minutes", [-45, -55])
def test_sts_credentials_inside_the_margin_are_refused_not_served(login, isolated_env, skew_minutes):
    # STS (or this machine's clock) makes fresh credentials expire in 15 or 5 minutes: handing them out
    # would make botocore re-run credproc before every request, and each run would call STS again.
    login.skew_expiration(skew_minutes * 60)
    result = run_credproc("process", REF)
    assert_clean_failure(result, 2)
    assert result.stdout == b""
    left = 60 + skew_minutes
    assert result.first_line.startswith(
        f"credproc: STS returned credentials for role arn:aws:iam::123456789012:role/esc-dev that expire in "
        f"{left - 1} minutes") or result.first_line.startswith(
        f"credproc: STS returned credentials for role arn:aws:iam::123456789012:role/esc-dev that expire in {left} minutes")
    assert "clock" in result.first_line
    assert cache.list_entries("creds") == [] and cache.list_entries("env") == []  # nothing short-lived cached
    again = run_credproc("process", REF)
    assert again.code == 2
    assert login.count(AWRWI) == 2  # one attempt per call, no retry loop
