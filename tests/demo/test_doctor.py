"""`credproc doctor` through the real command line (subprocesses), in the isolated test home."""
import os
import re
import subprocess
import sys

import pytest

ISSUER = "https://issuer.example.com"
GOOD_ENV = """\
values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: arn:aws:iam::123456789012:role/esc-dev
          sessionName: doctor-test
          duration: 1h
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}
    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}
    AWS_SESSION_TOKEN: ${aws.login.sessionToken}
"""
CREDPROC = [sys.executable, "-m", "credproc"]


def credproc(*args, env=None):
    # COLUMNS: doctor fits its table to the terminal (80 columns on a pipe); wide enough here that each
    # row stays on one line for parse_table (tests/newcomer checks the wrapping itself).
    env = dict(os.environ if env is None else env, COLUMNS="1000")
    return subprocess.run(CREDPROC + list(args), capture_output=True, text=True, timeout=120, env=env,
                          stdin=subprocess.DEVNULL)


def parse_table(stdout: str) -> dict:
    """{check name: [(status, detail, fix), ...]} from the table, one line per row at COLUMNS=1000."""
    lines = stdout.splitlines()
    header = lines[0]
    starts = [header.index(h) for h in ("CHECK", "STATUS", "DETAIL", "FIX")]
    rows = {}
    for line in lines[1:]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
        rows.setdefault(cells[0], []).append(tuple(cells[1:]))
    return rows


