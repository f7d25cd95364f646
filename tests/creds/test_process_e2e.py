"""`credproc process` end to end through the real command line: moto (server mode) as STS, the real
aws-login provider and evaluator, botocore's credential_process provider, the AWS CLI v1.

Counting STS calls: moto's recorder (what moto received, with headers) or the FaultProxy in front
of moto (per test, so counts are isolated).
"""
import json
import os
import signal
import subprocess
import time

import pytest

from credtest import (ASSUMED_ARN, AWS, CREDPROC, PYTHON, ROLE_ARN, FaultProxy, Recorder, jwt_token, login_yaml,
                      python_bytecode_env, signing_key_id, write_environment, write_profile, write_token_file)

from credproc import cache

AWRWI = "AssumeRoleWithWebIdentity"
REF = "acme/dev"

pytestmark = pytest.mark.timeout(180)


def run(args, env=None, timeout=60, **kwargs):
    return subprocess.run([CREDPROC, *args], env=python_bytecode_env(env or os.environ), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout, **kwargs)


def assert_valid_answer(stdout: bytes) -> dict:
    assert stdout.endswith(b"\n") and stdout.count(b"\n") == 1, stdout[:200]
    doc = json.loads(stdout)
    assert list(doc) == ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "AccountId"]
    assert doc["Version"] == 1 and doc["AccessKeyId"].startswith("ASIA") and doc["AccountId"] == "123456789012"
    left = cache.parse_expiration(doc["Expiration"]) - time.time()
    assert left >= cache.refresh_margin_seconds(), doc["Expiration"]
    return doc


@pytest.fixture
def login_env(isolated_env, tmp_path):
    """acme/dev: aws-login with a token file; profile esc-dev runs `credproc process acme/dev`."""
    token_file = write_token_file(tmp_path, jwt_token())
    definition = write_environment(isolated_env.env_dir, REF, login_yaml(f"{{file: {token_file}}}"))
    write_profile(isolated_env.config_file, "esc-dev", REF)
    return definition


@pytest.fixture
def proxy(moto_server, monkeypatch):
    with FaultProxy(moto_server) as p:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", p.url)
        yield p


def test_boto3_profile_gets_the_assumed_role_signed_with_the_sts_keys(login_env, moto_server, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server)
    recorder = Recorder(moto_server).start()
    try:
        session = boto3.Session(profile_name="esc-dev")
        identity = session.client("sts").get_caller_identity()
        used_key = session.get_credentials().get_frozen_credentials().access_key
    finally:
        recorder.stop()
    assert identity["Arn"] == ASSUMED_ARN
    requests = recorder.requests()
    actions = [action for action, _ in requests]
    assert actions == [AWRWI, "GetCallerIdentity"]
    awrwi_headers, gci_headers = requests[0][1], requests[1][1]
    assert signing_key_id(awrwi_headers) is None  # the exchange itself is unsigned
    assert signing_key_id(gci_headers) == used_key
    # and that key is what credproc hands out (now from its cache)
    hit = run(["process", REF])
    assert hit.returncode == 0 and json.loads(hit.stdout)["AccessKeyId"] == used_key


