"""Unit tests of credproc.cache: directory checks, atomic writes, misses, index format, freshness."""
import json
import os
import stat
import sys

import pytest

from credproc import cache, paths
from credproc.errors import ConfigError

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and ownership")


def mode_of(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def files_in(path) -> list:
    return sorted(os.listdir(path))


# --- the directory -------------------------------------------------------------------------------

@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077])
def test_cache_root_is_created_private_whatever_the_umask(isolated_env, umask):
    old = os.umask(umask)
    try:
        root = cache.cache_root()
    finally:
        os.umask(old)
    assert root == str(isolated_env.cache_dir)
    assert mode_of(root) == 0o700


@posix_only
@pytest.mark.parametrize("bad_mode", [0o755, 0o750, 0o701, 0o770])
def test_insecure_cache_dir_is_refused_with_path_and_fix_and_left_alone(isolated_env, bad_mode):
    os.mkdir(isolated_env.cache_dir)
    os.chmod(isolated_env.cache_dir, bad_mode)
    with pytest.raises(ConfigError) as info:
        cache.cache_root()
    err = info.value
    assert str(isolated_env.cache_dir) in err.message
    assert err.hint == f"chmod 700 {isolated_env.cache_dir}"
    assert mode_of(isolated_env.cache_dir) == bad_mode  # never chmod-ed silently


@posix_only
def test_cache_dir_symlink_is_refused(isolated_env, tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    os.symlink(real, isolated_env.cache_dir)
    with pytest.raises(ConfigError, match="symbolic link") as info:
        cache.cache_root()
    assert str(isolated_env.cache_dir) in info.value.message


def test_cache_dir_that_is_a_file_is_refused(isolated_env):
    isolated_env.cache_dir.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        cache.cache_root()


@posix_only
@pytest.mark.skipif(os.getuid() != 0, reason="needs root to chown")
def test_cache_dir_owned_by_someone_else_is_refused(isolated_env):
    os.mkdir(isolated_env.cache_dir, 0o700)
    os.chown(isolated_env.cache_dir, 65534, 65534)
    with pytest.raises(ConfigError, match="owned by uid 65534"):
        cache.cache_root()


@posix_only
def test_kind_subdirectory_is_checked_too(isolated_env):
    cache.write_entry("creds", "ab", {"x": 1})
    os.chmod(isolated_env.cache_dir / "creds", 0o755)
    with pytest.raises(ConfigError) as info:
        cache.read_entry("creds", "ab")
    assert info.value.hint == f"chmod 700 {isolated_env.cache_dir / 'creds'}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG rule")
@pytest.mark.parametrize("xdg", [None, "", "   ", "/x/y", "/x/y/", "rel/dir", "~/c", " /lead", "/with space/c"])
def test_stdlib_cache_path_agrees_with_platformdirs(monkeypatch, xdg):
    import platformdirs

    monkeypatch.delenv("CREDPROC_CACHE_DIR")
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME")
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    expected = platformdirs.user_cache_dir("credproc", appauthor=False)
    assert paths.user_cache_dir() == expected
    assert paths.cache_dir() == expected


def test_credproc_cache_dir_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDPROC_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert cache.cache_root() == str(tmp_path / "elsewhere")


# --- keys ----------------------------------------------------------------------------------------

def test_make_key_is_canonical_and_sensitive():
    a = cache.make_key({"role": "arn:aws:iam::1:role/a", "duration": 3600, "policies": ["x", "y"]})
    b = cache.make_key({"policies": ["x", "y"], "duration": 3600, "role": "arn:aws:iam::1:role/a"})
    c = cache.make_key({"role": "arn:aws:iam::1:role/b", "duration": 3600, "policies": ["x", "y"]})
    assert a == b
    assert a != c
    assert len(a) == 64 and set(a) <= set("0123456789abcdef")


def test_bad_keys_and_kinds_are_rejected():
    for key in ("../x", "ABC", "", "a/b", "x" * 200):
        with pytest.raises(ValueError):
            cache.read_entry("creds", key)
    for kind in ("../x", "a b", "", "locks/x"):
        with pytest.raises(ValueError):
            cache.read_entry(kind, "ab")


