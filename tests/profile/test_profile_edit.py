"""install-profile / uninstall-profile behaviour: conflicts, dry run, file modes, backup, locking,
the credential_process line (quoting, launcher), the environment check."""
import io
import json
import os
import shlex
import stat
import subprocess
import sys
import textwrap
import types

import pytest
from botocore.compat import compat_shell_split

sys.path.insert(0, os.path.dirname(__file__))
from profilehelp import FAKE_LINE, patch_profile_commands, read_bytes, run_cli, write_bytes  # noqa: E402

from credproc.aws import ini, profilefile  # noqa: E402
from credproc.aws import processline  # noqa: E402
from credproc.commands import profile  # noqa: E402
from credproc.errors import ConfigError, DiagnosticsError, UsageError  # noqa: E402
from credproc.lang.values import Value  # noqa: E402

INSTALL = ["install-profile", "acme/dev"]


@pytest.fixture
def cli(monkeypatch, capsys):
    patch_profile_commands(monkeypatch)
    return lambda *argv: run_cli(capsys, argv)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ------------------------------------------------------------------------------- conflicts

CONFLICTS = [
    ("aws_access_key_id = AKIAEXAMPLE", "aws_access_key_id"),
    ("aws_secret_access_key = verysecretvalue", "aws_secret_access_key"),
    ("aws_session_token = verysecretvalue", "aws_session_token"),
    ("role_arn = arn:aws:iam::123456789012:role/x", "role_arn"),
    ("source_profile = base", "source_profile"),
    ("credential_source = Ec2InstanceMetadata", "credential_source"),
    ("sso_start_url = https://x.awsapps.com/start", "sso_start_url"),
    ("sso_session = corp", "sso_session"),
    ("sso_account_id = 111122223333", "sso_account_id"),
    ("login_session = arn:aws:iam::123456789012:user/x", "login_session"),
    ("web_identity_token_file = /var/run/token", "web_identity_token_file"),
    ("Role_ARN = arn:aws:iam::123456789012:role/x", "role_arn"),  # keys are case-insensitive to botocore
    ("credential_process = /usr/bin/aws-vault exec dev --json", "another tool's credential_process"),
    ("credential_process = /home/me/.config/credproc/launchers/0123456789ab/credproc process acme/prod", "runs credproc for acme/prod"),
]


@pytest.mark.parametrize("line, named", CONFLICTS)
def test_each_conflict_is_refused_naming_it_and_force(cli, isolated_env, line, named):
    before = f"# mine\n[profile esc-dev]\n{line}\n".encode()
    write_bytes(isolated_env.config_file, before)
    code, out, err = cli(*INSTALL)
    assert code == 2
    assert err.startswith("credproc: profile esc-dev in ") and err.count("\n") == 1
    assert named in err and "--force" in err
    assert "verysecretvalue" not in err
    assert read_bytes(isolated_env.config_file) == before
    assert not os.path.exists(str(isolated_env.config_file) + ".credproc.bak")


@pytest.mark.parametrize("line, named", CONFLICTS)
def test_force_removes_only_the_conflicting_lines(cli, isolated_env, line, named):
    write_bytes(isolated_env.config_file, f"[profile esc-dev]\n# keep me\n{line}\nregion = eu-west-1\n".encode())
    code, out, err = cli(*INSTALL, "--force")
    assert code == 0, err
    after = read_bytes(isolated_env.config_file).decode()
    assert "# keep me\n" in after and "region = eu-west-1\n" in after
    assert line not in after
    settings = ini.botocore_profile(after, "esc-dev")
    assert settings["credential_process"] == FAKE_LINE
    assert not ini.conflicting_keys(settings)


@pytest.mark.parametrize("keys", ["aws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = verysecretvalue",
                                  "credential_process = /usr/bin/other", "role_arn = arn:aws:iam::1:role/x"])
def test_credentials_file_shadow_is_refused_then_warned_with_force(cli, isolated_env, keys):
    creds = f"[esc-dev]\n{keys}\n".encode()
    write_bytes(isolated_env.credentials_file, creds)
    code, out, err = cli(*INSTALL)
    assert code == 2 and "[esc-dev] in " in err and "--force" in err and "verysecretvalue" not in err
    assert not os.path.exists(isolated_env.config_file)
    code, out, err = cli(*INSTALL, "--force")
    assert code == 0 and "warning" in err and "verysecretvalue" not in err
    assert read_bytes(isolated_env.credentials_file) == creds  # never edited
    assert FAKE_LINE in read_bytes(isolated_env.config_file).decode()


