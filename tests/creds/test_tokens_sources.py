import os
import sys
import time

import pytest

from credproc.identity import tokens
from credproc.errors import ConfigError, TokenError, TransientError
from stssupport import GitHubActionsTokenService, make_token

CTX = tokens.TokenContext(org="acme", environment="dev", root_environment="dev")


# --- registry -------------------------------------------------------------------------------------

def test_unknown_kind_lists_the_known_kinds():
    with pytest.raises(ConfigError) as info:
        tokens.resolve({"vault": "x"}, CTX)
    message = str(info.value)
    assert "unknown token source kind 'vault'" in message
    for kind in ("command", "env", "file", "githubActions"):
        assert kind in message


def test_two_kinds_or_none_are_refused():
    with pytest.raises(ConfigError, match="exactly one token source kind.*found: env, file"):
        tokens.resolve({"file": "/x", "env": "T"}, CTX)
    with pytest.raises(ConfigError, match="found: none"):
        tokens.resolve({"audience": "x"}, CTX)


# --- file -----------------------------------------------------------------------------------------

def test_file_is_reread_after_rotation(tmp_path):
    path = tmp_path / "token"
    first, second = make_token(sub="one"), make_token(sub="two")
    path.write_text(first + "\n")
    source = tokens.resolve({"file": str(path)}, CTX)
    assert source.fetch() == first
    path.write_text(second)  # as the kubelet rotates a projected token
    assert source.fetch() == second
    assert source.claims["sub"] == "two"
    assert source.identity() == {"kind": "file", "path": str(path)}


def test_file_missing_and_expired(tmp_path):
    source = tokens.resolve({"file": str(tmp_path / "nope")}, CTX)
    with pytest.raises(TokenError, match="does not exist"):
        source.fetch()
    expired = make_token(exp=int(time.time()) - 3600)
    (tmp_path / "old").write_text(expired)
    with pytest.raises(TokenError, match=r"the token from file .*old has expired") as info:
        tokens.resolve({"file": str(tmp_path / "old")}, CTX).fetch()
    assert expired not in str(info.value)


def test_file_expectations_are_checked(tmp_path):
    (tmp_path / "t").write_text(make_token(iss="https://a.example", aud="x"))
    with pytest.raises(TokenError, match="wrong `iss`: expected 'https://b.example', got 'https://a.example'"):
        tokens.resolve({"file": str(tmp_path / "t"), "issuer": "https://b.example"}, CTX).fetch()
    with pytest.raises(TokenError, match="wrong `aud`: expected 'sts.amazonaws.com', got 'x'"):
        tokens.resolve({"file": str(tmp_path / "t"), "audience": "sts.amazonaws.com"}, CTX).fetch()
    audience_ctx = tokens.TokenContext(org="acme", environment="dev", root_environment="dev", audience="y")
    with pytest.raises(TokenError, match="expected 'y'"):  # oidc.audience is an expectation too
        tokens.resolve({"file": str(tmp_path / "t")}, audience_ctx).fetch()


def test_garbage_file_is_a_token_error(tmp_path):
    (tmp_path / "t").write_text("not-a-jwt")
    with pytest.raises(TokenError, match="not a JWT"):
        tokens.resolve({"file": str(tmp_path / "t")}, CTX).fetch()


# --- env ------------------------------------------------------------------------------------------

def test_env_source(monkeypatch):
    token = make_token()
    monkeypatch.setenv("MY_TOKEN", token)
    source = tokens.resolve({"env": "MY_TOKEN"}, CTX)
    assert source.fetch() == token
    assert source.identity() == {"kind": "env", "env": "MY_TOKEN"}
    monkeypatch.delenv("MY_TOKEN")
    with pytest.raises(TokenError, match="MY_TOKEN is not set"):
        source.fetch()
    with pytest.raises(ConfigError, match="environment variable name"):
        tokens.resolve({"env": "BAD NAME"}, CTX)


# --- command --------------------------------------------------------------------------------------

def _py(code):
    return [sys.executable, "-c", code]


def test_command_stdout_is_the_token(tmp_path):
    token = make_token()
    (tmp_path / "t").write_text(token)
    argv = _py(f"import sys; sys.stdout.write(open({str(tmp_path / 't')!r}).read() + '\\n\\n')")
    source = tokens.resolve({"command": argv}, CTX)
    assert source.fetch() == token
    assert source.identity() == {"kind": "command", "argv": argv}


