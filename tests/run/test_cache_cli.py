"""`credproc cache ls | clear` through the real command line, with entries written by credproc.cache."""
import json
import os
import subprocess
import sys
import time

import pytest

from credproc import cache

CREDPROC = os.path.join(os.path.dirname(sys.executable), "credproc")
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEBYaDSESSIONTOKENVALUE"


def credproc(*args):
    return subprocess.run([CREDPROC, *args], capture_output=True, text=True, timeout=60)


def creds_entry(org, root_env, role, seconds):
    """An entry shaped like the aws-login provider's (credproc/providers/aws_login.py)."""
    expiration = cache.format_expiration(time.time() + seconds)
    material = {"provider": "aws-login", "org": org, "environment": root_env, "root_environment": root_env,
                "role": role}
    entry = {
        "credentials": {"AccessKeyId": "ASIA" + "X" * 16, "SecretAccessKey": SECRET_KEY,
                        "SessionToken": SESSION_TOKEN},
        "expiration": expiration, "account_id": "123456789012", "role_arn": role,
        "assumed_role_arn": role.replace(":iam:", ":sts:") + "/s", "material": material,
    }
    key = cache.make_key(material)
    cache.write_entry("creds", key, entry)
    return key


def index_entry(files, seconds):
    key = cache.make_key({"index": sorted(files)})
    answer = json.dumps({"Version": 1, "AccessKeyId": "ASIAY", "SecretAccessKey": SECRET_KEY,
                         "SessionToken": SESSION_TOKEN}).encode()
    expires = int(time.time() + seconds)
    cache.write_index("env", key, cache.IndexEntry(expires, cache.format_expiration(expires),
                                                   {path: "0" * 64 for path in files}, answer))
    return key


@pytest.fixture
def populated(isolated_env):
    dev_role = "arn:aws:iam::123456789012:role/esc-dev"
    prod_role = "arn:aws:iam::123456789012:role/esc-prod"
    dev_file = str(isolated_env.env_dir / "acme" / "dev.yaml")
    prod_file = str(isolated_env.env_dir / "acme" / "prod.yaml")
    return {
        "dev": creds_entry("acme", "default/dev", dev_role, 3000),
        "prod": creds_entry("acme", "default/prod", prod_role, -60),
        "dev_index": index_entry([dev_file], 2500),
        "prod_index": index_entry([prod_file], 2500),
    }


def test_ls_empty():
    result = credproc("cache", "ls")
    assert result.returncode == 0, result.stderr
    assert "empty" in result.stdout


def test_ls_table_shows_entries_without_secrets(populated):
    result = credproc("cache", "ls")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KIND", "ENVIRONMENT/ROLE", "ROLE", "ARN", "EXPIRES", "(UTC)", "LEFT", "KEY"]
    dev = next(line for line in lines if "acme/dev" in line)
    assert "creds" in dev and "arn:aws:iam::123456789012:role/esc-dev" in dev
    assert populated["dev"][:12] in dev and populated["dev"] not in dev  # a prefix only
    assert "49m" in dev or "50m" in dev
    prod = next(line for line in lines if "acme/prod" in line)
    assert "expired" in prod
    assert sum(line.startswith("env ") for line in lines) == 2
    assert SECRET_KEY not in result.stdout and SESSION_TOKEN not in result.stdout


