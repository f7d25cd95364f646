"""`credproc serve` and `credproc run --server` as users meet them: the real entry point, real signals,
real HTTP; what the child's environment holds; refusals and the log."""
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from credtest import PYTHON
from endpointsupport import Served
from support.runner import assert_clean_failure, run_credproc
from support.stsproxy import AWRWI

REF = "acme/dev"

pytestmark = pytest.mark.timeout(120)


def fetch(url: str, token: "str | None") -> "tuple[int, dict]":
    request = urllib.request.Request(url, headers={"Authorization": token} if token is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# --- serve ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_until_stopped_and_exits_0_on_sigterm_or_sigint(login, signum):
    served = Served(REF)
    url, token = served.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"], served.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    status, body = fetch(url, token)
    assert status == 200 and body["AccessKeyId"].startswith("ASIA") and body["Token"]
    assert served.stop(signum) == 0
    assert "stopped" in served.stderr and "Traceback" not in served.stderr
    with pytest.raises(urllib.error.URLError):
        fetch(url, token)


def test_serve_prints_the_token_only_on_stdout_and_logs_refusals_without_it(login):
    with Served(REF) as served:
        url, token = served.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"], served.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        assert fetch(url, None)[0] == 401
        assert fetch(url, token[:-1] + ("A" if token[-1] != "A" else "B"))[0] == 403
        status, body = fetch(url.rsplit("/", 1)[0] + "/other", token)
        assert status == 404 and body["Code"] == "NotFound"
    assert served.stderr.count("refused a request from 127.0.0.1") == 2
    assert token not in served.stderr and token[:-1] not in served.stderr
    assert login.count(AWRWI) == 1


def test_each_serve_has_its_own_token_and_port(login):
    with Served(REF) as first, Served(REF) as second:
        assert first.variables != second.variables
        assert fetch(first.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                     second.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"])[0] == 403


def test_serve_env_format_is_read_back_exactly_by_sh(login):
    with Served(REF) as served:
        pass
    # The default format (env), evaluated by a real sh.
    serve = subprocess.Popen(["sh", "-c", f'{os.path.dirname(PYTHON)}/credproc serve {REF} | head -n 2'],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    lines = []
    try:
        for _ in range(2):
            lines.append(serve.stdout.readline())
    finally:
        os.killpg(serve.pid, signal.SIGTERM)  # the whole pipeline: killing sh alone left serve running
        serve.communicate(timeout=30)
    assert all(line.startswith("export AWS_CONTAINER_") for line in lines), lines
    shown = subprocess.run(["sh", "-c", "".join(lines) + 'printf %s "$AWS_CONTAINER_CREDENTIALS_FULL_URI"'],
                           capture_output=True, text=True, check=True).stdout
    assert shown.startswith("http://127.0.0.1:") and shown.endswith("/credproc/v1/credentials")
    assert served.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"] != shown  # a new port each start


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "192.0.2.1:9911", "[::]:0"])
def test_serve_refuses_a_non_loopback_address_without_the_flag(login, listen):
    result = run_credproc("serve", REF, "--listen", listen)
    assert_clean_failure(result, 2)
    assert result.stdout == b""
    assert "is not a loopback address" in result.first_line and "--allow-remote-insecure" in result.first_line


@pytest.mark.parametrize("listen", ["foo", "127.0.0.1", "127.0.0.1:99999", "example.com:80", "127.0.0.1:-1"])
def test_serve_refuses_a_listen_address_that_is_not_ip_and_port(login, listen):
    result = run_credproc("serve", REF, "--listen", listen)
    assert_clean_failure(result, 2)
    assert result.stdout == b"" and "--listen" in result.first_line


def test_serve_listens_beyond_loopback_with_the_flag_and_warns(login):
    with Served(REF, "--listen", "0.0.0.0:0", "--allow-remote-insecure") as served:
        url = served.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        port = url.split(":")[2].split("/")[0]
        status, _ = fetch(f"http://127.0.0.1:{port}/credproc/v1/credentials",
                          served.variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"])
        assert status == 200
    assert "warning: listening on 0.0.0.0" in served.stderr


def test_serve_of_a_missing_environment_fails_before_printing_anything(login):
    result = run_credproc("serve", "acme/missing")
    assert_clean_failure(result, 2)
    assert result.stdout == b""


def test_serve_on_a_port_in_use_is_a_one_line_error(login):
    with Served(REF) as served:
        port = served.variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"].split(":")[2].split("/")[0]
        result = run_credproc("serve", REF, "--listen", f"127.0.0.1:{port}")
    assert_clean_failure(result, 2)
    assert result.first_line.startswith(f"credproc: cannot listen on 127.0.0.1:{port}")


# --- run --server ---------------------------------------------------------------------------------

DUMP = ("import json, os, urllib.request; names = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', "
        "'AWS_CREDENTIAL_EXPIRATION', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', "
        "'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_REGION', 'CREDPROC_RUN'); "
        "print(json.dumps({n: os.environ.get(n) for n in names})); "
        "print(os.environ['AWS_CONTAINER_AUTHORIZATION_TOKEN'])")


def test_run_server_gives_the_child_the_endpoint_and_no_other_credentials(login):
    inherited = dict(os.environ, AWS_PROFILE="someone-elses", AWS_ACCESS_KEY_ID="AKIAINHERITED",
                     AWS_SECRET_ACCESS_KEY="inherited-secret", AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/creds",
                     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="/var/run/token")
    result = run_credproc("run", REF, "--server", "--", sys.executable, "-c", DUMP, env=inherited)
    assert result.code == 0, result
    seen_line, token_line = result.stdout.decode().splitlines()
    seen = json.loads(seen_line)
    assert {n: seen[n] for n in seen if n not in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_REGION", "CREDPROC_RUN")} \
        == dict.fromkeys(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
                          "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
    assert seen["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert seen["CREDPROC_RUN"] == REF
    assert token_line == "[secret]"  # the token is masked in the child's output like the keys
    with pytest.raises(urllib.error.URLError):  # the endpoint ends with the child
        fetch(seen["AWS_CONTAINER_CREDENTIALS_FULL_URI"], "x")


def test_run_server_keeps_the_child_exit_status(login):
    result = run_credproc("run", REF, "--server", "--", sys.executable, "-c", "raise SystemExit(7)")
    assert result.code == 7


def test_run_server_for_an_environment_without_aws_credentials_does_not_run_the_command(login, isolated_env, tmp_path):
    from credtest import write_environment

    write_environment(isolated_env.env_dir, "acme/plain", "values:\n  environmentVariables:\n    GREETING: hi\n")
    marker = tmp_path / "ran"
    result = run_credproc("run", "acme/plain", "--server", "--", "touch", str(marker))
    assert_clean_failure(result, 2)
    assert "provides no AWS credentials" in result.first_line
    assert not marker.exists()


def test_run_server_option_may_come_before_the_environment(login):
    result = run_credproc("run", "--server", REF, "--", sys.executable, "-c",
                          "import os; print('AWS_CONTAINER_CREDENTIALS_FULL_URI' in os.environ)")
    assert result.code == 0, result
    assert result.stdout == b"True\n"
