"""One login for many callers: 20 `credproc process` started at once after the ID token and the STS
keys expired, for four environments that share one identity provider client, make exactly one
refresh at the server (counted in the server's token-endpoint log)."""
import json
import subprocess

import pytest

from loginhelp import (Person, credproc_argv, expire_tokens_and_credentials, grants, start_credproc,
                       write_login_env)

pytestmark = pytest.mark.timeout(180)

ENVIRONMENTS = ("acme/dev", "acme/test", "acme/stage", "acme/ops")
PER_ENVIRONMENT = 5


def test_twenty_parallel_processes_after_expiry_refresh_once(oidc_server, login_env):
    for ref in ENVIRONMENTS:
        write_login_env(ref, oidc_server.issuer)
    proc = start_credproc("login", "acme/dev", "--no-browser", "--timeout", "30")
    try:
        Person().authorize(proc.wait_line(lambda line: line.startswith("http")))
        assert proc.finish()[0] == 0
    finally:
        proc.kill()
    expire_tokens_and_credentials()
    mark = oidc_server.mark()

    children = [(ref, subprocess.Popen(credproc_argv("process", ref), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE))
                for _ in range(PER_ENVIRONMENT) for ref in ENVIRONMENTS]
    answers = {}
    for ref, child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
        answers.setdefault(ref, set()).add(out)

    assert grants(oidc_server.token_calls(mark)) == [("token", "refresh_token", 200, None)]
    # Each environment got one set of keys, printed identically to its five callers.
    assert all(len(outputs) == 1 for outputs in answers.values())
    keys = {json.loads(next(iter(outputs)))["AccessKeyId"] for outputs in answers.values()}
    assert len(keys) == len(ENVIRONMENTS)