def test_command_runs_without_a_shell(tmp_path):
    marker = tmp_path / "pwned"
    source = tokens.resolve({"command": ["echo", f"x; touch {marker}"]}, CTX)
    with pytest.raises(TokenError):  # "x; touch ..." is echoed, not run, and is no JWT
        source.fetch()
    assert not marker.exists()


def test_command_nonzero_exit_names_the_command_not_its_output():
    token = make_token()
    source = tokens.resolve({"command": _py(f"print({token!r}); raise SystemExit(3)")}, CTX)
    with pytest.raises(TokenError) as info:
        source.fetch()
    assert "failed with exit code 3" in str(info.value)
    assert sys.executable in str(info.value)
    assert token not in str(info.value)


def test_command_timeout():
    source = tokens.resolve({"command": _py("import time; time.sleep(10)"), "timeout": 0.5}, CTX)
    started = time.monotonic()
    with pytest.raises(TokenError, match=r"timed out after 0.5s"):
        source.fetch()
    assert time.monotonic() - started < 5


def test_command_not_found_and_bad_config():
    with pytest.raises(TokenError, match="was not found"):
        tokens.resolve({"command": ["/nonexistent/credproc-token-helper"]}, CTX).fetch()
    with pytest.raises(ConfigError, match="non-empty list of strings"):
        tokens.resolve({"command": "echo hi"}, CTX)
    with pytest.raises(ConfigError, match="timeout"):
        tokens.resolve({"command": ["true"], "timeout": -1}, CTX)


@pytest.mark.skipif(not os.path.exists("/proc/self/fd/0"), reason="needs /proc")
def test_command_gets_no_stdin():
    # credproc never hands its own stdin (botocore's pipe) to a token helper: the helper's is /dev/null
    source = tokens.resolve({"command": _py(
        "import os; print('e30.e30.c2ln' if os.path.realpath('/proc/self/fd/0') == '/dev/null' else 'x')")}, CTX)
    with pytest.raises(TokenError, match="no `exp` claim"):  # it printed e30.e30.c2ln
        source.fetch()


# --- GitHub Actions -------------------------------------------------------------------------------

def test_github_actions_token_with_bearer_and_audience(monkeypatch):
    with GitHubActionsTokenService() as service:
        for name, value in service.env().items():
            monkeypatch.setenv(name, value)
        source = tokens.resolve({"githubActions": {"audience": "my-aud"}}, CTX)
        token = source.fetch()
        assert source.claims["aud"] == "my-aud"
        assert source.claims["iss"] == "https://token.actions.githubusercontent.com"
        request = service.requests[-1]
        assert request["authorization"] == f"Bearer {service.bearer}"
        assert request["query"] == {"api-version": "2.0", "audience": "my-aud"}
        assert token.count(".") == 2
        assert source.identity() == {"kind": "githubActions", "audience": "my-aud"}


def test_github_actions_default_audience(monkeypatch):
    with GitHubActionsTokenService() as service:
        for name, value in service.env().items():
            monkeypatch.setenv(name, value)
        source = tokens.resolve({"githubActions": {}}, CTX)
        source.fetch()
        assert service.requests[-1]["query"]["audience"] == "sts.amazonaws.com"


def test_github_actions_outside_actions_is_clear(monkeypatch):
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", raising=False)
    with pytest.raises(TokenError) as info:
        tokens.resolve({"githubActions": {}}, CTX).fetch()
    assert "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set" in str(info.value)
    assert "id-token: write" in info.value.hint


def test_github_actions_wrong_bearer_is_refused(monkeypatch):
    with GitHubActionsTokenService() as service:
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", service.env()["ACTIONS_ID_TOKEN_REQUEST_URL"])
        monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong")
        with pytest.raises(TokenError, match=r"refused the request \(HTTP 401\)") as info:
            tokens.resolve({"githubActions": {}}, CTX).fetch()
        assert "wrong" not in str(info.value)


def test_github_actions_unreachable_is_transient(monkeypatch):
    with GitHubActionsTokenService() as service:
        url = service.url
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", f"{url}/token?api-version=2.0")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "b")
    with pytest.raises(TransientError, match="cannot reach the GitHub Actions token service"):
        tokens.resolve({"githubActions": {}}, CTX).fetch()
