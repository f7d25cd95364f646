"""Secrets redirected to a file stay the user's: `credproc serve ORG/ENV > endpoint.env` (the README's
own example), `process`/`export > FILE` and `env open --show-secrets > FILE` under the usual umask 022
would create a 0644 file any local user can read. credproc makes such a file 0600 before it writes a
secret there, refuses when it cannot, and leaves pipes and files that print no secret alone."""
import os
import signal
import stat
import subprocess
import time

import pytest

from credtest import python_bytecode_env
from support.runner import CREDPROC

REF = "acme/dev"

pytestmark = [pytest.mark.timeout(120), pytest.mark.skipif(os.name != "posix", reason="POSIX modes")]


def redirected(tmp_path, argv, *, name="out", mode=0o644, umask=0o022):
    """Run credproc with stdout on a file created by the shell's way: open(O_CREAT) under umask."""
    target = tmp_path / name
    previous = os.umask(umask)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    finally:
        os.umask(previous)
    try:
        proc = subprocess.run([CREDPROC, *argv], stdout=fd, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=python_bytecode_env(dict(os.environ)), timeout=90)
    finally:
        os.close(fd)
    return proc, target


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("argv", [["process", REF], ["export", REF, "--format", "env"],
                                  ["env", "open", REF, "--show-secrets"]])
def test_a_world_readable_file_becomes_private_before_credentials_reach_it(login, tmp_path, argv):
    proc, target = redirected(tmp_path, argv)
    assert proc.returncode == 0, proc.stderr
    assert b"ASIA" in target.read_bytes()
    assert mode_of(target) == 0o600


def test_serve_redirected_to_a_file_keeps_the_endpoint_token_private(login, tmp_path):
    target = tmp_path / "endpoint.env"
    # As a shell runs `credproc serve acme/dev > endpoint.env &` under umask 022.
    serve = subprocess.Popen(["sh", "-c", f"umask 022; exec {CREDPROC} serve {REF} > {target}"],
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=python_bytecode_env(dict(os.environ)))
    try:
        deadline = time.monotonic() + 60
        while b"AWS_CONTAINER_AUTHORIZATION_TOKEN" not in (target.read_bytes() if target.exists() else b""):
            assert serve.poll() is None, serve.stderr.read()
            assert time.monotonic() < deadline, "serve printed no variables"
            time.sleep(0.05)
        assert mode_of(target) == 0o600
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)


def test_env_open_without_secrets_leaves_the_file_as_the_user_made_it(login, tmp_path):
    proc, target = redirected(tmp_path, ["env", "open", REF])
    assert proc.returncode == 0, proc.stderr
    assert mode_of(target) == 0o644


def test_a_file_credproc_cannot_make_private_gets_no_secret(tmp_path, monkeypatch, capsys):
    """A file with content (`>>`: chmod, not replaced) whose fchmod is refused: nothing written, one
    line, exit 2."""
    from credproc import fsutil
    from credproc.errors import ConfigError

    target = tmp_path / "theirs"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, b"earlier\n")
    os.fchmod(fd, 0o644)
    saved = os.dup(1)
    os.dup2(fd, 1)

    def refused(*_):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchmod", refused)
    try:
        with pytest.raises(ConfigError) as caught:
            fsutil.keep_stdout_private()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(fd)
    assert "0644" in str(caught.value) and caught.value.exit_code == 2
    assert target.read_bytes() == b"earlier\n"


def test_the_shells_own_descriptor_keeps_writing_to_the_same_file(login, tmp_path):
    # chmod in place, never a replacement file: `{ credproc process ...; echo AFTER; } > out` and
    # `2>&1` go on writing to the file the user named (a replacement sent the rest to a nameless one)
    target = tmp_path / "out"
    script = f"umask 022; {{ {CREDPROC} process {REF}; echo AFTER; {CREDPROC} process acme/nope; }} > {target} 2>&1"
    proc = subprocess.run(["sh", "-c", script], capture_output=True, stdin=subprocess.DEVNULL,
                          env=python_bytecode_env(dict(os.environ)), timeout=90)
    assert proc.returncode != 0  # the last command's missing environment
    text = target.read_bytes()
    assert b"ASIA" in text and b"\nAFTER\n" in text and b"acme/nope" in text
    assert mode_of(target) == 0o600