def test_aws_cli_v1_profile(login_env, proxy):
    result = subprocess.run([AWS, "--profile", "esc-dev", "sts", "get-caller-identity"], env=os.environ,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == ASSUMED_ARN
    assert proxy.count(AWRWI) == 1 and proxy.count("GetCallerIdentity") == 1


def test_cache_files_are_private(login_env, proxy, isolated_env):
    assert run(["process", REF]).returncode == 0
    for path in [isolated_env.cache_dir, *isolated_env.cache_dir.rglob("*")]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert not list(isolated_env.cache_dir.rglob("*.tmp"))


def test_editing_the_role_calls_sts_and_editing_a_comment_does_not(login_env, proxy, tmp_path):
    first = assert_valid_answer(run(["process", REF]).stdout)
    assert proxy.count(AWRWI) == 1
    assert run(["process", REF]).stdout == json.dumps(first).encode() + b"\n"  # warm: identical, no call
    assert proxy.count(AWRWI) == 1

    token_file = tmp_path / "token.jwt"
    write_environment(login_env.parents[1], REF, login_yaml(f"{{file: {token_file}}}", comment="edited comment"))
    after_comment = run(["process", REF])
    assert after_comment.returncode == 0 and json.loads(after_comment.stdout) == first
    assert proxy.count(AWRWI) == 1  # re-evaluated, but the STS result was still cached

    other_role = "arn:aws:iam::123456789012:role/esc-other"
    write_environment(login_env.parents[1], REF, login_yaml(f"{{file: {token_file}}}", role_arn=other_role))
    after_role = assert_valid_answer(run(["process", REF]).stdout)
    assert proxy.count(AWRWI) == 2
    assert after_role["AccessKeyId"] != first["AccessKeyId"]


def test_fifty_processes_on_a_cold_cache_make_one_sts_call(login_env, proxy):
    def launch(n):
        env = python_bytecode_env(os.environ)
        procs = [subprocess.Popen([CREDPROC, "process", REF], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
        return [(p.wait(timeout=150), *p.communicate()) for p in procs]

    cold = launch(50)
    assert [rc for rc, _, _ in cold] == [0] * 50, [err for _, _, err in cold if err][:3]
    answers = {out for _, out, _ in cold}
    assert len(answers) == 1
    assert_valid_answer(answers.pop())
    assert proxy.count(AWRWI) == 1

    warm = launch(20)
    assert [rc for rc, _, _ in warm] == [0] * 20
    assert {out for _, out, _ in warm} == {cold[0][1]}
    assert proxy.count(AWRWI) == 1  # warm cache: zero calls


SLOW_TOKEN = """
import os, sys, time
flag, marker, token = sys.argv[1:4]
if os.path.exists(flag):
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
sys.stdout.write(open(token).read())
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_refresher_killed_mid_refresh_leaves_no_temp_file_and_next_call_succeeds(isolated_env, proxy, tmp_path):
    script = tmp_path / "slow_token.py"
    script.write_text(SLOW_TOKEN)
    flag, marker = tmp_path / "slow", tmp_path / "started"
    flag.write_text("1")
    token_file = write_token_file(tmp_path, jwt_token())
    command = json.dumps([PYTHON, str(script), str(flag), str(marker), str(token_file)])
    write_environment(isolated_env.env_dir, REF, login_yaml(f"{{command: {command}}}"))

    refresher = subprocess.Popen([CREDPROC, "process", REF], env=python_bytecode_env(os.environ),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the token command never started"
    time.sleep(0.1)
    refresher.send_signal(signal.SIGKILL)
    refresher.wait()
    token_pid = int(marker.read_text())
    os.kill(token_pid, signal.SIGKILL)  # the orphaned token command
    flag.unlink()

    assert refresher.returncode == -signal.SIGKILL
    assert refresher.stdout.read() == b""
    assert not list(isolated_env.cache_dir.rglob("*.tmp"))
    assert not list(isolated_env.cache_dir.rglob("*.json")) and not list(isolated_env.cache_dir.rglob("*.idx"))

    started = time.monotonic()
    result = run(["process", REF])
    assert result.returncode == 0, result.stderr
    assert_valid_answer(result.stdout)
    assert time.monotonic() - started < 15  # no waiting for the dead holder's lock
    assert proxy.count(AWRWI) == 1
    assert not list(isolated_env.cache_dir.rglob("*.tmp"))


FORBIDDEN_ON_HIT = ("yaml", "boto3", "botocore", "filelock", "platformdirs", "argparse", "credproc.lang",
                    "credproc.store.store", "credproc.store.environments", "credproc.providers")


def imported_modules(stderr: bytes) -> set:
    """Every module a run loaded, from PYTHONVERBOSE=1 (`import 'NAME' # loader`). Unlike -X importtime,
    it also sees modules loaded through importlib.import_module (how the cli loads commands)."""
    return {line.split("'")[1] for line in stderr.decode(errors="replace").splitlines() if line.startswith("import '")}


def test_a_cache_hit_imports_only_the_standard_library(login_env, proxy):
    assert run(["process", REF]).returncode == 0
    calls = proxy.count(AWRWI)
    hit = run(["process", REF], env=dict(os.environ, PYTHONVERBOSE="1"))
    assert hit.returncode == 0
    assert_valid_answer(hit.stdout)
    modules = imported_modules(hit.stderr)
    assert "credproc.commands.process" in modules and "credproc.cache" in modules
    loaded = {m for m in modules for bad in FORBIDDEN_ON_HIT if m == bad or m.startswith(bad + ".")}
    assert loaded == set()
    assert proxy.count(AWRWI) == calls


def test_export_matches_process(login_env, proxy):
    processed = run(["process", REF]).stdout
    exported = run(["export", REF, "--format", "process"])
    assert exported.returncode == 0 and exported.stdout == processed
    doc = json.loads(processed)
    env_script = run(["export", REF, "--format", "env"]).stdout.decode()
    shown = subprocess.run(["sh", "-c", env_script + 'printf "%s\\n%s\\n%s\\n%s" "$AWS_ACCESS_KEY_ID" '
                            '"$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION"'],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    assert shown == [doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"], doc["Expiration"]]
    assert proxy.count(AWRWI) == 1


def test_static_credentials_have_no_expiration(isolated_env):
    write_environment(isolated_env.env_dir, "acme/static", (
        "values:\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: AKIASTATIC0000000001\n"
        "    AWS_SECRET_ACCESS_KEY: static/secret/key/0000000000000000000000\n"))
    result = run(["process", "acme/static"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"Version": 1, "AccessKeyId": "AKIASTATIC0000000001",
                                         "SecretAccessKey": "static/secret/key/0000000000000000000000"}


def test_editing_an_imported_environment_takes_effect(isolated_env, proxy, tmp_path):
    token_file = write_token_file(tmp_path, jwt_token())
    write_environment(isolated_env.env_dir, "acme/base", f"values:\n  role: {ROLE_ARN}\n")
    text = login_yaml(f"{{file: {token_file}}}", role_arn="${role}").replace("values:\n", "imports:\n  - base\nvalues:\n", 1)
    write_environment(isolated_env.env_dir, REF, text)
    first = assert_valid_answer(run(["process", REF]).stdout)
    assert run(["process", REF]).stdout == json.dumps(first).encode() + b"\n"
    assert proxy.count(AWRWI) == 1
    write_environment(isolated_env.env_dir, "acme/base", "values:\n  role: arn:aws:iam::123456789012:role/esc-other\n")
    second = assert_valid_answer(run(["process", REF]).stdout)
    assert proxy.count(AWRWI) == 2 and second["AccessKeyId"] != first["AccessKeyId"]


def test_the_no_site_launcher_serves_misses_and_hits(login_env, proxy, tmp_path, isolated_env):
    import boto3

    from credproc.commands.process import launcher_source

    launcher = tmp_path / "credproc-process"
    launcher.write_text(launcher_source(PYTHON))
    launcher.chmod(0o755)
    isolated_env.config_file.write_text(f"[profile fast]\nregion = us-east-1\ncredential_process = {launcher} process {REF}\n")
    miss = subprocess.run([str(launcher), "process", REF], env=python_bytecode_env(os.environ), capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert miss.returncode == 0, miss.stderr  # the miss path runs `site` itself to reach yaml/boto3/filelock
    assert_valid_answer(miss.stdout)
    assert run(["process", REF]).stdout == miss.stdout  # the console script sees the same cache
    identity = boto3.Session(profile_name="fast").client("sts").get_caller_identity()
    assert identity["Arn"] == ASSUMED_ARN
    assert proxy.count(AWRWI) == 1
    for argv in (["process", "--help"], ["--help"], ["export", REF, "--format", "dotenv"]):
        other = subprocess.run([str(launcher), *argv], env=python_bytecode_env(os.environ), capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=60)
        assert other.returncode == 0 and other.stdout, (argv, other.stderr)
