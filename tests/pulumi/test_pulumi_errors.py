"""Every way opening pulumi:ORG/PROJECT/ENV fails: one line on stderr, the documented exit code,
nothing on stdout, and never the access token."""
import json
import os

import pytest

from tests.support import pulumidata as data
from tests.support.runner import assert_clean_failure

pytestmark = pytest.mark.timeout(120)
REF = data.REF


def failed(result, code: int, line: str):
    assert_clean_failure(result, code)
    assert result.stdout == b""
    assert result.first_line.startswith(line), result.first_line
    assert data.TOKEN not in result.stderr and data.OTHER_TOKEN not in result.stderr
    return result


def test_no_token_anywhere(cli, monkeypatch):
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    result = failed(cli("process", REF), 4, "credproc: no Pulumi access token for https://api.pulumi.com: "
                                           "PULUMI_ACCESS_TOKEN is not set and no ")
    assert "pulumi login" in result.first_line


def test_a_token_the_service_refuses(service, cli):
    failed(cli("process", REF, PULUMI_ACCESS_TOKEN=data.OTHER_TOKEN), 4,
           f"credproc: {REF}: the Pulumi service at {service.url} refused the access token from "
           "PULUMI_ACCESS_TOKEN (401 Unauthorized)")
    assert service.count("open") == 1 and not any(r["authorized"] for r in service.requests)


def test_a_token_without_access(service, cli):
    service.fail["open"] = 403
    failed(cli("env", "open", REF), 4, f"credproc: {REF}: the Pulumi service at {service.url} does not let "
                                       "the access token from PULUMI_ACCESS_TOKEN open this environment (403 Forbidden)")


def test_an_unknown_environment(service, cli):
    failed(cli("process", "pulumi:acme/proj/nope"), 2,
           f"credproc: environment pulumi:acme/proj/nope not found at {service.url}")


def test_a_service_nobody_answers(cli):
    result = failed(cli("process", REF, PULUMI_BACKEND_URL="http://127.0.0.1:9", PULUMI_ACCESS_TOKEN=data.TOKEN), 6,
                    f"credproc: {REF}: cannot reach the Pulumi service at http://127.0.0.1:9")
    assert "hint: check the network" in result.first_line


@pytest.mark.parametrize("kind", ["open", "read"])
@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_tried_twice_then_transient(service, cli, kind, status):
    service.fail[kind] = status
    failed(cli("process", REF), 6, f"credproc: {REF}: the Pulumi service at {service.url} answered {kind} "
                                   f"with HTTP {status}")
    assert service.count(kind) == 2


def test_a_server_error_once_is_retried(service, cli):
    service.fail["open"], service.fail_times["open"] = 502, 1
    assert cli("process", REF).code == 0
    assert service.count("open") == 2


@pytest.mark.parametrize("url, line", [
    ("http://pulumi.example.com", "credproc: PULUMI_BACKEND_URL uses plain http to pulumi.example.com: the access "
                                  "token would travel in clear"),
    ("file:///tmp/state", "credproc: PULUMI_BACKEND_URL names a backend without Pulumi ESC (file://)"),
    ("https://api.pulumi.com/api/esc", "credproc: PULUMI_BACKEND_URL must be the service's base URL"),
    ("https://user:pw@api.pulumi.com", "credproc: PULUMI_BACKEND_URL must be https://HOST[:PORT] (no user name"),
])
def test_a_backend_url_credproc_will_not_send_the_token_to(cli, url, line):
    result = failed(cli("process", REF, PULUMI_BACKEND_URL=url, PULUMI_ACCESS_TOKEN=data.TOKEN), 2, line)
    assert "pw@" not in result.stderr


def _write_credentials(home, text):
    folder = home / ".pulumi"
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / "credentials.json").write_text(text)
    return folder / "credentials.json"


def test_saved_login_that_is_not_json(cli, isolated_env, monkeypatch):
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    path = _write_credentials(isolated_env.home, "{not json")
    failed(cli("process", REF), 2, f"credproc: cannot read {path}: not JSON")


def test_saved_login_to_a_self_managed_backend(cli, isolated_env, monkeypatch):
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    path = _write_credentials(isolated_env.home, json.dumps({"current": "file://~", "accessTokens": {}}))
    failed(cli("process", REF), 2, f"credproc: the current login of {path} names a backend without Pulumi ESC (file://)")


def test_saved_login_without_a_token_for_the_backend(service, cli, isolated_env, monkeypatch):
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    path = _write_credentials(isolated_env.home, json.dumps({"current": "https://api.pulumi.com",
                                                             "accessTokens": {"https://api.pulumi.com": data.TOKEN}}))
    failed(cli("process", REF), 4, f"credproc: no Pulumi access token for {service.url}: PULUMI_ACCESS_TOKEN is not "
                                   f"set and {path} has no token for {service.url}")


def test_environment_with_errors_at_open(service, cli):
    service.fail["open"] = 400
    service.diagnostics = [{"range": {"environment": "proj/dev", "begin": {"line": 3, "column": 5, "byte": 20},
                                      "end": {"line": 3, "column": 9, "byte": 24}},
                            "summary": "unknown property \"nope\""}]
    failed(cli("process", REF), 2, f'credproc: {REF}:3:5: unknown property "nope"')


@pytest.mark.parametrize("ref, line", [
    ("pulumi:acme/dev", "credproc: invalid environment name 'pulumi:acme/dev': expected pulumi:ORG/PROJECT/ENV"),
    ("pulumi:acme/proj/dev/x", "credproc: invalid environment name 'pulumi:acme/proj/dev/x': expected pulumi:ORG/PROJECT/ENV"),
    ("pulumi:ab/proj/dev", "credproc: invalid environment name 'pulumi:ab/proj/dev': a Pulumi organization name has 3 to 40 characters"),
    ("pulumi:acme/../dev", "credproc: invalid environment name 'pulumi:acme/../dev': names use only"),
    ("pulumi:acme/proj/", "credproc: invalid environment name 'pulumi:acme/proj/': a Pulumi environment name has 1 to 100"),
])
def test_bad_pulumi_names(cli, ref, line):
    for command in (("process", ref), ("env", "open", ref), ("install-profile", ref)):
        failed(cli(*command), 2, line)


@pytest.mark.parametrize("command", [
    ("env", "edit", REF), ("env", "rm", REF, "--yes"), ("env", "set", REF, "a", "b"), ("env", "rotate", REF),
    ("env", "init", REF),
])
def test_commands_that_change_an_environment_refuse_pulumi_refs(service, cli, command):
    failed(cli(*command), 2, f"credproc: '{REF}' is an environment of Pulumi Cloud: this command works only on "
                             "environments of the local store")
    assert service.requests == []


@pytest.mark.parametrize("fail", [{"open": 401}, {"read": 503}, {"open": 400}])
def test_debug_tracebacks_do_not_show_the_token_either(service, cli, fail):
    service.fail.update(fail)
    result = cli("process", REF, CREDPROC_DEBUG="1")
    assert result.code != 0 and "Traceback" in result.stderr  # the debug output is there...
    assert data.TOKEN not in result.stderr and "token " + data.TOKEN[:8] not in result.stderr  # ...the token is not