def test_credentials_file_section_with_only_region_does_not_shadow(cli, isolated_env):
    write_bytes(isolated_env.credentials_file, b"[esc-dev]\nregion = us-east-1\n")
    code, _, err = cli(*INSTALL)
    assert code == 0, err


@pytest.mark.parametrize("argv, message", [
    (["--profile", "bad name"], "invalid profile name"),
    (["--profile", "x\ny"], "invalid profile name"),
    (["--profile", "[x]"], "invalid profile name"),
    (["--profile", "a#b"], "invalid profile name"),
    (["--region", "us-east-1]"], "invalid region"),
    (["--output", "json\n[profile x]"], "invalid output format"),
])
def test_values_that_would_break_the_ini_are_rejected(cli, isolated_env, argv, message):
    code, out, err = cli(*INSTALL, *argv)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not os.path.exists(isolated_env.config_file)


@pytest.mark.parametrize("ref", ["acme", "acme/dev/x/y", "acme/de v", "../etc/passwd", "acme/dev\n"])
def test_bad_environment_names_are_rejected(cli, isolated_env, ref):
    code, _, err = cli("install-profile", ref)
    assert code == 2 and "invalid environment name" in err


# ------------------------------------------------------------------- dry run, modes, backup

def test_dry_run_on_missing_file_creates_nothing(cli, isolated_env):
    code, out, err = cli(*INSTALL, "--dry-run")
    assert code == 0
    assert "+[profile esc-dev]" in out and f"+credential_process = {FAKE_LINE}" in out
    assert not os.path.exists(isolated_env.home / ".aws")  # not even the directory or a lock file
    assert not os.path.exists(isolated_env.config_dir)


def test_dry_run_on_existing_file_changes_nothing_and_redacts_secrets(cli, isolated_env):
    before = b"[profile esc-dev]\naws_secret_access_key = verysecretvalue\n"
    write_bytes(isolated_env.config_file, before, mode=0o640)
    st = os.stat(isolated_env.config_file)
    code, out, err = cli(*INSTALL, "--dry-run", "--force")
    assert code == 0
    assert "-aws_secret_access_key = ****" in out and "verysecretvalue" not in out
    assert read_bytes(isolated_env.config_file) == before
    assert os.stat(isolated_env.config_file).st_mtime_ns == st.st_mtime_ns
    assert sorted(os.listdir(isolated_env.home / ".aws")) == ["config"]


def test_new_file_is_0600_in_a_0700_directory(cli, isolated_env, tmp_path, monkeypatch):
    code, _, err = cli(*INSTALL)
    assert code == 0, err
    assert mode_of(isolated_env.home / ".aws") == 0o700
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "deep" / "er" / "config"))
    assert cli(*INSTALL)[0] == 0
    assert mode_of(tmp_path / "deep") == 0o700 and mode_of(tmp_path / "deep" / "er") == 0o700
    assert mode_of(isolated_env.config_file) == 0o600
    assert not os.path.exists(str(isolated_env.config_file) + ".credproc.bak")  # nothing to back up


def test_existing_mode_is_kept_and_backup_holds_previous_content(cli, isolated_env):
    before = b"[default]\nregion = us-east-1\n"
    write_bytes(isolated_env.config_file, before, mode=0o644)
    assert cli(*INSTALL)[0] == 0
    backup = str(isolated_env.config_file) + ".credproc.bak"
    assert mode_of(isolated_env.config_file) == 0o644
    assert read_bytes(backup) == before and mode_of(backup) == 0o600
    installed = read_bytes(isolated_env.config_file)
    assert cli("uninstall-profile", "esc-dev")[0] == 0
    assert read_bytes(backup) == installed  # the backup is always the content before the last edit
    assert read_bytes(isolated_env.config_file) == before


