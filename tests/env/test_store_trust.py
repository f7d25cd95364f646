"""The environment store is trusted only when it is yours (or root's, or a declared owner's).

A definition can run commands (`token: {command: ...}` of fn::open::aws-login), so a definition
that someone else can write is someone else's code running as you. Each test plants a token command
that creates a marker file: a refused store must never create it; the same store made trusted (the
positive control) does, which shows the marker can appear at all.

Tests run as root here: other owners are made with chown to uid 65534 (nobody); one test runs
credproc itself as uid 65534 through setpriv.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envhelpers import assert_clean_failure, snapshot
from support.text import first_line

NOBODY = 65534
TOUCH = shutil.which("touch") or "/usr/bin/touch"
# The interpreter credproc runs under as uid 65534: the test venv's may live in root's private home.
SYSTEM_PYTHON = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
pytestmark = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0,
                                reason="ownership tests chown files to another uid (needs root)")


def _runs_marker(marker: Path) -> str:
    """A definition whose token command creates ``marker`` (then prints no token: evaluation fails later)."""
    return (
        "values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n"
        "          roleArn: arn:aws:iam::123456789012:role/r\n          sessionName: ses\n"
        f"          token:\n            command: [{TOUCH}, {marker}]\n"
        "            timeout: 20\n"
    )


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "token-command-ran"


@pytest.fixture
def planted(put, marker):
    """acme/dev whose token command creates the marker; the store root 0755, all owned by root."""
    path = put("acme/dev", _runs_marker(marker))
    return path


def _chown(path: Path, uid: int = NOBODY) -> None:
    os.chown(path, uid, uid, follow_symlinks=False)


def _assert_refused(proc, marker: Path, path: Path, why: str) -> None:
    assert_clean_failure(proc)
    line = first_line(proc.stderr)
    assert line.startswith("credproc: refusing "), line
    assert str(path) in line and why in line, line
    assert "(hint: " in line
    assert not marker.exists(), "the token command of an untrusted definition ran"


def _assert_ran(proc, marker: Path) -> None:
    assert marker.exists(), (proc.returncode, proc.stderr)


@pytest.mark.parametrize("command", [("env", "open", "acme/dev"), ("process", "acme/dev"),
                                     ("env", "get", "acme/dev")])
def test_a_definition_owned_by_someone_else_is_refused(cli, store, planted, marker, command):
    _chown(planted)
    proc = cli(*command)
    _assert_refused(proc, marker, planted, f"owned by uid {NOBODY}")
    assert "CREDPROC_TRUSTED_STORE_OWNERS" in proc.stderr


def test_positive_control_the_same_definition_owned_by_you_runs_its_command(cli, planted, marker):
    _assert_ran(cli("env", "open", "acme/dev"), marker)


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o664, 0o622])
def test_a_definition_others_or_the_group_can_write_is_refused(cli, planted, marker, mode):
    os.chmod(planted, mode)
    proc = cli("env", "open", "acme/dev")
    _assert_refused(proc, marker, planted, "writable by group or others")
    assert f"chmod go-w {planted}" in proc.stderr


@pytest.mark.parametrize("which", ["root", "org"])
def test_a_store_directory_owned_by_someone_else_is_refused(cli, store, planted, marker, which):
    directory = store if which == "root" else store / "acme"
    _chown(directory)
    proc = cli("env", "open", "acme/dev")
    _assert_refused(proc, marker, directory, f"owned by uid {NOBODY}")


@pytest.mark.parametrize("which", ["root", "org", "project"])
def test_a_world_writable_store_directory_is_refused_even_sticky(cli, store, put, marker, which):
    planted = put("acme/proj/dev", _runs_marker(marker))
    directory = {"root": store, "org": store / "acme", "project": store / "acme" / "proj"}[which]
    os.chmod(directory, 0o1777)
    proc = cli("env", "open", "acme/proj/dev")
    _assert_refused(proc, marker, directory, "writable by group or others")
    assert planted.exists()


def test_an_untrusted_import_is_refused_and_its_command_never_runs(cli, put, marker):
    shared = put("acme/shared", _runs_marker(marker))
    put("acme/dev", "imports:\n  - shared\nvalues:\n  x: 1\n")
    _chown(shared)
    proc = cli("env", "open", "acme/dev")
    assert_clean_failure(proc)
    line = first_line(proc.stderr)
    assert line.startswith("acme/dev:2:5: refusing "), line
    assert str(shared) in line and f"owned by uid {NOBODY}" in line
    assert not marker.exists()
    os.chown(shared, 0, 0)  # positive control: the same import, owned by you, runs
    _assert_ran(cli("env", "open", "acme/dev"), marker)


def test_a_sticky_world_writable_directory_above_the_store_is_not_part_of_it(cli, tmp_path, marker, isolated_env):
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    os.chmod(shared_tmp, 0o1777)
    root = shared_tmp / "store"
    (root / "acme").mkdir(parents=True)
    (root / "acme" / "dev.yaml").write_text(_runs_marker(marker))
    _assert_ran(cli("env", "open", "acme/dev", env={"CREDPROC_ENV_DIR": str(root)}), marker)


def test_a_declared_owner_makes_a_shared_read_only_store_trusted(cli, store, planted, marker):
    for path in (store, store / "acme", planted):
        _chown(path)
    refused = cli("env", "open", "acme/dev")
    _assert_refused(refused, marker, store, f"owned by uid {NOBODY}")
    other = cli("env", "open", "acme/dev", env={"CREDPROC_TRUSTED_STORE_OWNERS": "1234"})
    _assert_refused(other, marker, store, f"owned by uid {NOBODY}")
    by_name = cli("env", "open", "acme/dev", env={"CREDPROC_TRUSTED_STORE_OWNERS": "1234, nobody"})
    _assert_ran(by_name, marker)
    marker.unlink()
    _assert_ran(cli("env", "open", "acme/dev", env={"CREDPROC_TRUSTED_STORE_OWNERS": str(NOBODY)}), marker)


def test_a_declared_owner_does_not_make_writable_files_trusted(cli, planted, marker):
    _chown(planted)
    os.chmod(planted, 0o664)
    proc = cli("env", "open", "acme/dev", env={"CREDPROC_TRUSTED_STORE_OWNERS": str(NOBODY)})
    _assert_refused(proc, marker, planted, "writable by group or others")


def test_a_bad_trusted_owner_declaration_is_a_clear_error(cli, planted, marker):
    proc = cli("env", "open", "acme/dev", env={"CREDPROC_TRUSTED_STORE_OWNERS": "no-such-user-xyz"})
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith(
        "credproc: CREDPROC_TRUSTED_STORE_OWNERS: unknown user 'no-such-user-xyz'")
    assert not marker.exists()


def test_a_symbolic_link_inside_the_store_is_not_followed(cli, store, planted, marker):
    os.symlink("dev.yaml", store / "acme" / "alias.yaml")
    proc = cli("env", "open", "acme/alias")
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith(
        f"credproc: refusing environment acme/alias: {store / 'acme' / 'alias.yaml'} is a symbolic link")
    assert not marker.exists()


def test_a_fifo_in_the_store_does_not_hang(cli, store, put):
    put("acme/x", "values: {}\n")
    os.mkfifo(store / "acme" / "dev.yaml")
    proc = cli("env", "open", "acme/dev", timeout=20)
    assert_clean_failure(proc)
    assert "not found" in first_line(proc.stderr)


def test_set_and_edit_refuse_an_untrusted_definition_and_write_nothing(cli, store, planted, tmp_path):
    _chown(planted)
    before = snapshot(store)
    proc = cli("env", "set", "acme/dev", "x", "1")
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith("credproc: refusing ")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\necho '# edited' >> \"$1\"\n")
    editor.chmod(0o755)
    proc = cli("env", "edit", "acme/dev", env={"EDITOR": str(editor)})
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith("credproc: refusing ")
    assert snapshot(store) == before


def test_init_refuses_a_world_writable_store(cli, store):
    store.mkdir(parents=True)
    os.chmod(store, 0o777)
    proc = cli("env", "init", "acme/dev")
    assert_clean_failure(proc)
    assert first_line(proc.stderr).startswith(
        f"credproc: refusing environment acme/dev: {store} is writable by group or others (mode 777)")
    assert not (store / "acme").exists()


# --- writes keep owner and mode sane -------------------------------------------------------------

def test_set_as_root_keeps_the_owner_of_the_file_and_makes_it_private(cli, store, put):
    path = put("acme/dev", "values:\n  a: 1\n")
    for p in (store, store / "acme", path):
        _chown(p)
    os.chmod(path, 0o640)
    env = {"CREDPROC_TRUSTED_STORE_OWNERS": str(NOBODY)}
    proc = cli("env", "set", "acme/dev", "b", "2", env=env)
    assert proc.returncode == 0, proc.stderr
    info = os.lstat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, NOBODY, 0o600)
    assert "b: 2" in path.read_text()
    assert cli("env", "open", "acme/dev", "b", env=env).stdout.strip() == "2"


def test_init_as_root_in_someone_elses_store_gives_them_the_new_files(cli, store):
    store.mkdir(parents=True)
    _chown(store)
    env = {"CREDPROC_TRUSTED_STORE_OWNERS": str(NOBODY)}
    proc = cli("env", "init", "acme/proj/dev", env=env)
    assert proc.returncode == 0, proc.stderr
    for path, mode in ((store / "acme", 0o700), (store / "acme" / "proj", 0o700),
                       (store / "acme" / "proj" / "dev.yaml", 0o600)):
        info = os.lstat(path)
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (NOBODY, mode), path


# --- credproc running as an ordinary user ---------------------------------------------------------

def _as_nobody(args, env) -> subprocess.CompletedProcess:
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
               SYSTEM_PYTHON, "-m", "credproc", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, cwd="/")


@pytest.fixture
def nobody_home():
    if not shutil.which("setpriv") or not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip("needs setpriv and a system Python of the test's version")
    top = Path(tempfile.mkdtemp(prefix="credproc-trust-"))
    os.chmod(top, 0o755)
    try:
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_an_ordinary_user_trusts_their_own_and_roots_store_but_not_a_third_users(nobody_home):
    repo = Path(__file__).resolve().parents[2]
    marker = nobody_home / "home" / "ran"
    home = nobody_home / "home"
    store = nobody_home / "store"
    (store / "acme").mkdir(parents=True)
    home.mkdir()
    definition = store / "acme" / "dev.yaml"
    definition.write_text(_runs_marker(marker))
    for path in (home,):
        _chown(path)
    python_path = [str(repo)] + [p for p in sys.path if p.endswith("site-packages")]
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": os.pathsep.join(python_path),
           "CREDPROC_ENV_DIR": str(store), "CREDPROC_CACHE_DIR": str(home / "cache"),
           "CREDPROC_CONFIG_DIR": str(home / "config"), "AWS_EC2_METADATA_DISABLED": "true"}
    _assert_ran(_as_nobody(["env", "open", "acme/dev"], env), marker)  # root's store: trusted
    marker.unlink()
    os.chown(definition, 1234, 1234)  # a third user's file
    proc = _as_nobody(["env", "open", "acme/dev"], env)
    _assert_refused(proc, marker, definition, "owned by uid 1234")
    for path in (store, store / "acme", definition):
        _chown(path)  # now all nobody's own
    _assert_ran(_as_nobody(["env", "open", "acme/dev"], env), marker)