def write_env(isolated_env, name="acme/dev", text=GOOD_ENV):
    path = isolated_env.env_dir.joinpath(*name.split("/")).with_suffix(".yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def healthy(isolated_env):
    """The everyday set-up: an issuer, an environment, a profile installed by credproc itself."""
    assert credproc("issuer", "init", "--url", ISSUER).returncode == 0
    write_env(isolated_env)
    result = credproc("install-profile", "acme/dev", "--region", "eu-central-1")
    assert result.returncode == 0, result.stderr
    return isolated_env


def statuses(rows: dict) -> dict:
    return {name: [r[0] for r in found] for name, found in rows.items()}


def assert_no_secret(text: str):
    assert "eyJ" not in text  # no JWT
    assert not re.search(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", text)  # no secret key shape


def test_healthy_setup_passes(healthy):
    result = credproc("doctor", "esc-dev")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = parse_table(result.stdout)
    for name in ("AWS config", "profile wiring", "launcher", "profile name", "profile conflicts", "credentials file",
                 "environment variables", "cache directory", "environment", "token source", "local issuer", "clock"):
        assert statuses(rows).get(name) == ["OK"], (name, result.stdout)
    assert "sub credproc:org:acme:env:default/dev" in rows["token source"][0][1]
    assert re.search(r"\(credproc \d+\.\d+", rows["profile wiring"][0][1])  # it really started
    assert re.search(r"UTC now \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows["clock"][0][1])
    assert result.stdout.rstrip().endswith("all checks passed")
    assert_no_secret(result.stdout + result.stderr)
    # Naming the environment finds the same profile; no argument finds the only credproc profile.
    for args in (["acme/dev"], []):
        again = credproc("doctor", *args)
        assert again.returncode == 0, again.stdout
        assert "[profile esc-dev] runs" in parse_table(again.stdout)["profile wiring"][0][1]


def test_insecure_cache_dir_fails_with_the_fix(healthy):
    cache = healthy.cache_dir
    cache.mkdir(mode=0o755, exist_ok=True)  # install-profile may have made it (its lock)
    os.chmod(cache, 0o755)
    result = credproc("doctor", "esc-dev")
    assert result.returncode == 2
    status, detail, fix = parse_table(result.stdout)["cache directory"][0]
    assert status == "FAIL" and str(cache) in detail and "755" in detail
    assert fix == f"chmod 700 {cache}"
    os.chmod(cache, 0o700)
    assert credproc("doctor", "esc-dev").returncode == 0


def test_shadowing_credentials_file_fails(healthy):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSHADOWKEYX"
    healthy.credentials_file.write_text(
        f"[default]\naws_access_key_id = AKIADEFAULT\n\n[esc-dev]\naws_access_key_id = AKIASHADOW\n"
        f"aws_secret_access_key = {secret}\n")
    result = credproc("doctor", "esc-dev")
    assert result.returncode == 2
    status, detail, fix = parse_table(result.stdout)["credentials file"][0]
    assert status == "FAIL" and "shadows" in detail and "aws_access_key_id" in detail
    assert fix == f"remove the [esc-dev] section from {healthy.credentials_file}"
    assert secret not in result.stdout and "AKIASHADOW" not in result.stdout


def test_broken_environment_fails(healthy):
    write_env(healthy, text=GOOD_ENV.replace("${aws.login.sessionToken}", "${aws.login.nosuchthing}"))
    result = credproc("doctor", "esc-dev")
    assert result.returncode == 2
    status, detail, fix = parse_table(result.stdout)["environment"][0]
    assert status == "FAIL"
    assert detail.startswith("acme/dev:") and "nosuchthing" in detail
    assert "credproc env check acme/dev" in fix


def test_missing_environment_and_issuer(isolated_env):
    """A profile pointing at an environment that is gone, and no issuer: each named, each with its fix."""
    result = credproc("doctor", "acme/nothere")
    assert result.returncode == 2
    rows = parse_table(result.stdout)
    assert rows["profile"][0][0] == "WARN" and rows["profile"][0][2] == "credproc install-profile acme/nothere"
    assert rows["environment"][0][0] == "FAIL" and "not found" in rows["environment"][0][1]

    write_env(isolated_env)
    result = credproc("doctor", "acme/dev")
    rows = parse_table(result.stdout)
    assert result.returncode == 2
    assert rows["token source"][0][0] == "FAIL" and "credproc issuer init" in rows["token source"][0][2]
    assert rows["local issuer"][0][0] == "FAIL"


def test_wiring_problems(healthy):
    config = healthy.config_file
    good = config.read_text()
    exe = re.search(r"credential_process = (\S+)", good).group(1)

    config.write_text(good.replace(exe, "/nonexistent/credproc"))
    rows = parse_table(credproc("doctor", "esc-dev").stdout)
    assert rows["profile wiring"][0][0] == "FAIL"
    assert rows["profile wiring"][0][2] == "credproc install-profile acme/dev --profile esc-dev --force"

    shims = healthy.home / ".pyenv" / "shims"
    shims.mkdir(parents=True)
    shim = shims / "credproc"
    # What a version-manager shim does, minus the 100+ ms of looking up the version: start the real one.
    shim.write_text(f'#!/usr/bin/env bash\n# stands in for `pyenv exec credproc`\nexec "{exe}" "$@"\n')
    shim.chmod(0o755)
    config.write_text(good.replace(exe, str(shim)))
    result = credproc("doctor", "esc-dev")
    rows = parse_table(result.stdout)
    assert rows["profile wiring"][0][0] == "WARN" and "shim" in rows["profile wiring"][0][1]

    not_credproc = healthy.home / "credproc"
    not_credproc.write_text("#!/bin/sh\necho hello\n")
    not_credproc.chmod(0o755)
    config.write_text(good.replace(exe, str(not_credproc)))
    rows = parse_table(credproc("doctor", "esc-dev").stdout)
    assert rows["profile wiring"][0][0] == "FAIL" and "does not answer like credproc" in rows["profile wiring"][0][1]

    config.write_text(good.replace(exe, f"'{exe}'"))  # shlex removes the quotes; Windows' splitter keeps them
    rows = parse_table(credproc("doctor", "esc-dev").stdout)
    assert rows["profile wiring"][0][0] == "OK" and rows["profile portability"][0][0] == "WARN"

    config.write_text(good + "[profile esc-dev]\nregion = us-east-1\n")  # botocore refuses duplicate sections
    result = credproc("doctor", "esc-dev")
    assert result.returncode == 2
    status, detail, _ = parse_table(result.stdout)["AWS config"][0]
    assert status == "FAIL" and "appears twice" in detail

    config.write_text(good + "role_arn = arn:aws:iam::123456789012:role/other\n")
    result = credproc("doctor", "esc-dev")
    assert result.returncode == 2
    assert parse_table(result.stdout)["profile conflicts"][0][0] == "FAIL"


def test_environment_variables_that_shadow(healthy):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAENVIRONMENTKEY01", AWS_PROFILE="other")
    result = credproc("doctor", "esc-dev", env=env)
    assert result.returncode == 0  # warnings only: `--profile esc-dev` still works
    found = parse_table(result.stdout)["environment variables"]
    assert [r[0] for r in found] == ["WARN", "WARN"]
    assert found[0][2] == "unset AWS_ACCESS_KEY_ID"
    assert "AKIAENVIRONMENTKEY01" not in result.stdout

    token = healthy.home / "token"
    token.write_text("x")
    env = dict(os.environ, AWS_ROLE_ARN="arn:aws:iam::1:role/x", AWS_WEB_IDENTITY_TOKEN_FILE=str(token))
    result = credproc("doctor", "esc-dev", env=env)
    assert result.returncode == 2
    assert parse_table(result.stdout)["environment variables"][0][:3:2] == (
        "FAIL", "unset AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE")


@pytest.mark.timeout(120)
def test_online_calls_sts_through_the_profile_and_checks_the_clock(healthy, moto_server):
    env = dict(os.environ, AWS_ENDPOINT_URL=moto_server)
    result = credproc("doctor", "esc-dev", "--online", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = parse_table(result.stdout)
    status, detail, _ = rows["STS"][0]
    assert status == "OK"
    assert re.search(r"key ASIA\.\.\.[A-Z0-9]{4}, account 123456789012, expires \d{4}-\d\d-\d\dT", detail), detail
    assert rows["clock"][0][0] == "OK" and re.search(r"skew [+-]\d+ s", rows["clock"][0][1])
    assert_no_secret(result.stdout + result.stderr)
    # The STS call went to a throw-away cache: the user's cache has no credentials in it.
    cache = healthy.cache_dir
    leftovers = [f for _, _, files in os.walk(cache) for f in files if f.endswith((".json", ".idx"))] \
        if cache.exists() else []
    assert leftovers == []


@pytest.mark.timeout(120)
def test_online_reports_an_unreachable_sts(healthy):
    env = dict(os.environ, AWS_ENDPOINT_URL="http://127.0.0.1:9")  # discard port: nothing listens
    result = credproc("doctor", "esc-dev", "--online", env=env)
    assert result.returncode == 2
    rows = parse_table(result.stdout)
    assert rows["STS"][0][0] == "FAIL" and "exited 6" in rows["STS"][0][1]
    assert "network" in rows["STS"][0][2] and "trust-policy" not in rows["STS"][0][2]  # the fix for exit 6
    assert rows["clock"][0][0] == "WARN"


def test_without_argument(healthy):
    """AWS_PROFILE picks the profile when it is a credproc one; another profile is only a warning."""
    with open(healthy.config_file, "a") as handle:
        handle.write("\n[profile work]\nregion = us-east-1\n")
    result = credproc("doctor", env=dict(os.environ, AWS_PROFILE="work"))
    assert result.returncode == 0, result.stdout
    rows = parse_table(result.stdout)
    assert "[profile esc-dev] runs" in rows["profile wiring"][0][1]
    assert rows["environment variables"][0][:3:2] == ("WARN", "export AWS_PROFILE=esc-dev")

    result = credproc("install-profile", "acme/dev", "--profile", "esc-dev2")
    assert result.returncode == 0, result.stderr
    several = credproc("doctor")
    assert several.returncode == 2
    assert several.stderr.strip() == ("credproc: several credproc profiles (esc-dev, esc-dev2); "
                                      "name one: credproc doctor PROFILE")
    chosen = credproc("doctor", env=dict(os.environ, AWS_PROFILE="esc-dev2"))
    assert chosen.returncode == 0 and "esc-dev2" in parse_table(chosen.stdout)["profile name"][0][1]


def test_launcher_problems_are_reported_with_the_fix_that_works(healthy):
    exe = re.search(r"credential_process = (\S+)", healthy.config_file.read_text()).group(1)
    fix = "credproc install-profile acme/dev --profile esc-dev"
    with open(exe, "a") as handle:
        handle.write("# edited\n")
    rows = parse_table(credproc("doctor", "esc-dev").stdout)
    assert rows["launcher"][0][0] == "WARN" and "out of date" in rows["launcher"][0][1]
    assert rows["launcher"][0][2] == fix
    assert credproc(*fix.split()[1:]).returncode == 0
    assert parse_table(credproc("doctor", "esc-dev").stdout)["launcher"][0][0] == "OK"

    os.chmod(os.path.dirname(exe), 0o777)
    result = credproc("doctor", "esc-dev")
    status, detail, hint = parse_table(result.stdout)["launcher"][0]
    assert result.returncode == 2 and status == "FAIL" and "writable by group or others" in detail
    assert hint.startswith("chmod go-w")
    os.chmod(os.path.dirname(exe), 0o700)

    os.unlink(exe)
    rows = parse_table(credproc("doctor", "esc-dev").stdout)
    assert rows["launcher"][0][0] == "FAIL" and "missing" in rows["launcher"][0][1]
    assert credproc(*fix.split()[1:]).returncode == 0 and os.path.exists(exe)