def test_appending_to_a_file_keeps_what_it_held(login, tmp_path):
    target = tmp_path / "log"
    target.write_bytes(b"earlier\n")
    target.chmod(0o644)
    with open(target, "ab") as out:
        proc = subprocess.run([CREDPROC, "process", REF], stdout=out, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=python_bytecode_env(dict(os.environ)), timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes().startswith(b"earlier\n{") and mode_of(target) == 0o600


NOBODY = 65534
as_root = pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")


@as_root
def test_a_file_another_user_owns_gets_no_secret_even_from_root(login, tmp_path):
    # root could chmod it, but its owner reads it whatever the mode
    target = tmp_path / "theirs.json"
    target.write_bytes(b"")
    target.chmod(0o600)
    os.chown(target, NOBODY, NOBODY)
    with open(target, "r+b") as out:
        proc = subprocess.run([CREDPROC, "process", REF], stdout=out, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, env=python_bytecode_env(dict(os.environ)), timeout=90)
    assert proc.returncode == 2
    assert f"stdout is a file owned by uid {NOBODY}, not by you" in proc.stderr.decode()
    assert target.read_bytes() == b""


def fifo_stdout(tmp_path, argv, *, owner=None, mode=0o666):
    """Run credproc with stdout on a named pipe (opened read-write so that opening never blocks);
    returns (proc, what the pipe holds, the pipe's mode afterwards)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    os.chmod(fifo, mode)
    if owner is not None:
        os.chown(fifo, owner, owner)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        proc = subprocess.run([CREDPROC, *argv], stdout=fd, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=python_bytecode_env(dict(os.environ)), timeout=90)
        try:
            held = os.read(fd, 1 << 20)
        except BlockingIOError:
            held = b""
    finally:
        os.close(fd)
    return proc, held, mode_of(fifo)


@as_root
def test_a_named_pipe_another_user_owns_gets_no_secret(login, tmp_path):
    proc, held, _ = fifo_stdout(tmp_path, ["process", REF], owner=NOBODY)
    assert proc.returncode == 2
    assert f"stdout is a named pipe owned by uid {NOBODY}" in proc.stderr.decode()
    assert held == b""


def test_a_named_pipe_others_may_open_is_refused(login, tmp_path):
    # a write waits for a reader: theirs may already be there, so a chmod would come too late
    proc, held, mode = fifo_stdout(tmp_path, ["process", REF], mode=0o666)
    assert proc.returncode == 2
    assert "stdout is a named pipe other users may open (mode 0666)" in proc.stderr.decode()
    assert held == b"" and mode == 0o666


def test_a_private_named_pipe_of_ours_is_written(login, tmp_path):
    proc, held, mode = fifo_stdout(tmp_path, ["process", REF], mode=0o600)
    assert proc.returncode == 0, proc.stderr
    assert b"ASIA" in held


@as_root
def test_gcp_token_refuses_a_file_another_user_owns(tmp_path):
    target = tmp_path / "theirs.json"
    target.write_bytes(b"")
    os.chown(target, NOBODY, NOBODY)
    with open(target, "r+b") as out:
        proc = subprocess.run([CREDPROC, "gcp-token", str(tmp_path / "spec.json")], stdout=out,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=python_bytecode_env(dict(os.environ)), timeout=90)
    assert proc.returncode == 2
    assert f"stdout is a file owned by uid {NOBODY}" in proc.stderr.decode()
    assert b"id_token" not in target.read_bytes()  # google-auth's failure answer only


def test_a_shells_pipe_is_left_alone(login):
    proc = subprocess.run(f"{CREDPROC} process {REF} | cat", shell=True, capture_output=True,
                          stdin=subprocess.DEVNULL, env=python_bytecode_env(dict(os.environ)), timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert b"ASIA" in proc.stdout
