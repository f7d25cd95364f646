"""install-profile / uninstall-profile while another program (one that does not take credproc's lock:
aws configure, an editor, a dotfile manager) writes the AWS config file: its write is never lost.

The race is made deterministic by interposing between credproc's read of the file and its replace:
in-process by wrapping the planner, and with the real CLI by making the install record (which the
planner reads after the config file) a FIFO that the test feeds only after appending its profile."""
import contextlib
import errno
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "creds"))
from profilehelp import FAKE_LINE, patch_profile_commands, read_bytes, run_cli, write_bytes  # noqa: E402
from credtest import AWS, CREDPROC, PYTHON, python_bytecode_env, write_environment  # noqa: E402

from credproc.aws import edits, profilefile  # noqa: E402
from credproc.commands import profile  # noqa: E402
from credproc.errors import ExitCode  # noqa: E402

pytestmark = pytest.mark.timeout(180)

# The user's own file: comments, odd spacing, CRLF, no final newline; kept byte for byte.
USER = b"# mine: keep\r\n[default]\r\nregion = eu-west-1   ; odd\r\n\r\n[profile work]\r\noutput=text"
THEIRS = b"\n[profile theirs]\nregion = us-west-2\n"
STATIC = ("values:\n  aws:\n    login:\n      fn::open::aws-login:\n        static:\n"
          "          accessKeyId: AKIAIOSFODNN7EXAMPLE\n"
          "          secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
          "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
          "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n")


@pytest.fixture
def cli(monkeypatch, capsys):
    patch_profile_commands(monkeypatch)
    return lambda *argv: run_cli(capsys, argv)


def append_from_another_process(path, data: bytes) -> None:
    """What `echo ... >> ~/.aws/config` does: a separate process appending in place, no lock."""
    code = "import sys; open(sys.argv[1], 'ab').write(bytes.fromhex(sys.argv[2]))"
    subprocess.run([sys.executable, "-c", code, str(path), data.hex()], check=True, timeout=30)


def aws_profiles(config) -> "list[str]":
    """The profiles the AWS CLI's own session sees (what `aws configure list-profiles` prints in v2;
    the v1 CLI installed here lacks that sub-command)."""
    code = "from awscli.clidriver import create_clidriver; print(*create_clidriver().session.available_profiles)"
    result = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, AWS_CONFIG_FILE=str(config)))
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def aws_get(config, key: str, profile_name: str) -> str:
    """`aws configure get KEY --profile NAME`: the real AWS CLI reading the file."""
    result = subprocess.run([AWS, "configure", "get", key, "--profile", profile_name], capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, AWS_CONFIG_FILE=str(config)))
    return result.stdout.strip()


def interpose(monkeypatch, planner: str, between_read_and_replace):
    """Call between_read_and_replace(call_number) each time credproc plans an edit: after it read
    the file, before it replaces it."""
    original, calls = getattr(edits, planner), []

    def planning(*args, **kwargs):
        calls.append(1)
        between_read_and_replace(len(calls))
        return original(*args, **kwargs)

    monkeypatch.setattr(edits, planner, planning)
    return calls


def temp_files(directory) -> "list[str]":
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


def test_a_profile_appended_while_install_profile_runs_is_kept(cli, isolated_env, monkeypatch):
    config = isolated_env.config_file
    write_bytes(config, USER)
    calls = interpose(monkeypatch, "plan_install",
                      lambda n: append_from_another_process(config, THEIRS) if n == 1 else None)
    code, out, err = cli("install-profile", "acme/dev")
    assert (code, err) == (0, "")
    assert len(calls) == 2  # planned again on the new content
    data = read_bytes(config)
    assert data.startswith(USER + THEIRS)  # theirs kept, everything before it byte for byte
    assert f"credential_process = {FAKE_LINE}".encode() in data
    assert sorted(aws_profiles(config)) == ["default", "esc-dev", "theirs", "work"]
    assert (aws_get(config, "region", "theirs"), aws_get(config, "credential_process", "esc-dev")) == \
        ("us-west-2", FAKE_LINE)
    assert read_bytes(str(config) + profilefile.BACKUP_SUFFIX) == USER + THEIRS  # backup of what was replaced
    assert temp_files(config.parent) == []


def test_a_file_created_while_install_profile_runs_is_kept(cli, isolated_env, monkeypatch):
    config = isolated_env.config_file  # absent when credproc reads it
    calls = interpose(monkeypatch, "plan_install",
                      lambda n: append_from_another_process(config, THEIRS) if n == 1 else None)
    code, _, err = cli("install-profile", "acme/dev")
    assert (code, err, len(calls)) == (0, "", 2)
    assert read_bytes(config).startswith(THEIRS)
    assert sorted(aws_profiles(config)) == ["esc-dev", "theirs"]