def test_second_run_changes_nothing_at_all(cli, isolated_env):
    assert cli(*INSTALL, "--region", "eu-central-1")[0] == 0
    st = os.stat(isolated_env.config_file)
    backup_before = read_bytes(str(isolated_env.config_file) + ".credproc.bak") if os.path.exists(
        str(isolated_env.config_file) + ".credproc.bak") else None
    code, out, _ = cli(*INSTALL, "--region", "eu-central-1")
    assert code == 0 and "already installed" in out
    st2 = os.stat(isolated_env.config_file)
    assert (st2.st_ino, st2.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    assert (read_bytes(str(isolated_env.config_file) + ".credproc.bak") if backup_before is not None
            else None) == backup_before


def test_symlinked_config_stays_a_symlink(cli, isolated_env, tmp_path):
    real = tmp_path / "dotfiles" / "aws-config"
    write_bytes(real, b"[default]\nregion = us-east-1\n")
    os.makedirs(isolated_env.home / ".aws")
    os.symlink(real, isolated_env.config_file)
    assert cli(*INSTALL)[0] == 0
    assert os.path.islink(isolated_env.config_file)
    assert FAKE_LINE in read_bytes(real).decode()


def test_aws_config_file_is_honoured(cli, isolated_env, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere" / "cfg"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(other))
    assert cli(*INSTALL)[0] == 0
    assert FAKE_LINE in read_bytes(other).decode()
    assert not os.path.exists(isolated_env.config_file)


def test_unwritable_location_is_a_one_line_config_error(cli, isolated_env, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "a-file" / "config"))
    code, _, err = cli(*INSTALL)
    assert code == 2 and err.startswith("credproc: cannot ") and err.count("\n") == 1


def test_uninstall_when_nothing_is_installed(cli, isolated_env):
    code, out, _ = cli("uninstall-profile", "esc-dev")
    assert code == 0 and "not installed" in out
    write_bytes(isolated_env.config_file, b"[profile esc-dev]\nregion = x\n")
    code, out, _ = cli("uninstall-profile", "esc-dev")
    assert code == 0 and "nothing to remove" in out
    assert read_bytes(isolated_env.config_file) == b"[profile esc-dev]\nregion = x\n"


def test_uninstall_dry_run_writes_nothing(cli, isolated_env):
    assert cli(*INSTALL)[0] == 0
    installed = read_bytes(isolated_env.config_file)
    code, out, _ = cli("uninstall-profile", "esc-dev", "--dry-run")
    assert code == 0 and "-[profile esc-dev]" in out
    assert read_bytes(isolated_env.config_file) == installed


def test_uninstall_after_install_into_an_existing_section_removes_only_what_was_added(cli, isolated_env):
    before = b"[profile esc-dev]\n"  # an empty section the user made
    write_bytes(isolated_env.config_file, before)
    assert cli(*INSTALL, "--region", "eu-central-1", "--output", "json")[0] == 0
    assert read_bytes(isolated_env.config_file) == (
        b"[profile esc-dev]\ncredential_process = " + FAKE_LINE.encode() + b"\nregion = eu-central-1\noutput = json\n")
    assert cli("uninstall-profile", "esc-dev")[0] == 0
    assert read_bytes(isolated_env.config_file) == before


def test_uninstalling_the_last_profile_removes_the_file_credproc_emptied_with_its_backup_and_lock(cli, isolated_env):
    config = str(isolated_env.config_file)
    assert cli(*INSTALL)[0] == 0
    assert cli(*INSTALL, "--profile", "esc-two")[0] == 0
    assert cli("uninstall-profile", "esc-dev")[0] == 0  # another profile remains: file, backup and lock stay
    assert os.path.exists(config) and os.path.exists(config + ".credproc.bak")
    code, out, _ = cli("uninstall-profile", "esc-two")
    assert code == 0 and f"removed {config}" in out
    leftovers = sorted(os.listdir(os.path.dirname(config)))
    assert leftovers == [], leftovers


def test_uninstall_keeps_the_file_and_backup_when_the_users_content_remains(cli, isolated_env):
    config = str(isolated_env.config_file)
    write_bytes(config, b"# mine\n")
    assert cli(*INSTALL)[0] == 0
    assert cli("uninstall-profile", "esc-dev")[0] == 0
    assert read_bytes(config) == b"# mine\n"
    assert os.path.exists(config + ".credproc.bak")


def test_a_stale_install_record_does_not_make_uninstall_remove_the_users_section(cli, isolated_env):
    assert cli(*INSTALL, "--region", "eu-central-1")[0] == 0  # credproc creates the section
    users = b"[profile esc-dev]\nregion = eu-central-1\n"
    write_bytes(isolated_env.config_file, users)  # the user rewrote the file by hand meanwhile
    assert cli(*INSTALL, "--region", "eu-central-1")[0] == 0
    assert cli("uninstall-profile", "esc-dev")[0] == 0
    assert read_bytes(isolated_env.config_file) == users


# ---------------------------------------------------------------------------- concurrency

CONCURRENT_WORKER = textwrap.dedent("""
    import io, sys, time
    from credproc.aws import edits
    from credproc.commands import profile
    plan = edits.plan_install
    def slow_plan(*a, **k):  # widen the read-modify-write window: without the lock, edits get lost
        time.sleep(0.3)
        return plan(*a, **k)
    edits.plan_install = slow_plan
    sys.exit(profile.install_profile(sys.argv[1], profile=sys.argv[2], check_environment=lambda ref: None,
                                     launcher=lambda: ["/home/me/.config/credproc/launchers/0123456789ab/credproc"]))
""")


@pytest.mark.timeout(60)
def test_concurrent_installs_serialize_on_the_lock(isolated_env):
    write_bytes(isolated_env.config_file, b"[default]\nregion = us-east-1\n")
    jobs = [("acme/dev", "esc-dev"), ("acme/dev", "esc-dev"), ("acme/prod", "esc-prod"), ("acme/dev", "esc-dev")]
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WORKER, ref, name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for ref, name in jobs]
    results = [p.communicate(timeout=50) + (p.returncode,) for p in procs]
    assert all(code == 0 for _, _, code in results), results
    assert sum("already installed" in out for out, _, _ in results) == 2
    text = read_bytes(isolated_env.config_file).decode()
    assert ini.botocore_parse_problem(text) is None
    assert text.count("[profile esc-dev]") == 1 and text.count("[profile esc-prod]") == 1  # no lost update
    assert ini.botocore_profile(text, "esc-prod")["credential_process"].endswith("process acme/prod")


