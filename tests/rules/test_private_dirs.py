"""One privacy rule for credproc's directories (credproc.fsutil.check_private): the cache, its lock
directory, saved logins and the issuer refuse a loose, foreign, linked or non-directory path in the
same words (the cache once had its own copy, which alone caught a file in the way)."""
import os

import pytest

from credproc import cache, fsutil, lock, paths
from credproc.errors import ConfigError
from credproc.identity import issuer, tokenstore

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")

DIRECTORIES = {
    "cache directory": lambda: cache.cache_root(),
    "locks": lambda: os.path.dirname(lock.lock_path("ab" * 8)),
    "logins directory": lambda: tokenstore.logins_dir(),
    "issuer directory": lambda: fsutil.ensure_private_dir(issuer.issuer_dir(), "issuer directory") or issuer.issuer_dir(),
}


def _what(name: str) -> str:
    return "cache directory" if name == "locks" else name


@posix_only
@pytest.mark.parametrize("name", sorted(DIRECTORIES))
def test_a_loose_directory_is_refused_alike(name):
    path = DIRECTORIES[name]()
    os.chmod(path, 0o750)
    with pytest.raises(ConfigError) as info:
        DIRECTORIES[name]()
    assert str(info.value) == f"{_what(name)} {path} is accessible by group or others (mode 750)"
    assert info.value.hint == f"chmod 700 {path}"


@pytest.mark.parametrize("name", sorted(DIRECTORIES))
def test_a_file_in_the_way_is_refused_alike(name):
    path = DIRECTORIES[name]()
    os.rmdir(path) if not os.listdir(path) else pytest.skip("not empty")
    with open(path, "w") as f:
        f.write("x")
    with pytest.raises(ConfigError) as info:
        DIRECTORIES[name]()
    assert str(info.value) == f"{_what(name)} {path} is not a directory"


@pytest.mark.parametrize("name", sorted(DIRECTORIES))
def test_a_symbolic_link_is_refused_alike(name, tmp_path):
    path = DIRECTORIES[name]()
    os.rename(path, tmp_path / "moved")
    os.symlink(tmp_path / "moved", path)
    with pytest.raises(ConfigError, match=f"^{_what(name)} .* is a symbolic link; credproc keeps credentials only "
                                          "in a real directory$"):
        DIRECTORIES[name]()


def test_the_cache_hint_names_its_setting():
    path = cache.cache_root()
    os.rmdir(path) if not os.listdir(path) else None
    open(path, "w").close()
    with pytest.raises(ConfigError) as info:
        cache.cache_root()
    assert info.value.hint == "remove it or set CREDPROC_CACHE_DIR to a private directory"
    assert paths.cache_dir() == path
