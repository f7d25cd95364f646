"""Helpers for the install-profile tests: run the real CLI boundary with only the profile commands
registered, a fixed launcher path and an environment check that can be swapped."""
import os

FAKE_LAUNCHER = ["/home/me/.config/credproc/launchers/0123456789ab/credproc"]
FAKE_LINE = "/home/me/.config/credproc/launchers/0123456789ab/credproc process acme/dev"


def patch_profile_commands(monkeypatch, *, check=None):
    """cli.main with only credproc.commands.profile registered (other commands may be half-built),
    the launcher fixed to FAKE_LAUNCHER and the environment check replaced by `check` (default: pass)."""
    from credproc import cli
    from credproc.commands import profile

    monkeypatch.setattr(cli, "COMMAND_MODULES", ("credproc.commands.profile",))
    monkeypatch.setattr(profile, "credproc_command", lambda: list(FAKE_LAUNCHER))
    monkeypatch.setattr(profile, "check_environment_yields_aws", check or (lambda ref: None))


def run_cli(capsys, argv):
    from credproc import cli

    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_bytes(path, data: bytes, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def read_bytes(path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
