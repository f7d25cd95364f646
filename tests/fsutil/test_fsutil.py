"""credproc.fsutil: atomic private writes and private-directory checks."""
import os
import stat
import sys

import pytest

from credproc import fsutil
from credproc.errors import ConfigError

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and owners")


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _leftovers(directory) -> list:
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


@pytest.fixture
def umask():
    """Set a umask for one test; the old one comes back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@posix_only
@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077, 0o277])
def test_write_atomic_gives_exactly_the_mode_whatever_the_umask(tmp_path, umask, mask):
    umask(mask)
    private, shared = tmp_path / "private", tmp_path / "shared"
    fsutil.write_atomic(str(private), b"secret")
    fsutil.write_atomic(str(shared), b"config", mode=0o644)
    assert (_mode(private), _mode(shared)) == (0o600, 0o644)
    assert private.read_bytes() == b"secret" and shared.read_bytes() == b"config"


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "file"
    target.write_bytes(b"old")
    fsutil.write_atomic(str(target), b"new" * 100_000)
    assert target.read_bytes() == b"new" * 100_000
    assert _leftovers(tmp_path) == []


def test_write_atomic_failure_keeps_the_old_file_and_removes_the_temp(tmp_path, monkeypatch):
    target = tmp_path / "file"
    target.write_bytes(b"old")

    def broken_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fsutil.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        fsutil.write_atomic(str(target), b"new")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_write_atomic_does_not_write_through_a_link_at_the_target(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    link = tmp_path / "link"
    link.symlink_to(victim)
    fsutil.write_atomic(str(link), b"new")
    assert victim.read_bytes() == b"untouched"  # the link itself was replaced by a file
    assert not link.is_symlink() and link.read_bytes() == b"new"


def test_create_atomic_never_replaces(tmp_path):
    target = tmp_path / "file"
    fsutil.create_atomic(str(target), b"first")
    with pytest.raises(FileExistsError):
        fsutil.create_atomic(str(target), b"second")
    assert target.read_bytes() == b"first"
    assert _leftovers(tmp_path) == []
    if os.name == "posix":
        assert _mode(target) == 0o600


@posix_only
def test_make_private_dirs_makes_every_new_directory_0700_and_leaves_existing_ones(tmp_path, umask):
    umask(0o022)
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    leaf = existing / "a" / "b" / "c"
    fsutil.make_private_dirs(str(leaf))
    assert [_mode(existing / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3
    assert _mode(existing) == 0o755
    fsutil.make_private_dirs(str(leaf))  # already there: no error


def test_make_private_dirs_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        fsutil.make_private_dirs(str(tmp_path / "file" / "sub"))


@posix_only
def test_check_private_names_the_path_and_the_chmod_fix(tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o755)
    with pytest.raises(ConfigError) as info:
        fsutil.check_private(str(loose), "test directory")
    assert str(info.value) == f"test directory {loose} is accessible by group or others (mode 755)"
    assert info.value.hint == f"chmod 700 {loose}"
    key = tmp_path / "key"
    key.write_text("k")
    os.chmod(key, 0o640)
    with pytest.raises(ConfigError) as info:
        fsutil.check_private(str(key), "test key", 0o600)
    assert info.value.hint == f"chmod 600 {key}"


@pytest.mark.parametrize("shared_mode", [0o1777, 0o777, 0o1770])
def test_a_shared_directory_is_never_told_to_chmod_700(tmp_path, shared_mode):
    """CREDPROC_CACHE_DIR=/tmp: `chmod 700 /tmp` would break every other user of it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, shared_mode)
    with pytest.raises(ConfigError) as info:
        fsutil.check_private(str(shared), "cache directory", variable="CREDPROC_CACHE_DIR")
    assert "chmod" not in info.value.hint
    assert info.value.hint == "set CREDPROC_CACHE_DIR to a new directory below it (credproc creates it 0700)"


def test_check_private_refuses_a_symbolic_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(ConfigError, match="is a symbolic link"):
        fsutil.ensure_private_dir(str(link), "test directory")


@posix_only
def test_ensure_private_dir_creates_then_accepts(tmp_path, umask):
    umask(0o077)
    target = tmp_path / "new" / "dir"
    fsutil.ensure_private_dir(str(target), "test directory")
    assert _mode(target) == 0o700
    fsutil.ensure_private_dir(str(target), "test directory")


def test_importing_fsutil_stays_cheap():
    """The hot path may import fsutil: it must pull in nothing beyond the stdlib it names."""
    import subprocess

    code = ("import sys; before = set(sys.modules); import credproc.fsutil; "
            "print(sorted(m for m in set(sys.modules) - before if not m.startswith('credproc')))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(out) == []  # os and stat are loaded by the interpreter itself
