"""The cache under attack or damage: a truncated, corrupted, symlinked or foreign entry is a miss that
is refreshed and replaced (never served, never followed); a group-writable directory is refused; a
read-only cache directory still serves hits and otherwise fails with a clear error (exit 2)."""
import json
import os
import pwd
import shutil
import stat
import subprocess

import pytest

from credtest import CREDPROC, python_bytecode_env
from support.runner import assert_clean_failure, run_credproc, temp_leftovers
from support.stsproxy import AWRWI

from credproc import cache

REF = "acme/dev"

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(os.name != "posix", reason="POSIX modes and owners")]


@pytest.fixture
def warm(login, isolated_env):
    """One successful call: returns (answer dict, creds entry path, index entry path)."""
    result = run_credproc("process", REF)
    assert result.code == 0, result
    (creds_path,) = (isolated_env.cache_dir / "creds").glob("*.json")
    (index_path,) = (isolated_env.cache_dir / "env").glob("*.idx")
    return json.loads(result.stdout), creds_path, index_path


def damage(path, how: str, tmp_path):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "corrupted":
        path.write_bytes(bytes(b ^ 0x5A for b in data))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "world-readable":
        os.chmod(path, 0o644)
    elif how == "owned-by-nobody":
        os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)
    elif how == "symlink":
        # An attacker's file with a plausible entry: following the link would serve their keys.
        planted = tmp_path / f"planted-{path.name}"
        planted.write_bytes(data.replace(b"ASIA", b"AKIA"))
        os.chmod(planted, 0o600)
        path.unlink()
        path.symlink_to(planted)
        return planted
    else:
        raise ValueError(how)
    return None


HOW = ["truncated", "corrupted", "empty", "world-readable", "owned-by-nobody", "symlink"]


@pytest.mark.parametrize("how", HOW)
def test_damaged_sts_entry_is_a_miss_refreshed_and_replaced(how, warm, login, isolated_env, tmp_path):
    answer, creds_path, index_path = warm
    index_path.unlink()  # make the call reach the provider's STS cache
    planted = damage(creds_path, how, tmp_path)
    planted_bytes = planted.read_bytes() if planted else None
    result = run_credproc("process", REF)
    assert result.code == 0, result
    fresh = json.loads(result.stdout)
    assert fresh["AccessKeyId"] != answer["AccessKeyId"] and fresh["AccessKeyId"].startswith("ASIA")
    assert login.count(AWRWI) == 2  # the damaged entry was not used
    st = os.lstat(creds_path)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) == 0o600
    (_, entry), = cache.list_entries("creds")
    assert entry["credentials"]["AccessKeyId"] == fresh["AccessKeyId"]
    if planted:
        assert planted.read_bytes() == planted_bytes  # the link was replaced, its target never written
    assert temp_leftovers(isolated_env.cache_dir) == []


@pytest.mark.parametrize("how", HOW)
def test_damaged_index_is_a_miss_answered_from_the_sts_cache(how, warm, login, isolated_env, tmp_path):
    answer, _, index_path = warm
    planted = damage(index_path, how, tmp_path)
    result = run_credproc("process", REF)
    assert result.code == 0, result
    assert json.loads(result.stdout) == answer  # the provider's entry was still good: no STS call
    assert login.count(AWRWI) == 1
    st = os.lstat(index_path)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) == 0o600
    assert b"AKIA" not in result.stdout
    if planted:
        assert b"AKIA" in planted.read_bytes()
    assert temp_leftovers(isolated_env.cache_dir) == []


@pytest.mark.parametrize("where,mode", [("root", 0o770), ("root", 0o707), ("root", 0o755), ("creds", 0o770),
                                        ("env", 0o775)])