def test_a_held_lock_times_out_with_exit_7(cli, isolated_env, monkeypatch):
    """The config's lock lives in the private cache (nothing of credproc's beside the user's file),
    keyed by the config's real path: a link to the config shares it."""
    import fcntl

    write_bytes(isolated_env.config_file, b"[default]\n")
    monkeypatch.setattr(profilefile, "LOCK_TIMEOUT_SECONDS", 0.2)
    with profilefile.locked(str(isolated_env.config_file)):
        pass
    lock_files = list((isolated_env.cache_dir / "locks").iterdir())
    assert len(lock_files) == 1 and oct(lock_files[0].stat().st_mode & 0o777) == "0o600"
    link = isolated_env.config_file.parent / "config-link"
    link.symlink_to(isolated_env.config_file)
    fd = os.open(str(lock_files[0]), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        code, _, err = cli(*INSTALL)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(link))
        code_via_link, _, _ = cli(*INSTALL)
    finally:
        os.close(fd)
    assert code == 7 and code_via_link == 7 and err.count("\n") == 1
    assert f"another credproc editing {isolated_env.config_file}" in err and str(lock_files[0]) in err
    assert read_bytes(isolated_env.config_file) == b"[default]\n"
    assert sorted(p.name for p in isolated_env.config_file.parent.iterdir()) == ["config", "config-link"]


# ---------------------------------------------------------------- the credential_process line

PATHS = [
    "/home/me/.config/credproc/launchers/0123456789ab/credproc",
    "/home/jo smith/venvs/credproc/bin/credproc",
    "/Users/Jo Smith/Library/Application Support/venv (3.11)/bin/credproc",
    "/home/jo/o'brien/bin/credproc",
    "/home/josé/venv/bin/credproc",
    "C:\\Program Files\\credproc\\Scripts\\credproc.exe",
    "C:\\Users\\jo\\venv\\Scripts\\python.exe",
]


@pytest.mark.parametrize("path", PATHS)
def test_line_splits_the_same_under_posix_shlex_and_botocores_windows_splitter(path):
    argv = [path, "process", "acme/dev"]
    line = processline.join_command_line(argv)
    assert compat_shell_split(line, "linux") == argv
    assert compat_shell_split(line, "win32") == argv  # botocore._windows_shell_split itself
    assert shlex.split(line) == argv