# --- JSON entries --------------------------------------------------------------------------------

def test_roundtrip_modes_and_no_temp_left(isolated_env):
    key = cache.make_key({"k": 1})
    data = {"expiration": "2099-01-01T00:00:00Z", "credentials": {"AccessKeyId": "ASIA1"}}
    assert cache.read_entry("creds", key) is None
    cache.write_entry("creds", key, data)
    assert cache.read_entry("creds", key) == data
    kind_dir = isolated_env.cache_dir / "creds"
    assert files_in(kind_dir) == [key + ".json"]
    if os.name == "posix":
        assert mode_of(kind_dir) == 0o700
        assert mode_of(kind_dir / (key + ".json")) == 0o600


def test_write_replaces_atomically(isolated_env):
    key = cache.make_key({"k": 2})
    cache.write_entry("creds", key, {"v": 1})
    path = isolated_env.cache_dir / "creds" / (key + ".json")
    inode_before = os.stat(path).st_ino
    cache.write_entry("creds", key, {"v": 2})
    assert cache.read_entry("creds", key) == {"v": 2}
    assert os.stat(path).st_ino != inode_before  # a new file renamed over the old one, not rewritten in place


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_failed_write_leaves_old_entry_and_no_temp_file(isolated_env, monkeypatch, failing):
    key = cache.make_key({"k": 3})
    cache.write_entry("creds", key, {"v": "old"})

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:  # not monkeypatch.undo(): that would undo isolated_env too
        patch.setattr(cache.os, failing, boom)
        with pytest.raises(OSError):
            cache.write_entry("creds", key, {"v": "new"})
    assert cache.read_entry("creds", key) == {"v": "old"}
    assert files_in(isolated_env.cache_dir / "creds") == [key + ".json"]


@pytest.mark.parametrize("content", [b"", b"{", b'{"schema":1,"data":{"v":1', b"\xff\xfe", b"[1,2]",
                                     b'{"schema":999,"data":{}}', b'{"schema":1,"data":"x"}'])
def test_corrupt_or_truncated_entry_is_a_miss_and_is_replaced(isolated_env, content):
    key = cache.make_key({"k": 4})
    cache.write_entry("creds", key, {"v": 1})
    path = isolated_env.cache_dir / "creds" / (key + ".json")
    path.write_bytes(content)
    assert cache.read_entry("creds", key) is None
    cache.write_entry("creds", key, {"v": 2})
    assert cache.read_entry("creds", key) == {"v": 2}


@posix_only
def test_symlinked_entry_is_a_miss(isolated_env, tmp_path):
    key, other = cache.make_key({"k": 5}), cache.make_key({"k": 6})
    cache.write_entry("creds", other, {"planted": True})
    link = isolated_env.cache_dir / "creds" / (key + ".json")
    os.symlink(isolated_env.cache_dir / "creds" / (other + ".json"), link)
    assert cache.read_entry("creds", key) is None
    cache.write_entry("creds", key, {"v": 1})  # replaced by a real file; the target is untouched
    assert not os.path.islink(link)
    assert cache.read_entry("creds", other) == {"planted": True}


@posix_only
@pytest.mark.parametrize("bad_mode", [0o640, 0o604, 0o666])
def test_group_or_other_accessible_entry_is_a_miss(isolated_env, bad_mode):
    key = cache.make_key({"k": 7})
    cache.write_entry("creds", key, {"v": 1})
    os.chmod(isolated_env.cache_dir / "creds" / (key + ".json"), bad_mode)
    assert cache.read_entry("creds", key) is None


@posix_only
@pytest.mark.skipif(os.getuid() != 0, reason="needs root to chown")
def test_entry_owned_by_someone_else_is_a_miss(isolated_env):
    key = cache.make_key({"k": 8})
    cache.write_entry("creds", key, {"v": 1})
    os.chown(isolated_env.cache_dir / "creds" / (key + ".json"), 65534, 65534)
    assert cache.read_entry("creds", key) is None


