"""`credproc process` / `export` logic in-process, with a fake environment opener and provider.

The fakes stand in for the evaluator and the aws-login provider (their contracts: Opened and the
provider's ``opened`` records); the end-to-end tests (test_process_e2e.py) run the real ones.
"""
import hashlib
import io
import json
import os
import shlex
import subprocess
import time
import types

import pytest

from credproc import cache
from credproc.commands import process
from credproc.creds import index
from credproc.creds import export
from credproc.errors import (ConfigError, DiagnosticsError, ExitCode, RecursionDetected, StsRefused,
                             UsageError)
from credproc.lang.values import Value

REF = "acme/dev"


def expiring_in(seconds: float) -> str:
    return cache.format_expiration(time.time() + seconds)


class FakeProvider:
    def __init__(self):
        self.opened = []


class FakeRegistry(dict):
    """Looks like credproc.providers.LazyRegistry: built() returns the instances used."""

    def __init__(self, used=("aws-login",)):
        super().__init__()
        self._used = {name: FakeProvider() for name in used}

    def built(self):
        return dict(self._used)


class FakeWorld:
    """Replaces open_environment and the provider registry; counts opens."""

    def __init__(self, monkeypatch, definition):
        self.definition = definition
        self.opens = 0
        self.key_id = "ASIAFAKE000000000001"
        self.secret = "fake/secret+key=0000000000000000000000"
        self.token = "FwoGZXIvYXdzEFAKEsessiontoken//+=="
        self.expiration = expiring_in(3600)
        self.record = True
        self.account_id = "123456789012"
        self.diagnostics = []
        self.variables = True
        self.used = ("aws-login",)
        self.registry = None
        monkeypatch.setattr("credproc.store.environments.open_environment", self.open_environment)
        monkeypatch.setattr("credproc.providers.providers", self.providers)

    def providers(self, conformance=False, **options):
        self.registry = FakeRegistry(self.used)
        return self.registry

    def open_environment(self, ref, mode="eval", providers=None, **kwargs):
        self.opens += 1
        data = self.definition.read_bytes()
        login = Value({
            "accessKeyId": Value(self.key_id), "secretAccessKey": Value(self.secret, secret=True),
            "sessionToken": Value(self.token, secret=True), "expiration": Value(self.expiration),
        })
        props = {"aws": Value({"login": login})}
        if self.variables:
            props["environmentVariables"] = Value({
                "AWS_ACCESS_KEY_ID": Value(self.key_id), "AWS_SECRET_ACCESS_KEY": Value(self.secret, secret=True),
                "AWS_SESSION_TOKEN": Value(self.token, secret=True),
            })
        if self.record and "aws-login" in providers.built():
            providers.built()["aws-login"].opened.append({
                "path": "aws.login", "environment": "dev", "cache_key": "ab" * 32,
                "access_key_id": self.key_id, "expiration": self.expiration, "account_id": self.account_id,
            })
        diagnostics = list(self.diagnostics)
        return types.SimpleNamespace(
            name=ref, value=Value(props), diagnostics=diagnostics,
            files={str(self.definition): hashlib.sha256(data).hexdigest()},
            has_errors=any(d.severity == "error" for d in diagnostics),
            error_lines=lambda: [f"{ref}:{d.line}:{d.column}: {d.summary}" for d in diagnostics if d.severity == "error"],
        )


@pytest.fixture
def world(isolated_env, monkeypatch):
    definition = isolated_env.env_dir / "acme" / "dev.yaml"
    definition.parent.mkdir(parents=True)
    definition.write_text("values:\n  x: 1  # a comment\n")
    return FakeWorld(monkeypatch, definition)


def answer_of(ref=REF, path=None) -> dict:
    return json.loads(process.credential_answer(ref, path))


def diag(summary, cause=None, severity="error"):
    return types.SimpleNamespace(severity=severity, summary=summary, line=3, column=7, cause=cause)


# --- the answer ----------------------------------------------------------------------------------

def test_answer_has_exactly_the_contract_keys_in_order(world):
    raw = process.credential_answer(REF)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    doc = json.loads(raw)
    assert list(doc) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "AccountId"]
    assert doc == {"Version": 1, "AccessKeyId": world.key_id, "SecretAccessKey": world.secret,
                   "SessionToken": world.token, "Expiration": world.expiration, "AccountId": "123456789012"}


def test_static_credentials_have_no_expiration_and_are_cached(world):
    world.record = False  # not from the aws-login provider: static
    world.token = ""
    doc = answer_of()
    assert doc == {"Version": 1, "AccessKeyId": world.key_id, "SecretAccessKey": world.secret}
    answer_of()
    assert world.opens == 1


