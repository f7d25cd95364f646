"""The cache-hit path of the real `credproc process` command, with an index written by the cache
module (independent of the evaluator): what it prints, what it imports, when it is not a hit."""
import hashlib
import os
import subprocess
import time

import pytest

from credtest import CREDPROC, python_bytecode_env, write_environment

from credproc import cache
from credproc.creds import index

REF = "acme/dev"
ANSWER = (b'{"Version": 1, "AccessKeyId": "ASIASEEDED0000000001", "SecretAccessKey": "seeded/secret", '
          b'"SessionToken": "seeded-token", "Expiration": "%s", "AccountId": "123456789012"}\n')
FORBIDDEN = ("yaml", "boto3", "botocore", "filelock", "platformdirs", "argparse", "json", "datetime",
             "credproc.lang", "credproc.store.store", "credproc.store.environments", "credproc.providers", "credproc.creds.awscreds")

pytestmark = pytest.mark.timeout(60)


def seed(definition, seconds_left=3600, path=None) -> bytes:
    expiration = cache.format_expiration(time.time() + seconds_left)
    answer = ANSWER % expiration.encode()
    digest = hashlib.sha256(definition.read_bytes()).hexdigest()
    entry = cache.IndexEntry(cache.parse_expiration(expiration), expiration, {str(definition): digest}, answer)
    cache.write_index("env", index.index_key(REF, path), entry)
    return answer


def run(*args, **env):
    return subprocess.run([CREDPROC, "process", *args], env=python_bytecode_env(dict(os.environ, **env)),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30)


def imported(stderr: bytes) -> set:
    """Every module a run loaded, from PYTHONVERBOSE=1 (`import 'NAME' # loader`). Unlike -X importtime,
    it also sees modules loaded through importlib.import_module (how the cli loads commands)."""
    names = set()
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("import '"):
            names.add(line.split("'")[1])
    return names


@pytest.fixture
def definition(isolated_env):
    return write_environment(isolated_env.env_dir, REF, "values:\n  x: 1\n")


def test_hit_prints_the_stored_answer_importing_only_the_stdlib(definition):
    answer = seed(definition)
    result = run(REF, PYTHONVERBOSE="1")
    assert result.returncode == 0
    assert result.stdout == answer
    modules = imported(result.stderr)
    assert {"credproc.commands.process", "credproc.cache"} <= modules
    assert {m for m in modules for bad in FORBIDDEN if m == bad or m.startswith(bad + ".")} == set()


def test_hit_with_path_is_a_separate_entry(definition):
    answer = seed(definition, path="aws.login")
    assert run(REF, "--path", "aws.login").stdout == answer
    assert run(REF).stdout != answer


@pytest.mark.parametrize("change", ["edit", "margin", "endpoint", "expired"])
def test_not_a_hit(definition, change):
    answer = seed(definition, seconds_left=10 * 60 if change == "expired" else 25 * 60)
    env = {}
    if change == "edit":
        definition.write_text("values:\n  x: 1 # changed\n")
    elif change == "margin":
        env["CREDPROC_REFRESH_MARGIN"] = "30"
    elif change == "endpoint":
        env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:9"
    result = run(REF, CREDPROC_LOCK_TIMEOUT="5", **env)
    assert result.stdout != answer  # re-evaluated (the outcome depends on the evaluator)
    if change == "margin":
        assert run(REF).stdout == answer  # with the default margin 25 minutes are enough


def test_bad_margin_is_refused_even_on_a_hit(definition):
    seed(definition)
    result = run(REF, CREDPROC_REFRESH_MARGIN="10")
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode().splitlines()[0] == (
        "credproc: CREDPROC_REFRESH_MARGIN=10 is below the minimum of 16 minutes (botocore re-runs the credential "
        "process before every request once fewer than 15 minutes are left) (hint: set it to at least 16)")


@pytest.mark.skipif(os.name != "posix", reason="modes")
def test_insecure_cache_dir_fails_on_the_hot_path(definition, isolated_env):
    seed(definition)
    os.chmod(isolated_env.cache_dir, 0o755)
    result = run(REF)
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode().splitlines()[0] == (
        f"credproc: cache directory {isolated_env.cache_dir} is accessible by group or others (mode 755) "
        f"(hint: chmod 700 {isolated_env.cache_dir})")


def test_help_works_and_lists_process(isolated_env):
    result = run("--help")
    assert result.returncode == 0
    assert b"usage: credproc process" in result.stdout and b"--path" in result.stdout
    listing = subprocess.run([CREDPROC, "--help"], capture_output=True, timeout=30)
    assert b"process" in listing.stdout and b"export" in listing.stdout


def test_a_caller_waiting_for_another_refresh_prints_its_answer_importing_only_the_stdlib(definition):
    """The 99 of 100 parallel cold calls that only wait for the one refresh under way: they wait on
    the lock with the standard library and then read the fresh answer, like a cache hit."""
    import filelock

    from credproc import lock

    key = index.index_key(REF, None)
    holder = filelock.FileLock(lock.lock_path(key))
    holder.acquire()
    try:
        waiter = subprocess.Popen([CREDPROC, "process", REF], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  env=python_bytecode_env(dict(os.environ, PYTHONVERBOSE="1")))
        time.sleep(1.0)  # the waiter is blocked on the held lock (a cold cache: it cannot answer yet)
        assert waiter.poll() is None
        answer = seed(definition)  # the "refresher" writes its answer, then lets go
    finally:
        holder.release()
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err[-500:]
    assert out == answer
    modules = imported(err)
    assert {m for m in modules for bad in FORBIDDEN if m == bad or m.startswith(bad + ".")} == set()