def test_list_and_remove_entries(isolated_env):
    k1, k2 = cache.make_key({"n": 1}), cache.make_key({"n": 2})
    assert cache.list_entries("creds") == []
    cache.write_entry("creds", k1, {"n": 1})
    cache.write_entry("creds", k2, {"n": 2})
    (isolated_env.cache_dir / "creds" / ".junk.tmp").write_text("x")
    assert dict(cache.list_entries("creds")) == {k1: {"n": 1}, k2: {"n": 2}}
    assert cache.remove_entry("creds", k1) is True
    assert cache.remove_entry("creds", k1) is False
    assert [k for k, _ in cache.list_entries("creds")] == [k2]
    assert cache.clear_kind("creds") == 1
    assert files_in(isolated_env.cache_dir / "creds") == []


# --- the process index ---------------------------------------------------------------------------

def make_index(answer=b'{"Version":1}\n', bindings=()):
    return cache.IndexEntry(
        expires=4102444800, expiration="2100-01-01T00:00:00Z",
        files={"/a/org/dev.yaml": "a" * 64, "/a/org/with space.yaml": "b" * 64}, answer=answer,
        bindings=bindings,
    )


def test_index_roundtrip_and_listing(isolated_env):
    key = cache.make_key({"ref": "org/dev"})
    cache.write_index("env", key, make_index())
    got = cache.read_index("env", key)
    assert (got.expires, got.expiration, got.files, got.answer) == (
        4102444800, "2100-01-01T00:00:00Z", make_index().files, b'{"Version":1}\n')
    listed = dict(cache.list_entries("env"))
    assert listed == {key: {"expiration": "2100-01-01T00:00:00Z", "files": make_index().files, "bindings": []}}
    if os.name == "posix":
        assert mode_of(isolated_env.cache_dir / "env" / (key + ".idx")) == 0o600


def test_index_never_expiring():
    entry = cache.IndexEntry(None, None, {"/x.yaml": "c" * 64}, b"{}")
    decoded = cache._decode_index(b"credproc-index 2\nexpires -\nexpiration -\nfile " + b"c" * 64
                                  + b" /x.yaml\nanswer 2\n{}")
    assert (decoded.expires, decoded.expiration, decoded.files, decoded.answer) == (
        entry.expires, entry.expiration, entry.files, entry.answer)


def test_index_bindings_roundtrip_with_spaces_in_paths(isolated_env):
    key = cache.make_key({"ref": "org/dev"})
    bindings = [cache.Binding("file", "/run/with space/token", "c" * 64, until=4102444800),
                cache.Binding("env", "CI_OIDC_TOKEN", cache.ABSENT)]
    cache.write_index("env", key, make_index(bindings=bindings))
    assert cache.read_index("env", key).bindings == bindings
    assert dict(cache.list_entries("env"))[key]["bindings"] == [b.material() for b in bindings]