def test_second_call_is_a_hit_without_opening(world):
    first = process.credential_answer(REF)
    second = process.credential_answer(REF)
    assert first == second and world.opens == 1


def test_editing_a_definition_file_is_a_miss(world):
    process.credential_answer(REF)
    world.definition.write_text("values:\n  x: 1  # another comment\n")
    process.credential_answer(REF)
    assert world.opens == 2
    process.credential_answer(REF)
    assert world.opens == 2


def test_deleted_definition_file_is_a_miss(world):
    process.credential_answer(REF)
    os.unlink(world.definition)
    with pytest.raises(FileNotFoundError):  # the fake opener reads it; the real one says "not found"
        process.credential_answer(REF)


def test_index_below_the_margin_is_a_miss(world, monkeypatch):
    world.expiration = expiring_in(25 * 60)
    process.credential_answer(REF)
    process.credential_answer(REF)
    assert world.opens == 1
    monkeypatch.setenv("CREDPROC_REFRESH_MARGIN", "30")  # now 25 minutes left is too little
    world.expiration = expiring_in(3600)
    doc = answer_of()
    assert world.opens == 2 and doc["Expiration"] == world.expiration


@pytest.mark.parametrize("name,value", [("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"), ("AWS_REGION", "eu-west-1"),
                                        ("HTTPS_PROXY", "http://proxy:3128"), ("AWS_CA_BUNDLE", "/ca.pem"),
                                        ("CREDPROC_CONFORMANCE", "1")])
def test_settings_that_change_the_result_change_the_index_key(world, monkeypatch, name, value):
    before = index.index_key(REF, None)
    monkeypatch.setenv(name, value)
    assert index.index_key(REF, None) != before
    process.credential_answer(REF)
    monkeypatch.delenv(name)
    process.credential_answer(REF)
    assert world.opens == 2


def test_path_and_ref_are_part_of_the_key():
    keys = {index.index_key("acme/dev", None), index.index_key("acme/dev", "aws.login"),
            index.index_key("acme/prod", None), index.index_key("acme/dev", "")}
    assert len(keys) == 4


def test_answers_depending_on_other_providers_are_not_indexed(world):
    world.used = ("aws-login", "vault-secrets")
    process.credential_answer(REF)
    process.credential_answer(REF)
    assert world.opens == 2


def test_corrupt_index_is_a_miss_and_replaced(world, isolated_env):
    process.credential_answer(REF)
    key = index.index_key(REF, None)
    index_file = isolated_env.cache_dir / "env" / (key + ".idx")
    index_file.write_bytes(index_file.read_bytes()[:-10])
    process.credential_answer(REF)
    assert world.opens == 2
    process.credential_answer(REF)
    assert world.opens == 2


# --- picking the credentials ---------------------------------------------------------------------

def test_login_value_is_used_when_there_are_no_variables(world):
    world.variables = False
    assert answer_of()["AccessKeyId"] == world.key_id


def test_path_picks_explicitly(world):
    assert answer_of(path="aws.login")["AccessKeyId"] == world.key_id
    with pytest.raises(ConfigError, match=r"acme/dev: no value at --path aws\.nope"):
        process.credential_answer(REF, "aws.nope")
    with pytest.raises(ConfigError, match="holds no AWS credentials"):
        process.credential_answer(REF, "aws")


def test_several_login_values_need_a_path(world, monkeypatch):
    from credproc.creds import awscreds

    login = Value({"accessKeyId": Value("ASIA1"), "secretAccessKey": Value("s1")})
    env = Value({"a": Value({"login": login}), "b": Value({"login": login})})
    with pytest.raises(ConfigError, match=r"several aws-login values \(a\.login, b\.login\)") as info:
        awscreds.extract(REF, env)
    assert info.value.hint == "pick one with --path PATH"
    assert awscreds.extract(REF, env, path="b.login").access_key_id == "ASIA1"
    with pytest.raises(ConfigError, match="provides no AWS credentials"):
        awscreds.extract(REF, Value({"x": Value("y")}))


def test_unknown_or_missing_parts_are_clear_errors():
    from credproc.creds import awscreds

    env = Value({"environmentVariables": Value({"AWS_ACCESS_KEY_ID": Value("ASIA1")})})
    with pytest.raises(ConfigError, match=r"environmentVariables\.AWS_SECRET_ACCESS_KEY is missing"):
        awscreds.extract(REF, env)
    env = Value({"environmentVariables": Value({"AWS_ACCESS_KEY_ID": Value("ASIA1"),
                                                "AWS_SECRET_ACCESS_KEY": Value(None, unknown=True)})})
    with pytest.raises(ConfigError, match="is unknown after evaluation"):
        awscreds.extract(REF, env)


