"""A program that runs past the first credentials' expiry keeps working: the clock of credproc and of
the client (Python: tests/support/fakeclock) moves 1 h 2 min ahead, and STS's clock with it (the proxy
shifts the Expiration it hands back by the same amount), so the first keys are expired for everyone.
The client's next call makes its SDK ask the endpoint again; credproc refreshes once and serves the
new keys."""
import json
import os
import subprocess

import pytest

from credtest import ASSUMED_ARN, PYTHON
from endpointsupport import BOTO_CLIENT, Served, client_env, run_server_argv
from support.clock import shifted_env
from support.stsproxy import AWRWI

REF = "acme/dev"
PAST_EXPIRY = 3600 + 120  # the first keys (1 h) expired two minutes ago

pytestmark = pytest.mark.timeout(180)


class LoopingClient:
    """boto_client.py `loop`: one get_caller_identity per line sent."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def call(self) -> dict:
        self.proc.stdin.write("call\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()[-2000:]
        return json.loads(line)

    def quit(self) -> int:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


def _move_clocks(clock_file, proxy, seconds: int) -> None:
    clock_file.write_text(str(seconds))
    proxy.skew_expiration(seconds)


def _assert_keeps_working(client, clock_file, proxy) -> None:
    first = client.call()
    assert first["Arn"] == ASSUMED_ARN and first["method"] == "container-role"
    assert proxy.count(AWRWI) == 1
    _move_clocks(clock_file, proxy, PAST_EXPIRY)
    second = client.call()
    assert second["Arn"] == ASSUMED_ARN
    assert second["AccessKeyId"] != first["AccessKeyId"]  # new keys, fetched by the SDK itself
    third = client.call()
    assert third["AccessKeyId"] == second["AccessKeyId"]
    assert proxy.count(AWRWI) == 2  # one refresh, then the cache again


def test_boto3_under_run_server_keeps_working_past_the_first_expiry(login, tmp_path):
    clock_file = tmp_path / "clock"
    clock_file.write_text("0")
    env = shifted_env(client_env(os.environ, {}), offset_file=clock_file)
    client = LoopingClient(run_server_argv(REF, PYTHON, BOTO_CLIENT, "loop"), env)
    try:
        _assert_keeps_working(client, clock_file, login)
    finally:
        assert client.quit() == 0


def test_boto3_against_serve_keeps_working_past_the_first_expiry(login, tmp_path):
    clock_file = tmp_path / "clock"
    clock_file.write_text("0")
    env = shifted_env(os.environ, offset_file=clock_file)
    with Served(REF, env=env) as served:
        client = LoopingClient([PYTHON, BOTO_CLIENT, "loop"], client_env(env, served.variables))
        try:
            _assert_keeps_working(client, clock_file, login)
        finally:
            assert client.quit() == 0