def test_group_or_world_accessible_cache_directory_is_refused(where, mode, warm, login, isolated_env):
    directory = isolated_env.cache_dir if where == "root" else isolated_env.cache_dir / where
    if where == "creds":
        warm[2].unlink()  # a hit reads only env/; the provider's creds/ is read on a miss
    os.chmod(directory, mode)
    before = login.count(AWRWI)
    result = run_credproc("process", REF)
    assert_clean_failure(result, 2)
    assert result.stdout == b""
    assert result.first_line == (f"credproc: cache directory {directory} is accessible by group or others "
                                 f"(mode {mode:o}) (hint: chmod 700 {directory})")
    assert stat.S_IMODE(os.stat(directory).st_mode) == mode  # reported, never silently chmod-ed
    assert login.count(AWRWI) == before


def test_cache_directory_owned_by_another_user_is_refused(warm, login, isolated_env):
    nobody = pwd.getpwnam("nobody").pw_uid
    os.chown(isolated_env.cache_dir, nobody, -1)
    result = run_credproc("process", REF)
    assert_clean_failure(result, 2)
    assert result.first_line == (f"credproc: cache directory {isolated_env.cache_dir} is owned by uid {nobody}, not by "
                                 f"you (uid {os.getuid()}) (hint: set CREDPROC_CACHE_DIR to a directory you own, or "
                                 "remove this one)")


def test_cache_directory_replaced_by_a_symlink_is_refused(warm, login, isolated_env, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.move(str(isolated_env.cache_dir), moved)
    isolated_env.cache_dir.symlink_to(moved)
    result = run_credproc("process", REF)
    assert_clean_failure(result, 2)
    assert result.first_line.startswith(f"credproc: cache directory {isolated_env.cache_dir} is a symbolic link")


# --- a read-only cache directory (a read-only bind mount in a private mount namespace) -------------

def run_with_read_only(directory, *args):
    d = str(directory)
    script = f'mount --bind "{d}" "{d}" && mount -o remount,bind,ro "{d}" && exec "$@"'
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", CREDPROC, *args],
                          env=python_bytecode_env(os.environ), stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=60)
    return proc.returncode, proc.stdout, proc.stderr.decode()


@pytest.fixture
def can_mount(tmp_path):
    probe = tmp_path / "probe"
    probe.mkdir()
    if shutil.which("unshare") is None or run_probe(probe) != 0:
        pytest.skip("needs root and mount namespaces (unshare -m) for a read-only bind mount")


def run_probe(directory) -> int:
    d = str(directory)
    return subprocess.run(["unshare", "-m", "sh", "-c", f'mount --bind "{d}" "{d}" && mount -o remount,bind,ro "{d}"'],
                          capture_output=True).returncode


def test_read_only_cache_directory_still_serves_hits(can_mount, warm, login, isolated_env):
    answer, _, _ = warm
    code, out, err = run_with_read_only(isolated_env.cache_dir, "process", REF)
    assert (code, err) == (0, "")
    assert json.loads(out) == answer


def test_read_only_cold_cache_directory_fails_clearly(can_mount, login, isolated_env):
    os.mkdir(isolated_env.cache_dir, 0o700)
    code, out, err = run_with_read_only(isolated_env.cache_dir, "process", REF)
    assert (code, out) == (2, b""), err
    assert "Traceback" not in err
    assert err.splitlines()[0] == (
        f"credproc: cannot create the cache directory {isolated_env.cache_dir / 'locks'}: Read-only file system "
        "(hint: credproc needs a writable private cache directory; set CREDPROC_CACHE_DIR to one)")
    assert login.count(AWRWI) == 0  # no STS call whose result could not be kept single-flight


def test_read_only_cache_with_an_expired_index_fails_clearly(can_mount, warm, login, isolated_env):
    _, _, index_path = warm
    index_path.unlink()
    code, out, err = run_with_read_only(isolated_env.cache_dir, "process", REF)
    assert (code, out) == (2, b""), err
    lock_dir = isolated_env.cache_dir / "locks"
    assert err.splitlines()[0].startswith(f"credproc: cannot open the refresh lock {lock_dir}/")
    assert err.splitlines()[0].endswith(": Read-only file system (hint: credproc needs a writable private cache "
                                        "directory; set CREDPROC_CACHE_DIR to one)")