# --- freshness of what evaluation yields ---------------------------------------------------------

def test_credentials_below_the_margin_are_an_error_naming_the_provider(world):
    world.expiration = expiring_in(12 * 60)
    with pytest.raises(ConfigError) as info:
        process.credential_answer(REF)
    assert "expire in 11 minutes, less than the 20-minute refresh margin" in info.value.message or \
        "expire in 12 minutes, less than the 20-minute refresh margin" in info.value.message
    assert "aws-login provider should have refreshed them" in info.value.message
    assert world.secret not in info.value.message + info.value.hint


def test_stale_credentials_served_by_the_provider_after_a_failed_refresh(world):
    world.expiration = expiring_in(12 * 60)
    cache.write_entry("creds", "ab" * 32, {"expiration": world.expiration, "backoff_until": time.time() + 300})
    assert answer_of()["Expiration"] == world.expiration
    answer_of()
    assert world.opens == 2  # not indexed: the next call asks the provider again (it keeps the back-off)


def test_stale_but_under_ten_minutes_is_an_error(world):
    world.expiration = expiring_in(9 * 60)
    cache.write_entry("creds", "ab" * 32, {"expiration": world.expiration, "backoff_until": time.time() + 300})
    with pytest.raises(ConfigError, match="refresh margin"):
        process.credential_answer(REF)


# --- diagnostics ---------------------------------------------------------------------------------

def test_error_diagnostics_give_the_first_line(world):
    world.diagnostics = [diag("unknown property 'x'"), diag("second problem"), diag("just a warning", severity="warning")]
    with pytest.raises(DiagnosticsError) as info:
        process.credential_answer(REF)
    assert info.value.message == "acme/dev:3:7: unknown property 'x'"
    assert info.value.hint == "1 more error; see `credproc env open acme/dev`"
    assert info.value.exit_code == ExitCode.USAGE


def test_a_provider_error_keeps_its_exit_code(world):
    refused = StsRefused("STS refused role arn:aws:iam::123456789012:role/esc-dev: AccessDenied", hint="check the trust policy")
    world.diagnostics = [diag("other"), diag("refused", cause=refused)]
    with pytest.raises(StsRefused) as info:
        process.credential_answer(REF)
    assert info.value is refused and info.value.exit_code == 5


def test_warnings_alone_do_not_fail(world):
    world.diagnostics = [diag("deprecated thing", severity="warning")]
    assert answer_of()["AccessKeyId"] == world.key_id


# --- arguments, recursion, lock timeout setting --------------------------------------------------

@pytest.mark.parametrize("argv,expected", [
    (["acme/dev"], ("acme/dev", None)),
    (["acme/dev", "--path", "aws.login"], ("acme/dev", "aws.login")),
    (["--path=aws.login", "acme/dev"], ("acme/dev", "aws.login")),
    (["--", "acme/dev"], ("acme/dev", None)),
])
def test_parse_arguments(argv, expected):
    assert process.parse_arguments(argv) == expected


@pytest.mark.parametrize("argv,message", [
    ([], "credproc process needs an environment name"),
    (["acme/dev", "--path"], "--path needs a value"),
    (["acme/dev", "--bogus"], "unknown option '--bogus' for credproc process"),
    (["acme/dev", "acme/prod"], "unexpected argument 'acme/prod' for credproc process"),
    (["acme/dev", "--path="], "--path is empty"),
])
def test_bad_arguments(argv, message):
    with pytest.raises(UsageError) as info:
        process.parse_arguments(argv)
    assert info.value.message == message
    assert info.value.hint == "usage: credproc process ORG/ENV [--path PATH]"


def test_recursion_guard():
    environ = {}
    process.enter_chain("acme/dev", environ)
    assert environ["CREDPROC_CHAIN"] == "acme/dev"
    process.enter_chain("acme/other", environ)
    with pytest.raises(RecursionDetected) as info:
        process.enter_chain("acme/dev", environ)
    assert info.value.message == "credproc process acme/dev was started by itself (chain: acme/dev -> acme/other -> acme/dev)"
    process.enter_chain("acme/third", environ)
    with pytest.raises(RecursionDetected, match=r"nested more than 3 deep \(chain: acme/dev -> acme/other -> acme/third -> acme/x\)"):
        process.enter_chain("acme/x", environ)