@pytest.mark.parametrize("path", [p for p in PATHS if "\\" not in p])
def test_line_means_the_same_to_sh_c(path):
    argv = [path, "process", "acme/dev"]
    line = processline.join_command_line(argv)
    out = subprocess.run(["sh", "-c", "printf '%s\\n' " + line], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == argv


@pytest.mark.parametrize("path", ['/home/a"b/credproc', "/home/$USER/credproc", "/home/a`id`/credproc",
                                  "/home/100%/credproc", "/home/a\nb/credproc", "C:\\dir\\", "/x/a;b/credproc",
                                  "/x/[a]/credproc", "/x/a\\\\b/credproc"])
def test_paths_that_cannot_be_quoted_safely_are_refused(path):
    with pytest.raises(ConfigError) as info:
        processline.join_command_line([path, "process", "acme/dev"])
    assert "\n" not in str(info.value)


def test_our_windows_splitter_matches_botocores():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet=' \t"\\ab', max_size=14))
    def check(line):
        try:
            expected = compat_shell_split(line, "win32")
        except ValueError:
            expected = None
        assert processline.windows_split(line) == expected

    check()


@pytest.mark.parametrize("line, ref", [
    ("/home/me/.config/credproc/launchers/0123456789ab/credproc process acme/dev", "acme/dev"),
    ('"/home/jo smith/bin/credproc" process acme/proj/dev', "acme/proj/dev"),
    ("/usr/bin/python3 -m credproc process acme/dev", "acme/dev"),
    ("C:/x/credproc.EXE process a/b", "a/b"),
    ("/usr/bin/aws-vault exec dev --json", None),
    ("/home/me/.config/credproc/launchers/0123456789ab/credproc-other process acme/dev", None),
    ("/home/me/.config/credproc/launchers/0123456789ab/credproc run acme/dev", None),
    ('"unterminated', None),
])
def test_recognises_credprocs_own_lines(line, ref):
    assert processline.credproc_ref_of(line) == ref


def test_recognises_an_unquoted_windows_line_on_windows(monkeypatch):
    line = "C:\\venv\\Scripts\\credproc.exe process acme/dev"
    monkeypatch.setattr(sys, "platform", "win32")
    assert processline.credproc_ref_of(line) == "acme/dev"


# ----------------------------------------------------------------------------- the launcher

def _fake_venv(root, *, script=True, shebang=None):
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    os.symlink(os.path.realpath(sys.executable), python)  # as `python -m venv` does
    if script:
        (bin_dir / "credproc").write_text(f"#!{shebang or python}\nfrom credproc.cli import main\n")
        os.chmod(bin_dir / "credproc", 0o755)
    return python


def test_launcher_prefers_the_console_script_next_to_the_interpreter(tmp_path):
    python = _fake_venv(tmp_path / "venv")
    assert profile.credproc_launcher(str(python)) == [str(tmp_path / "venv" / "bin" / "credproc")]


def test_launcher_keeps_the_venv_interpreter_path_instead_of_resolving_it(tmp_path):
    python = _fake_venv(tmp_path / "venv", script=False)
    launcher = profile.credproc_launcher(str(python))
    assert launcher == [str(python), "-m", "credproc"]
    assert launcher[0] != os.path.realpath(python)  # resolving would leave the venv


def test_launcher_resolves_a_symlinked_venv_directory_but_not_the_interpreter(tmp_path):
    _fake_venv(tmp_path / "real-venv")
    os.symlink(tmp_path / "real-venv", tmp_path / "link")
    launcher = profile.credproc_launcher(str(tmp_path / "link" / "bin" / "python"))
    assert launcher == [str(tmp_path / "real-venv" / "bin" / "credproc")]


def test_launcher_ignores_a_script_that_belongs_to_another_interpreter(tmp_path):
    python = _fake_venv(tmp_path / "venv", shebang="/some/other/python3")
    assert profile.credproc_launcher(str(python)) == [str(python), "-m", "credproc"]


def test_launcher_refuses_a_version_manager_shim(tmp_path):
    shims = tmp_path / ".pyenv" / "shims"
    shims.mkdir(parents=True)
    (shims / "python").write_text('#!/usr/bin/env bash\nexec "/root/.pyenv/libexec/pyenv" exec "$program" "$@"\n')
    with pytest.raises(ConfigError, match="shim"):
        profile.credproc_launcher(str(shims / "python"))


def test_launcher_skips_a_shim_console_script(tmp_path):
    python = _fake_venv(tmp_path / "venv", script=False)
    script = tmp_path / "venv" / "bin" / "credproc"
    script.write_text('#!/usr/bin/env bash\nset -e\nexec "$PYENV_ROOT/libexec/pyenv" exec credproc "$@"\n')
    os.chmod(script, 0o755)
    assert profile.credproc_launcher(str(python)) == [str(python), "-m", "credproc"]