def test_ls_json(populated):
    result = credproc("cache", "ls", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_key = {row["key"]: row for row in rows}
    dev = by_key[populated["dev"][:12]]
    assert dev["kind"] == "creds" and dev["environment"] == "acme/dev"
    assert dev["role_arn"] == "arn:aws:iam::123456789012:role/esc-dev"
    assert 2900 < dev["seconds_left"] <= 3000
    assert dev["expiration"].endswith("Z")
    assert by_key[populated["prod"][:12]]["seconds_left"] < 0
    assert {row["kind"] for row in rows} == {"creds", "env"} and len(rows) == 4
    assert by_key[populated["dev_index"][:12]]["environment"] == "acme/dev"  # from its definition file
    assert by_key[populated["prod_index"][:12]]["role_arn"] is None
    assert SECRET_KEY not in result.stdout and SESSION_TOKEN not in result.stdout


def test_clear_one_environment(populated, isolated_env):
    lock_dir = isolated_env.cache_dir / "locks"
    lock_dir.mkdir(mode=0o700)
    for key in (populated["dev"], populated["prod"]):
        (lock_dir / f"{key}.lock").touch(mode=0o600)
    result = credproc("cache", "clear", "acme/dev")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "removed 2 cache entries for acme/dev\n"
    left = {key for kind in ("creds", "env") for key, _ in cache.list_entries(kind)}
    assert left == {populated["prod"], populated["prod_index"]}
    assert not (lock_dir / f"{populated['dev']}.lock").exists()
    assert (lock_dir / f"{populated['prod']}.lock").exists()


def test_clear_all(populated, isolated_env):
    lock_dir = isolated_env.cache_dir / "locks"
    lock_dir.mkdir(mode=0o700)
    (lock_dir / f"{populated['prod']}.lock").touch(mode=0o600)
    result = credproc("cache", "clear")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "removed 4 cache entries in total\n"  # the lock went with its entry
    assert cache.list_entries("creds") == [] and cache.list_entries("env") == []
    assert not any(lock_dir.iterdir())
    assert credproc("cache", "clear").stdout == "removed 0 cache entries in total\n"


def test_clear_keeps_a_held_lock(populated, isolated_env):
    import fcntl

    lock_dir = isolated_env.cache_dir / "locks"
    lock_dir.mkdir(mode=0o700)
    held = lock_dir / f"{populated['dev']}.lock"
    held.touch(mode=0o600)
    with open(held, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        result = credproc("cache", "clear", "acme/dev")
    assert result.returncode == 0, result.stderr
    assert held.exists()
    assert cache.list_entries("creds") == [(populated["prod"], cache.read_entry("creds", populated["prod"]))]


def test_clear_bad_name_is_a_usage_error():
    result = credproc("cache", "clear", "../etc")
    assert result.returncode == 2
    assert result.stderr.startswith("credproc: ") and len(result.stderr.splitlines()) == 1


def test_insecure_cache_dir_is_refused(isolated_env):
    isolated_env.cache_dir.mkdir(mode=0o700)
    os.chmod(isolated_env.cache_dir, 0o755)
    result = credproc("cache", "ls")
    assert result.returncode == 2
    assert "chmod 700" in result.stderr


def login_token_entry(seconds):
    key = cache.make_key({"login-token": "test"})
    cache.write_entry("login", key, {"token": "eyJsecret.id.token", "exp": int(time.time()) + seconds,
                                     "issuer": "https://login.example.com", "client_id": "credproc",
                                     "identity_key": "ab" * 32, "use": "id_token"})
    return key


def test_every_kind_is_listed_and_cleared(isolated_env):
    """A cached ID token and a lock left by a finished process (a refresh lock, the AWS config file's
    lock) used to be invisible to `cache ls` ("the cache is empty") and left by `cache clear`."""
    token_key = login_token_entry(600)
    lock_dir = isolated_env.cache_dir / "locks"
    lock_dir.mkdir(mode=0o700)
    (lock_dir / ("ab" * 32 + ".lock")).touch(mode=0o600)
    from credproc.aws import profilefile

    with profilefile.locked(str(isolated_env.config_file)):
        config_lock = next(p for p in lock_dir.iterdir() if p.name != "ab" * 32 + ".lock")
    listed = credproc("cache", "ls")
    assert "empty" not in listed.stdout
    login_line = next(line for line in listed.stdout.splitlines() if line.startswith("login "))
    assert "https://login.example.com (credproc)" in login_line and token_key[:12] in login_line
    assert "eyJsecret" not in listed.stdout
    assert sum("free (left by a finished process)" in line for line in listed.stdout.splitlines()) == 2
    assert config_lock.name[:12] in listed.stdout
    rows = json.loads(credproc("cache", "ls", "--json").stdout)
    assert {row["kind"] for row in rows} == {"login", "lock"}
    cleared = credproc("cache", "clear")
    assert cleared.stdout == "removed 1 cache entry in total and 2 unused lock files\n"
    assert cache.list_entries("login") == [] and not config_lock.exists() and not any(lock_dir.iterdir())
    assert credproc("cache", "ls").stdout.startswith("the cache is empty")


def test_a_held_lock_is_listed_as_held_and_kept(isolated_env):
    import fcntl

    isolated_env.cache_dir.mkdir(mode=0o700)
    lock_dir = isolated_env.cache_dir / "locks"
    lock_dir.mkdir(mode=0o700)
    held = lock_dir / ("cd" * 32 + ".lock")
    held.touch(mode=0o600)
    with open(held, "rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        listed = credproc("cache", "ls")
        cleared = credproc("cache", "clear")
    assert "held by a running credproc" in listed.stdout
    assert cleared.stdout == "removed 0 cache entries in total\n" and held.exists()


def test_clearing_one_environment_keeps_the_shared_login_tokens(populated):
    login_token_entry(600)
    assert credproc("cache", "clear", "acme/dev").returncode == 0
    assert len(cache.list_entries("login")) == 1