def test_lock_timeout_setting(monkeypatch):
    from credproc import lock

    # a waiter outlasts the holder's whole refresh (its deadline), so it does not give up just
    # before the answer arrives
    assert lock.lock_timeout() == lock.DEFAULT_TIMEOUT > lock.refresh_timeout() == 30.0
    monkeypatch.setenv("CREDPROC_LOCK_TIMEOUT", "2.5")
    assert lock.lock_timeout() == 2.5
    for bad in ("0", "-1", "soon", "99999"):
        monkeypatch.setenv("CREDPROC_LOCK_TIMEOUT", bad)
        # one rule at every lock site (process, the aws-login provider, the login lock; `process`
        # through the command line: the bad-input catalogue's var-lock-timeout)
        with pytest.raises(ConfigError, match="CREDPROC_LOCK_TIMEOUT must be a number of seconds"):
            lock.lock_timeout()
    monkeypatch.delenv("CREDPROC_LOCK_TIMEOUT")
    monkeypatch.setenv("CREDPROC_REFRESH_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="CREDPROC_REFRESH_TIMEOUT must be a number of seconds"):
        lock.refresh_timeout()


# --- export --------------------------------------------------------------------------------------

ANSWER = (b'{"Version": 1, "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "it\'s $HOME `x` \\\\ \\"q\\"", '
          b'"SessionToken": "tok/+=", "Expiration": "2030-01-01T00:00:00Z"}\n')
SECRET = "it's $HOME `x` \\ \"q\""


def test_export_process_is_byte_identical():
    assert export.format_export(ANSWER, "process").encode() == ANSWER


def test_export_posix_env_round_trips_through_sh():
    script = export.format_export(ANSWER, "env")
    assert script.splitlines()[0] == "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'"
    out = subprocess.run(["sh", "-c", script + 'printf "%s|%s|%s|%s" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" '
                                               '"$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION"'],
                         capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]}).stdout
    assert out == f"ASIAEXAMPLE|{SECRET}|tok/+=|2030-01-01T00:00:00Z"
    no_export = export.format_export(ANSWER, "env-no-export")
    # ' and \ outside the single quotes: the same word then reads back in fish too (test_env_shell_eval)
    assert no_export.splitlines()[1] == "AWS_SECRET_ACCESS_KEY='it'\\''s $HOME `x` '\\\\' \"q\"'"
    assert shlex.split(no_export.splitlines()[1].partition("=")[2]) == [SECRET]


def test_export_other_formats():
    lines = export.format_export(ANSWER, "powershell").splitlines()
    assert lines[0] == "$Env:AWS_ACCESS_KEY_ID='ASIAEXAMPLE'"
    assert lines[1] == "$Env:AWS_SECRET_ACCESS_KEY='it''s $HOME `x` \\ \"q\"'"
    assert export.format_export(ANSWER, "fish").splitlines()[1] == "set -gx AWS_SECRET_ACCESS_KEY 'it'\\''s $HOME `x` '\\\\' \"q\"'"
    # the backquote is escaped too: in double quotes sh would run `x` (it did before)
    assert export.format_export(ANSWER, "dotenv").splitlines()[1] == 'AWS_SECRET_ACCESS_KEY="it\'s \\$HOME \\`x\\` \\\\ \\"q\\""'
    assert json.loads(export.format_export(ANSWER, "json")) == {
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": "tok/+=",
        "AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z"}
    plain = b'{"Version": 1, "AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "abc/+="}\n'
    assert export.format_export(plain, "windows-cmd") == 'set "AWS_ACCESS_KEY_ID=AKIAEXAMPLE"\nset "AWS_SECRET_ACCESS_KEY=abc/+="\n'
    with pytest.raises(ConfigError, match="cmd.exe"):
        export.format_export(ANSWER, "windows-cmd")


def test_main_writes_one_answer(world, monkeypatch):
    out = io.BytesIO()
    monkeypatch.setattr("sys.stdout", types.SimpleNamespace(buffer=out, flush=lambda: None))
    assert process.main([REF]) == 0
    assert json.loads(out.getvalue())["AccessKeyId"] == world.key_id


def test_hot_path_sha256_agrees_with_hashlib(tmp_path):
    # The store records hashlib digests; the hit path recomputes them with CPython's builtin module.
    for data in (b"", b"values:\n  x: 1\n", os.urandom(100000)):
        path = tmp_path / "f"
        path.write_bytes(data)
        assert index._file_sha256(str(path)) == hashlib.sha256(data).hexdigest()
    assert index._file_sha256(str(tmp_path / "missing")) is None