def test_real_launcher_in_this_venv_is_its_console_script_and_fast_to_start():
    launcher = profile.credproc_launcher()
    assert launcher == [os.path.join(os.path.realpath(os.path.dirname(sys.executable)), "credproc")]
    assert "shims" not in launcher[0].split(os.sep)
    with open(launcher[0], "rb") as handle:
        shebang = handle.readline()[2:].strip().decode()
    assert os.path.dirname(shebang) == os.path.dirname(sys.executable)  # the venv's own python, not a shim


# -------------------------------------------------------------------- the environment check

def test_install_stops_when_the_environment_check_fails(monkeypatch, capsys, isolated_env):
    def failing(ref):
        raise ConfigError(f"environment {ref} does not exist")

    patch_profile_commands(monkeypatch, check=failing)
    code, out, err = run_cli(capsys, INSTALL)
    assert code == 2 and err == "credproc: environment acme/dev does not exist\n"
    assert not os.path.exists(isolated_env.config_file)


def _opened(value, errors=()):
    return types.SimpleNamespace(name="acme/dev", value=value, diagnostics=list(errors),
                                 has_errors=bool(errors), error_lines=lambda: list(errors), files={})


def _obj(**items):
    return Value({k: v for k, v in items.items()})


def test_check_accepts_environment_variables_with_an_access_key(monkeypatch):
    value = _obj(environmentVariables=_obj(AWS_ACCESS_KEY_ID=Value(unknown=True)))
    calls = _use_fake_open_environment(monkeypatch, _opened(value))
    profile.check_environment_yields_aws("acme/dev")
    assert calls == [("acme/dev", {"mode": "check"})]  # static check: no provider is called


def test_check_accepts_an_aws_login_output_still_unknown_in_check_mode(monkeypatch):
    schema = {"type": "object", "properties": {"accessKeyId": {}, "secretAccessKey": {}, "sessionToken": {}}}
    value = _obj(aws=_obj(login=Value(unknown=True, schema=schema)))
    _use_fake_open_environment(monkeypatch, _opened(value))
    profile.check_environment_yields_aws("acme/dev")


def test_check_refuses_an_environment_without_aws_credentials(monkeypatch):
    value = _obj(environmentVariables=_obj(GREETING=Value("hello")), aws=_obj(region=Value("eu-central-1")))
    _use_fake_open_environment(monkeypatch, _opened(value))
    with pytest.raises(ConfigError, match="yields no AWS credentials"):
        profile.check_environment_yields_aws("acme/dev")


def test_check_refuses_an_environment_with_error_diagnostics(monkeypatch):
    _use_fake_open_environment(monkeypatch, _opened(None, ["acme/dev:3:5: unknown property \"x\""]))
    with pytest.raises(DiagnosticsError, match="has 1 error"):
        profile.check_environment_yields_aws("acme/dev")


def _use_fake_open_environment(monkeypatch, opened):
    import credproc.store.environments as environments

    calls = []

    def fake(ref, **kwargs):
        calls.append((ref, kwargs))
        return opened

    monkeypatch.setattr(environments, "open_environment", fake, raising=False)
    return calls


def test_usage_errors_are_usage_errors():
    with pytest.raises(UsageError):
        profile.validate_ref("nope")
    assert profile.default_profile_name("acme/proj/dev") == "esc-dev"
    assert profile.default_profile_name("acme/dev") == "esc-dev"


def test_library_entry_points_print_to_given_streams(isolated_env):
    out, err = io.StringIO(), io.StringIO()
    code = profile.install_profile("acme/dev", check_environment=lambda ref: None,
                                   launcher=lambda: ["/home/me/.config/credproc/launchers/0123456789ab/credproc"], out=out, err=err)
    assert code == 0 and "installed profile esc-dev" in out.getvalue() and err.getvalue() == ""
    assert mode_of(isolated_env.config_dir) == 0o700 and mode_of(isolated_env.config_dir / "aws-profiles") == 0o700
    records = os.listdir(isolated_env.config_dir / "aws-profiles")
    assert len(records) == 1 and mode_of(isolated_env.config_dir / "aws-profiles" / records[0]) == 0o600
    data = json.loads(read_bytes(isolated_env.config_dir / "aws-profiles" / records[0]))
    assert data["profiles"]["esc-dev"]["created_section"] is True