def test_a_binding_holds_only_for_the_same_bytes_before_its_deadline(tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_bytes(b"token-one")
    binding = cache.Binding.now("file", str(token), until=2000)
    assert binding.holds(now=1999)
    assert not binding.holds(now=2000)  # the token has expired: a cold fetch would refuse it
    token.write_bytes(b"token-two")
    assert not binding.holds(now=0)
    token.unlink()
    assert not binding.holds(now=0)
    monkeypatch.setenv("CI_TOKEN", "a")
    by_variable = cache.Binding.now("env", "CI_TOKEN")
    assert by_variable.holds(now=0)
    monkeypatch.setenv("CI_TOKEN", "b")
    assert not by_variable.holds(now=0)
    monkeypatch.delenv("CI_TOKEN")
    assert not by_variable.holds(now=0)
    # a binding recorded as absent never holds: there was no identity to bind
    assert not cache.Binding.now("env", "CI_TOKEN").holds(now=0)


def test_a_token_file_is_read_only_up_to_the_cap(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * (cache.MAX_TOKEN_BYTES + 10))
    assert len(cache.read_capped(str(big), cache.MAX_TOKEN_BYTES)) == cache.MAX_TOKEN_BYTES + 1
    assert cache.binding_digest("file", str(big)) == cache.OVERSIZE
    if os.path.exists("/dev/zero"):  # not a regular file: never read (nor a FIFO, which would block)
        assert cache.read_capped("/dev/zero", 16) is None
        assert cache.binding_digest("file", "/dev/zero") == cache.ABSENT
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert cache.read_capped(str(fifo), 16) is None  # returns at once, no writer needed


def test_truncated_or_foreign_index_is_a_miss(isolated_env):
    key = cache.make_key({"ref": "org/dev"})
    cache.write_index("env", key, make_index())
    path = isolated_env.cache_dir / "env" / (key + ".idx")
    full = path.read_bytes()
    # "credproc-index 1": written before identity bindings existed, so it is never served
    for broken in (full[:-3], full[:20], b"", b"credproc-index 1" + full[16:], b"credproc-index 3" + full[16:],
                   full.replace(b"expires 4102444800", b"expires soon"), full + b"extra"):
        path.write_bytes(broken)
        assert cache.read_index("env", key) is None
    cache.write_index("env", key, make_index())
    assert cache.read_index("env", key).answer == b'{"Version":1}\n'


# --- freshness -----------------------------------------------------------------------------------

def test_refresh_margin(monkeypatch):
    assert cache.refresh_margin_seconds() == 20 * 60
    monkeypatch.setenv("CREDPROC_REFRESH_MARGIN", "16")
    assert cache.refresh_margin_seconds() == 16 * 60
    monkeypatch.setenv("CREDPROC_REFRESH_MARGIN", "45")
    assert cache.refresh_margin_seconds() == 45 * 60
    monkeypatch.setenv("CREDPROC_REFRESH_MARGIN", "15")
    with pytest.raises(ConfigError, match="below the minimum of 16 minutes") as info:
        cache.refresh_margin_seconds()
    assert info.value.hint == "set it to at least 16"
    monkeypatch.setenv("CREDPROC_REFRESH_MARGIN", "twenty")
    with pytest.raises(ConfigError, match="whole number of minutes"):
        cache.refresh_margin_seconds()


def test_expiration_parsing_and_freshness():
    now = cache.parse_expiration("2026-01-01T12:00:00Z")
    assert cache.format_expiration(now) == "2026-01-01T12:00:00Z"
    entry = {"expiration": "2026-01-01T12:21:00Z"}
    assert cache.seconds_left(entry, now) == 21 * 60
    assert cache.is_fresh(entry, 20 * 60, now)
    assert not cache.is_fresh({"expiration": "2026-01-01T12:19:00Z"}, 20 * 60, now)
    assert cache.seconds_left({"expiration": None}, now) is None
    assert cache.is_fresh({"expiration": None}, 20 * 60, now)
    assert cache.seconds_left({"expiration": "2026-01-01T12:21:00+00:00"}, now) == 0.0  # malformed = stale
    for bad in ("2026-01-01 12:00:00Z", "2026-13-01T12:00:00Z", "2026-01-01T12:00:00", "x"):
        with pytest.raises(ValueError):
            cache.parse_expiration(bad)


def test_stale_while_refresh_helpers():
    now = cache.parse_expiration("2026-01-01T12:00:00Z")
    eleven = {"expiration": "2026-01-01T12:11:00Z"}
    nine = {"expiration": "2026-01-01T12:09:00Z"}
    assert cache.can_serve_stale(eleven, now)
    assert not cache.can_serve_stale(nine, now)
    assert not cache.in_backoff(eleven, now)
    backed = cache.with_backoff(eleven, now)
    assert backed is not eleven and "backoff_until" not in eleven
    assert now + 300 <= backed["backoff_until"] <= now + 600
    assert cache.in_backoff(backed, now)
    assert not cache.in_backoff(backed, now + 601)


def test_entries_are_json_on_disk(isolated_env):
    # `credproc cache ls` and people debugging read these files: plain JSON with a schema number.
    key = cache.make_key({"k": 9})
    cache.write_entry("creds", key, {"v": 1})
    on_disk = json.loads((isolated_env.cache_dir / "creds" / (key + ".json")).read_text())
    assert on_disk == {"schema": cache.SCHEMA_VERSION, "data": {"v": 1}}