def test_a_file_that_keeps_changing_is_left_as_the_other_program_wrote_it(cli, isolated_env, monkeypatch):
    config = isolated_env.config_file
    write_bytes(config, USER)
    monkeypatch.setattr(profile, "RETRY_PAUSE_SECONDS", 0)
    written = []

    def keep_writing(n):
        written.append(f"\n[profile theirs{n}]\nregion = us-west-2\n".encode())
        append_from_another_process(config, written[-1])

    calls = interpose(monkeypatch, "plan_install", keep_writing)
    code, out, err = cli("install-profile", "acme/dev")
    assert code == ExitCode.LOCK_TIMEOUT
    assert len(calls) == profile.EDIT_ATTEMPTS
    assert err.count("\n") == 1 and err.startswith(f"credproc: {config} kept changing while credproc was editing it")
    assert read_bytes(config) == USER + b"".join(written)  # nothing of ours, nothing half-written
    assert "esc-dev" not in aws_profiles(config)
    assert temp_files(config.parent) == []


def test_a_profile_appended_while_uninstall_profile_runs_is_kept(cli, isolated_env, monkeypatch):
    config = isolated_env.config_file
    write_bytes(config, USER)
    assert cli("install-profile", "acme/dev")[0] == 0
    calls = interpose(monkeypatch, "plan_uninstall",
                      lambda n: append_from_another_process(config, THEIRS) if n == 1 else None)
    code, out, err = cli("uninstall-profile", "esc-dev")
    assert (code, err, len(calls)) == (0, "", 2)
    # ours removed (with the blank line install put before it), theirs kept, the rest byte for byte
    # (install ended the user's last line with the file's \r\n)
    assert read_bytes(config) == USER + b"\r\n" + THEIRS.lstrip(b"\n")
    assert sorted(aws_profiles(config)) == ["default", "theirs", "work"]


# ------------------------------------------------------------------------- the real CLI

def serve_fifo(fifo: str, proc, data: bytes, on_first_read, timeout: float = 60) -> int:
    """Hand `data` to every open of the FIFO for reading until proc ends or replaces the FIFO;
    call on_first_read() while the first reader waits, before it gets anything. Returns the number
    of reads served."""
    served, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None and stat.S_ISFIFO(os.lstat(fifo).st_mode):
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            time.sleep(0.005)
            continue
        if not served:
            on_first_read()
        served += 1
        with contextlib.suppress(BrokenPipeError):
            os.write(fd, data)
        os.close(fd)
        time.sleep(0.05)  # let that reader finish before the next open
    return served


def test_real_cli_keeps_a_profile_appended_between_its_read_and_its_replace(isolated_env):
    write_environment(isolated_env.env_dir, "acme/dev", STATIC)
    config = isolated_env.config_file
    write_bytes(config, USER)
    records = profilefile._records_path(profilefile.real_target(str(config)))
    os.makedirs(os.path.dirname(records), mode=0o700)
    os.mkfifo(records, 0o600)  # install-profile reads it after reading the config, before replacing it
    proc = subprocess.Popen([CREDPROC, "install-profile", "acme/dev"], env=python_bytecode_env(os.environ),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # credproc reads the FIFO while planning, after it read the config: we append right then
        reads = serve_fifo(records, proc, b"{}", lambda: append_from_another_process(config, THEIRS))
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert reads >= 1
    assert (proc.returncode, err) == (0, b"")
    assert read_bytes(config).startswith(USER + THEIRS)
    assert sorted(aws_profiles(config)) == ["default", "esc-dev", "theirs", "work"]


def test_twenty_parallel_installs_of_different_environments_all_land(isolated_env):
    refs = [f"acme/env{n:02d}" for n in range(20)]
    for ref in refs:
        write_environment(isolated_env.env_dir, ref, STATIC)
    config = isolated_env.config_file
    write_bytes(config, USER)
    procs = [subprocess.Popen([CREDPROC, "install-profile", ref], env=python_bytecode_env(os.environ),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for ref in refs]
    results = [(p.wait(timeout=150), p.communicate()[1]) for p in procs]
    assert [code for code, _ in results] == [0] * 20, [err for _, err in results]
    data = read_bytes(config)
    assert data.startswith(USER)
    expected = ["default", "work"] + [f"esc-env{n:02d}" for n in range(20)]
    assert sorted(aws_profiles(config)) == sorted(expected)
    assert temp_files(config.parent) == []
